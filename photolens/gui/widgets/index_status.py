"""Indexing status in the status bar: a progress bar with count, rate and ETA; pause/resume; cancel; and
a button listing the files that could not be read."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from photolens.gui.indexing import IndexStatus


class IndexStatusWidget(QWidget):
    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()
    failures_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(True)
        self.pause = QToolButton()
        self.pause.setText("Pause")
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.failures = QToolButton()
        self.failures.setObjectName("failuresButton")
        self.failures.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.failures)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause)
        layout.addWidget(self.cancel)
        self.pause.clicked.connect(self._toggle_pause)
        self.cancel.clicked.connect(self.cancel_requested)
        self.failures.clicked.connect(self.failures_requested)
        self.paused = False
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        for widget in (self.bar, self.pause, self.cancel):
            widget.setVisible(running)
        if running:
            self.paused = False
            self.pause.setText("Pause")
            self.bar.setRange(0, 0)  # busy until the first count arrives
        self.cancel.setEnabled(running)

    def update_status(self, status: IndexStatus) -> None:
        self.label.setText(status.label)
        if status.total and status.phase != "scan":
            self.bar.setRange(0, status.total)
            self.bar.setValue(min(status.done, status.total))
            self.bar.setFormat(f"%p%  ({status.done:,}/{status.total:,})")
        elif status.phase == "done":
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
        else:
            self.bar.setRange(0, 0)

    def set_failures(self, count: int) -> None:
        self.failures.setVisible(count > 0)
        self.failures.setText(f"⚠ {count:,} unreadable")
        self.failures.setToolTip("Files that could not be read (listed, skipped, never fatal)")

    def set_message(self, text: str) -> None:
        self.label.setText(text)

    def _toggle_pause(self) -> None:
        self.paused = not self.paused
        self.pause.setText("Resume" if self.paused else "Pause")
        (self.pause_requested if self.paused else self.resume_requested).emit()
