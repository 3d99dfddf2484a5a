"""All background work of the app goes through one :class:`TaskRunner`.

* :class:`Pools`: one pool per kind of work (Picard's ``_init_threads``): ``thumbnails`` (several threads),
  ``model`` (one: searches and lens work, so a slow model load never freezes the window), ``db`` (one:
  listings, settings, writes) and ``io`` (two: export, model download, full-size images, cache pruning, so a
  long copy never holds up the database or the model). Tests use :class:`SyncPool`, which runs a task at
  once on the calling thread.
* :class:`TaskRunner`: ``run(channel, kind, fn, on_done, …)`` runs ``fn`` on a pool and calls back on the
  GUI thread. A newer run on a channel makes older ones stale: they are dropped before they start and
  their results when they return, and their :class:`TaskContext` is cancelled so long work can stop
  early. :meth:`TaskRunner.after_current` calls back once everything in flight now has finished (a model
  switch closes the old library only then); :meth:`TaskRunner.shutdown` cancels and waits.
* :class:`~photolens.gui.feeder.BatchFeeder` (its own module) hands a long list to the GUI in bounded chunks.

:func:`in_task` tells the GUI-thread database guard (:mod:`photolens.gui.guard`) that code runs as a
task, which is what a synchronous test pool does on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

POOL_KINDS = ("thumbnails", "model", "db", "io")
BACKGROUND_KINDS = ("thumbnails", "io")  # work nobody waits on: its threads yield the CPU to the GUI thread
BACKGROUND_NICE = 5
_local = threading.local()


def lower_thread_priority() -> None:
    """Make the calling pool thread nicer than the GUI thread (once per thread; Linux and macOS, where a
    thread's nice value is its own). On a busy 2-core machine this keeps decoding thumbnails from taking
    the CPU the GUI thread needs to paint a frame in time."""
    if getattr(_local, "lowered", False) or not hasattr(os, "setpriority"):
        return
    _local.lowered = True
    try:
        tid = threading.get_native_id() if sys.platform.startswith("linux") else 0
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))
    except OSError:  # not allowed here: run at the normal priority
        pass


def in_task() -> bool:
    """True while the calling thread runs a task of a :class:`TaskRunner`."""
    return getattr(_local, "depth", 0) > 0


class TaskCancelled(Exception):
    """Raised by :meth:`TaskContext.check` when the task was cancelled or made stale."""


class TaskContext:
    """What a task that asks for it gets: its cancel flag and a way to report progress to the GUI thread."""

    def __init__(self, cancel: threading.Event, report: Callable[[object], None]):
        self.cancel_event = cancel
        self._report = report

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        if self.cancel_event.is_set():
            raise TaskCancelled()

    def progress(self, value: object) -> None:
        self._report(value)


# --------------------------------------------------------------------------------------------- pools
class SyncPool:
    """A stand-in for QThreadPool that runs each runnable immediately (tests; Picard's FakeThreadPool)."""

    def __init__(self) -> None:
        self.started = 0

    def start(self, runnable: QRunnable, priority: int = 0) -> None:
        self.started += 1
        runnable.run()

    def maxThreadCount(self) -> int:  # noqa: N802 - QThreadPool's API
        return 1

    def activeThreadCount(self) -> int:  # noqa: N802
        return 0

    def waitForDone(self, msecs: int = -1) -> bool:  # noqa: N802
        return True

    def clear(self) -> None:
        pass


@dataclass
class Pools:
    thumbnails: Any
    model: Any
    db: Any
    io: Any

    @classmethod
    def create(cls, thumbnail_threads: int | None = None) -> Pools:
        def pool(n: int) -> QThreadPool:
            p = QThreadPool()
            p.setMaxThreadCount(max(1, n))
            p.setExpiryTimeout(30_000)
            return p

        ideal = QThread.idealThreadCount()
        return cls(thumbnails=pool(thumbnail_threads or max(2, ideal - 1)), model=pool(1), db=pool(1), io=pool(2))

    @classmethod
    def synchronous(cls) -> Pools:
        return cls(SyncPool(), SyncPool(), SyncPool(), SyncPool())

    def all(self) -> list[Any]:
        return [self.thumbnails, self.model, self.db, self.io]

    def get(self, kind: str) -> Any:
        if kind not in POOL_KINDS:
            raise ValueError(f"unknown pool {kind!r}")
        return getattr(self, kind)

    def wait(self, msecs: int) -> bool:
        """Wait up to ``msecs`` in all for the running tasks of every pool; True when all are done."""
        deadline = time.monotonic() + msecs / 1000
        for pool in self.all():
            left = max(0, int((deadline - time.monotonic()) * 1000))
            if not pool.waitForDone(left):
                return False
        return True


# --------------------------------------------------------------------------------------------- tasks
class _Signals(QObject):
    """Created on the GUI thread; signals emitted on a pool thread reach its slots queued, on the GUI thread."""

    done = Signal(int, object)
    failed = Signal(int, object)
    progress = Signal(int, object)

    def __init__(self, deliver: Callable[[int, object, bool], None], report: Callable[[int, object], None]):
        super().__init__()
        self._deliver, self._report = deliver, report
        self.done.connect(self._on_done)
        self.failed.connect(self._on_failed)
        self.progress.connect(self._on_progress)

    @Slot(int, object)
    def _on_done(self, generation: int, payload: object) -> None:
        self._deliver(generation, payload, True)

    @Slot(int, object)
    def _on_failed(self, generation: int, payload: object) -> None:
        self._deliver(generation, payload, False)

    @Slot(int, object)
    def _on_progress(self, generation: int, payload: object) -> None:
        self._report(generation, payload)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], handle: TaskHandle, is_current: Callable[[int], bool],
                 signals: _Signals, with_context: bool, background: bool = False):
        super().__init__()
        self.setAutoDelete(True)
        self._fn, self._handle, self._is_current = fn, handle, is_current
        self._signals, self._with_context, self._background = signals, with_context, background

    def run(self) -> None:
        handle = self._handle
        if self._background and threading.current_thread() is not threading.main_thread():
            lower_thread_priority()
        if not self._is_current(handle.generation) or handle.cancelled:
            self._emit(self._signals.failed, None)  # dropped before it started
            return
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            if self._with_context:
                context = TaskContext(handle.cancel_event, lambda v: self._emit(self._signals.progress, v))
                result = self._fn(context)
            else:
                result = self._fn()
        except TaskCancelled:
            self._emit(self._signals.failed, None)
            return
        except Exception as exc:  # noqa: BLE001 - reported to the GUI thread, which decides
            if not isinstance(exc, expected_errors()):
                log.warning("background task %s failed:\n%s", handle.channel, traceback.format_exc())
            self._emit(self._signals.failed, exc)
            return
        finally:
            _local.depth -= 1
        self._emit(self._signals.done, result)

    def _emit(self, signal: Any, payload: object) -> None:
        try:
            signal.emit(self._handle.generation, payload)
        except RuntimeError:  # the receiver went away while this ran: nobody to tell
            log.debug("task finished after its receiver was deleted")


def expected_errors() -> tuple[type[BaseException], ...]:
    """Errors with a user-facing message (shown as they are, not logged as crashes)."""
    from photolens.errors import PhotolensError

    return (PhotolensError,)


class TaskHandle:
    """One submitted task: which channel and generation, and its cancel flag."""

    def __init__(self, task_id: int, channel: str, generation: int):
        self.id, self.channel, self.generation = task_id, channel, generation
        self.cancel_event = threading.Event()
        self.finished = False

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()


class TaskRunner(QObject):
    """The one way the app runs background work; see the module docstring."""

    def __init__(self, pools: Pools | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.pools = pools or Pools.create()
        self._generations: dict[str, int] = {}
        self._current: dict[str, TaskHandle] = {}
        self._live: dict[int, _Signals] = {}
        self._barriers: list[tuple[set[int], Callable[[], None]]] = []
        self._ids = itertools.count(1)
        self._closed = False

    def generation(self, channel: str) -> int:
        return self._generations.get(channel, 0)

    def invalidate(self, channel: str) -> None:
        """Forget whatever runs on ``channel``: its results are dropped and its context is cancelled."""
        self._generations[channel] = self.generation(channel) + 1
        handle = self._current.pop(channel, None)
        if handle is not None:
            handle.cancel()

    cancel = invalidate

    def invalidate_all(self) -> None:
        for channel in list(self._generations):
            self.invalidate(channel)

    @property
    def pending(self) -> int:
        """Tasks submitted whose answer has not been delivered yet (stale ones included)."""
        return len(self._live)

    def busy(self, channel: str) -> bool:
        handle = self._current.get(channel)
        return handle is not None and not handle.finished

    def run(self, channel: str, kind: str, fn: Callable[..., Any], on_done: Callable[[Any], None],
            on_error: Callable[[BaseException], None] | None = None,
            on_progress: Callable[[Any], None] | None = None, with_context: bool = False) -> TaskHandle:
        """Run ``fn()`` (``fn(context)`` with ``with_context``) on the ``kind`` pool; newer runs on ``channel``
        replace this one. ``on_done``/``on_error``/``on_progress`` are called on the GUI thread."""
        self.invalidate(channel)
        handle = TaskHandle(next(self._ids), channel, self.generation(channel))
        self._current[channel] = handle
        if self._closed:
            handle.cancel()

        def is_current(gen: int) -> bool:
            return self._generations.get(channel, 0) == gen

        def deliver(gen: int, payload: object, ok: bool) -> None:
            handle.finished = True
            signals = self._live.pop(handle.id, None)
            if signals is not None:
                signals.deleteLater()
            try:
                if is_current(gen) and not handle.cancelled:
                    if ok:
                        on_done(payload)
                    elif payload is not None and on_error is not None:
                        on_error(payload)  # type: ignore[arg-type]
                    elif payload is not None:
                        log.warning("unhandled background error on %s: %s", channel, payload)
            finally:
                if self._current.get(channel) is handle:
                    del self._current[channel]
                self._release(handle.id)

        def report(gen: int, value: object) -> None:
            if on_progress is not None and is_current(gen) and not handle.cancelled:
                on_progress(value)

        signals = _Signals(deliver, report)
        self._live[handle.id] = signals
        self.pools.get(kind).start(_Task(fn, handle, is_current, signals, with_context, kind in BACKGROUND_KINDS))
        return handle

    def submit(self, kind: str, runnable: QRunnable, priority: int = 0) -> None:
        """A raw runnable on a pool (the thumbnail loader's queue drainers); counted by :meth:`shutdown`."""
        if not self._closed:
            self.pools.get(kind).start(runnable, priority)

    def after_current(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (GUI thread) once every task in flight now has delivered its answer."""
        waiting = set(self._live)
        if not waiting:
            callback()
            return
        self._barriers.append((waiting, callback))

    def _release(self, task_id: int) -> None:
        ready = []
        for waiting, callback in self._barriers:
            waiting.discard(task_id)
            if not waiting:
                ready.append(callback)
        self._barriers = [(w, c) for w, c in self._barriers if w]
        for callback in ready:
            callback()

    def shutdown(self, msecs: int = 3000) -> bool:
        """Cancel everything, drop queued work, wait up to ``msecs``; True when no task is still running."""
        self._closed = True
        self.invalidate_all()
        for pool in self.pools.all():
            pool.clear()
        return self.pools.wait(msecs)
