"""Decode photos on worker threads while the model embeds the previous batch.

Pillow releases the GIL while decoding and resizing, and torch while computing, so threads overlap
decoding with inference; a bounded look-ahead keeps memory flat however large the library is.

Cores are split, not oversubscribed: while photos remain to be decoded, the model runs on the share of the
cores its work needs (:func:`split_threads`, from the CPU time decoding and inference have taken so far)
and the decoders use the rest; once every photo is decoded the model gets all its threads back for the
last batches. An OpenMP team whose cores are taken by decoders waits at every barrier; with spinning
waits that burnt CPU (two model threads beside two decoders on two cores: ~90-110 ms of CPU per photo
against ~70-80 with one), with passive waits (see ``embedder.load_embedder``) every split measured
~67 ms per photo, the sum of decoding and inference alone (``benchmarks/index_bench.py --levers``).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from photolens.embedding.embedder import Embedder
from photolens.errors import ImageError
from photolens.imaging import DecodedPhoto, decode_for_model

#: Decoded photos kept ready ahead of the model, in batches: enough to ride out slow files.
LOOKAHEAD_BATCHES = 3


@dataclass
class EmbeddedBatch:
    """One batch: the decoded photos with their vectors, and the files that failed with a reason."""

    ok: list[tuple[int, str, DecodedPhoto]]
    vectors: np.ndarray | None
    failed: list[tuple[int, str, str]]
    #: seconds the model waited for this batch's decodes, and spent embedding it
    wait_s: float = 0.0
    model_s: float = 0.0

    @property
    def size(self) -> int:
        return len(self.ok) + len(self.failed)

    @property
    def last_path(self) -> str:
        return (self.ok or self.failed)[-1][1]


def split_threads(threads: int, model_cpu: float | None, decode_cpu: float | None) -> int:
    """Intra-op threads for the model while decoders are busy: its share of the CPU work (``model_cpu``
    and ``decode_cpu``: CPU seconds per photo so far) of ``threads`` cores, rounded up unless that leaves
    the decoders less than a fifth of a core; at least one. Before anything is measured, half.

    On two cores, ViT-B-32 in bfloat16 (~33 ms/photo) beside 12-MP JPEGs (~35 ms) gets one thread and
    the decoders the other core; a model that dominates the work gets every thread."""
    if not model_cpu or not decode_cpu:
        return max(1, threads // 2)
    share = threads * model_cpu / (model_cpu + decode_cpu)
    return max(1, min(threads, math.ceil(share - 0.2)))


def _set_threads(torch, n: int) -> None:  # type: ignore[no-untyped-def]
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def embed_stream(work: Iterable[tuple[int, str]], embedder: Embedder, batch_size: int = 32,
                 workers: int | None = None, cancel: threading.Event | None = None, *,
                 model_threads: int | None = None, lookahead: int | None = None) -> Iterator[EmbeddedBatch]:
    """Yield embedded batches for ``(photo_id, path)`` items, in order; stops early when ``cancel`` is set.

    ``workers`` decoder threads (default: one per core); ``model_threads`` intra-op threads for the model
    while decoding is under way (default: :func:`split_threads`, adjusted batch by batch); ``lookahead``
    decoded or in-flight photos (default ``LOOKAHEAD_BATCHES`` batches)."""
    pre = embedder.preprocessing
    tally_lock = threading.Lock()
    decode_tally = [0.0, 0]  # CPU seconds of decoding, photos decoded

    def decode(path: str) -> DecodedPhoto:
        started = time.thread_time()
        try:
            return decode_for_model(path, pre.image_size, pre.interpolation, pre.resize_mode)
        finally:
            spent = time.thread_time() - started
            with tally_lock:
                decode_tally[0] += spent
                decode_tally[1] += 1

    workers = workers or max(1, os.cpu_count() or 1)
    lookahead = max(batch_size, lookahead or batch_size * LOOKAHEAD_BATCHES)
    torch = None
    full_threads = getattr(embedder, "threads", None)
    if isinstance(full_threads, int):  # a real model: split the cores between it and the decoders
        from photolens.torch_compat import import_torch

        torch = import_torch()
        restore = torch.get_num_threads()
    model_cpu = model_photos = 0.0
    pool = ThreadPoolExecutor(workers, thread_name_prefix="photolens-decode")
    queue: deque[tuple[int, str, Future]] = deque()
    items = iter(work)
    exhausted = False

    def refill() -> None:
        nonlocal exhausted
        while not exhausted and len(queue) < lookahead:
            nxt = next(items, None)
            if nxt is None:
                exhausted = True
                return
            queue.append((nxt[0], nxt[1], pool.submit(decode, nxt[1])))

    try:
        refill()
        while queue:
            ok: list[tuple[int, str, DecodedPhoto]] = []
            failed: list[tuple[int, str, str]] = []
            started = time.perf_counter()
            while queue and len(ok) + len(failed) < batch_size:
                photo_id, path, future = queue.popleft()
                refill()
                try:
                    ok.append((photo_id, path, future.result()))
                except ImageError as exc:
                    failed.append((photo_id, path, str(exc)))
                except Exception as exc:  # noqa: BLE001 - one odd file must never stop the run
                    failed.append((photo_id, path, f"unreadable: {type(exc).__name__}: {exc}"))
            waited = time.perf_counter() - started
            vectors = None
            modelled = 0.0
            if ok:
                threads = 1
                if torch is not None:
                    # while decoders have work, leave them their share of the cores; else use every thread
                    decoding = not exhausted or any(not f.done() for _, _, f in queue)
                    threads = full_threads
                    if decoding:
                        with tally_lock:
                            per_decode = decode_tally[0] / decode_tally[1] if decode_tally[1] else None
                        per_photo = model_cpu / model_photos if model_photos else None
                        threads = model_threads or split_threads(full_threads, per_photo, per_decode)
                    _set_threads(torch, threads)
                pixels = np.stack([d.pixels for _, _, d in ok])
                begun, begun_cpu = time.perf_counter(), time.thread_time()
                vectors = embedder.encode_pixels(pixels)
                modelled = time.perf_counter() - begun
                # the calling thread is one of the OpenMP team: its CPU time times the team size
                model_cpu += (time.thread_time() - begun_cpu) * threads
                model_photos += len(ok)
            yield EmbeddedBatch(ok, vectors, failed, wait_s=waited, model_s=modelled)
            if cancel is not None and cancel.is_set():
                return
    finally:
        for _, _, future in queue:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        if torch is not None:
            _set_threads(torch, restore)
