"""One place that owns every vector index of a library: per (model key, lens key), an exact index always and
an hnsw graph when the space is large enough to need one.

Why both: the exact index is the in-memory source of truth (it mirrors the store) and the fallback; the hnsw
graph is a cache that may be missing, loading, rebuilding or a few updates behind. Every hnsw result is
re-scored against the exact vectors, so a stale or damaged graph can cost recall but can never return a
photo that is not in the library or a wrong score; updates not yet applied to the graph are searched
exactly and merged in.

Threads: one writer (``open``/``add``/``remove``/``close``) and any number of searching threads. Builds,
loads and compactions run in a background thread per key (at most one build at a time in the process: two
cores); searches never wait for them, nor for a save. Lock order, where nested: ``save_lock``, then
``hnsw_lock``, then ``lock``; nobody waits for ``hnsw_lock`` for writing while a save may hold it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from photolens.vindex.base import SearchHits, as_batch, as_ids, as_queries, merge_hits, top_k
from photolens.vindex.errors import IndexCorruptError
from photolens.vindex.exact import ExactIndex
from photolens.vindex.hnsw import OVERFETCH_MAX, HnswIndex, HnswParams, overfetch_size
from photolens.vindex.locks import RWLock
from photolens.vindex.memory import bytes_per_photo
from photolens.vindex.persist import vector_digests

log = logging.getLogger(__name__)

IndexKey = tuple[str, str]
"""(model key, lens key); use ``RAW_LENS`` as lens key for the model's own CLIP space."""
RAW_LENS = "raw"
Mode = Literal["auto", "exact", "hnsw"]


@dataclass(frozen=True)
class IndexSettings:
    """Tuning of the index layer; defaults from ``benchmarks/search_bench.py`` (2 cores, clustered data).

    ``auto`` builds an hnsw graph once an exact query would scan ``hnsw_min_cost`` floats (n * dim; the
    default is 50k photos at 512-d, 200k at 128-d, where an exact query costs ~4 ms of CPU and the graph
    builds in well under a minute) or once exact queries are measured slower than ``latency_budget_ms`` on
    this machine with at least ``hnsw_floor`` photos.

    Filters: an allowed set of at most ``exact_subset_cost`` floats (|allowed| * dim: 10k photos at 512-d,
    40k at 128-d) is searched exactly over its rows (a few ms, exact top-k); so is one too narrow for
    hnsw's over-fetch (more than ``OVERFETCH_MAX`` candidates needed: under ~3% allowed at k=50). Wider
    filters over-fetch from the graph and keep the allowed candidates (1-4x an unfiltered query).
    """

    mode: Mode = "auto"
    hnsw_min_cost: int = 50_000 * 512
    hnsw_floor: int = 20_000
    latency_budget_ms: float = 15.0
    params: HnswParams = field(default_factory=HnswParams)
    compact_fraction: float = 0.2
    exact_subset_cost: int = 10_000 * 512
    build_threads: int | None = None
    background: bool = True
    persist: bool = True
    apply_batch: int = 32
    max_pending: int = 4096


@dataclass(frozen=True)
class IndexStatus:
    key: IndexKey
    count: int
    dim: int
    backend: Literal["exact", "hnsw"]
    building: bool
    hnsw_count: int
    deleted_fraction: float
    pending: int
    exact_latency_ms: float | None
    memory_bytes: int
    error: str | None


class _Entry:
    def __init__(self, key: IndexKey, exact: ExactIndex) -> None:
        self.key = key
        self.exact = exact
        self.lock = RWLock()  # exact index and the dirty sets
        self.hnsw_lock = RWLock()  # the hnsw graph (hnswlib: no add_items during knn_query)
        self.hnsw: HnswIndex | None = None
        self.hnsw_dirty: set[int] = set()  # ids changed since last applied to self.hnsw
        self.build_dirty: set[int] | None = None  # ids changed since an in-flight build snapshotted
        self.worker: threading.Thread | None = None
        self.cancel = threading.Event()
        self.unsaved = False
        self.latency_ms: float | None = None
        self.error: str | None = None
        self.closed = False
        self.sched_lock = threading.Lock()
        self.save_lock = threading.Lock()  # held by a save, and by a drain batch (never both)


class IndexManager:
    """Per-key exact + optional hnsw indexes, with lazy loading, background builds and persistence.

    ``directory`` holds the persisted graphs (next to the database); ``None`` keeps everything in memory.
    """

    def __init__(self, directory: str | Path | None = None, settings: IndexSettings | None = None) -> None:
        self.settings = settings or IndexSettings()
        self.directory = Path(directory) if directory is not None else None
        self._entries: dict[IndexKey, _Entry] = {}
        self._entries_lock = threading.Lock()
        self._build_slot = threading.Semaphore(1)

    # -- lifecycle -------------------------------------------------------------------------------

    def open(self, key: IndexKey, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Start serving ``key`` with the store's current (ids, vectors); replaces an open key.

        Exact search works at once; if the space wants a graph, a persisted one is loaded (verified and
        reconciled against these vectors) or a new one built, in the background.
        """
        key = _check_key(key)
        vecs = np.asarray(vectors, dtype=np.float32)
        if vecs.ndim != 2:
            raise ValueError("vectors must be a 2-d array")
        entry = _Entry(key, ExactIndex.from_arrays(as_ids(ids), vecs))
        with self._entries_lock:
            old = self._entries.get(key)
            self._entries[key] = entry
        if old is not None:
            self._stop(old)
        self._schedule(entry)

    def is_open(self, key: IndexKey) -> bool:
        return _check_key(key) in self._entries

    def keys(self) -> list[IndexKey]:
        return list(self._entries)

    def close(self, key: IndexKey | None = None, save: bool = True) -> None:
        """Stop background work for ``key`` (or all), save unsaved graphs, forget the key."""
        keys = [_check_key(key)] if key is not None else list(self._entries)
        for k in keys:
            with self._entries_lock:
                entry = self._entries.pop(k, None)
            if entry is None:
                continue
            self._stop(entry)
            if save:
                self._save_entry(entry)

    def discard(self, key: IndexKey) -> None:
        """Forget ``key`` and delete its persisted graph (e.g. the model or lens was removed)."""
        key = _check_key(key)
        self.close(key, save=False)
        path = self._path(key)
        if path is not None:
            HnswIndex.remove_files(path)

    def wait(self, key: IndexKey | None = None, timeout: float | None = None) -> bool:
        """Block until background work (build/load/compaction) is done; True if idle. For tests and CLI."""
        deadline = None if timeout is None else time.monotonic() + timeout
        entries = [self._get(key)] if key is not None else list(self._entries.values())
        for entry in entries:
            while (worker := entry.worker) is not None:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                worker.join(remaining)
                if worker.is_alive():
                    return False
        return True

    def save(self, key: IndexKey | None = None) -> None:
        """Persist graphs changed since their last save (call when idle, after an indexing run, on exit)."""
        entries = [self._get(key)] if key is not None else list(self._entries.values())
        for entry in entries:
            self._save_entry(entry)

    # -- updates (one writer) --------------------------------------------------------------------

    def add(self, key: IndexKey, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add photos or replace the vectors of known ids (a changed photo). A moved photo keeps its id."""
        entry = self._get(key)
        ids_arr, vecs = as_batch(ids, vectors, entry.exact.dim)
        if ids_arr.size == 0:
            return
        with entry.lock.write():
            entry.exact.add(ids_arr, vecs)
            self._touch(entry, ids_arr.tolist())
        self._drain(entry)
        self._schedule(entry)

    def remove(self, key: IndexKey, ids: np.ndarray) -> None:
        """Remove photos (deleted or gone missing); unknown ids are ignored."""
        entry = self._get(key)
        ids_arr = as_ids(ids)
        if ids_arr.size == 0:
            return
        with entry.lock.write():
            entry.exact.remove(ids_arr)
            self._touch(entry, ids_arr.tolist())
        self._drain(entry)
        self._schedule(entry)

    # -- search ----------------------------------------------------------------------------------

    def search(
        self, key: IndexKey, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> SearchHits:
        """Top-k photos by cosine for each query; ``allowed`` restricts to those ids (exact for narrow
        filters, hnsw's filtered search for wide ones). Never waits for a build: exact until a graph is ready.
        """
        entry = self._get(key)
        dim = entry.exact.dim
        q = as_queries(queries, dim)
        allowed_arr = as_ids(allowed) if allowed is not None else None
        narrow = allowed_arr is not None and (
            allowed_arr.size * dim <= self.settings.exact_subset_cost
            or overfetch_size(k, allowed_arr.size, len(entry.exact)) > OVERFETCH_MAX
        )
        if not narrow and entry.hnsw is not None and k > 0:
            hits = self._search_hnsw(entry, q, k, allowed_arr)
            if hits is not None:
                return hits
        with entry.lock.read():
            t0 = time.perf_counter()
            hits = entry.exact.search(q, k, allowed_arr)
            elapsed_ms = (time.perf_counter() - t0) * 1e3
        if allowed_arr is None and q.shape[0] == 1 and entry.hnsw is None:
            prev = entry.latency_ms
            entry.latency_ms = elapsed_ms if prev is None else 0.8 * prev + 0.2 * elapsed_ms
            if self._wants_hnsw(entry) and entry.worker is None:
                self._schedule(entry)
        return hits

    def vectors(self, key: IndexKey, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(present ids, float32 vectors) from the in-memory copy, e.g. the query of "more like this";
        lets the owner drop its own cache of the matrix instead of holding it twice."""
        entry = self._get(key)
        with entry.lock.read():
            return entry.exact.get(as_ids(ids))

    def status(self, key: IndexKey) -> IndexStatus:
        entry = self._get(key)
        hnsw = entry.hnsw
        s = self.settings
        mem = bytes_per_photo(entry.exact.dim, s.params.m, hnsw=hnsw is not None)
        return IndexStatus(
            key=entry.key,
            count=len(entry.exact),
            dim=entry.exact.dim,
            backend="hnsw" if hnsw is not None else "exact",
            building=entry.worker is not None,
            hnsw_count=len(hnsw) if hnsw is not None else 0,
            deleted_fraction=hnsw.deleted_fraction if hnsw is not None else 0.0,
            pending=len(entry.hnsw_dirty),
            exact_latency_ms=entry.latency_ms,
            memory_bytes=mem.exact * len(entry.exact) + (mem.hnsw * (len(hnsw) if hnsw else 0)),
            error=entry.error,
        )

    # -- internals: search -----------------------------------------------------------------------

    def _search_hnsw(
        self, entry: _Entry, q: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> SearchHits | None:
        with entry.hnsw_lock.read():
            hnsw = entry.hnsw
            pending = len(entry.hnsw_dirty)
            if hnsw is None or pending > self.settings.max_pending:
                return None
            # Over-fetch by the pending count: ids removed from the library but still in the graph are
            # dropped below and must not leave the result short.
            cand = hnsw.search(q, k + pending, allowed)
        with entry.lock.read():
            # Exact scores from the source of truth; ids no longer in the library get -inf and drop out.
            hits = top_k(cand.ids, entry.exact.score(q, cand.ids), k)
            if entry.hnsw_dirty:
                dirty = np.fromiter(entry.hnsw_dirty, dtype=np.int64, count=len(entry.hnsw_dirty))
                if allowed is not None:
                    dirty = np.intersect1d(dirty, allowed)
                if dirty.size:
                    hits = merge_hits(hits, entry.exact.search(q, k, dirty), k)
            if allowed is None and len(entry.exact) >= k and (hits.ids[:, k - 1] < 0).any():
                return None  # lost a race with a concurrent removal: answer exactly instead
        return hits

    # -- internals: writes -----------------------------------------------------------------------

    @staticmethod
    def _touch(entry: _Entry, ids: list[int]) -> None:
        """Record changed ids for the graph and for an in-flight build (caller holds ``lock`` for write)."""
        if entry.hnsw is not None:
            entry.hnsw_dirty.update(ids)
        if entry.build_dirty is not None:
            entry.build_dirty.update(ids)
        entry.unsaved = True

    def _drain(self, entry: _Entry) -> None:
        """Apply pending changes to the live graph in small batches, so searches wait at most one batch.

        Taking a batch and applying it happen under ``hnsw_lock``, so concurrent drainers apply changes in
        the order they were taken; each id's current vector (or absence) is read from the exact index.
        While a save is writing the graph (seconds at 1M photos) changes stay pending instead: waiting for
        the write lock then would queue every search behind it. The saver drains when it is done.
        """
        batch_size = self.settings.apply_batch
        while True:
            if not entry.save_lock.acquire(blocking=False):
                return
            try:
                with entry.hnsw_lock.write():
                    hnsw = entry.hnsw
                    if hnsw is None:
                        return
                    with entry.lock.write():
                        if not entry.hnsw_dirty:
                            return
                        dirty = entry.hnsw_dirty
                        batch = np.fromiter(
                            (dirty.pop() for _ in range(min(batch_size, len(dirty)))), dtype=np.int64
                        )
                        present, vecs = entry.exact.get(batch)
                    hnsw.add(present, vecs)
                    hnsw.remove(np.setdiff1d(batch, present))
            finally:
                entry.save_lock.release()

    # -- internals: background work --------------------------------------------------------------

    def _wants_hnsw(self, entry: _Entry) -> bool:
        s = self.settings
        n = len(entry.exact)
        if s.mode == "exact" or n == 0:
            return False
        if s.mode == "hnsw":
            return True
        if n * entry.exact.dim >= s.hnsw_min_cost:
            return True
        return n >= s.hnsw_floor and entry.latency_ms is not None and entry.latency_ms > s.latency_budget_ms

    def _schedule(self, entry: _Entry) -> None:
        """Start a load/build/compaction if one is due, or drop a graph that is no longer worth it."""
        with entry.sched_lock:
            if entry.closed or entry.worker is not None:
                return
            job = self._due_job(entry)
            worker: threading.Thread | None = None
            if job is None or job == "drop":
                pass
            elif self.settings.background:
                worker = threading.Thread(
                    target=self._run_job, args=(entry, job), name=f"vindex-{job}-{entry.key[1]}", daemon=True
                )
                entry.worker = worker
            else:
                entry.worker = threading.current_thread()
        if job == "drop":
            with entry.save_lock, entry.hnsw_lock.write(), entry.lock.write():
                entry.hnsw = None
                entry.hnsw_dirty = set()
            path = self._path(entry.key)
            if path is not None:
                HnswIndex.remove_files(path)
        elif job is not None:
            if worker is not None:
                worker.start()
            else:
                self._run_job(entry, job)

    def _due_job(self, entry: _Entry) -> str | None:
        hnsw = entry.hnsw
        s = self.settings
        if hnsw is None:
            return "load" if self._wants_hnsw(entry) else None
        if hnsw.deleted_fraction > s.compact_fraction:
            return "build"
        n, dim = len(entry.exact), entry.exact.dim
        if s.mode == "exact" or (s.mode == "auto" and n * dim < s.hnsw_min_cost // 2 and n < s.hnsw_floor):
            # Well below the switch-over (hysteresis against flapping): free the graph's memory.
            return "drop"
        return None

    def _run_job(self, entry: _Entry, job: str) -> None:
        try:
            with self._build_slot:
                if entry.cancel.is_set():
                    return
                idx = self._load(entry) if job == "load" else None
                if idx is None and not entry.cancel.is_set():
                    idx = self._build(entry)
                if idx is not None and not entry.cancel.is_set():
                    self._install(entry, idx)
            if not entry.cancel.is_set():
                self._drain(entry)
                self._save_entry(entry)
            entry.error = None
        except Exception as exc:  # a failed build must never take searches down: exact keeps serving
            log.exception("vector index %s for %s failed", job, entry.key)
            entry.error = f"{type(exc).__name__}: {exc}"
        finally:
            with entry.lock.write():
                entry.build_dirty = None
            entry.worker = None
        if entry.error is None and not entry.cancel.is_set():
            self._schedule(entry)  # e.g. many deletions during a build: compact again

    def _build(self, entry: _Entry) -> HnswIndex | None:
        """Build a graph from the exact index in chunks, without blocking writers or searches for long;
        changes made meanwhile are journaled in ``build_dirty`` and replayed by ``_install``."""
        with entry.lock.write():
            entry.build_dirty = set()
            ids = entry.exact.ids()
        n = ids.size
        idx = HnswIndex(
            entry.exact.dim,
            self.settings.params,
            capacity=n + n // 20 + 1024,
            num_threads=self.settings.build_threads,
        )
        step = 8192
        for start in range(0, n, step):
            if entry.cancel.is_set():
                return None
            with entry.lock.read():
                present, vecs = entry.exact.get(ids[start : start + step])
            idx.add(present, vecs)  # hnswlib releases the GIL while inserting
        return idx

    def _load(self, entry: _Entry) -> HnswIndex | None:
        """Load the persisted graph, verified by checksums before hnswlib parses it, then reconcile it with
        the store's ids and vectors (via digests). Returns None when a rebuild is the better option."""
        path = self._path(entry.key)
        if path is None or not path.with_name(path.name + ".json").exists():
            return None
        p = self.settings.params
        try:
            idx = HnswIndex.load(
                path,
                expected_meta=_meta(entry.key),
                num_threads=self.settings.build_threads,
                ef_search=p.ef_search,
            )
        except IndexCorruptError as exc:
            log.warning("rebuilding vector index for %s: %s", entry.key, exc)
            HnswIndex.remove_files(path)
            return None
        idx.ef_search = p.ef_search  # the current setting wins over the saved one
        if idx.dim != entry.exact.dim or (idx.params.m, idx.params.ef_construction) != (
            p.m,
            p.ef_construction,
        ):
            log.info("rebuilding vector index for %s: parameters changed", entry.key)
            return None
        with entry.lock.write():
            entry.build_dirty = set()
        saved_ids = idx.ids()
        stale: list[np.ndarray] = []
        step = 65536
        for start in range(0, saved_ids.size, step):
            chunk = saved_ids[start : start + step]
            with entry.lock.read():
                present, vecs = entry.exact.get(chunk)
            gone = np.setdiff1d(chunk, present)
            if gone.size:
                stale.append(gone)
            if idx.saved_digests is not None:
                want = idx.saved_digests[start : start + step][np.isin(chunk, present)]
                changed = present[vector_digests(vecs) != want]
                if changed.size:
                    stale.append(changed)
            else:
                stale.append(present)
        with entry.lock.read():
            missing = np.setdiff1d(entry.exact.ids(), saved_ids)
        n_stale = sum(a.size for a in stale) + missing.size
        if n_stale > self.settings.compact_fraction * max(len(entry.exact), 1):
            log.info(
                "rebuilding vector index for %s: %d photos changed since it was saved", entry.key, n_stale
            )
            return None
        # Journal the repairs: _install re-reads each id's current vector (or absence) from the exact index.
        with entry.lock.write():
            assert entry.build_dirty is not None
            for arr in stale:
                entry.build_dirty.update(arr.tolist())
            entry.build_dirty.update(missing.tolist())
        return idx

    def _install(self, entry: _Entry, idx: HnswIndex) -> None:
        """Catch the new graph up with the journal, then swap it in (the old one keeps serving until then)."""
        while True:
            with entry.lock.write():
                journal = entry.build_dirty
                assert journal is not None
                if len(journal) <= self.settings.apply_batch:
                    break
                batch = np.fromiter((journal.pop() for _ in range(min(8192, len(journal)))), dtype=np.int64)
                present, vecs = entry.exact.get(batch)
            idx.add(present, vecs)
            idx.remove(np.setdiff1d(batch, present))
        # save_lock first: waiting for a running save must not happen inside hnsw_lock, where a queued
        # writer would hold up every new search until the save is done.
        with entry.save_lock, entry.hnsw_lock.write(), entry.lock.write():
            entry.hnsw = idx
            entry.hnsw_dirty = entry.build_dirty or set()
            entry.build_dirty = None
            entry.unsaved = True

    def _save_entry(self, entry: _Entry) -> None:
        """Write the graph while searches go on; writes meanwhile stay pending (see ``_drain``)."""
        path = self._path(entry.key)
        if path is None or not self.settings.persist:
            return
        with entry.save_lock, entry.hnsw_lock.read():
            hnsw = entry.hnsw
            if hnsw is None or not entry.unsaved:
                return
            entry.unsaved = False
            ids = hnsw.ids()
            digests = np.zeros(ids.size, dtype=np.uint64)
            step = 65536
            for start in range(0, ids.size, step):
                with entry.lock.read():
                    present, vecs = entry.exact.get(ids[start : start + step])
                    dirty = entry.hnsw_dirty
                    # Pending ids may differ between graph and exact: give them a digest that never
                    # matches, so the next load re-applies them.
                    ok = np.fromiter(
                        (i not in dirty for i in present.tolist()), dtype=bool, count=present.size
                    )
                digests[np.searchsorted(ids, present[ok])] = vector_digests(vecs[ok])
            try:
                hnsw.save(path, meta=_meta(entry.key), digests=digests)
            except OSError as exc:
                entry.unsaved = True
                entry.error = f"cannot save vector index: {exc}"
                log.warning("cannot save vector index for %s: %s", entry.key, exc)
        self._drain(entry)

    def _stop(self, entry: _Entry) -> None:
        entry.closed = True
        entry.cancel.set()
        worker = entry.worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()

    def _get(self, key: IndexKey | None) -> _Entry:
        entry = self._entries.get(_check_key(key)) if key is not None else None
        if entry is None:
            raise KeyError(f"vector index {key} is not open")
        return entry

    def _path(self, key: IndexKey) -> Path | None:
        if self.directory is None or not self.settings.persist:
            return None
        return self.directory / index_filename(key)


def index_filename(key: IndexKey) -> str:
    """Readable and unique file name for a key (model keys may contain '/', ':' and the like)."""
    model, lens = key
    digest = hashlib.sha1(f"{model}\0{lens}".encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model}__{lens}")[:80]
    return f"{slug}.{digest}.hnsw"


def _meta(key: IndexKey) -> dict[str, str]:
    return {"model_key": key[0], "lens_key": key[1]}


def _check_key(key: object) -> IndexKey:
    if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(p, str) for p in key)):
        raise TypeError(f"index key must be (model_key, lens_key), got {key!r}")
    return key  # type: ignore[return-value]
