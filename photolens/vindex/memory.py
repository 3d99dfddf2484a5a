"""Bytes per photo of each index, from the data layouts (checked against measured RSS in the benchmark).

Exact: the float32 row plus its int64 id, plus the id map (4 B per id slot up to the largest id: SQLite
rowids are compact; a Python dict, ~125 B per id, only for very sparse ids). hnswlib 0.8, per element:
level-0 block (2M links of 4 B + 4 B count, the vector, an 8 B label), upper-level links for the 1/(M-1)
expected extra levels (M links + count, plus a malloc header), a level int, a link-list pointer, a
std::mutex (40 B on Linux) and a label-map node (~40 B); plus the wrapper's live/deleted table (4 B per id
slot). Figures are for live elements with compact ids; growth headroom (up to 1.5x) and
deleted-but-not-compacted elements come on top until compaction.
"""

from __future__ import annotations

from dataclasses import dataclass

EXACT_ID_MAP_BYTES = 4
HNSW_LIVE_SET_BYTES = 4
_MUTEX = 40
_LABEL_MAP_NODE = 40
_MALLOC_HEADER = 16


@dataclass(frozen=True)
class MemoryEstimate:
    """Per-photo bytes of each part; ``total`` is what a manager holding both indexes uses."""

    dim: int
    m: int
    exact: int
    hnsw: int

    @property
    def total(self) -> int:
        return self.exact + self.hnsw

    def for_photos(self, n: int) -> int:
        return self.total * n


def exact_bytes_per_photo(dim: int) -> int:
    return 4 * dim + 8 + EXACT_ID_MAP_BYTES


def hnsw_bytes_per_photo(dim: int, m: int = 16) -> int:
    level0 = (2 * m) * 4 + 4 + 4 * dim + 8
    upper = ((m * 4 + 4) + _MALLOC_HEADER) / max(m - 1, 1)
    fixed = 4 + 8 + _MUTEX + _LABEL_MAP_NODE
    return int(round(level0 + upper + fixed + HNSW_LIVE_SET_BYTES))


def bytes_per_photo(dim: int, m: int = 16, hnsw: bool = True) -> MemoryEstimate:
    """Memory per photo for one (model, lens) space: the exact matrix always, the hnsw graph if built."""
    return MemoryEstimate(dim, m, exact_bytes_per_photo(dim), hnsw_bytes_per_photo(dim, m) if hnsw else 0)
