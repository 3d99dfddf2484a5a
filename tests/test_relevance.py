"""The relevance cutoff on planted libraries with known ground truth (photolens.retrieval.relevance)."""

from __future__ import annotations

import numpy as np

from photolens.retrieval import relevance
from photolens.vectors import normalize

D = 64
GROUPS, PER = 40, 25


def planted(seed: int = 0, drop: int | None = None):
    """40 concepts x 25 photos; the vocabulary describes the library's concepts plus 300 unrelated things
    (a generic vocabulary names what photos show). Returns (photos, concepts, captions)."""
    rng = np.random.default_rng(seed)
    concepts = normalize(rng.normal(size=(GROUPS, D)).astype(np.float32))
    noise = normalize(rng.normal(size=(GROUPS, PER, D)).astype(np.float32))
    photos = normalize(concepts[:, None, :] + 0.5 * noise).reshape(-1, D)
    if drop is not None:
        photos = np.delete(photos, np.s_[drop * PER : (drop + 1) * PER], axis=0)
    captions = np.concatenate([concepts, normalize(rng.normal(size=(300, D)).astype(np.float32))])
    return photos, concepts, captions


def matches(query: np.ndarray, photos: np.ndarray, captions: np.ndarray) -> np.ndarray:
    null = relevance.build_null(captions, photos)
    curve = relevance.query_curve(query, photos, null)
    return relevance.judged_scores(curve, null, photos, photos @ query, query) >= 1.0


def test_a_planted_group_is_marked_and_nothing_else() -> None:
    photos, concepts, captions = planted()
    for c in range(0, GROUPS, 7):
        marked = matches(concepts[c], photos, captions)
        assert np.array_equal(np.flatnonzero(marked), np.arange(c * PER, (c + 1) * PER)), c


def test_an_absent_concept_gets_no_match_but_scores_for_every_photo() -> None:
    photos, concepts, captions = planted(drop=3)
    null = relevance.build_null(captions, photos)
    curve = relevance.query_curve(concepts[3], photos, null)
    scores = relevance.calibrated(curve, null, photos, photos @ concepts[3], concepts[3])
    assert scores.shape == (len(photos),) and np.isfinite(scores).all()
    assert (scores >= 1.0).sum() == 0  # the nearest other group is a near miss: it has a better description


def test_a_photo_query_marks_its_own_group() -> None:
    photos, _, captions = planted(seed=4)
    query = photos[10 * PER + 3]
    null = relevance.build_null(captions, photos)
    assert relevance.query_curve(query, photos, null).text_share == 0.0
    marked = matches(query, photos, captions)
    members = np.arange(10 * PER, 11 * PER)
    assert marked[members].mean() >= 0.8 and np.delete(marked, members).sum() == 0


def _another_model(photos, concepts, captions, seed: int = 9):
    """The same library through another model: rotated, and with CLIP's modality gap (texts and photos
    shifted along different directions, so text-image cosines sit in a narrow low band)."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(D, D)))
    gap_photo, gap_text = normalize(rng.normal(size=(2, D)).astype(np.float32))
    def to(v, gap):
        return normalize(0.6 * (v @ rotation.T).astype(np.float32) + 0.8 * gap)
    return to(photos, gap_photo), to(concepts, gap_text), to(captions, gap_text)


def test_two_models_of_one_library_get_comparable_cutoffs() -> None:
    photos, concepts, captions = planted(seed=2)
    other = _another_model(photos, concepts, captions)
    raw_a = [float((photos @ concepts[c]).max()) for c in range(5)]
    raw_b = [float((other[0] @ other[1][c]).max()) for c in range(5)]
    assert np.mean(raw_a) - np.mean(raw_b) > 0.3, (raw_a, raw_b)  # raw cosines live on different scales
    agreement = []
    for c in range(0, GROUPS, 5):
        a = matches(concepts[c], photos, captions)
        b = matches(other[1][c], other[0], other[2])
        assert a.sum() == PER and b.sum() <= PER and np.all(b <= a), c  # the second model adds no stranger
        agreement.append((a & b).sum() / (a | b).sum())
    assert min(agreement) >= 0.85 and np.mean(agreement) >= 0.95, agreement


def test_a_model_that_knows_nothing_marks_almost_nothing() -> None:
    photos, _, _ = planted(seed=5)
    rng = np.random.default_rng(6)
    captions = normalize(rng.normal(size=(347, D)).astype(np.float32))  # text unrelated to the photos
    queries = normalize(rng.normal(size=(30, D)).astype(np.float32))
    marked = np.mean([matches(q, photos, captions).mean() for q in queries])
    # 1.6 % measured; the target is 1 % (not yet met, see docs/relevance.md): this guards the level
    assert marked <= 0.02, marked


def test_tiny_inputs_do_not_divide_by_zero() -> None:
    photos, concepts, captions = planted()
    few = photos[:3]
    null = relevance.build_null(captions, few)
    curve = relevance.query_curve(concepts[0], few, null)
    assert not curve.reliable and curve.n == 3
    assert np.isfinite(relevance.calibrated(curve, null, few, few @ concepts[0], concepts[0])).all()
    flat = np.tile(photos[:1], (60, 1))
    null = relevance.build_null(captions, flat)
    assert np.isfinite(relevance.calibrated(relevance.query_curve(concepts[0], flat, null), null, flat,
                                            flat @ concepts[0])).all()
    assert relevance.sample_rows(100, size=50) is not None and relevance.sample_rows(10, size=50) is None


def test_cli_prints_matches_then_the_weak_divider_and_json_flags(capsys) -> None:
    import json
    from types import SimpleNamespace

    from photolens.cli.search_cmd import WEAK_DIVIDER, _print_outcome
    from photolens.search import SearchHit

    hits = [SearchHit(1, "/p/a.jpg", 1.8, 0.31, True), SearchHit(2, "/p/b.jpg", 0.4, 0.22, False)]
    outcome = SimpleNamespace(hits=hits, notes=[])
    _print_outcome(outcome, as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == WEAK_DIVIDER == "— weaker matches —" and lines[0].endswith("/p/a.jpg")
    assert lines[2].endswith("/p/b.jpg")
    _print_outcome(outcome, as_json=True)
    rows = json.loads(capsys.readouterr().out)
    assert [(r["path"], r["match"], r["id"]) for r in rows] == [("/p/a.jpg", True, 1), ("/p/b.jpg", False, 2)]
    assert rows[0]["score"] == 1.8 and rows[0]["cosine"] == 0.31
    only_weak = SimpleNamespace(hits=hits[1:], notes=["No photo matches well; showing the closest 1."])
    _print_outcome(only_weak, as_json=False)
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == WEAK_DIVIDER and "No photo matches well" in captured.err
