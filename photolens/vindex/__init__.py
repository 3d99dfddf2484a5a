"""Vector index layer: exact (numpy) and approximate (hnswlib) search over photo embeddings.

Pure: no database access. The store hands in (ids, vectors) and change notifications; see ``IndexManager``.
"""

from photolens.vindex.base import PAD_ID, SearchHits, VectorIndex
from photolens.vindex.errors import IndexCorruptError
from photolens.vindex.exact import ExactIndex
from photolens.vindex.hnsw import HnswIndex, HnswParams
from photolens.vindex.manager import RAW_LENS, IndexKey, IndexManager, IndexSettings, IndexStatus
from photolens.vindex.memory import MemoryEstimate, bytes_per_photo

__all__ = [
    "PAD_ID",
    "RAW_LENS",
    "ExactIndex",
    "HnswIndex",
    "HnswParams",
    "IndexCorruptError",
    "IndexKey",
    "IndexManager",
    "IndexSettings",
    "IndexStatus",
    "MemoryEstimate",
    "SearchHits",
    "VectorIndex",
    "bytes_per_photo",
]
