"""Composed-query formulas (docs/methods.md §2) on small hand-made vectors, and input handling."""

from __future__ import annotations

import numpy as np
import pytest

from photolens.errors import QueryError
from photolens.retrieval.composed import (
    DEFAULT_METHOD,
    METHODS,
    PDVWeights,
    PropertyPrompts,
    check_change_text,
    compose,
    describe,
    find_changes,
    pdv_vector,
    sum_fusion,
    weighted_fusion,
)

D = 8
E = np.eye(D, dtype=np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


REF = unit(np.array([3, 1, 0, 0, 0, 0, 0, 0], dtype=np.float32))  # not unit-length on purpose before unit()
CHANGE = unit(np.array([0, 0, 1, 1, 0, 0, 0, 0], dtype=np.float32))


def test_weighted_fusion_is_the_formula_and_spans_image_to_text() -> None:
    alpha = 0.8
    expected = unit((1 - alpha) * REF + alpha * CHANGE)
    assert np.allclose(weighted_fusion(REF, CHANGE, alpha), expected, atol=1e-6)
    assert np.allclose(weighted_fusion(REF, CHANGE, 0.0), REF, atol=1e-6)
    assert np.allclose(weighted_fusion(REF, CHANGE, 1.0), CHANGE, atol=1e-6)
    assert np.allclose(weighted_fusion(REF, CHANGE, 0.5), sum_fusion(REF, CHANGE), atol=1e-6)
    # weights apply to normalised vectors: scaling an input changes nothing
    assert np.allclose(weighted_fusion(5 * REF, 0.1 * CHANGE, alpha), expected, atol=1e-6)
    with pytest.raises(QueryError):
        weighted_fusion(REF, CHANGE, 1.5)


def test_pdv_vector_is_the_formula() -> None:
    t = unit(E[4] + E[5])
    tc = unit(E[4] + E[6])
    w = PDVWeights(beta=0.6, alpha_i=1.2, alpha_t=0.9)
    delta = tc - t
    expected = unit((1 - w.beta) * (REF + w.alpha_i * delta) + w.beta * (t + w.alpha_t * delta))
    assert np.allclose(pdv_vector(REF, t, tc, w), expected, atol=1e-6)
    # batched rows give the same answer as one at a time
    batch = pdv_vector(np.stack([REF, CHANGE]), np.stack([t, t]), np.stack([tc, tc]), w)
    assert np.allclose(batch[0], expected, atol=1e-6)
    # β = 0 with no change direction is image only; β = 1, α_T = 1 is the changed description
    assert np.allclose(pdv_vector(REF, t, t, PDVWeights(0.0, 1.0, 1.0)), REF, atol=1e-6)
    assert np.allclose(pdv_vector(REF, t, tc, PDVWeights(1.0, 1.0, 1.0)), tc, atol=1e-6)


# Two properties that share the word "red": the item tint (axes 0-1) and the background (axes 2-3).
TINT = PropertyPrompts("tint", ("red", "blue"), np.stack([E[0], E[1]]))
BACKGROUND = PropertyPrompts("background", ("red", "white"), np.stack([E[2], E[3]]))
ITEM = PropertyPrompts("item", ("dress", "bag"), np.stack([E[4], E[5]]))


def test_description_holds_the_named_property_and_applies_the_change_to_it() -> None:
    ref = unit(E[1] + E[3] + E[5])  # a blue bag on a white background
    change_vec = unit(E[2] + 0.2 * E[0])  # "on a red background": closer to the background's "red"
    d = describe(ref, [TINT, BACKGROUND, ITEM], "on a red background", change_vec)
    assert d.words == {"background": "white"}  # by default only what the change is about
    assert [(c.property, c.old, c.new) for c in d.changes] == [("background", "white", "red")]
    assert np.allclose(d.t, E[3], atol=1e-6) and np.allclose(d.tc, E[2], atol=1e-6)
    assert d.matched

    d = describe(ref, [TINT, BACKGROUND, ITEM], "on a red background", change_vec, context=0.0)
    assert d.words == {"tint": "blue", "background": "white", "item": "bag"}
    assert np.allclose(d.t, unit(E[1] + E[3] + E[5]), atol=1e-6)
    assert np.allclose(d.tc, unit(E[1] + E[2] + E[5]), atol=1e-6)

    tint_vec = unit(E[0] + 0.2 * E[2])  # "in red": closer to the tint's "red"
    assert find_changes("in red", [TINT, BACKGROUND, ITEM], tint_vec) == [(0, 0)]
    # two properties in one change; words are matched whole, case-insensitively
    assert sorted(find_changes("A RED dress", [TINT, BACKGROUND, ITEM], tint_vec)) == [(0, 0), (2, 0)]
    assert find_changes("redder", [TINT, BACKGROUND, ITEM], tint_vec) == []


def test_context_keeps_only_confident_unchanged_properties() -> None:
    ref = unit(E[1] + E[3] + 0.001 * E[5])  # the item is a coin toss (barely a bag)
    d = describe(ref, [TINT, BACKGROUND, ITEM], "", None, context=0.9)
    assert "item" not in d.words and d.words["tint"] == "blue"
    d = describe(ref, [TINT, BACKGROUND, ITEM], "a dress", unit(E[4]), context=0.9)
    assert d.words["item"] == "bag" and d.changes[0].new == "dress"


def test_a_change_naming_no_lens_word_goes_to_weighted_fusion() -> None:
    ref = unit(E[1] + E[3])
    night = unit(E[7])
    d = describe(ref, [TINT, BACKGROUND], "at night", night)
    assert not d.matched and d.changes == ()
    assert np.allclose(d.tc, unit(d.t + night), atol=1e-6)
    q = compose("pdv", ref, "at night", night, properties=[TINT, BACKGROUND], alpha=0.6)
    assert q.method == "weighted" and np.allclose(q.vector, weighted_fusion(ref, night, 0.6))
    assert "names no value word" in q.notes[0]


def test_compose_dispatches_each_method_to_its_formula() -> None:
    props = [TINT, BACKGROUND, ITEM]
    assert DEFAULT_METHOD in METHODS
    assert np.allclose(compose("image", REF, "x", CHANGE).vector, REF)
    assert np.allclose(compose("text", REF, "x", CHANGE).vector, CHANGE)
    assert np.allclose(compose("sum", REF, "x", CHANGE).vector, sum_fusion(REF, CHANGE))
    q = compose("weighted", REF, "x", CHANGE, alpha=0.3)
    assert np.allclose(q.vector, weighted_fusion(REF, CHANGE, 0.3)) and q.params == {"alpha": 0.3}
    q = compose("pdv", REF, "a dress", unit(E[4]), properties=props, pdv=PDVWeights(0.5, 1.0, 1.0))
    d = describe(REF, props, "a dress", unit(E[4]))
    assert q.method == "pdv" and np.allclose(q.vector, pdv_vector(REF, d.t, d.tc, PDVWeights(0.5, 1.0, 1.0)))
    assert compose("default", REF, "a dress", unit(E[4]), properties=props).method == DEFAULT_METHOD


def test_compose_falls_back_with_a_note_where_it_makes_sense() -> None:
    q = compose("pdv", REF, "   ", None)
    assert q.method == "image" and np.allclose(q.vector, REF) and "photo alone" in q.notes[0]
    q = compose("pdv", REF, "at night", CHANGE)  # no lens prompts to describe the photo
    assert q.method == "weighted" and "PDV needs lens prompts" in q.notes[0]
    q = compose("pic2word", REF, "at night", CHANGE)  # no mapper trained
    assert q.method == "weighted" and "No Pic2Word mapper" in q.notes[0]
    q = compose("pic2word", REF, "in red", CHANGE, properties=[TINT])
    assert q.method == DEFAULT_METHOD


def test_compose_rejects_bad_input_with_clear_messages() -> None:
    with pytest.raises(QueryError, match="Unknown composed-query method"):
        compose("magic", REF, "x", CHANGE)
    with pytest.raises(QueryError, match="needs a change text"):
        compose("text", REF, "", None)
    with pytest.raises(QueryError, match="no usable vector"):
        compose("sum", np.full(D, np.nan, dtype=np.float32), "x", CHANGE)
    with pytest.raises(QueryError, match="different models"):
        compose("sum", REF, "x", np.ones(D + 1, dtype=np.float32))


def test_a_change_in_a_script_the_model_does_not_read_gets_a_note() -> None:
    assert check_change_text("la nuit, en rouge") == []
    assert check_change_text("夜に") and "non-Latin" in check_change_text("夜に")[0]
    q = compose("sum", REF, "夜の写真", CHANGE)
    assert q.method == "sum" and any("non-Latin" in n for n in q.notes)
