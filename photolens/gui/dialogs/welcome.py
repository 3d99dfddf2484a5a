"""The first-run page: what photolens does with your folders, where its data lives, and "Add a folder"."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

WELCOME_TEXT = """
<h1>Welcome to photolens</h1>
<p>photolens organises your photos <b>by what is in them</b>: search with words (<i>dog on a beach at
sunset</i>), find more photos like one you pick, and look at your library through <i>lenses</i>
(colour, weather, mood…).</p>
<h3>What happens when you add a folder</h3>
<ol>
<li>photolens lists the photos in it and its subfolders, and reads their dates, cameras and places.</li>
<li>A CLIP model, running <b>on this computer</b>, turns each photo into a search vector. This takes a while
the first time (you can keep browsing, pause, or quit: it resumes where it stopped); afterwards only new
and changed photos are read.</li>
<li>Your photos are <b>never modified, moved or uploaded</b>. Export makes copies.</li>
</ol>
"""


class WelcomePage(QWidget):
    folders_chosen = Signal(list)

    def __init__(self, database: str, thumbnails: str, model: str, model_note: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("welcome")
        text = QLabel(WELCOME_TEXT)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        where = QLabel(
            "<h3>Where data lives</h3>"
            f"<p>Library database: <code>{html.escape(database)}</code><br>"
            f"Thumbnails: <code>{html.escape(thumbnails)}</code><br>"
            f"Model: <code>{html.escape(model)}</code>"
            + (f"<br><i>{html.escape(model_note)}</i>" if model_note else "") + "</p>")
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where = where
        self.add_button = QPushButton("Add a photo folder…")
        self.add_button.setObjectName("primary")
        self.add_button.setMinimumHeight(36)
        self.add_button.clicked.connect(self.choose_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.addWidget(text)
        column.addWidget(where)
        column.addLayout(buttons)
        column.addStretch(1)
        box = QWidget()
        box.setLayout(column)
        box.setMaximumWidth(760)
        layout = QHBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(box, 10)
        layout.addStretch(1)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a photo folder")
        if folder:
            self.folders_chosen.emit([folder])
