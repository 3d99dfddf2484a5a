"""The search bar: words (with the query language's ``+``/``-`` and weights), words to avoid, and a photo.

Drop a photo (from the grid or a file manager) for "more like this"; add words to change it ("this photo,
but at night"): the bar builds the query terms, the Library does the rest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QToolButton, QWidget

from photolens.errors import QueryError
from photolens.imaging import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class SearchRequest:
    """What to search for. ``terms()`` turns it into the Library's query terms."""

    text: str = ""
    avoid: tuple[str, ...] = ()
    photo: str | None = None
    scope: str | None = None  # a folder, or None for the whole library

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.photo

    @property
    def similar_only(self) -> bool:
        """Only a photo: "more like this", the photo itself excluded."""
        return bool(self.photo) and not self.text.strip() and not self.avoid

    def terms(self) -> list:
        """Query terms: the photo (if any), the parsed words, then one negative term per avoided word."""
        from photolens.query import Term, parse_query

        terms = []
        if self.photo:
            terms.append(Term("image", self.photo, 1.0))
        if self.text.strip():
            terms.extend(parse_query(self.text))
        terms.extend(Term("text", word, -1.0) for word in self.avoid)
        if not terms:
            raise QueryError("Type some words or drop a photo to search.")
        if all(t.weight < 0 for t in terms):
            raise QueryError("A query needs at least one positive term; 'without' words only push results away.")
        return terms

    def describe(self) -> str:
        parts = []
        if self.photo:
            parts.append(f"like {os.path.basename(self.photo)}")
        if self.text.strip():
            parts.append(f"“{self.text.strip()}”")
        if self.avoid:
            parts.append("without " + ", ".join(self.avoid))
        return " + ".join(parts) if parts else "(empty)"

    def as_dict(self) -> dict:
        return {"text": self.text, "avoid": list(self.avoid), "photo": self.photo, "scope": self.scope}

    @classmethod
    def from_dict(cls, data: dict) -> SearchRequest:
        return cls(str(data.get("text") or ""), tuple(str(w) for w in data.get("avoid") or ()),
                   data.get("photo") or None, data.get("scope") or None)


def split_avoid(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


def _dropped_photo(event: QDragEnterEvent | QDropEvent) -> str | None:
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        path = url.toLocalFile()
        if path and os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
            return path
    return None


class PhotoChip(QToolButton):
    """Shows the query photo (thumbnail + name); click × to remove. Accepts photo drops."""

    cleared = Signal()
    dropped = Signal(str)
    pick_requested = Signal()  # clicked without a photo: choose one with a file picker

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIconSize(QSize(24, 24))
        self.setObjectName("photoChip")
        self.path: str | None = None
        self.clicked.connect(self._on_click)
        self.set_photo(None)

    def set_photo(self, path: str | None, pixmap: QPixmap | None = None) -> None:
        self.path = path
        if path:
            self.setText(f"{os.path.basename(path)}  ×")
            self.setToolTip(f"Searching photos like {path}\nClick to remove")
            if pixmap is not None and not pixmap.isNull():
                self.setIcon(pixmap)
        else:
            self.setText("Photo…")
            self.setToolTip("Drop a photo here, or click to choose one, to search for similar photos;\n"
                            "add words to change it, e.g. 'at night'")
            self.setIcon(QPixmap())

    def _on_click(self) -> None:
        if self.path:
            self.set_photo(None)
            self.cleared.emit()
        else:
            self.pick_requested.emit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if _dropped_photo(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        path = _dropped_photo(event)
        if path:
            event.acceptProposedAction()
            self.dropped.emit(path)


class LensChip(QToolButton):
    """The lens searches go through, always visible while one is chosen; one click removes it."""

    remove_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lensChip")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.clicked.connect(self.remove_requested)
        self.set_lens(None)

    def set_lens(self, name: str | None) -> None:
        self.lens = name
        self.setVisible(bool(name))
        if name:
            self.setText(f"Lens: {name}  ×")
            self.setToolTip(f"Searches, groups and clusters go through the lens “{name}”. Click to stop using it.")


class SearchBar(QWidget):
    search_requested = Signal(object)  # SearchRequest
    cleared = Signal()
    save_requested = Signal(object)  # SearchRequest
    pick_photo_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.chip = PhotoChip()
        self.lens_chip = LensChip()
        self.text = QLineEdit()
        self.text.setObjectName("searchText")
        self.text.setPlaceholderText("Search words, e.g. beach + sunset")
        self.text.setToolTip("Words to search for; + and - combine (beach + sunset - people), 2:dog weighs a word.\n"
                             "Drop a photo on the bar for photos like it, and add words to change it.")
        self.text.setClearButtonEnabled(True)
        self.text.setMinimumWidth(220)
        self.avoid = QLineEdit()
        self.avoid.setPlaceholderText("without…")
        self.avoid.setToolTip("Words to push away, separated by commas (negative terms)")
        self.avoid.setMaximumWidth(120)
        self.go = QPushButton("Search")
        self.go.setDefault(True)
        self.save = QToolButton()
        self.save.setText("☆")
        self.save.setToolTip("Save this search in the sidebar")
        self.scope: str | None = None

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chip)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.lens_chip)
        layout.addWidget(self.avoid)
        layout.addWidget(self.go)
        layout.addWidget(self.save)

        self.text.returnPressed.connect(self.submit)
        self.avoid.returnPressed.connect(self.submit)
        self.go.clicked.connect(self.submit)
        self.save.clicked.connect(lambda: None if self.request().empty else self.save_requested.emit(self.request()))
        self.chip.dropped.connect(self.set_photo_and_search)
        self.chip.cleared.connect(self._chip_cleared)
        self.chip.pick_requested.connect(self.pick_photo_requested)
        self.text.textChanged.connect(self._text_changed)

    def request(self) -> SearchRequest:
        return SearchRequest(self.text.text(), split_avoid(self.avoid.text()), self.chip.path, self.scope)

    def set_request(self, request: SearchRequest) -> None:
        self.text.blockSignals(True)  # showing a request is not the user clearing the words
        self.text.setText(request.text)
        self.text.blockSignals(False)
        self.avoid.setText(", ".join(request.avoid))
        self.chip.set_photo(request.photo)

    def set_photo(self, path: str | None, pixmap: QPixmap | None = None) -> None:
        self.chip.set_photo(path, pixmap)

    def set_photo_and_search(self, path: str) -> None:
        self.chip.set_photo(path)
        self.submit()

    def submit(self) -> None:
        request = self.request()
        if request.empty:
            self.cleared.emit()
        else:
            self.search_requested.emit(request)

    def clear(self) -> None:
        self.text.blockSignals(True)
        self.text.clear()
        self.text.blockSignals(False)
        self.avoid.clear()
        self.chip.set_photo(None)

    def _text_changed(self, text: str) -> None:
        """The ⊗ button (or deleting every word) goes back to browsing when no photo is set."""
        if not text and not self.chip.path:
            self.cleared.emit()

    def _chip_cleared(self) -> None:
        if self.text.text().strip():
            self.submit()
        else:
            self.cleared.emit()

    # the whole bar accepts photo drops, not only the chip
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        self.chip.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.chip.dropEvent(event)
