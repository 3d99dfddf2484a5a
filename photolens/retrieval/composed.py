"""Composed queries: a reference photo plus a text change, "this photo, but at night" (docs/methods.md §2).

All methods are pure functions of normalised vectors, so the lead can feed stored vectors and cached text
vectors. Weights are applied to *normalised* vectors: text-image and image-image cosines live on different
scales, so raw embeddings would let the image term dominate.

- ``image``: ``N(e_I(ref))``; ``text``: ``N(e_T(change))``; ``sum``: ``N(N(e_I) + N(e_T))``.
- ``weighted`` (WeiMoCIR): ``N((1-α) N(e_I) + α N(e_T))``.
- ``pdv`` (prompt-direction vectors): ``Δ = tc - t`` where ``t`` describes the reference and ``tc`` is that
  description with the change applied; ``q = N((1-β)(N(e_I) + α_I Δ) + β(t + α_T Δ))``. No captioner: the
  candidate descriptions are lens value words (:class:`PropertyPrompts`); the change text is matched to the
  lens word it names ("in red" -> colour: red; a word shared by two lenses goes to the one whose prompt is
  closest to the change text), the reference's current word of that lens is its best-matching prompt.
- ``pic2word``: see :mod:`photolens.retrieval.pic2word` (needs a trained mapper).

Measured design choices (``python -m benchmarks.composed_quality``, tiny CLIP, test half of 4,500 queries,
R@1/10/50): the default is weighted fusion with α = 0.6 (46.1/91.5/99.5; WeiMoCIR's 0.8 gives
39.7/86.6/98.6, the plain sum 42.2/88.8/99.2). PDV is as good only when a lens covers exactly the attribute
being changed (β 0.3: 47.8/91.4/99.4) and much worse with the shipped lens presets, whose broad colour lens
cannot tell an item's colour from its background's (31.5/60.2/72.8), so it is opt-in. Inside PDV the
description holds only the lens the change names (a description with all notions lost 9 points of R@10,
adding the 17 presets ruined it), and a change that names no lens word goes to weighted fusion (PDV with a
direction from the raw change text was far worse). :func:`compose` is the one entry point; it validates
input and falls back with a note where that makes sense.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photolens.retrieval.errors import QueryError
from photolens.vectors import normalize

METHODS: tuple[str, ...] = ("image", "text", "sum", "weighted", "pdv", "pic2word")
# Chosen by benchmarks/composed_quality.py (see the module docstring).
DEFAULT_METHOD = "weighted"
FALLBACK_METHOD = "weighted"
# Measured (benchmarks/composed_quality.py, tuned on half the queries): α 0.6-0.65 is best on every tiny-CLIP
# build tried; WeiMoCIR's 0.8 loses 3-7 points of R@10 there.
DEFAULT_ALPHA = 0.6
CONFIDENCE_SCALE = 100.0  # CLIP's logit scale: softmax(100·cos) over a property's words


@dataclass(frozen=True)
class PDVWeights:
    """PDV's weights: β mixes the image and text sides, α_I / α_T scale the direction on each side."""

    # Measured: the optimum is flat for β 0-0.3 with α 0.5-1 (q ≈ image + direction); the paper's β 0.55-0.9
    # loses 5-7 points of R@1 on the tiny CLIP, whose text side knows colours far better than items.
    beta: float = 0.3
    alpha_i: float = 1.0
    alpha_t: float = 1.0


DEFAULT_PDV = PDVWeights()


# ------------------------------------------------------------------------------------------ baselines


def image_only(reference: np.ndarray) -> np.ndarray:
    return normalize(reference)


def text_only(change_vector: np.ndarray) -> np.ndarray:
    return normalize(change_vector)


def sum_fusion(reference: np.ndarray, change_vector: np.ndarray) -> np.ndarray:
    return normalize(normalize(reference) + normalize(change_vector))


def weighted_fusion(reference: np.ndarray, change_vector: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """WeiMoCIR: ``N((1-α) N(e_I) + α N(e_T))``; α = 0 is image only, 1 text only, 0.5 the plain sum."""
    if not 0.0 <= alpha <= 1.0:
        raise QueryError(f"The text weight alpha must be between 0 and 1, got {alpha}.")
    return normalize((1.0 - alpha) * normalize(reference) + alpha * normalize(change_vector))


def pdv_vector(reference: np.ndarray, t: np.ndarray, tc: np.ndarray, weights: PDVWeights = DEFAULT_PDV) -> np.ndarray:
    """``N((1-β)(N(e_I) + α_I Δ) + β(t + α_T Δ))`` with ``Δ = tc - t`` (rows broadcast)."""
    delta = np.asarray(tc, dtype=np.float32) - np.asarray(t, dtype=np.float32)
    image_side = normalize(reference) + weights.alpha_i * delta
    text_side = np.asarray(t, dtype=np.float32) + weights.alpha_t * delta
    return normalize((1.0 - weights.beta) * image_side + weights.beta * text_side)


# ------------------------------------------------------------------------------------ descriptions


@dataclass(frozen=True)
class PropertyPrompts:
    """Candidate descriptions of one property (a lens): ``vectors[i]`` is the text vector of ``words[i]``."""

    name: str
    words: tuple[str, ...]
    vectors: np.ndarray  # (len(words), d), normalised

    def __post_init__(self) -> None:
        vectors = normalize(np.atleast_2d(self.vectors))
        if len(self.words) != vectors.shape[0] or not self.words:
            raise ValueError(f"property {self.name!r}: {len(self.words)} words but {vectors.shape[0]} vectors")
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "vectors", vectors)

    @classmethod
    def from_templates(cls, name: str, words: Sequence[str], templates: Sequence[str],
                       encode: Callable[[list[str]], np.ndarray]) -> PropertyPrompts:
        """Prompt ensembling: each word's vector is ``N(mean over templates of e_T(template(word)))``.

        ``encode`` is e.g. ``Library.text_vectors`` (cached in the store) or ``Embedder.encode_texts``.
        """
        prompts = [t.replace("{}", w) for w in words for t in templates]
        vectors = normalize(encode(prompts)).reshape(len(words), len(templates), -1).mean(axis=1)
        return cls(name, tuple(words), vectors)

    @classmethod
    def flat(cls, prompts: Sequence[str], vectors: np.ndarray, name: str = "prompts") -> PropertyPrompts:
        """Plain candidate sentences (each its own 'word'): the best one is the description."""
        return cls(name, tuple(prompts), vectors)


@dataclass(frozen=True)
class Change:
    property: str
    old: str
    new: str


@dataclass(frozen=True)
class Description:
    """The reference described by candidate prompts, and the same description with the change applied."""

    words: dict[str, str]  # property -> best word for the reference
    confidence: dict[str, float]  # property -> softmax probability of that word
    changes: tuple[Change, ...]
    t: np.ndarray
    tc: np.ndarray
    matched: bool  # False: the change named no known word; tc follows the raw change text

    def text(self) -> str:
        return "; ".join(f"{p}: {w}" for p, w in self.words.items())


def _mentions(text: str, word: str) -> re.Match[str] | None:
    return re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text)


def find_changes(change: str, properties: Sequence[PropertyPrompts],
                 change_vector: np.ndarray | None = None) -> list[tuple[int, int]]:
    """(property index, word index) pairs the change text names, one word per property and per span.

    A word may belong to several properties (a colour of the item and of the background): the change text's
    vector decides which property it is about (highest text-text cosine); then longer words first.
    """
    folded = change.casefold()
    found: list[tuple[float, int, int, int, int]] = []  # (-cos, -len, p, w, start)
    for p, prop in enumerate(properties):
        for w, word in enumerate(prop.words):
            match = _mentions(folded, word)
            if match:
                cos = float(prop.vectors[w] @ normalize(change_vector)) if change_vector is not None else 0.0
                found.append((-cos, -len(word), p, w, match.start()))
    chosen: list[tuple[int, int]] = []
    used_props: set[int] = set()
    used_spans: list[tuple[int, int]] = []
    for _, neg_len, p, w, start in sorted(found):
        span = (start, start - neg_len)
        if p in used_props or any(a < span[1] and span[0] < b for a, b in used_spans):
            continue
        chosen.append((p, w))
        used_props.add(p)
        used_spans.append(span)
    return chosen


def describe(reference: np.ndarray, properties: Sequence[PropertyPrompts], change: str = "",
             change_vector: np.ndarray | None = None, context: float | None = None) -> Description:
    """Describe the reference by its best word per property and apply the change to that description.

    By default (``context=None``) the description holds only the properties the change names: measured on
    the benchmark, adding the other properties did not help (R@10 67.9 vs 70.0) and adding irrelevant
    lenses ruined it (R@10 below 2 with the 17 presets), because ``t`` then describes mostly noise.
    ``context=c`` also keeps unchanged properties whose best word has softmax confidence ≥ c.
    """
    if not properties:
        raise QueryError("PDV needs candidate prompts (lenses) to describe the reference photo.")
    ref = normalize(reference).reshape(-1)
    changes = dict(find_changes(change, properties, change_vector)) if change else {}
    words: dict[str, str] = {}
    confidence: dict[str, float] = {}
    t_sum = np.zeros_like(ref)
    tc_sum = np.zeros_like(ref)
    applied: list[Change] = []
    for p, prop in enumerate(properties):
        sims = prop.vectors @ ref
        logits = CONFIDENCE_SCALE * (sims - sims.max())
        probs = np.exp(logits) / np.exp(logits).sum()
        best = int(np.argmax(sims))
        if p not in changes and (context is None or probs[best] < context):
            continue
        words[prop.name] = prop.words[best]
        confidence[prop.name] = float(probs[best])
        t_sum += prop.vectors[best]
        new = changes.get(p, best)
        tc_sum += prop.vectors[new]
        if p in changes:
            applied.append(Change(prop.name, prop.words[best], prop.words[new]))
    matched = bool(changes)
    if words:
        t = normalize(t_sum)
    else:  # nothing named and no context: the photo's best prompt overall stands in for a description
        p, w = max(((p, int(np.argmax(prop.vectors @ ref))) for p, prop in enumerate(properties)),
                   key=lambda pw: float(properties[pw[0]].vectors[pw[1]] @ ref))
        t = properties[p].vectors[w].copy()
        words[properties[p].name] = properties[p].words[w]
    if matched:
        tc = normalize(tc_sum)
    elif change_vector is not None:
        tc = normalize(t + normalize(change_vector))  # no known word: move the description towards the text
    else:
        tc = t
    return Description(words, confidence, tuple(applied), t, tc, matched)


# ------------------------------------------------------------------------------------------ entry


@dataclass(frozen=True)
class ComposedQuery:
    """The query vector and what produced it; ``notes`` are user-facing (fallbacks, doubts about input)."""

    vector: np.ndarray
    method: str
    requested: str
    notes: tuple[str, ...] = ()
    description: Description | None = None
    params: dict[str, float] = field(default_factory=dict)


def check_change_text(change: str) -> list[str]:
    """Doubts about a change text that the query can still run with (returned as notes, not errors).

    CLIP's tokenizer accepts any text, so a language it was not trained on gives a vector that means little.
    open_clip's English models see non-Latin scripts as raw bytes; that we can detect. A Latin-script foreign
    language cannot be told apart from English here.
    """
    letters = [ch for ch in change if ch.isalpha()]
    if not letters:
        return []
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    if latin / len(letters) < 0.5:
        return [f"The change {change!r} is mostly in a non-Latin script; English CLIP models barely understand it, "
                "so the results may follow the photo more than the change. Try English words."]
    return []


def compose(method: str, reference: np.ndarray, change: str = "", change_vector: np.ndarray | None = None, *,
            alpha: float = DEFAULT_ALPHA, pdv: PDVWeights = DEFAULT_PDV,
            properties: Sequence[PropertyPrompts] = (), context: float | None = None,
            mapper: Any = None, model: Any = None, tokenizer: Any = None,
            pic2word_template: str | None = None) -> ComposedQuery:
    """Build a composed query vector with ``method`` (one of :data:`METHODS`, or ``"default"``).

    ``reference``: the photo's normalised vector ``(d,)``; ``change_vector``: ``e_T(change)`` (the caller embeds
    it, e.g. through the cached ``Library.text_vectors``). An empty change searches by the photo alone; PDV
    without prompts and Pic2Word without a mapper fall back to weighted fusion, each with a note.
    """
    requested = method
    if method == "default":
        method = DEFAULT_METHOD
    if method not in METHODS:
        raise QueryError(f"Unknown composed-query method {requested!r}; choose one of: default, {', '.join(METHODS)}.")
    ref = np.asarray(reference, dtype=np.float32).reshape(-1)
    if ref.size == 0 or not np.all(np.isfinite(ref)) or not np.any(ref):
        raise QueryError("The reference photo has no usable vector (empty or not finite); re-index it.")
    notes: list[str] = []
    change = " ".join((change or "").split())
    if not change:
        if method == "text":
            raise QueryError("A text-only query needs a change text, e.g. \"at night\".")
        if method != "image":
            notes.append("No change text was given: searching by the photo alone.")
        return ComposedQuery(image_only(ref), "image", requested, tuple(notes))
    notes += check_change_text(change)
    if method != "image" and change_vector is None and method != "pic2word":
        raise ValueError("change_vector (the embedded change text) is required for this method")
    if change_vector is not None and np.asarray(change_vector).shape[-1] != ref.shape[0]:
        raise QueryError("The change text and the photo were embedded by different models.")

    if method == "pic2word":
        if mapper is None or model is None or tokenizer is None:
            notes.append("No Pic2Word mapper is trained for this model (train one in the background first); "
                         f"using {DEFAULT_METHOD} instead.")
            method = DEFAULT_METHOD
        else:
            from photolens.retrieval.pic2word import QUERY_TEMPLATE

            vector = mapper.query_vectors(model, tokenizer, ref[None], [change], pic2word_template or QUERY_TEMPLATE)[0]
            return ComposedQuery(vector, "pic2word", requested, tuple(notes))
    if method == "pdv" and not properties:
        notes.append("PDV needs lens prompts to describe the photo and none were given; using weighted fusion.")
        method = FALLBACK_METHOD

    if method == "image":
        return ComposedQuery(image_only(ref), method, requested, tuple(notes))
    assert change_vector is not None
    change_vector = np.asarray(change_vector, dtype=np.float32).reshape(-1)
    if method == "text":
        return ComposedQuery(text_only(change_vector), method, requested, tuple(notes))
    if method == "sum":
        return ComposedQuery(sum_fusion(ref, change_vector), method, requested, tuple(notes))
    if method == "weighted":
        return ComposedQuery(weighted_fusion(ref, change_vector, alpha), method, requested, tuple(notes),
                             params={"alpha": alpha})
    description = describe(ref, properties, change, change_vector, context)
    if not description.matched:
        # measured: PDV with a direction taken from the raw change text is far worse than weighted fusion
        # (R@10 about 28 vs 65), so a change that names no lens word goes to weighted fusion
        notes.append("The change names no value word of the known lenses, so PDV cannot apply it; "
                     "using weighted fusion.")
        return ComposedQuery(weighted_fusion(ref, change_vector, alpha), FALLBACK_METHOD, requested, tuple(notes),
                             description, params={"alpha": alpha})
    vector = pdv_vector(ref, description.t, description.tc, pdv)
    return ComposedQuery(vector, "pdv", requested, tuple(notes), description,
                         params={"beta": pdv.beta, "alpha_i": pdv.alpha_i, "alpha_t": pdv.alpha_t})
