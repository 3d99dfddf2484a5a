"""Apply a lens: z = N(U · N(v)) for every row, in chunks so a million photos stay within a bounded
amount of scratch memory (one chunk of float32 copies at a time, besides the (n, k) result)."""

from __future__ import annotations

import numpy as np

from photolens.lenses.errors import LensError

CHUNK_ROWS = 65536  # 65536 × 512 float32 = 128 MiB of scratch per chunk at most


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation; all-zero rows stay zero instead of becoming NaN."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, np.finfo(np.float32).tiny)


def project(matrix: np.ndarray, vectors: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Project (n, d) vectors through a (k, d) lens matrix U; returns float32 (n, k) unit rows."""
    u = np.asarray(matrix, dtype=np.float32)
    v = np.asarray(vectors)
    if v.ndim == 1:
        v = v[None, :]
    if u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:
        raise LensError(
            f"The lens expects {u.shape[-1]}-dimensional embeddings but got shape {v.shape}; "
            "was it fitted for another model?"
        )
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    out = np.empty((v.shape[0], u.shape[0]), dtype=np.float32)
    ut = np.ascontiguousarray(u.T)
    for start in range(0, v.shape[0], chunk_rows):
        block = normalize_rows(v[start : start + chunk_rows].astype(np.float32, copy=False))
        out[start : start + chunk_rows] = normalize_rows(block @ ut)
    return out
