"""Vector index layer: exact (numpy) and approximate (hnswlib) search over photo embeddings.

Pure: no database access. The owner (``Library``) wires it to the store:

- ``IndexManager(directory=<data dir>/vindex, settings=IndexSettings(mode=<library setting>))``, one per
  library. Graph files live in ``directory``, one set per (model key, lens key).
- ``open((model_key, lens_key), ids, vectors)`` the first time a space is searched (``RAW_LENS`` for the
  model's own CLIP space; a lens key for a projected space), with all live photos' vectors from the store.
  Exact search works at once; a persisted graph is loaded, checked and repaired in the background, or
  built when the space is large enough.
- ``add`` / ``remove`` when photos are embedded, re-embedded (same id, new vector) or deleted / go missing
  (a moved photo keeps its id: nothing to do). ``discard`` when a model or lens is removed.
- ``search(key, queries, k, allowed=ids_matching_the_filters)``; results are ``SearchHits`` padded with
  ``PAD_ID`` / ``-inf`` when fewer than k photos qualify.
- ``save()`` after an indexing run or when idle, ``close()`` on exit.
"""

from photolens.vindex.base import PAD_ID, SearchHits, VectorIndex
from photolens.vindex.errors import IndexCorruptError
from photolens.vindex.exact import ExactIndex
from photolens.vindex.hnsw import HnswIndex, HnswParams, auto_ef
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
    "auto_ef",
    "bytes_per_photo",
]
