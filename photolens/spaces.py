"""Search spaces — the model's own CLIP space and one per lens — served by the vector index layer.

The store is the source of truth; the index layer is a cache. Whenever the store's vectors change (this
process indexed, or another one did), :meth:`SpaceIndex.sync` diffs the new vector set against what the
index holds and applies only the difference (added, re-embedded and removed photos), so an hnsw graph
is updated incrementally instead of rebuilt.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from photolens.vindex import RAW_LENS, IndexManager, SearchHits

if TYPE_CHECKING:
    from photolens.library import VectorSet


@dataclass(frozen=True)
class Space:
    """Where a search happens. ``projection`` is a lens matrix U (k × d); ``None`` is raw CLIP space."""

    key: str = RAW_LENS
    projection: np.ndarray | None = None

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Map raw d-dimensional vectors (one or many) into this space, as unit rows."""
        if self.projection is None:
            return np.asarray(vectors, dtype=np.float32)
        from photolens.lenses.project import project

        projected = project(self.projection, vectors)
        return projected[0] if np.ndim(vectors) == 1 else projected


RAW_SPACE = Space()


@dataclass
class _Served:
    signature: tuple
    ids: np.ndarray
    vectors: np.ndarray


class SpaceIndex:
    """One :class:`IndexManager` for a library; keeps every opened space in step with the store."""

    def __init__(self, manager: IndexManager, model_key: str):
        self.manager = manager
        self.model_key = model_key
        self._served: dict[str, _Served] = {}
        self._lock = threading.Lock()

    def sync(self, space: Space, raw: VectorSet) -> tuple[np.ndarray, np.ndarray]:
        """Bring ``space`` up to date with ``raw`` (the store's current vectors); returns (ids, vectors)."""
        with self._lock:
            served = self._served.get(space.key)
            if served is not None and served.signature == raw.signature:
                return served.ids, served.vectors
            vectors = space.project(raw.matrix) if len(raw.ids) else np.zeros(
                (0, space.projection.shape[0] if space.projection is not None else raw.matrix.shape[1]),
                dtype=np.float32)
            key = (self.model_key, space.key)
            if served is None or not self.manager.is_open(key) or served.vectors.shape[1:] != vectors.shape[1:]:
                self.manager.open(key, raw.ids, vectors)
            else:
                self._apply_difference(key, served, raw.ids, vectors)
            self._served[space.key] = _Served(raw.signature, raw.ids, vectors)
            return raw.ids, vectors

    def _apply_difference(self, key: tuple[str, str], old: _Served, ids: np.ndarray, vectors: np.ndarray) -> None:
        removed = np.setdiff1d(old.ids, ids, assume_unique=True)
        if removed.size:
            self.manager.remove(key, removed)
        _, old_rows, new_rows = np.intersect1d(old.ids, ids, assume_unique=True, return_indices=True)
        changed = new_rows[np.any(old.vectors[old_rows] != vectors[new_rows], axis=1)] if old_rows.size else new_rows
        added = np.flatnonzero(~np.isin(ids, old.ids, assume_unique=True))
        rows = np.concatenate([changed, added]).astype(np.int64)
        if rows.size:
            self.manager.add(key, ids[rows], vectors[rows])

    def search(self, space: Space, query: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchHits:
        return self.manager.search((self.model_key, space.key), query, k, allowed)

    def forget(self, space_key: str) -> None:
        with self._lock:
            self._served.pop(space_key, None)
            key = (self.model_key, space_key)
            if self.manager.is_open(key):
                self.manager.discard(key)

    def close(self) -> None:
        self.manager.close()
