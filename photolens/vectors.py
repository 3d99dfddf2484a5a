"""Vector (de)serialisation: float16 blobs in the store, float32 normalised arrays in memory."""

from __future__ import annotations

import numpy as np

STORE_DTYPE = np.dtype("<f2")


def normalize(vectors: np.ndarray, axis: int = -1) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=axis, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=STORE_DTYPE).tobytes()


def from_blobs(blobs: list[bytes], dim: int) -> np.ndarray:
    """Stack float16 blobs into a renormalised float32 matrix ``(n, dim)``."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    joined = np.frombuffer(b"".join(blobs), dtype=STORE_DTYPE)
    return normalize(joined.reshape(len(blobs), dim))
