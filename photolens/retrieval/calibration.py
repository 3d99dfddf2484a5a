"""The per-query z-score of the previous release, kept as a baseline for benchmarks/composed_quality.py.

The product no longer cuts results with it: :mod:`photolens.retrieval.relevance` decides what matches
(docs/relevance.md says why a flat threshold on this z-score could not work on a model it was not tuned on).
What follows is the original rationale, for the record.

Raw cosines are not comparable across query kinds: text-image cosines sit around 0.2-0.3 for real CLIP
models and image-image ones around 0.5-0.9, and each query has its own offset and spread. So every result is
scored against the library's own score distribution *for that query*::

    score = (cos - mean) / std      (mean and std of this query's cosines over the library)

i.e. "how many standard deviations above the library's typical photo, for this query". 0 is typical,
3 stands out. Scores are computed from the whole library (or a fixed sample of 8,192 photos), never from a
filtered subset, so a folder filter hides photos without changing what a score means.

Why mean/std and not median/MAD, and why 3.0 (``python -m benchmarks.composed_quality``, tiny CLIP, 1,500
photos; every query is run on the library as it is and again with all its matching photos removed):

- mean/std put the best match of text, image and composed queries at the same place (median 3.1, 3.2,
  3.1) and the same queries without their matches lower (2.5, 2.7, 2.7), so one cutoff serves every query
  kind; median/MAD put text matches at 4.5 but image matches at 3.1 (not comparable) and separated worse
  (best balanced accuracy 68% vs 74%);
- cutoff 3.0 had the best balanced accuracy (74%): text queries 77% answered / 88% of their no-match twins
  silent, image 79/88, composed 57/82; 96% of the results at or above it are relevant. Off-topic text (words
  the model never learned) was silent only half the time. 2.75 gives 72%, 2.5 and 3.5 fall to 58/53%: the
  window is narrow on this fixture.

Limits, measured: the best no-match score grows with library size (median 2.26 at 200 photos, 2.56 at
1,500, p90 2.59 -> 3.41; matches 3.02 -> 3.12), so large libraries will show more near misses above 3.0;
and all of this was measured on a tiny model, not a real CLIP: ``--min-score`` is there to adjust it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photolens.vectors import normalize

KINDS: tuple[str, ...] = ("z", "robust")
DEFAULT_KIND = "z"
MIN_PHOTOS = 50  # fewer photos: the distribution is too thin to estimate; no cutoff is applied
SAMPLE_SIZE = 8192  # statistics from at most this many photos (a fixed sample): well under 1 ms
MAD_TO_SIGMA = 1.4826  # for the "robust" kind: (cos - median) / (1.4826 MAD), kept for comparison


@dataclass(frozen=True)
class ScoreScale:
    """How one query's raw cosines map to calibrated scores: ``(cos - center) / spread``."""

    center: float
    spread: float
    n: int  # photos the statistics come from
    kind: str = DEFAULT_KIND

    @property
    def reliable(self) -> bool:
        """Enough photos for the scale to mean something; callers skip the cutoff otherwise."""
        return self.n >= MIN_PHOTOS

    def __call__(self, raw: np.ndarray | float) -> np.ndarray:
        return (np.asarray(raw, dtype=np.float32) - self.center) / self.spread

    def raw_threshold(self, min_score: float) -> float:
        """The cosine that corresponds to ``min_score`` for this query."""
        return self.center + min_score * self.spread


def fit_scale(scores: np.ndarray, kind: str = DEFAULT_KIND) -> ScoreScale:
    """The scale of one query from its raw cosines against the library (or a sample of it)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    scores = scores[np.isfinite(scores)]
    if scores.size == 0:
        return ScoreScale(0.0, 1.0, 0, kind)
    if kind == "robust":
        center = float(np.median(scores))
        spread = MAD_TO_SIGMA * float(np.median(np.abs(scores - center)))
    elif kind == "z":
        center, spread = float(scores.mean()), float(scores.std())
    else:
        raise ValueError(f"unknown calibration kind {kind!r}; choose one of {KINDS}")
    if not spread > 1e-6:  # a constant column (tiny library, degenerate query): fall back to the raw spread
        spread = max(float(scores.std()), 1e-3)
    return ScoreScale(center, spread, int(scores.size), kind)


def sample_rows(n: int, size: int = SAMPLE_SIZE, seed: int = 0) -> np.ndarray | None:
    """A fixed sample of row indices (None = use all rows): the same photos for every query, so scores are
    comparable between queries and stable between runs."""
    if n <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def scale_for(query: np.ndarray, matrix: np.ndarray, kind: str = DEFAULT_KIND,
              rows: np.ndarray | None = None) -> ScoreScale:
    """The scale of ``query`` against a library ``matrix`` ``(n, d)``, using ``rows`` of it when given.

    Calibrate against the whole library, not a filtered subset: a folder filter should hide photos, not
    change what a score means.
    """
    query = normalize(np.asarray(query, dtype=np.float32).reshape(-1))
    sub = matrix if rows is None else matrix[rows]
    return fit_scale(sub @ query, kind)


def calibrated_scores(query: np.ndarray, matrix: np.ndarray, kind: str = DEFAULT_KIND) -> np.ndarray:
    """Calibrated score of every row of ``matrix`` for ``query`` (statistics over all rows)."""
    raw = matrix @ normalize(np.asarray(query, dtype=np.float32).reshape(-1))
    return fit_scale(raw, kind)(raw)
