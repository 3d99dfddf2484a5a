"""Approximate search with hnswlib (inner product on normalised vectors = cosine).

Photo ids are used directly as hnswlib labels. Deletion is hnswlib's mark-deleted (the element stays in the
graph and keeps costing memory and a little search time), so ``deleted_fraction`` tells the owner when to
rebuild (compaction). Re-adding a live or deleted id updates the element in place.

Defaults come from ``benchmarks/search_bench.py`` on clustered CLIP-like data (2 cores). At 300k x 512
(k=50, CPU per query): M=16/ef_construction=100 builds in 75 CPU-s but needs ef=1024 for recall@50 0.985;
M=32/efc=100 (79 s) reaches 0.988 there; M=16/efc=200 (149 s) reaches 0.990 at ef=512 (1.1 ms) and 0.993
at ef=1024; M=32/efc=200 (175 s) only adds ~0.002 for 30% slower queries and 5% more memory. At 1M x 512
M=16/efc=100 stalled at 0.974 even at ef=2048 (text-like queries 0.964), so the graph gets the better
build: M=16, ef_construction=200, which at 1M x 512 gives recall@50 0.985 (text-like 0.976) at ef=810 in
2 ms per query, built in 651 CPU-s (7.3 min wall on the 2-core box, partly shared). Build time is a one-off in the
background (embedding the photos takes far longer); query time is bought with the search beam, which
grows with the index (``auto_ef``).

Not thread-safe by itself (hnswlib forbids add_items concurrent with knn_query): ``IndexManager`` locks.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photolens.vindex.base import SearchHits, as_batch, as_ids, as_queries, top_k
from photolens.vindex.errors import IndexCorruptError
from photolens.vindex.idmap import MISSING, IdMap
from photolens.vindex.persist import read_json, remove_files, verify_file, write_atomic, write_json_atomic

FORMAT = "photolens-hnsw"
FORMAT_VERSION = 1
_BITMAP_MAX_LABEL = 1 << 26
"""Largest label for which a filter is a byte map (64 MiB at most); beyond it a Python set is used."""


@dataclass(frozen=True)
class HnswParams:
    """Graph degree ``m``, build beam ``ef_construction``, search beam ``ef_search`` (>= k always;
    None: ``auto_ef`` by index size)."""

    m: int = 16
    ef_construction: int = 200
    ef_search: int | None = None
    seed: int = 100


def auto_ef(n: int) -> int:
    """Search beam for an index of ``n`` photos: recall at a fixed beam drops as the graph grows, most for
    text queries (far from every photo, CLIP's modality gap), and query time is cheap next to build time.

    Measured with ``benchmarks/search_bench.py`` (k=50): at 100k, ef=128 left single queries with recall@50
    near 0 while ef=256 gave ~0.99 (worst query >= 0.5); at 1M the beam must grow to keep recall (with
    M=16/efc=100: 0.966 at ef=810 vs 0.974 at 2048 for 512-d). Hence 256 * sqrt(n / 100k), clamped to
    [256, 1024]: ~2 ms per query at 1M x 512.
    """
    return int(min(1024, max(256, round(256 * math.sqrt(max(n, 1) / 100_000)))))


_LIVE = 1
_DEAD = 0
OVERFETCH_MAX = 2048
"""Largest candidate list for over-fetch + filter. It is searched with a beam of twice its length (the tail
of a long candidate list is where an approximate search loses most): at most ~4x an unfiltered query."""


def overfetch_size(k: int, n_allowed: int, n_live: int) -> int:
    """Candidates to fetch so that k allowed ones survive when a fraction n_allowed/n_live is allowed
    (30% margin plus a constant: a shortfall for an uncorrelated filter is a few-sigma event)."""
    fraction = min(1.0, max(n_allowed, 1) / max(n_live, 1))
    return math.ceil(k / fraction * 1.3) + 16


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


class HnswIndex:
    """hnswlib graph over (photo id, vector) with tracking of live and mark-deleted ids."""

    def __init__(
        self, dim: int, params: HnswParams | None = None, capacity: int = 1024, num_threads: int | None = None
    ) -> None:
        import hnswlib

        self._params = params or HnswParams()
        self._dim = int(dim)
        self._threads = num_threads or default_threads()
        self._index = hnswlib.Index(space="ip", dim=self._dim)
        self._index.init_index(
            max_elements=max(int(capacity), 16),
            M=self._params.m,
            ef_construction=self._params.ef_construction,
            random_seed=self._params.seed,
        )
        self._ef = 0
        self._state = IdMap()  # label -> _LIVE or _DEAD (mark-deleted, still in the graph)
        self._n_live = 0
        self._n_dead = 0
        self._max_label = -1
        self.saved_digests: np.ndarray | None = None
        """Digests stored by ``save`` (aligned with the sorted ids at load time), for the owner to check."""

    # -- properties ------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def params(self) -> HnswParams:
        return self._params

    def __len__(self) -> int:
        return self._n_live

    def __contains__(self, photo_id: object) -> bool:
        return isinstance(photo_id, (int, np.integer)) and self._state.value_of(int(photo_id)) == _LIVE

    @property
    def ef_search(self) -> int:
        """The search beam in use: the fixed setting, or ``auto_ef`` of the current size."""
        ef = self._params.ef_search
        return int(ef) if ef else auto_ef(self._n_live)

    @ef_search.setter
    def ef_search(self, ef: int | None) -> None:
        """Change the search beam (a setting; no rebuild needed); None: by size."""
        p = self._params
        self._params = HnswParams(p.m, p.ef_construction, max(1, int(ef)) if ef else None, p.seed)

    @property
    def deleted_fraction(self) -> float:
        """Share of graph elements that are mark-deleted; compaction (a rebuild) resets it to 0."""
        total = self._n_live + self._n_dead
        return self._n_dead / total if total else 0.0

    @property
    def capacity(self) -> int:
        return int(self._index.get_max_elements())

    def ids(self) -> np.ndarray:
        """Live ids, sorted."""
        return self._state.keys_with(_LIVE)

    # -- updates ---------------------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray, num_threads: int | None = None) -> None:
        ids_arr, vecs = as_batch(ids, vectors, self._dim)
        if ids_arr.size == 0:
            return
        state = self._state.get(ids_arr)
        new = int(np.count_nonzero(state == MISSING))
        revived = int(np.count_nonzero(state == _DEAD))
        need = self._n_live + self._n_dead + new
        cap = self.capacity
        if need > cap:
            # Amortised growth: resize_index reallocates the whole level-0 block.
            self._index.resize_index(max(need, cap + cap // 2))
        self._index.add_items(vecs, ids_arr.astype(np.uint64), num_threads=num_threads or self._threads)
        self._state.set(ids_arr, np.full(ids_arr.size, _LIVE, dtype=np.int32))
        self._n_live += new + revived
        self._n_dead -= revived
        self._max_label = max(self._max_label, int(ids_arr.max()))

    def remove(self, ids: np.ndarray) -> None:
        ids_arr = np.unique(as_ids(ids))
        gone = ids_arr[self._state.get(ids_arr) == _LIVE]
        for i in gone.tolist():
            self._index.mark_deleted(i)
        self._state.set(gone, np.full(gone.size, _DEAD, dtype=np.int32))
        self._n_live -= gone.size
        self._n_dead += gone.size

    # -- search ----------------------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, num_threads: int | None = None
    ) -> SearchHits:
        """Approximate top-k. With ``allowed``: an unfiltered search for ``overfetch_size`` candidates,
        keeping the allowed ones, when that is at most ``OVERFETCH_MAX``; otherwise, or when too few
        candidates survive (a filter correlated with the query's neighbourhood), hnswlib's filter callback,
        which walks on until it has enough allowed candidates (correct, but slow for narrow filters: a
        Python call per visited node; ``IndexManager`` answers narrow filters exactly instead)."""
        q = as_queries(queries, self._dim)
        n_q, n_live = q.shape[0], self._n_live
        if k <= 0:
            return SearchHits.empty(n_q, 0)
        if n_live == 0:
            return SearchHits.empty(n_q, k)
        threads = num_threads or (1 if n_q == 1 else self._threads)
        if allowed is None:
            return self._knn(q, min(k, n_live), k, threads, None)
        allowed_arr = as_ids(allowed)
        if allowed_arr.size == 0:
            return SearchHits.empty(n_q, k)
        member = self._membership(allowed_arr)
        fetch = overfetch_size(k, allowed_arr.size, n_live)
        if fetch <= OVERFETCH_MAX:
            hits = self._knn(q, min(fetch, n_live), fetch, threads, None, ef=2 * fetch)
            keep = member.mask(hits.ids)
            ids = np.where(keep, hits.ids, -1)
            scores = np.where(keep, hits.scores, np.float32(-np.inf))
            full = top_k(ids, scores, k)
            if (full.ids[:, min(k, n_live) - 1] >= 0).all():
                return full
        # A Python callback runs under the GIL, so filtered batches use one thread.
        n_allowed = int(np.count_nonzero(self._state.get(np.unique(allowed_arr)) == _LIVE))
        return self._knn(q, min(k, n_allowed, n_live), k, 1, member)

    def _knn(
        self, q: np.ndarray, kk: int, k: int, threads: int, member: _Membership | None, ef: int = 0
    ) -> SearchHits:
        if kk <= 0:
            return SearchHits.empty(q.shape[0], k)
        ef = max(self.ef_search, kk, ef)
        if ef != self._ef:
            # Benign race between concurrent readers: hnswlib reads ef once per query and uses max(ef, k).
            self._index.set_ef(ef)
            self._ef = ef
        flt = member.callback if member is not None else None
        try:
            labels, dist = self._index.knn_query(q, k=kk, num_threads=threads, filter=flt)
        except RuntimeError:
            # hnswlib could not collect kk results (tiny graph, heavy deletion or a narrow filter):
            # retry one by one with shrinking k rather than fail the search.
            return self._knn_shrinking(q, kk, k, member)
        return top_k(labels.astype(np.int64), (1.0 - dist).astype(np.float32), k)

    def _knn_shrinking(self, q: np.ndarray, kk: int, k: int, member: _Membership | None) -> SearchHits:
        out_ids = np.full((q.shape[0], k), -1, dtype=np.int64)
        out_sc = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        flt = member.callback if member is not None else None
        for r in range(q.shape[0]):
            kq = kk
            while kq > 0:
                try:
                    labels, dist = self._index.knn_query(q[r : r + 1], k=kq, num_threads=1, filter=flt)
                except RuntimeError:
                    kq //= 2
                    continue
                hits = top_k(labels.astype(np.int64), (1.0 - dist).astype(np.float32), k)
                out_ids[r], out_sc[r] = hits.ids[0], hits.scores[0]
                break
        return SearchHits(out_ids, out_sc)

    def _membership(self, allowed: np.ndarray) -> _Membership:
        return _Membership(allowed, self._max_label)

    # -- persistence -----------------------------------------------------------------------------

    def save(
        self,
        path: str | os.PathLike[str],
        meta: dict[str, Any] | None = None,
        digests: np.ndarray | None = None,
    ) -> None:
        """Write index, live ids and sidecar atomically; ``meta`` (e.g. model and lens keys) is checked by
        ``load``; ``digests`` (``vector_digests`` of the vectors, aligned with ``ids()``) let the owner find
        vectors that changed in the store since. The caller keeps writers out meanwhile."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ids = self.ids()
        if digests is not None and np.asarray(digests).shape != ids.shape:
            raise ValueError("digests must be aligned with ids()")
        payload = ids.astype("<i8").tobytes()
        if digests is not None:
            payload += np.asarray(digests, dtype=np.uint64).astype("<u8").tobytes()
        index_info = write_atomic(path, lambda tmp: self._index.save_index(str(tmp)))
        ids_info = write_atomic(_ids_path(path), lambda tmp: tmp.write_bytes(payload))
        p = self._params
        sidecar = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "space": "ip",
            "dim": self._dim,
            "m": p.m,
            "ef_construction": p.ef_construction,
            "ef_search": p.ef_search,
            "count": self._n_live,
            "elements": self._n_live + self._n_dead,
            "index": index_info,
            "ids": ids_info,
            "digests": digests is not None,
            "meta": meta or {},
            "hnswlib": _hnswlib_version(),
        }
        write_json_atomic(_sidecar_path(path), sidecar)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        expected_ids: np.ndarray | None = None,
        expected_meta: dict[str, Any] | None = None,
        num_threads: int | None = None,
        ef_search: int | None = None,
    ) -> HnswIndex:
        """Load a saved index after verifying sidecar, sizes and checksums *before* hnswlib parses it.

        ``expected_ids`` (the store's live ids) must equal the saved set; ``expected_meta`` must equal the
        saved meta. Any mismatch, truncation or corruption raises ``IndexCorruptError``: rebuild.
        """
        import hnswlib

        path = Path(path)
        side = read_json(_sidecar_path(path))
        if side.get("format") != FORMAT or side.get("version") != FORMAT_VERSION:
            raise IndexCorruptError(
                f"{path.name}: unknown index format {side.get('format')!r} v{side.get('version')}"
            )
        try:
            dim, count, elements = int(side["dim"]), int(side["count"]), int(side["elements"])
            params = HnswParams(
                m=int(side["m"]),
                ef_construction=int(side["ef_construction"]),
                ef_search=ef_search or side.get("ef_search") or None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{path.name}: incomplete sidecar") from exc
        if side.get("space") != "ip" or dim <= 0 or not 0 <= count <= elements:
            raise IndexCorruptError(f"{path.name}: inconsistent sidecar")
        if side.get("hnswlib") != _hnswlib_version():
            raise IndexCorruptError(
                f"{path.name}: written by hnswlib {side.get('hnswlib')}, not {_hnswlib_version()}"
            )
        if expected_meta is not None and side.get("meta") != expected_meta:
            raise IndexCorruptError(f"{path.name}: built for {side.get('meta')}, not {expected_meta}")
        verify_file(path, side.get("index"))
        verify_file(_ids_path(path), side.get("ids"))
        raw = np.frombuffer(_ids_path(path).read_bytes(), dtype="<i8")
        has_digests = bool(side.get("digests"))
        if raw.size != count * (2 if has_digests else 1):
            raise IndexCorruptError(f"{path.name}: id list does not match the sidecar")
        ids = raw[:count].astype(np.int64)
        digests = raw[count:].view("<u8").astype(np.uint64) if has_digests else None
        if ids.size != count or (ids.size > 1 and not (np.diff(ids) > 0).all()):
            raise IndexCorruptError(f"{path.name}: id list does not match the sidecar")
        if expected_ids is not None:
            want = np.unique(as_ids(expected_ids))
            if want.size != ids.size or not np.array_equal(want, ids):
                missing = np.setdiff1d(want, ids).size
                extra = np.setdiff1d(ids, want).size
                raise IndexCorruptError(
                    f"{path.name}: out of date ({missing} photos missing, {extra} no longer in the library)"
                )
        self = cls.__new__(cls)
        self._params = params
        self._dim = dim
        self._threads = num_threads or default_threads()
        self._index = hnswlib.Index(space="ip", dim=dim)
        try:
            self._index.load_index(str(path))
        except (RuntimeError, MemoryError, ValueError) as exc:
            raise IndexCorruptError(f"{path.name}: hnswlib cannot load it: {exc}") from exc
        labels = self._index.get_ids_list()
        if self._index.element_count != elements or len(labels) != elements or self._index.dim != dim:
            raise IndexCorruptError(f"{path.name}: graph does not match its sidecar")
        all_labels = np.unique(np.asarray(labels, dtype=np.int64))
        dead = np.setdiff1d(all_labels, ids, assume_unique=True)
        if all_labels.size != elements or dead.size != elements - count:
            raise IndexCorruptError(f"{path.name}: live ids are not in the graph")
        self._state = IdMap()
        self._state.set(ids, np.full(ids.size, _LIVE, dtype=np.int32))
        self._state.set(dead, np.full(dead.size, _DEAD, dtype=np.int32))
        self._n_live, self._n_dead = int(ids.size), int(dead.size)
        self._ef = 0
        self._max_label = int(all_labels[-1]) if all_labels.size else -1
        self.saved_digests = digests
        return self

    @staticmethod
    def remove_files(path: str | os.PathLike[str]) -> None:
        path = Path(path)
        remove_files(_sidecar_path(path), path, _ids_path(path))


def _hnswlib_version() -> str:
    """The file layout belongs to hnswlib: a file from another version is rebuilt, not trusted."""
    try:
        return importlib.metadata.version("hnswlib")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _ids_path(path: Path) -> Path:
    return path.with_name(path.name + ".ids")


class _Membership:
    """An allowed-id set in the two shapes the search needs: a vectorised mask and a fast scalar callback."""

    def __init__(self, allowed: np.ndarray, max_label: int) -> None:
        self._allowed = allowed
        self._bytes: bytearray | None = None
        self._set: set[int] | None = None
        if max_label < _BITMAP_MAX_LABEL:
            bm = np.zeros(max(max_label, 0) + 1, dtype=np.uint8)
            bm[allowed[allowed <= max_label]] = 1
            self._bm = bm
            self._bytes = bytearray(bm)
        else:
            self._bm = None
            self._set = set(allowed.tolist())

    @property
    def callback(self) -> Any:
        # bytearray.__getitem__ / set.__contains__ are C-level: ~2x cheaper per call than a lambda.
        return self._bytes.__getitem__ if self._bytes is not None else self._set.__contains__  # type: ignore[union-attr]

    def mask(self, labels: np.ndarray) -> np.ndarray:
        if self._bm is not None:
            ok = (labels >= 0) & (labels < self._bm.size)
            out = np.zeros(labels.shape, dtype=bool)
            out[ok] = self._bm[labels[ok]].astype(bool)
            return out
        return np.isin(labels, self._allowed)
