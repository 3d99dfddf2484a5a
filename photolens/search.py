"""Exact nearest-neighbour search over normalised vectors, and the combination of weighted terms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from photolens.vectors import normalize

CHUNK_ROWS = 65536


@dataclass(frozen=True)
class SearchHit:
    """One result. ``score``: the calibrated score when judged by :mod:`photolens.retrieval.relevance`
    (1 = the match line), else the raw cosine; ``cosine``: the raw cosine; ``match``: above the relevance
    cutoff (``None`` for results nobody judged, e.g. plain ``Library.search``)."""

    photo_id: int
    path: str
    score: float
    cosine: float | None = None
    match: bool | None = None

    def as_dict(self) -> dict:
        out = {"path": self.path, "score": round(float(self.score), 6)}
        if self.cosine is not None:
            out["cosine"] = round(float(self.cosine), 6)
        if self.match is not None:
            out["match"] = bool(self.match)
        out["id"] = self.photo_id
        return out


@dataclass(frozen=True)
class SearchFilter:
    """Restrict results to a folder (recursive) and/or a capture-date range."""

    folder: str | None = None
    taken_after: dt.datetime | None = None
    taken_before: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.folder or self.taken_after or self.taken_before)


def combine(vectors: np.ndarray, weights: np.ndarray | list[float]) -> np.ndarray:
    """Sum of weighted normalised vectors (negatives subtract), renormalised (methods.md §4)."""
    vectors = normalize(vectors)
    weights = np.asarray(weights, dtype=np.float32).reshape(-1, 1)
    return normalize((vectors * weights).sum(axis=0))


def top_k(matrix: np.ndarray, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and cosines of the ``k`` best rows (restricted to ``rows`` when given), best first."""
    if rows is not None:
        sub_idx, scores = top_k(matrix[rows], query, k)
        return rows[sub_idx], scores
    n = matrix.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    query = np.asarray(query, dtype=np.float32)
    best_idx: list[np.ndarray] = []
    best_scores: list[np.ndarray] = []
    for start in range(0, n, CHUNK_ROWS):
        scores = matrix[start : start + CHUNK_ROWS] @ query
        kk = min(k, scores.shape[0])
        part = np.argpartition(-scores, kk - 1)[:kk]
        best_idx.append(part + start)
        best_scores.append(scores[part])
    idx = np.concatenate(best_idx)
    scores = np.concatenate(best_scores)
    order = np.lexsort((idx, -scores))[:k]  # ties broken by row for stable output
    return idx[order].astype(np.int64), scores[order].astype(np.float32)
