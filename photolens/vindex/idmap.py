"""Photo id -> small integer, vectorised: a dense numpy table indexed by id, or a dict for sparse ids.

Store ids are SQLite rowids, compact in practice, so a table costs 4 bytes per id up to the largest one and
answers a batch of lookups with one gather. A Python dict costs ~125 bytes per id and a cache miss or three
per lookup (~0.6 ms per 1000 ids at 1M entries); it is used only when the ids are too sparse for a table.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np

MISSING = -1
_SLOTS_PER_ID = 8
"""A table may have this many slots per stored id (plus a fixed allowance) before the dict is used."""
_FREE_SLOTS = 1 << 20


class IdMap:
    """Mapping of non-negative int64 ids to int32 values >= 0; ``get`` answers ``MISSING`` for absent ids."""

    def __init__(self) -> None:
        self._table: np.ndarray | None = np.full(0, MISSING, dtype=np.int32)
        self._dict: dict[int, int] | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (int, np.integer)) or isinstance(key, bool):
            return False
        if self._dict is not None:
            return int(key) in self._dict
        assert self._table is not None
        return 0 <= key < self._table.size and self._table[key] != MISSING

    @property
    def nbytes(self) -> int:
        return self._table.nbytes if self._table is not None else 125 * self._count

    def value_of(self, key: int) -> int:
        """Value for one id, ``MISSING`` if absent."""
        if self._dict is not None:
            return self._dict.get(int(key), MISSING)
        assert self._table is not None
        return int(self._table[key]) if 0 <= key < self._table.size else MISSING

    def get(self, ids: np.ndarray) -> np.ndarray:
        """Values for ``ids`` (int64 array), ``MISSING`` where absent."""
        if self._dict is not None:
            get = self._dict.get
            return np.fromiter(map(get, ids.tolist(), repeat(MISSING)), dtype=np.int64, count=ids.size)
        assert self._table is not None
        out = np.full(ids.size, MISSING, dtype=np.int64)
        inside = (ids >= 0) & (ids < self._table.size)
        out[inside] = self._table[ids[inside]]
        return out

    def set(self, ids: np.ndarray, values: np.ndarray) -> None:
        """Insert or overwrite; ``ids`` must be unique within the call."""
        if ids.size == 0:
            return
        if self._dict is None:
            assert self._table is not None
            top = int(ids.max())
            if top >= self._table.size:
                need = top + 1
                if need > _SLOTS_PER_ID * (self._count + ids.size) + _FREE_SLOTS:
                    self._to_dict()
                else:
                    grown = np.full(
                        max(need, self._table.size + self._table.size // 2), MISSING, dtype=np.int32
                    )
                    grown[: self._table.size] = self._table
                    self._table = grown
        if self._dict is not None:
            before = len(self._dict)
            self._dict.update(zip(ids.tolist(), np.asarray(values).tolist()))
            self._count += len(self._dict) - before
            return
        assert self._table is not None
        self._count += int(np.count_nonzero(self._table[ids] == MISSING))
        self._table[ids] = values

    def delete(self, ids: np.ndarray) -> None:
        """Remove ``ids`` (unique within the call); absent ones are ignored."""
        if self._dict is not None:
            pop = self._dict.pop
            for i in ids.tolist():
                pop(i, None)
            self._count = len(self._dict)
            return
        assert self._table is not None
        ids = ids[(ids >= 0) & (ids < self._table.size)]
        self._count -= int(np.count_nonzero(self._table[ids] != MISSING))
        self._table[ids] = MISSING

    def keys(self) -> np.ndarray:
        """All ids, sorted."""
        if self._dict is not None:
            return np.sort(np.fromiter(self._dict, dtype=np.int64, count=len(self._dict)))
        assert self._table is not None
        return np.flatnonzero(self._table != MISSING).astype(np.int64)

    def keys_with(self, value: int) -> np.ndarray:
        """Ids mapped to ``value``, sorted."""
        if self._dict is not None:
            return np.sort(np.fromiter((k for k, v in self._dict.items() if v == value), dtype=np.int64))
        assert self._table is not None
        return np.flatnonzero(self._table == value).astype(np.int64)

    def _to_dict(self) -> None:
        assert self._table is not None
        keys = np.flatnonzero(self._table != MISSING)
        self._dict = dict(zip(keys.tolist(), self._table[keys].tolist()))
        self._table = None
