"""Retrieval metrics for judging lenses and search (docs/methods.md §1).

Every item queries all the others by cosine similarity; relevant = same label. Queries whose label
occurs only once have no relevant item and are left out of both metrics (the usual metric-learning
convention, Musgrave et al. 2020), so a singleton class neither helps nor hurts. Similarities are computed
in chunks of queries so 10k items need only a (chunk, n) block at a time. Ties are broken by item order.
"""

from __future__ import annotations

import numpy as np

CHUNK_QUERIES = 512


def _prepare(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(labels)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"need (n, d) embeddings and n labels, got {x.shape} and {y.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.maximum(norms, np.finfo(np.float32).tiny)
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    relevant = counts[codes] - 1  # R per query: same-label items other than itself
    if not np.any(relevant > 0):
        raise ValueError("no label occurs twice: no query has a relevant item")
    return x, codes.reshape(-1), relevant


def _ranked(x: np.ndarray, rows: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the top-``depth`` other items for each query row, best first (self excluded)."""
    sims = x[rows] @ x.T
    sims[np.arange(rows.size), rows] = -np.inf
    if depth < sims.shape[1]:
        top = np.argpartition(-sims, depth - 1, axis=1)[:, :depth]
    else:
        top = np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
    # stable sort by (-similarity, index) so equal similarities rank in item order
    order = np.lexsort((top, -np.take_along_axis(sims, top, axis=1)), axis=1)
    return np.take_along_axis(top, order, axis=1)


def map_at_r(embeddings: np.ndarray, labels: np.ndarray, chunk: int = CHUNK_QUERIES) -> float:
    """Mean over queries of AP within the top R (R = number of relevant items of that query):
    (1/R) Σ_{i≤R} precision@i · rel(i)."""
    x, codes, relevant = _prepare(embeddings, labels)
    queries = np.flatnonzero(relevant > 0)
    total = 0.0
    for start in range(0, queries.size, chunk):
        rows = queries[start : start + chunk]
        r = relevant[rows]
        depth = int(r.max())
        ranked = _ranked(x, rows, depth)
        rel = codes[ranked] == codes[rows][:, None]
        ranks = np.arange(1, depth + 1)
        rel &= ranks[None, :] <= r[:, None]
        precision = np.cumsum(rel, axis=1) / ranks[None, :]
        total += float(np.sum((precision * rel).sum(axis=1) / r))
    return total / queries.size


def recall_at_1(embeddings: np.ndarray, labels: np.ndarray, chunk: int = CHUNK_QUERIES) -> float:
    """Fraction of queries whose nearest other item has the same label."""
    x, codes, relevant = _prepare(embeddings, labels)
    queries = np.flatnonzero(relevant > 0)
    hits = 0
    for start in range(0, queries.size, chunk):
        rows = queries[start : start + chunk]
        nearest = _ranked(x, rows, 1)[:, 0]
        hits += int(np.sum(codes[nearest] == codes[rows]))
    return hits / queries.size
