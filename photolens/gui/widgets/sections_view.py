"""Sections of photos with titles and counts: the lens group view (one section per value word, plus the
unsure bucket) and the cluster view (one per cluster). Generic: it shows whatever
:class:`~photolens.gui.lens_adapter.Section` list it is given.

Each section is a header (title, count, "Show all", "Export…") over a one-row strip of its first photos
(the same model and delegate as the grid, so thumbnails come from the same cache). The mouse wheel scrolls
the page, not the strips (Shift+wheel or a sideways wheel scrolls a strip).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photolens.browse import PhotoRow
from photolens.gui.delegate import ThumbnailDelegate
from photolens.gui.lens_adapter import Section
from photolens.gui.models import PhotoListModel, Roles

STRIP_PHOTOS = 40  # photos shown per section; "Show all" opens the rest in the grid


@dataclass
class SectionData:
    """A section and the rows of (up to STRIP_PHOTOS of) its photos, fetched off the GUI thread."""

    section: Section
    rows: list[PhotoRow]


class SectionWidget(QFrame):
    def __init__(self, data: SectionData, thumbnails: Any, thumb_size: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.data = data
        self.setObjectName("section")
        self.setProperty("kind", data.section.kind)
        section = data.section
        self.title = QLabel(section.title)
        self.title.setObjectName("sectionTitle")
        self.count = QLabel(f"{section.count:,} photo{'s' if section.count != 1 else ''}")
        self.count.setObjectName("sectionCount")
        self.show_all = QPushButton("Show all")
        self.export = QPushButton("Export…")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.count)
        if section.subtitle:
            sub = QLabel(section.subtitle)
            sub.setObjectName("sectionSubtitle")
            header.addWidget(sub)
        header.addStretch(1)
        header.addWidget(self.show_all)
        header.addWidget(self.export)

        self.model = PhotoListModel(thumbnails, self)
        self.model.set_rows(data.rows[:STRIP_PHOTOS], sort="relevance")
        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setFlow(QListView.Flow.LeftToRight)
        self.view.setWrapping(False)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.delegate = ThumbnailDelegate(self.view, size=thumb_size, captions=False)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        cell = QSize(thumb_size + 16, thumb_size + 16)
        self.view.setGridSize(cell)
        self.view.setFixedHeight(cell.height() + self.view.horizontalScrollBar().sizeHint().height() + 6)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setMinimumWidth(cell.width())
        self.view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(header)
        layout.addWidget(self.view)


class SectionsView(QScrollArea):
    """A vertical list of :class:`SectionWidget`; empty sections are listed on one line at the end."""

    open_section = Signal(object)  # Section
    export_section = Signal(object)  # Section
    photo_selected = Signal(object)  # PhotoRow
    photo_activated = Signal(object)  # PhotoRow
    context_menu_requested = Signal(QPoint, object)  # global position, the strip's QListView

    def __init__(self, thumbnails: Any, thumb_size: int = 112, parent: QWidget | None = None,
                 actions: bool = True):
        super().__init__(parent)
        self.actions = actions  # "Show all" / "Export…" per section
        self.thumbnails = thumbnails
        self.thumb_size = thumb_size
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # strips scroll, not the page
        self.setObjectName("sectionsView")
        self.sections: list[SectionWidget] = []
        self.heading = QLabel("")
        self.heading.setObjectName("sectionsHeading")
        self.heading.setWordWrap(True)
        self.empty_note = QLabel("")
        self.empty_note.setWordWrap(True)
        self.empty_note.setObjectName("emptyNote")
        self._container = QWidget()
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.addWidget(self.heading)
        self._layout.addWidget(self.empty_note)
        self._layout.addStretch(1)
        self.setWidget(self._container)

    def clear(self) -> None:
        for widget in self.sections:
            self._layout.removeWidget(widget)
            widget.hide()  # gone from the screen now, not only when the deferred delete runs
            widget.setParent(None)
            widget.deleteLater()
        self.sections = []
        self.empty_note.setText("")

    def set_message(self, text: str) -> None:
        self.clear()
        self.heading.setText(text)

    def set_sections(self, sections: Sequence[SectionData], heading: str = "") -> None:
        self.clear()
        self.heading.setText(heading)
        empty = [d.section.title for d in sections if d.section.count == 0]
        for data in (d for d in sections if d.section.count > 0):
            widget = SectionWidget(data, self.thumbnails, self.thumb_size)
            widget.show_all.setVisible(self.actions)
            widget.export.setVisible(self.actions)
            widget.show_all.clicked.connect(lambda _=False, s=data.section: self.open_section.emit(s))
            widget.export.clicked.connect(lambda _=False, s=data.section: self.export_section.emit(s))
            widget.view.selectionModel().currentChanged.connect(
                lambda cur, _prev: cur.isValid() and self.photo_selected.emit(cur.data(Roles.Row)))
            widget.view.activated.connect(lambda index: self.photo_activated.emit(index.data(Roles.Row)))
            widget.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            widget.view.customContextMenuRequested.connect(
                lambda pos, v=widget.view: self.context_menu_requested.emit(v.viewport().mapToGlobal(pos), v))
            widget.view.viewport().installEventFilter(self)
            self._layout.insertWidget(self._layout.count() - 2, widget)
            self.sections.append(widget)
        if empty:
            self.empty_note.setText("No photos: " + ", ".join(empty))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """A vertical wheel over a strip scrolls the page (strips would otherwise swallow it sideways)."""
        if event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            delta = event.angleDelta()
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if abs(delta.y()) > abs(delta.x()) and not shift:
                bar = self.verticalScrollBar()
                pixels = event.pixelDelta().y()  # touchpads give pixels, wheels give 1/8° steps
                step = pixels if pixels else round(delta.y() / 120 * QApplication.wheelScrollLines() * bar.singleStep())
                bar.setValue(bar.value() - step)
                return True
        return super().eventFilter(watched, event)

    def selected_rows(self) -> list[PhotoRow]:
        rows: list[PhotoRow] = []
        for widget in self.sections:
            rows += [i.data(Roles.Row) for i in widget.view.selectionModel().selectedIndexes()]
        return rows

    def titles(self) -> list[str]:
        return [w.data.section.title for w in self.sections]

    def counts(self) -> dict[str, int]:
        return {w.data.section.title: w.data.section.count for w in self.sections}
