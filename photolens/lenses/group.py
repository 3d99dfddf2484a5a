"""Group photos by lens: each photo goes to the value word whose anchor is nearest in lens space.

A value's anchor is the mean over its templates of the projected prompt embeddings N(U x), renormalised,
so a lens with several templates is not tied to one phrasing. Each photo gets its best value, the cosine
to it (score), and the margin over the runner-up; photos whose margin is small go to an "unsure" bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensError
from photolens.lenses.fit import value_means
from photolens.lenses.project import project

# Unsure when margin < UNSURE_FRACTION × median margin of the photos being grouped. Why relative: image-text
# cosines sit on a compressed, model-dependent scale (the modality gap), so any absolute margin would mean
# different things for different models and lenses; the median margin is the library's own scale of "how
# clearly does a photo pick a value here". Why 0.25: if a photo's scores were pure noise, the gap between
# its two best scores would be roughly exponential, and 25 % of the median then catches about one photo in
# six of such a noisy library; in a library where the lens works, margins concentrate well above that and
# few photos fall below. Measured on the tiny CLIP fixture (benchmarks/tinyclip.py, 1500 photos): unsure
# share / accuracy of sure vs unsure photos = 0.8 % / 0.998 vs 0.58 (tint), 4.5 % / 0.995 vs 0.82 (size),
# 18 % / 0.43 vs 0.29 (item, a notion that model barely knows). Callers that know better pass an
# absolute ``unsure_margin``.
UNSURE_FRACTION = 0.25
CHUNK_ROWS = 65536


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int  # sure photos assigned to this value
    unsure: int  # photos whose best value is this one but with a small margin
    mean_score: float  # mean score of the sure photos (nan when none)


@dataclass(frozen=True)
class Grouping:
    """Per-photo arrays (aligned with the input rows) plus what was used to decide."""

    values: tuple[str, ...]
    value: np.ndarray  # int64 (n,) index of the best value
    score: np.ndarray  # float32 (n,) cosine to the best value's anchor
    margin: np.ndarray  # float32 (n,) best score minus runner-up score
    unsure: np.ndarray  # bool (n,)
    threshold: float  # the margin under which a photo is unsure

    def summary(self) -> list[ValueCount]:
        """Counts per value, in the definition's order; the unsure photos are counted apart."""
        rows = []
        for index, word in enumerate(self.values):
            chosen = self.value == index
            sure = chosen & ~self.unsure
            mean = float(self.score[sure].mean()) if sure.any() else float("nan")
            rows.append(ValueCount(word, int(sure.sum()), int((chosen & self.unsure).sum()), mean))
        return rows

    @property
    def unsure_count(self) -> int:
        return int(self.unsure.sum())


def value_anchors(
    matrix: np.ndarray, prompt_vectors: np.ndarray, owners: Sequence[Sequence[int]], n_values: int
) -> np.ndarray:
    """Anchors (n_values, k): per value, the renormalised mean of its projected prompt embeddings."""
    return value_means(project(matrix, prompt_vectors), owners, n_values)


def definition_anchors(
    definition: LensDefinition, matrix: np.ndarray, prompt_vectors: np.ndarray
) -> np.ndarray:
    """:func:`value_anchors` for a definition, with ``prompt_vectors`` in ``definition.prompts()`` order."""
    return value_anchors(matrix, prompt_vectors, definition.prompt_owners(), len(definition.values))


def group_by_lens(
    projected: np.ndarray,
    anchors: np.ndarray,
    values: Sequence[str],
    unsure_margin: float | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Grouping:
    """Assign each projected photo (n, k) to its nearest anchor (m, k); ``values`` names the anchors.

    ``unsure_margin`` is an absolute margin threshold; by default it is UNSURE_FRACTION × the median margin.
    """
    z = np.asarray(projected, dtype=np.float32)
    a = np.asarray(anchors, dtype=np.float32)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[0] != len(values):
        raise LensError(
            f"Grouping needs at least two anchors, one per value ({len(values)} values, {a.shape})."
        )
    if z.ndim != 2 or z.shape[1] != a.shape[1]:
        raise LensError(f"Photos in lens space have shape {z.shape}, anchors {a.shape}: dimensions differ.")
    n = z.shape[0]
    best = np.empty(n, dtype=np.int64)
    score = np.empty(n, dtype=np.float32)
    margin = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk_rows):
        scores = z[start : start + chunk_rows] @ a.T
        top2 = np.argpartition(-scores, 1, axis=1)[:, :2]
        pair = np.take_along_axis(scores, top2, axis=1)
        first = np.argmax(pair, axis=1)
        rows = np.arange(pair.shape[0])
        best[start : start + chunk_rows] = top2[rows, first]
        score[start : start + chunk_rows] = pair[rows, first]
        margin[start : start + chunk_rows] = pair[rows, first] - pair[rows, 1 - first]
    if unsure_margin is None:
        threshold = UNSURE_FRACTION * float(np.median(margin)) if n else 0.0
    else:
        threshold = float(unsure_margin)
    return Grouping(tuple(values), best, score, margin, margin < threshold, threshold)
