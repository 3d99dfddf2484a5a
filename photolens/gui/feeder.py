"""Handing a long list to the GUI thread in bounded chunks: a time budget per event-loop pass (Picard's
``util/thread.py`` idea), so 100,000 rows never freeze a frame and the first screenful paints at once."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal


class BatchFeeder(QObject):
    """Deliver ``items`` to ``on_chunk`` in chunks, spending at most ``budget_ms`` per event-loop pass.

    A new :meth:`feed` (or :meth:`stop`) abandons the previous one, so a folder change never appends
    the old folder's remaining photos.
    """

    finished = Signal()

    def __init__(self, parent: QObject | None = None, chunk: int = 2000, budget_ms: float = 25.0):
        super().__init__(parent)
        self.chunk = chunk
        self.budget_ms = budget_ms
        self._queue: deque[Sequence[Any]] = deque()
        self._on_chunk: Callable[[Sequence[Any]], None] | None = None
        self._on_done: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._drain)

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    def feed(self, items: Sequence[Any], on_chunk: Callable[[Sequence[Any]], None],
             on_done: Callable[[], None] | None = None, first_chunk: int | None = None) -> None:
        """``first_chunk``: size of the chunk delivered at once (a screenful paints before the rest)."""
        self.stop()
        self._on_chunk, self._on_done = on_chunk, on_done
        head = min(len(items), first_chunk or self.chunk)
        if head:
            self._queue.append(items[:head])
        self._queue.extend(items[i : i + self.chunk] for i in range(head, len(items), self.chunk))
        self._drain(first=True)  # the first chunk at once: something is on screen in this pass

    def stop(self) -> None:
        self._queue.clear()
        self._timer.stop()

    def _drain(self, first: bool = False) -> None:
        deadline = time.perf_counter() + self.budget_ms / 1000
        while self._queue:  # at least one chunk per pass, then more while the budget lasts
            chunk = self._queue.popleft()
            if self._on_chunk:
                self._on_chunk(chunk)
            if first or time.perf_counter() >= deadline:
                break
        if self._queue:
            self._timer.start()
            return
        self._timer.stop()
        if self._on_done:
            done, self._on_done = self._on_done, None
            done()
        self.finished.emit()
