"""The lens editor: name, description, value words, templates, presets; validation messages once you have
typed something (not before) and a live preview of the groups on a sample of the library, run on the
app's task runner (a newer preview replaces an older one; closing the editor cancels it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from photolens.gui.lens_adapter import LensAdapter, LensFields
from photolens.gui.widgets.sections_view import SectionData, SectionsView

PREVIEW_DELAY_MS = 700
PREVIEW_CHANNEL = "lens-preview"
HINT = "Give the lens a name and at least two words, one per line."


class LensEditorDialog(QDialog):
    saved = Signal(str)  # lens name

    def __init__(self, adapter: LensAdapter, runner: Any, thumbnails: Any,
                 preview: Callable[[LensFields], list[SectionData]] | None = None,
                 fields: LensFields | None = None, parent: QWidget | None = None, presets: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Edit lens" if fields else "New lens")
        self.adapter = adapter
        self.runner = runner
        self.preview_fn = preview
        self.touched = bool(fields)  # validation messages only once there is something to judge
        self.finished.connect(lambda _r: self.runner.cancel(PREVIEW_CHANNEL))

        self.presets = QComboBox()
        self.presets.addItem("Start from a preset…", None)
        for name in presets or []:
            self.presets.addItem(name, name)
        self.presets.currentIndexChanged.connect(self._load_preset)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. weather")
        self.description = QLineEdit()
        self.description.setPlaceholderText("What this lens looks at (optional)")
        self.values = QPlainTextEdit()
        self.values.setPlaceholderText("One word or phrase per line, e.g.\nsunny\ncloudy\nrainy\nsnowy")
        self.templates = QPlainTextEdit()
        self.templates.setPlaceholderText("Optional, one per line with {} for the word, e.g.\n"
                                          "a photo taken in {} weather\n(default: a photo of {})")
        self.templates.setMaximumHeight(90)
        self.validation = QLabel("")
        self.validation.setObjectName("validation")
        self.validation.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Preset", self.presets)
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Words", self.values)
        form.addRow("Templates", self.templates)
        left = QWidget()
        column = QVBoxLayout(left)
        column.addLayout(form)
        column.addWidget(self.validation)

        self.preview_view = SectionsView(thumbnails, thumb_size=64, actions=False)
        self.preview_view.set_message("The preview of the groups appears here.")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.preview_view)
        splitter.setSizes([380, 420])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.buttons)
        self.resize(900, 560)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh_preview)
        for widget in (self.name, self.description):
            widget.textChanged.connect(self._changed)
        for widget in (self.values, self.templates):
            widget.textChanged.connect(self._changed)
        if fields:
            self.set_fields(fields)
            self.name.setReadOnly(True)  # renaming would orphan the saved lens; make a new one instead
        self._changed()

    # ---- fields
    def fields(self) -> LensFields:
        return LensFields(self.name.text(), self.description.text(),
                          [line for line in self.values.toPlainText().splitlines() if line.strip()],
                          [line for line in self.templates.toPlainText().splitlines() if line.strip()])

    def set_fields(self, fields: LensFields) -> None:
        self.name.setText(fields.name)
        self.description.setText(fields.description)
        self.values.setPlainText("\n".join(fields.values))
        self.templates.setPlainText("\n".join(fields.templates))

    def _load_preset(self, _index: int) -> None:
        name = self.presets.currentData()
        if name:
            self.touched = True
            adapter = self.adapter
            self.runner.run("lens-preset", "db", lambda: adapter.preset(name), self.set_fields,
                            lambda exc: self.validation.setText(str(exc)))  # a broken preset file: say so

    # ---- validation and preview
    @property
    def error(self) -> str | None:
        return self.adapter.validate(self.fields())

    def _changed(self, *_args: object) -> None:
        fields = self.fields()
        if fields.name.strip() or fields.values or fields.templates or fields.description.strip():
            self.touched = True
        error = self.error
        shown = error if self.touched else None
        self.validation.setText(shown or ("✓ Valid lens" if error is None else HINT))
        self.validation.setProperty("error", bool(shown))
        self.validation.style().unpolish(self.validation)
        self.validation.style().polish(self.validation)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(error is None and self.adapter.available)
        if error is None and self.preview_fn is not None:
            self._timer.start()
        else:
            self._timer.stop()
            self.runner.cancel(PREVIEW_CHANNEL)

    def refresh_preview(self) -> None:
        if self.preview_fn is None or self.error is not None:
            return
        fields = self.fields()
        self.preview_view.set_message("Grouping a sample of your photos…")
        preview = self.preview_fn
        self.runner.run(PREVIEW_CHANNEL, "model", lambda: preview(fields), self._show_preview,
                        lambda exc: self.preview_view.set_message(f"No preview: {exc}"))

    def _show_preview(self, sections: list[SectionData]) -> None:
        total = sum(d.section.count for d in sections)
        self.preview_view.set_sections(sections, heading=f"Preview on {total:,} sample photos")

    def save(self) -> None:
        error = self.error
        if error:
            self.touched = True
            self.validation.setText(error)
            return
        fields, adapter = self.fields(), self.adapter
        self.buttons.setEnabled(False)
        self.runner.run("lens-save", "db", lambda: adapter.save(fields), lambda _r: self._saved(fields.name.strip()),
                        self._save_failed)

    def _saved(self, name: str) -> None:
        self.saved.emit(name)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.validation.setText(str(exc))
