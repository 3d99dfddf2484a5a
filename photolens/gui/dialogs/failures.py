"""The list of files that could not be read, with the reason for each, and "Try again" (the files are
forgotten as failures and indexed again)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class FailuresDialog(QDialog):
    retry_requested = Signal()

    def __init__(self, failures: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Unreadable files")
        self.resize(820, 420)
        note = QLabel(f"{len(failures):,} file(s) could not be read. They are skipped (not fatal) and tried "
                      "again when they change.")
        note.setWordWrap(True)
        self.table = QTableWidget(len(failures), 2)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        for row, (path, reason) in enumerate(failures):
            self.table.setItem(row, 0, QTableWidgetItem(path))
            self.table.setItem(row, 1, QTableWidgetItem(reason))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnToContents(0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.retry_button = buttons.addButton("Try these files again", QDialogButtonBox.ButtonRole.ActionRole)
        self.retry_button.setToolTip("Read them again now (e.g. after fixing permissions or installing a decoder)")
        self.retry_button.setEnabled(bool(failures))
        self.retry_button.clicked.connect(self._retry)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def _retry(self) -> None:
        self.retry_requested.emit()
        self.accept()
