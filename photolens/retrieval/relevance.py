"""Which results are matches: a cutoff that adapts to the query and to the model (docs/relevance.md).

A photo is a *match* for a query when it passes two tests, each in the query's and the model's own units:

1. **The query's curve** (this query, this library): its cosine is at least ``median + KNEE * (top - median)``
   of the query's cosines over the library, where ``top`` is the ``TOP_K``-th best. Photos near the top of
   the curve pass; the bulk of the library does not. This alone would call the best few photos of *any*
   query matches, so:
2. **The photo's null** (this model, this photo): the query must describe the photo better than most
   arbitrary descriptions do. For text, the arbitrary descriptions are a broad vocabulary of generic
   captions (:mod:`photolens.retrieval.vocabulary`); for a photo query, the library's other photos. The
   photo's cosine must come ``NULL_SHARE`` of the way from its median cosine with those to its best one
   (its ``NULL_QUANTILE`` quantile). So a near miss (a bag-like coat for "a bag" in a library without
   bags) fails when the photo has a better description ("a coat"). A composed query (part photo, part
   text) uses a blend of the two nulls, weighted by how text-like the query vector is.
   A model that knows nothing (random weights) gives the query no edge over arbitrary captions, so almost
   nothing passes.

The calibrated score puts both tests on one scale: ``score = min(curve ratio, null ratio)``, each ratio
being 0 at the typical value (the query's median; the photo's median null cosine) and 1 at the cutoff.
So ``score >= 1`` is exactly "match", 0 is a typical photo, and the same holds for text, photo, composed
and lens searches. Raw cosines stay available (``SearchHit.cosine``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photolens.vectors import normalize

KNEE = 0.7  # tuned on tiny CLIP "fashion-a" only (benchmarks/relevance_bench.py)
NULL_QUANTILE = 1.0  # the null reference of a photo: its best arbitrary description (1.0 = the best one)
NULL_SHARE = 0.75  # how close to that reference the query must come; tuned on "fashion-a" only
NULL_FLOOR = 0.5  # the null's margin is at least this share of the query's own spread (top - median)
TOP_K = 5  # "top" of the curve: the 5th best photo, so one outlier does not set the scale
SAMPLE_SIZE = 8192  # curve statistics from at most this many photos (a fixed sample)
NULL_PHOTOS = 512  # photos serving as the null of photo queries
MIN_PHOTOS = 50  # below this the curve is too short to trust: the service says so
SAME_TEXT = 0.98  # a caption this close to the query is the query itself
EPS = 1e-6


@dataclass(frozen=True)
class NullModel:
    """What arbitrary descriptions of this library look like, in the space searched.

    ``captions``: generic captions' vectors; ``photos``: a fixed sample of the library's photos (the null of
    photo queries); ``text_level`` / ``photo_level``: how close captions / photos typically come to their
    nearest photos, which places any query vector between "text-like" and "photo-like".
    """

    captions: np.ndarray
    photos: np.ndarray
    text_level: float
    photo_level: float
    caption_medians: np.ndarray | None = None  # each caption's median cosine over the library sample
    photo_medians: np.ndarray | None = None  # each sampled photo's median cosine over the sample

    def text_share(self, query: np.ndarray) -> float:
        """0 for a photo-like query vector, 1 for a text-like one, in between for composed queries: how close
        the query comes to its nearest photos, between what captions reach and what photos reach."""
        span = self.photo_level - self.text_level
        if span < EPS:
            return 1.0
        position = (self.photo_level - _nearest(query[None], self.photos)[0]) / span  # 0 photo-like, 1 text-like
        return float(np.clip((position - 0.25) / 0.5, 0.0, 1.0))  # the outer quarters count as pure

    def bars(self, vectors: np.ndarray, text_share: float,
             query: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per photo (rows of ``vectors``): its typical null cosine and its cutoff. Captions that are the
        query itself in other words (cosine >= SAME_TEXT) are left out: a query does not compete with itself."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.captions.shape[1])
        typical = np.zeros(len(vectors))
        cutoff = np.zeros(len(vectors))
        captions, caption_medians = self.captions, self.caption_medians
        if query is not None and len(captions):
            keep = captions @ query < SAME_TEXT
            captions = captions[keep]
            caption_medians = None if caption_medians is None else caption_medians[keep]
        for share, null, medians in ((text_share, captions, caption_medians),
                                     (1.0 - text_share, self.photos, self.photo_medians)):
            if share <= 0.0 or not len(null):
                continue
            cos = vectors @ null.T
            if null is self.photos:  # a sampled photo is not its own null
                cos = np.where(cos > 1.0 - 1e-4, np.median(cos), cos)
            if medians is not None:  # a caption that fits every photo equally ("a photo") competes with none
                cos = cos - medians[None, :]
            median = np.median(cos, axis=1)
            typical += share * median
            cutoff += share * (median + NULL_SHARE * (np.quantile(cos, NULL_QUANTILE, axis=1) - median))
        return typical, cutoff


def build_null(caption_vectors: np.ndarray, matrix: np.ndarray, seed: int = 0) -> NullModel:
    """The null model of a library ``matrix`` (unit rows, in the space searched) for generic captions
    already embedded and projected into that space."""
    captions = normalize(np.asarray(caption_vectors, dtype=np.float32))
    rows = sample_rows(matrix.shape[0], NULL_PHOTOS, seed)
    photos = np.asarray(matrix if rows is None else matrix[rows], dtype=np.float32)
    if not len(photos) or not len(captions):
        return NullModel(captions, photos, 0.0, 0.0)
    return NullModel(captions, photos, float(np.median(_nearest(captions, photos))),
                     float(np.median(_nearest(photos, photos))),
                     np.median(photos @ captions.T, axis=0), np.median(photos @ photos.T, axis=0))


def _nearest(vectors: np.ndarray, photos: np.ndarray, k: int = 5) -> np.ndarray:
    """Mean cosine of each vector with its ``k`` nearest photos (itself left out)."""
    cos = vectors @ photos.T
    cos = np.where(cos > 1.0 - 1e-4, -1.0, cos)
    kk = min(k, cos.shape[1])
    return np.sort(cos, axis=1)[:, -kk:].mean(axis=1)


@dataclass(frozen=True)
class QueryCurve:
    """One query's cosines over the library, summarised: its median, its top and the knee between."""

    median: float
    top: float
    n: int
    text_share: float

    @property
    def knee(self) -> float:
        return self.median + KNEE * (self.top - self.median)

    @property
    def reliable(self) -> bool:
        return self.n >= MIN_PHOTOS


def query_curve(query: np.ndarray, matrix: np.ndarray, null: NullModel, rows: np.ndarray | None = None) -> QueryCurve:
    """The curve of ``query`` (unit vector in the space searched) over ``matrix`` (or its ``rows``)."""
    sub = matrix if rows is None else matrix[rows]
    cos = sub @ query
    if not len(cos):
        return QueryCurve(0.0, 0.0, 0, null.text_share(query))
    k = min(TOP_K, len(cos))
    top = float(np.partition(cos, len(cos) - k)[len(cos) - k])
    return QueryCurve(float(np.median(cos)), top, len(cos), null.text_share(query))


def calibrated(curve: QueryCurve, null: NullModel, vectors: np.ndarray, cosines: np.ndarray,
               query: np.ndarray | None = None) -> np.ndarray:
    """Calibrated scores of photos (``vectors``, unit rows in the space) with ``cosines`` to the query.

    ``score >= 1`` means the photo passes both tests (a match); see the module docstring.
    """
    cosines = np.asarray(cosines, dtype=np.float64).reshape(-1)
    curve_ratio = (cosines - curve.median) / max(curve.knee - curve.median, EPS)
    typical, cutoff = null.bars(vectors, curve.text_share, query)
    relative = cosines - curve.median  # the query, like its null, is measured against its own library median
    # A model that cannot tell descriptions apart (random weights) has a null with no spread: then a photo
    # must still beat it by a fair part of the query's own spread, or tiny differences would count.
    floor = max(NULL_FLOOR * (curve.top - curve.median), EPS)
    null_ratio = (relative - typical) / np.maximum(cutoff - typical, floor)
    return np.minimum(curve_ratio, null_ratio).astype(np.float32)


def sample_rows(n: int, size: int = SAMPLE_SIZE, seed: int = 0) -> np.ndarray | None:
    """A fixed sample of row indices (None = all rows): the same photos for every query, so scores are
    comparable between queries and stable between runs."""
    if n <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


PREFIX_PASS = 0.8  # the match line: the longest head of the ranking in which this share of photos pass


def judged_scores(curve: QueryCurve, null: NullModel, vectors: np.ndarray, cosines: np.ndarray,
                  query: np.ndarray | None = None) -> np.ndarray:
    """Scores on one line per query, monotone in the cosine (the ranking stays the index's).

    The photos passing both tests (:func:`calibrated` >= 1) are not always a head of the ranking: one photo
    can fail its null and the next pass. The match line is drawn at the end of the longest head of the
    ranking in which at least ``PREFIX_PASS`` of the photos pass, ending on one that passes; then
    ``score = (cos - median) / (line - median)``: 1 on the line, 0 for a typical photo. Without a match the
    line sits just above the best photo (and at least at the knee), so every score is below 1.
    """
    cosines = np.asarray(cosines, dtype=np.float64).reshape(-1)
    if not len(cosines):
        return np.zeros(0, np.float32)
    order = np.argsort(-cosines, kind="stable")
    passes = calibrated(curve, null, vectors[order], cosines[order], query) >= 1.0
    share = np.cumsum(passes) / np.arange(1, len(passes) + 1)
    heads = np.flatnonzero(passes & (share >= PREFIX_PASS))
    if len(heads):
        line = float(cosines[order[heads[-1]]])
    else:
        line = max(curve.knee, float(cosines.max())) + 1e-6
    return ((cosines - curve.median) / max(line - curve.median, EPS)).astype(np.float32)
