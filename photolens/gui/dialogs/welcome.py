"""The first-run page: what photolens does with your folders, whether the search model is ready (and the
ways to get it when it is not), where its data lives, and "Add a photo folder"."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photolens.gui.dialogs import ask

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
    model_action = Signal(str)  # "download", "folder" or "file"

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
        self.model_box = QFrame()
        self.model_box.setObjectName("modelBox")
        self.model_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.model_state = QLabel("<h3>Search model</h3><p>Checking whether the model is on this computer…</p>")
        self.model_state.setWordWrap(True)
        self.model_state.setTextFormat(Qt.TextFormat.RichText)
        self.model_state.setObjectName("modelState")
        self.download_button = QPushButton("Download the model")
        self.folder_button = QPushButton("Choose a model folder…")
        self.folder_button.setToolTip("A folder with open_clip_config.json and the weights (.safetensors or .bin)")
        self.file_button = QPushButton("Choose a checkpoint file…")
        self.file_button.setToolTip("An open_clip checkpoint (.pt, .bin, .safetensors) of a known architecture")
        for button, action in ((self.download_button, "download"), (self.folder_button, "folder"),
                               (self.file_button, "file")):
            button.clicked.connect(lambda _=False, a=action: self.model_action.emit(a))
        model_buttons = QHBoxLayout()
        model_buttons.addWidget(self.download_button)
        model_buttons.addWidget(self.folder_button)
        model_buttons.addWidget(self.file_button)
        model_buttons.addStretch(1)
        box_layout = QVBoxLayout(self.model_box)
        box_layout.addWidget(self.model_state)
        box_layout.addLayout(model_buttons)
        self.set_model_state(None, "", model)
        self.add_button = QPushButton("Add a photo folder…")
        self.add_button.setObjectName("primary")
        self.add_button.setMinimumHeight(36)
        self.add_button.clicked.connect(self.choose_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.addWidget(text)
        column.addLayout(buttons)
        column.addWidget(self.model_box)
        column.addWidget(where)
        column.addStretch(1)
        box = QWidget()
        box.setLayout(column)
        box.setMaximumWidth(760)
        layout = QHBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(box, 10)
        layout.addStretch(1)

    def set_model_state(self, ready: bool | None, detail: str, model: str, download: str = "",
                        checking: bool = False) -> None:
        """``ready``: True, False (not installed: offer the ways to get it) or None (known at first use).
        ``download``: the download button's text, empty where no download is possible."""
        name = html.escape(model)
        if checking:
            text = "<h3>Search model</h3><p>Checking whether the model is on this computer…</p>"
        elif ready:
            text = f"<h3>Search model: ready ✓</h3><p><code>{name}</code> is on this computer.</p>"
        elif ready is None:
            text = (f"<h3>Search model</h3><p><code>{name}</code> is loaded the first time you search or add "
                    "photos. If it is not on this computer yet, photolens says so then.</p>")
        else:
            text = (f"<h3>Search model: not installed</h3><p>Searching by words or by photo needs the model "
                    f"<code>{name}</code>, which is not on this computer"
                    + (f" ({html.escape(detail)})" if detail else "") + ". You can add folders and browse them "
                    "by folder and date now; photos become searchable once the model is here.</p>"
                    "<p>Get it in one of these ways:</p>")
        self.model_state.setText(text)
        missing = ready is False and not checking
        self.download_button.setVisible(missing and bool(download))
        self.download_button.setText(download or "Download the model")
        self.folder_button.setVisible(missing)
        self.file_button.setVisible(missing)
        self.model_box.setProperty("missing", missing)

    def choose_folder(self) -> None:
        folder = ask.pick_folder(self, "Choose a photo folder")
        if folder:
            self.folders_chosen.emit([folder])
