"""The interface shared by the exact and the approximate index, and small helpers both use.

Scores are inner products of L2-normalised float32 vectors, i.e. cosine similarity. Results are fixed-shape
arrays so that batches of queries stay vectorised; slots beyond the available candidates are padded with
``PAD_ID`` / ``-inf`` (``SearchHits.row`` strips them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

PAD_ID = -1
"""Id in padding slots of ``SearchHits`` (fewer than k candidates, e.g. a narrow filter)."""


@dataclass(frozen=True)
class SearchHits:
    """Top-k results: ``ids`` (q, k) int64 and ``scores`` (q, k) float32, best first per row.

    Rows with fewer than k candidates end in ``PAD_ID`` / ``-inf``.
    """

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of query ``i`` without padding."""
        ids = self.ids[i]
        keep = ids != PAD_ID
        return ids[keep], self.scores[i][keep]

    @staticmethod
    def empty(n_queries: int, k: int) -> SearchHits:
        return SearchHits(
            np.full((n_queries, k), PAD_ID, dtype=np.int64),
            np.full((n_queries, k), -np.inf, dtype=np.float32),
        )


@runtime_checkable
class VectorIndex(Protocol):
    """A set of (photo id, vector) pairs searchable by inner product.

    ``add`` with an id already present replaces its vector (a changed photo); a moved photo keeps its id, so
    needs nothing. ``remove`` ignores unknown ids. ``allowed`` restricts results to those ids (the store
    turns folder/date/metadata filters into an id array); ids in it that are not indexed are ignored.
    """

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def __contains__(self, photo_id: object) -> bool: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> SearchHits: ...


def as_ids(ids: object) -> np.ndarray:
    """Ids as a 1-d int64 array; photo ids are non-negative (hnswlib labels are unsigned)."""
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be a 1-d integer array, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    if arr.min() < 0:
        raise ValueError("photo ids must be non-negative")
    return arr


def as_batch(ids: object, vectors: object, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate an ``add`` batch; a repeated id keeps its last vector (as sequential adds would)."""
    ids_arr = as_ids(ids)
    vecs = np.asarray(vectors, dtype=np.float32)
    if vecs.ndim == 1 and ids_arr.size == 1:
        vecs = vecs.reshape(1, -1)
    if vecs.ndim != 2 or vecs.shape != (ids_arr.size, dim):
        raise ValueError(f"vectors must have shape ({ids_arr.size}, {dim}), got {vecs.shape}")
    if ids_arr.size > 1:
        # np.unique keeps the first occurrence; run it on the reversed batch so the last one wins.
        _, first_rev = np.unique(ids_arr[::-1], return_index=True)
        if first_rev.size != ids_arr.size:
            keep = np.sort(ids_arr.size - 1 - first_rev)
            ids_arr, vecs = ids_arr[keep], vecs[keep]
    return ids_arr, np.ascontiguousarray(vecs)


def as_queries(queries: object, dim: int) -> np.ndarray:
    """Queries as a C-contiguous (q, dim) float32 array; a single (dim,) vector becomes one row."""
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q.reshape(1, -1)
    if q.ndim != 2 or q.shape[1] != dim:
        raise ValueError(f"queries must have shape (q, {dim}) or ({dim},), got {q.shape}")
    return np.ascontiguousarray(q)


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> SearchHits:
    """Best ``k`` per row of candidate (ids, scores) matrices, sorted by score, then id (deterministic).

    Candidates with ``PAD_ID`` or ``-inf`` score never beat real ones and end up as padding.
    """
    n_q, n_c = scores.shape
    if k <= 0:
        return SearchHits.empty(n_q, 0)
    if n_c > k:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        ids = np.take_along_axis(ids, part, axis=1)
        scores = np.take_along_axis(scores, part, axis=1)
    # lexsort: last key is primary -> score descending, then id ascending.
    order = np.lexsort((ids, -scores), axis=1)
    ids = np.take_along_axis(ids, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1).astype(np.float32, copy=False)
    invalid = (ids == PAD_ID) | ~np.isfinite(scores)
    if invalid.any():
        ids = np.where(invalid, PAD_ID, ids)
        scores = np.where(invalid, np.float32(-np.inf), scores)
    if ids.shape[1] < k:
        pad = k - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=PAD_ID)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return SearchHits(ids.astype(np.int64, copy=False), scores.astype(np.float32, copy=False))


def merge_hits(a: SearchHits, b: SearchHits, k: int) -> SearchHits:
    """Union of two result sets for the same queries, an id kept once (with its best score)."""
    ids = np.concatenate([a.ids, b.ids], axis=1)
    scores = np.concatenate([a.scores, b.scores], axis=1)
    if ids.shape[1] > 1:
        # Drop duplicate ids per row: sort by (id, -score), blank every repeat.
        order = np.lexsort((-scores, ids), axis=1)
        ids_s = np.take_along_axis(ids, order, axis=1)
        sc_s = np.take_along_axis(scores, order, axis=1)
        dup = np.zeros_like(ids_s, dtype=bool)
        dup[:, 1:] = (ids_s[:, 1:] == ids_s[:, :-1]) & (ids_s[:, 1:] != PAD_ID)
        ids = np.where(dup, PAD_ID, ids_s)
        scores = np.where(dup, np.float32(-np.inf), sc_s)
    return top_k(ids, scores, k)
