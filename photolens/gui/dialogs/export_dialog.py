"""Export photos (a selection, a group or a cluster) into a folder as copies or links.

The copying is :func:`photolens.export.export_photos` run on the app's task runner (``io`` pool, so a long
copy never holds up the database or the model); cancel stops it between two files. Originals are never
touched and name clashes are renamed or skipped, never overwritten.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from photolens.export import ExportResult, export_photos
from photolens.gui.dialogs import ask


class ExportDialog(QDialog):
    finished_export = Signal(object)  # ExportResult

    def __init__(self, sources: list[str], runner: Any, title: str = "", destination: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export photos")
        self.sources = list(dict.fromkeys(sources))
        self.runner = runner
        self.result_data: ExportResult | None = None
        self.cancelled = False
        self._last = ExportResult()

        what = f"{len(self.sources):,} photo{'s' if len(self.sources) != 1 else ''}"
        self.heading = QLabel(f"Export {what}" + (f" from “{title}”" if title else ""))
        self.destination = QLineEdit(destination)
        self.destination.setPlaceholderText("Destination folder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.destination, 1)
        row.addWidget(browse)
        self.copy = QRadioButton("Copy the files")
        self.link = QRadioButton("Symbolic links to the originals")
        self.copy.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.copy)
        modes.addButton(self.link)
        self.rename = QRadioButton("Keep both (add a number)")
        self.skip = QRadioButton("Skip the photo")
        self.rename.setChecked(True)
        clashes = QButtonGroup(self)
        clashes.addButton(self.rename)
        clashes.addButton(self.skip)
        form = QFormLayout()
        form.addRow("To", row)
        mode_box = QVBoxLayout()
        mode_box.addWidget(self.copy)
        mode_box.addWidget(self.link)
        form.addRow("As", mode_box)
        clash_box = QVBoxLayout()
        clash_box.addWidget(self.rename)
        clash_box.addWidget(self.skip)
        form.addRow("If a name exists", clash_box)
        note = QLabel("The originals are never modified; nothing in the destination is overwritten.")
        note.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, max(1, len(self.sources)))
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._close_or_cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._running = False
        self.resize(560, 300)

    @property
    def mode(self) -> str:
        return "symlink" if self.link.isChecked() else "copy"

    @property
    def clash(self) -> str:
        return "skip" if self.skip.isChecked() else "rename"

    def _choose(self) -> None:
        folder = ask.pick_folder(self, "Export to folder", self.destination.text())
        if folder:
            self.destination.setText(folder)

    def start(self) -> None:
        destination = self.destination.text().strip()
        if not destination:
            self.status.setText("Choose a destination folder first.")
            return
        self._running = True
        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.status.setText("Exporting…")
        self.cancelled = False
        sources, mode, clash = self.sources, self.mode, self.clash

        def export(context: Any) -> ExportResult:
            result = ExportResult()
            for event in export_photos(sources, destination, mode, clash, context.cancel_event):
                result = event.result
                context.progress((event.done, event.total, result))
            return result

        self.runner.run("export", "io", export, self._on_done, self._on_failed, self._on_progress, with_context=True)

    def _on_progress(self, value: tuple[int, int, ExportResult]) -> None:
        done, total, self._last = value
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _on_done(self, result: ExportResult) -> None:
        self._running = False
        self.result_data = result
        parts = [f"{len(result.done):,} exported"]
        if result.skipped:
            parts.append(f"{len(result.skipped):,} skipped")
        if result.failed:
            parts.append(f"{len(result.failed):,} failed")
        text = ", ".join(parts) + "."
        problems = result.failed[:5] + result.skipped[:5]
        if problems:
            text += "\n" + "\n".join(f"{os.path.basename(s)}: {r}" for s, r in problems)
        if self.cancelled:
            text = "Cancelled. " + text
        self.status.setText(text)
        self.close_button.setText("Close")
        self.finished_export.emit(result)

    def _on_failed(self, error: BaseException) -> None:
        self._running = False
        self.export_button.setEnabled(True)
        self.status.setText(str(error))

    def _close_or_cancel(self) -> None:
        if self._running:  # stop between two files and say what was done
            self.runner.cancel("export")
            self.cancelled = True
            self._on_done(self._last)
        else:
            self.reject()
