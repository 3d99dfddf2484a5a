"""The details pane: a large preview, file information, EXIF date / camera / place, and actions
(more like this, open, reveal in the file manager)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photolens.browse import PhotoDetails, human_size


def open_file(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_in_file_manager(path: str) -> bool:
    """Show the file selected in the platform's file manager (its folder where selection is unsupported)."""
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])  # noqa: S603, S607
            return True
        if sys.platform.startswith("win"):
            subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])  # noqa: S603, S607
            return True
        uri = QUrl.fromLocalFile(path).toString()
        subprocess.Popen(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.FileManager1",  # noqa: S603, S607
                          "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1.ShowItems",
                          f"array:string:{uri}", "string:"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return True
    except OSError:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


class PreviewLabel(QLabel):
    """Keeps the pixmap scaled to the label's size."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(200, 160))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setObjectName("preview")
        self._pixmap = QPixmap()

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap if pixmap is not None else QPixmap()
        self._rescale()

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap.isNull():
            super().setPixmap(QPixmap())
            return
        super().setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))


class DetailsPane(QWidget):
    more_like_this = Signal(str)
    view_requested = Signal(str)
    action_failed = Signal(str)  # a message: e.g. no application opens this kind of file

    def __init__(self, parent: QWidget | None = None, opener: Callable[[str], bool] = open_file,
                 revealer: Callable[[str], bool] = reveal_in_file_manager, with_preview: bool = True):
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.with_preview = with_preview
        self._opener, self._revealer = opener, revealer
        self.details: PhotoDetails | None = None
        self.preview = PreviewLabel()
        self.title = QLabel("")
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields: dict[str, QLabel] = {}
        self.info = QWidget()
        form = QFormLayout(self.info)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for key, label in (("taken", "Taken"), ("camera", "Camera"), ("place", "Place"), ("dimensions", "Size"),
                           ("file", "File"), ("folder", "Folder"), ("modified", "Modified"), ("status", "Index")):
            value = QLabel("")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = value
            form.addRow(label, value)
        self.more_button = QPushButton("More like this")
        self.more_button.setToolTip("Photos most like this one (through the current lens, if one is chosen)")
        self.view_button = QPushButton("View")
        self.view_button.setToolTip("Look at the photo in the window (double-click or Enter in the grid)")
        self.open_button = QPushButton("Open in app")
        self.open_button.setToolTip("Open with the system's application for this kind of file")
        self.reveal_button = QPushButton("Show in folder")
        buttons = QHBoxLayout()
        buttons.addWidget(self.view_button)
        buttons.addWidget(self.more_button)
        buttons2 = QHBoxLayout()
        buttons2.addWidget(self.open_button)
        buttons2.addWidget(self.reveal_button)
        self.more_button.clicked.connect(lambda: self.details and self.more_like_this.emit(self.details.path))
        self.view_button.clicked.connect(lambda: self.details and self.view_requested.emit(self.details.path))
        self.open_button.clicked.connect(lambda: self.details and self.open_path(self.details.path))
        self.reveal_button.clicked.connect(lambda: self.details and self.reveal_path(self.details.path))
        self.empty = QLabel("Select a photo to see its details.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 3)
        layout.addWidget(self.title)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        layout.addLayout(buttons2)
        layout.addWidget(self.empty)
        layout.addStretch(1)
        self.show_details(None)

    def show_details(self, details: PhotoDetails | None, model_key: str | None = None,
                     model_ready: bool = True) -> None:
        self.details = details
        has = details is not None
        for widget in (self.title, self.info, self.more_button, self.open_button, self.reveal_button, self.view_button):
            widget.setVisible(has)
        self.preview.setVisible(has and self.with_preview)
        self.empty.setVisible(not has)
        if details is None:
            for value in self.fields.values():
                value.setText("")
            self.preview.set_pixmap(None)
            return
        self.title.setText(details.name)
        self.fields["taken"].setText(details.taken_at.strftime("%Y-%m-%d %H:%M") if details.taken_at else "unknown")
        self.fields["camera"].setText(details.camera or "unknown")
        self.fields["place"].setText(details.place or "no location")
        size = details.dimensions or "?"
        fmt = f" · {details.image_format}" if details.image_format else ""
        self.fields["dimensions"].setText(f"{size}{fmt}")
        self.fields["file"].setText(f"{human_size(details.size)}")
        self.fields["folder"].setText(details.folder.replace(os.sep, os.sep + "\u200b"))  # may wrap after a /
        self.fields["folder"].setToolTip(details.folder)
        self.fields["modified"].setText(details.mtime.strftime("%Y-%m-%d %H:%M"))
        if details.error:
            status = f"unreadable: {details.error}"
        elif model_key and model_key in details.models:
            status = "searchable"
        else:
            status = "not embedded yet (dates and folders only)"
        self.fields["status"].setText(status)
        self.more_button.setEnabled(bool(model_ready) and not details.error)

    def open_path(self, path: str) -> bool:
        if self._opener(path):
            return True
        self.action_failed.emit(f"No application is set up to open {os.path.basename(path)}. Double-click it to view "
                                "it here, or use “Show in folder”.")
        return False

    def reveal_path(self, path: str) -> bool:
        if self._revealer(path):
            return True
        self.action_failed.emit(f"Cannot show {path} in a file manager here.")
        return False

    def set_preview(self, pixmap: QPixmap | None) -> None:
        self.preview.set_pixmap(pixmap)

    def field_text(self, key: str) -> str:
        return self.fields[key].text()
