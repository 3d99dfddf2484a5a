"""Every question the app asks the user, in one place.

File pickers are the platform's (blocking, as users expect); messages, confirmations and text prompts are
window-modal and non-blocking (``open()``), so a menu action never blocks the event loop and tests can
trigger every action. Tests replace the pickers with fakes (``monkeypatch.setattr(ask, "pick_folder", …)``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif *.heic *.heif);;All files (*)"
CHECKPOINT_FILTER = "Checkpoints (*.safetensors *.bin *.pt *.pth);;All files (*)"
LENS_FILTER = "Lens files (*.toml *.json);;All files (*)"


def pick_folder(parent: QWidget | None, title: str, start: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, title, start or os.path.expanduser("~"))


def pick_file(parent: QWidget | None, title: str, filters: str, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, start or os.path.expanduser("~"), filters)
    return path


def pick_save_file(parent: QWidget | None, title: str, name: str, filters: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, os.path.join(os.path.expanduser("~"), name), filters)
    return path


def inform(parent: QWidget | None, title: str, text: str, rich: bool = False) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    if rich:
        box.setTextFormat(box.textFormat().RichText)
    box.setObjectName("informBox")
    box.open()
    return box


def confirm(parent: QWidget | None, title: str, text: str, on_yes: Callable[[], None]) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName("confirmBox")
    box.buttonClicked.connect(lambda button: box.standardButton(button) == QMessageBox.StandardButton.Yes
                              and on_yes())
    box.open()
    return box


def ask_text(parent: QWidget | None, title: str, label: str, text: str, on_ok: Callable[[str], None]) -> QInputDialog:
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    dialog.setObjectName("askText")
    dialog.textValueSelected.connect(lambda value: value.strip() and on_ok(value.strip()))
    dialog.open()
    return dialog
