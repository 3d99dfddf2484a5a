"""Running work off the GUI thread.

* :class:`Pools`: one pool per kind of work (Picard's ``_init_threads``): thumbnails (several threads),
  the model (one: searches and lens work, so a slow model load never freezes the window), the database
  reads (one). Tests use :class:`SyncPool`, which runs a task at once on the calling thread.
* :class:`TaskRunner`: runs a function on a pool and calls back on the GUI thread; a generation counter per
  channel drops stale work before it starts and stale results when they return.
* :class:`BatchFeeder`: hands a long list to the GUI in bounded chunks (a time budget per event-loop pass).
* :class:`IndexController` / :class:`IndexWorker`: the ``Library.index`` generator on a QThread, with
  cancel (the core's ``threading.Event``), pause (blocking between events), rate and ETA.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QRunnable,
    QThread,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)

log = logging.getLogger(__name__)


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

    @classmethod
    def create(cls, thumbnail_threads: int | None = None) -> Pools:
        def pool(n: int) -> QThreadPool:
            p = QThreadPool()
            p.setMaxThreadCount(max(1, n))
            p.setExpiryTimeout(30_000)
            return p

        ideal = QThread.idealThreadCount()
        return cls(thumbnails=pool(thumbnail_threads or max(2, ideal - 1)), model=pool(1), db=pool(1))

    @classmethod
    def synchronous(cls) -> Pools:
        return cls(SyncPool(), SyncPool(), SyncPool())

    def shutdown(self, msecs: int = 3000) -> None:
        for pool in (self.thumbnails, self.model, self.db):
            pool.clear()
        for pool in (self.thumbnails, self.model, self.db):
            pool.waitForDone(msecs)


# --------------------------------------------------------------------------------------------- tasks
class _TaskSignals(QObject):
    """Created on the GUI thread; signals emitted on a pool thread reach its slots queued, on the GUI thread."""

    done = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self, deliver: Callable[[int, object, bool], None]):
        super().__init__()
        self._deliver = deliver
        self.done.connect(self._on_done)
        self.failed.connect(self._on_failed)

    @Slot(int, object)
    def _on_done(self, generation: int, payload: object) -> None:
        self._deliver(generation, payload, True)

    @Slot(int, object)
    def _on_failed(self, generation: int, payload: object) -> None:
        self._deliver(generation, payload, False)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], generation: int, is_current: Callable[[int], bool],
                 signals: _TaskSignals):
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._generation = generation
        self._is_current = is_current
        self._signals = signals

    def run(self) -> None:
        if not self._is_current(self._generation):
            self._emit(self._signals.failed, None)  # dropped before it started
            return
        try:
            result = self._fn()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI thread, which decides
            if not isinstance(exc, expected_errors()):
                log.warning("background task failed:\n%s", traceback.format_exc())
            self._emit(self._signals.failed, exc)
            return
        self._emit(self._signals.done, result)

    def _emit(self, signal: Any, payload: object) -> None:
        try:
            signal.emit(self._generation, payload)
        except RuntimeError:  # the window went away while this ran: nobody to tell
            log.debug("task finished after its receiver was deleted")


def expected_errors() -> tuple[type[BaseException], ...]:
    """Errors with a user-facing message (shown as they are, not logged as crashes)."""
    from photolens.errors import PhotolensError

    return (PhotolensError,)


class TaskRunner(QObject):
    """``run(channel, pool, fn, on_done, on_error)``: a newer run on a channel makes older ones stale."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._generations: dict[str, int] = {}
        self._live: set[_TaskSignals] = set()

    def generation(self, channel: str) -> int:
        return self._generations.get(channel, 0)

    def invalidate(self, channel: str) -> None:
        """Forget whatever runs on ``channel`` (its results will be dropped)."""
        self._generations[channel] = self.generation(channel) + 1

    @property
    def pending(self) -> int:
        return len(self._live)

    def run(self, channel: str, pool: Any, fn: Callable[[], Any], on_done: Callable[[Any], None],
            on_error: Callable[[BaseException], None] | None = None) -> int:
        self.invalidate(channel)
        generation = self.generation(channel)

        def is_current(gen: int) -> bool:
            return self._generations.get(channel, 0) == gen

        def deliver(gen: int, payload: object, ok: bool) -> None:
            self._live.discard(signals)
            signals.deleteLater()
            if not is_current(gen):
                return  # stale: a newer request replaced this one
            if ok:
                on_done(payload)
            elif payload is not None and on_error is not None:
                on_error(payload)  # type: ignore[arg-type]
            elif payload is not None:
                log.warning("unhandled background error on %s: %s", channel, payload)

        signals = _TaskSignals(deliver)
        self._live.add(signals)
        pool.start(_Task(fn, generation, is_current, signals))
        return generation


# --------------------------------------------------------------------------------------------- batches
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
             on_done: Callable[[], None] | None = None) -> None:
        self.stop()
        self._on_chunk, self._on_done = on_chunk, on_done
        self._queue.extend(items[i : i + self.chunk] for i in range(0, len(items), self.chunk))
        self._drain()  # the first chunk at once: something is on screen in this pass

    def stop(self) -> None:
        self._queue.clear()
        self._timer.stop()

    def _drain(self) -> None:
        deadline = time.perf_counter() + self.budget_ms / 1000
        while self._queue:  # at least one chunk per pass, then more while the budget lasts
            chunk = self._queue.popleft()
            if self._on_chunk:
                self._on_chunk(chunk)
            if time.perf_counter() >= deadline:
                break
        if self._queue:
            self._timer.start()
            return
        self._timer.stop()
        if self._on_done:
            done, self._on_done = self._on_done, None
            done()
        self.finished.emit()


# --------------------------------------------------------------------------------------------- indexing
class ProgressMeter:
    """Rate over a sliding window and the ETA it implies (plain Python, testable without a clock)."""

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self._samples: deque[tuple[float, int]] = deque()
        self._paused_at: float | None = None

    def reset(self) -> None:
        self._samples.clear()

    def pause(self) -> None:
        self._samples.clear()  # the time spent paused must not lower the rate

    def update(self, done: int) -> None:
        now = self.clock()
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()  # a new phase restarted the count
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    @property
    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 <= t0 or d1 <= d0:
            return None
        return (d1 - d0) / (t1 - t0)

    def eta(self, total: int) -> float | None:
        rate = self.rate
        if not rate or not self._samples:
            return None
        return max(0.0, (total - self._samples[-1][1]) / rate)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class IndexStatus:
    """What the GUI shows about a run; built on the worker thread, read on the GUI thread."""

    phase: str
    done: int
    total: int
    rate: float | None = None
    eta_s: float | None = None
    path: str | None = None
    new: int = 0
    embedded: int = 0
    failed: int = 0
    model_error: str | None = None
    paused: bool = False

    @property
    def label(self) -> str:
        names = {"scan": "Scanning", "embed": "Indexing", "metadata": "Reading dates (no model)", "done": "Done"}
        text = f"{names.get(self.phase, self.phase)} {self.done:,}"
        if self.total:
            text += f" / {self.total:,}"
        if self.phase in ("embed", "metadata") and self.rate:
            text += f" · {self.rate:.1f} photos/s · ETA {format_eta(self.eta_s)}"
        if self.paused:
            text += " · paused"
        return text


@dataclass
class IndexOutcome:
    cancelled: bool
    summary: Any = None  # photolens.indexer.IndexSummary
    model_error: str | None = None
    error: BaseException | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)


class IndexWorker(QObject):
    """Drives ``library.index(roots, cancel, options)`` on its QThread. Progress signals are throttled."""

    progress = Signal(object)  # IndexStatus
    finished = Signal(object)  # IndexOutcome

    def __init__(self, library: Any, roots: list[str], options: Any = None, min_interval_s: float = 0.1):
        super().__init__()
        self.library = library
        self.roots = roots
        self.options = options
        self.min_interval_s = min_interval_s
        self.cancel_event = threading.Event()
        self.done_event = threading.Event()  # set when run() has returned (the thread may live on)
        self._resume = threading.Event()
        self._resume.set()
        self.meter = ProgressMeter()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def pause(self) -> None:
        self._resume.clear()
        self.meter.pause()

    def resume(self) -> None:
        self._resume.set()

    def cancel(self) -> None:
        self.cancel_event.set()
        self._resume.set()  # a paused run must wake up to stop

    def _status(self, event: Any) -> IndexStatus:
        summary = event.summary
        return IndexStatus(event.phase, event.done, event.total, self.meter.rate, self.meter.eta(event.total),
                           event.path, summary.new, summary.embedded, summary.failed, event.model_error,
                           self.paused)

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            self.done_event.set()

    def _run(self) -> None:
        last_emit = 0.0
        last_phase = None
        event = None
        events = self.library.index(self.roots, self.cancel_event, self.options)
        try:
            for event in events:
                if event.phase != last_phase:
                    self.meter.reset()
                self.meter.update(event.done)
                now = time.monotonic()
                if event.phase != last_phase or now - last_emit >= self.min_interval_s or event.phase == "done":
                    self.progress.emit(self._status(event))
                    last_emit, last_phase = now, event.phase
                if not self._resume.is_set():
                    self.progress.emit(IndexStatus(**{**self._status(event).__dict__, "paused": True}))
                    self._resume.wait()  # pause: the generator is suspended between two events
                if self.cancel_event.is_set():
                    break
        except Exception as exc:  # noqa: BLE001 - e.g. DatabaseLockedError; shown to the user
            if not isinstance(exc, expected_errors()):
                log.warning("indexing failed:\n%s", traceback.format_exc())
            events.close()
            self.finished.emit(IndexOutcome(False, event.summary if event else None, error=exc))
            return
        events.close()
        summary = event.summary if event else None
        self.finished.emit(IndexOutcome(
            cancelled=self.cancel_event.is_set(), summary=summary,
            model_error=event.model_error if event else None,
            problems=list(summary.problems) if summary else []))


class IndexController(QObject):
    """Owns the indexing thread: start, pause/resume, cancel; re-emits the worker's signals."""

    progress = Signal(object)  # IndexStatus
    finished = Signal(object)  # IndexOutcome
    running_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: IndexWorker | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def paused(self) -> bool:
        return bool(self._worker and self._worker.paused)

    @property
    def worker(self) -> IndexWorker | None:
        return self._worker

    def start(self, library: Any, roots: list[str], options: Any = None, paused: bool = False) -> bool:
        """Start a run (False if one is running). ``paused`` stops it at its first event until resumed."""
        if self._worker is not None:
            return False
        thread = QThread()
        thread.setObjectName("photolens-index")
        worker = IndexWorker(library, roots, options)
        if paused:
            worker.pause()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.finished.connect(self._on_finished)
        self._thread, self._worker = thread, worker
        thread.start()
        self.running_changed.emit(True)
        return True

    def pause(self) -> None:
        if self._worker:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker:
            self._worker.resume()

    def cancel(self) -> None:
        if self._worker:
            self._worker.cancel()

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the run ends and deliver its outcome now (used at shutdown); True when it ended."""
        worker = self._worker
        if worker is None:
            return True
        if not worker.done_event.wait(msecs / 1000):
            return False
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)  # the queued finished → _on_finished
        if self._worker is worker:  # not delivered (e.g. no event dispatcher): clean up here
            self._on_finished(IndexOutcome(cancelled=worker.cancel_event.is_set()))
        return True

    def _on_finished(self, outcome: IndexOutcome) -> None:
        if self._worker is None:
            return  # already finished (delivered early by wait())
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if thread is not None:
            thread.quit()
            thread.wait(5000)
            thread.deleteLater()
        if worker is not None:
            worker.deleteLater()
        self.running_changed.emit(False)
        self.finished.emit(outcome)
