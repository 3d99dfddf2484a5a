"""Decode photos on worker threads while the model embeds the previous batch.

Pillow releases the GIL while decoding and resizing, so threads overlap decoding with inference; a
bounded look-ahead keeps memory flat however large the library is.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from photolens.embedding.embedder import Embedder
from photolens.errors import ImageError
from photolens.imaging import DecodedPhoto, decode_for_model


@dataclass
class EmbeddedBatch:
    """One batch: the decoded photos with their vectors, and the files that failed with a reason."""

    ok: list[tuple[int, str, DecodedPhoto]]
    vectors: np.ndarray | None
    failed: list[tuple[int, str, str]]

    @property
    def size(self) -> int:
        return len(self.ok) + len(self.failed)

    @property
    def last_path(self) -> str:
        return (self.ok or self.failed)[-1][1]


def embed_stream(work: Iterable[tuple[int, str]], embedder: Embedder, batch_size: int = 32,
                 workers: int | None = None, cancel: threading.Event | None = None) -> Iterator[EmbeddedBatch]:
    """Yield embedded batches for ``(photo_id, path)`` items, in order; stops early when ``cancel`` is set."""
    pre = embedder.preprocessing

    def decode(path: str) -> DecodedPhoto:
        return decode_for_model(path, pre.image_size, pre.interpolation, pre.resize_mode)

    lookahead = batch_size * 3
    pool = ThreadPoolExecutor(workers or max(1, os.cpu_count() or 1), thread_name_prefix="photolens-decode")
    queue: deque[tuple[int, str, Future]] = deque()
    items = iter(work)

    def refill() -> None:
        while len(queue) < lookahead:
            nxt = next(items, None)
            if nxt is None:
                return
            queue.append((nxt[0], nxt[1], pool.submit(decode, nxt[1])))

    try:
        refill()
        while queue:
            ok: list[tuple[int, str, DecodedPhoto]] = []
            failed: list[tuple[int, str, str]] = []
            while queue and len(ok) + len(failed) < batch_size:
                photo_id, path, future = queue.popleft()
                refill()
                try:
                    ok.append((photo_id, path, future.result()))
                except ImageError as exc:
                    failed.append((photo_id, path, str(exc)))
            vectors = embedder.encode_pixels(np.stack([d.pixels for _, _, d in ok])) if ok else None
            yield EmbeddedBatch(ok, vectors, failed)
            if cancel is not None and cancel.is_set():
                return
    finally:
        for _, _, future in queue:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
