"""Indexing in the GUI: the ``Library.index`` generator on its own QThread, with cancel (the core's
``threading.Event``), pause (blocking between two events), rate and ETA, and throttled progress signals.

The indexer writes to the database on that thread; everything else the app does in the background goes
through :class:`photolens.gui.tasks.TaskRunner`.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal, Slot

from photolens.gui.tasks import expected_errors

log = logging.getLogger(__name__)

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

    def __init__(self, library: Any, roots: list[str] | None, options: Any = None, min_interval_s: float = 0.1):
        """``roots`` None: every folder of the library; ``options`` may be a function (called on the thread)."""
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
        events = None
        try:
            if self.roots is None:  # "index everything known": read on this thread, not the GUI's
                self.roots = self.library.roots()
            options = self.options() if callable(self.options) else self.options
            if not self.roots:
                self.finished.emit(IndexOutcome(False, None))
                return
            events = self.library.index(self.roots, self.cancel_event, options)
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
            if events is not None:
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

    def start(self, library: Any, roots: list[str] | None, options: Any = None, paused: bool = False) -> bool:
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
