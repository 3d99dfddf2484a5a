"""The central photo grid: a virtualised QListView over :class:`PhotoListModel` with a header bar
(title, count, sort, zoom, export), a message banner and a notice bar with one action (e.g. "Get the
model…"). Cells are widened to fill the row, so no unused band is left right of the grid."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from photolens.browse import PhotoRow
from photolens.gui.delegate import ThumbnailDelegate
from photolens.gui.models import PhotoListModel, Roles

SORT_LABELS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first", "name": "Name"}
MIN_ZOOM, MAX_ZOOM = 64, 384


class PhotoListView(QListView):
    """Icon-mode list tuned for 100k items: uniform sizes, batched layout, static movement."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSpacing(2)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(40)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setMouseTracking(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.base_cell = QSize(172, 196)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self.fit_cells()
        super().resizeEvent(event)

    def fit_cells(self) -> None:
        """Spread the cells over the whole row width (the leftover is shared, not left as a band)."""
        available = max(1, self.viewport().width() - 2 * self.spacing() - 2)
        columns = max(1, available // max(1, self.base_cell.width()))
        width = max(self.base_cell.width(), available // columns)
        size = QSize(width, self.base_cell.height())
        if size != self.gridSize():
            self.setGridSize(size)


class PhotoGrid(QWidget):
    current_changed = Signal(object)  # PhotoRow or None
    activated = Signal(object)  # PhotoRow (double-click / Enter)
    selection_changed = Signal(int)  # number of selected photos
    sort_changed = Signal(str)
    zoom_changed = Signal(int)
    export_requested = Signal()
    context_menu_requested = Signal(QPoint)  # global position
    notice_action = Signal(str)  # the notice bar's button was clicked: its action name

    def __init__(self, model: PhotoListModel, zoom: int = 160, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.title = QLabel("All photos")
        self.title.setObjectName("gridTitle")
        self.count_label = QLabel("")
        self.count_label.setObjectName("gridCount")
        self.banner = QLabel("")  # errors and hints, shown above the grid
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.notice = QWidget()  # a standing notice with one action ("Search needs a model. [Get the model…]")
        self.notice.setObjectName("notice")
        self.notice_label = QLabel("")
        self.notice_label.setWordWrap(True)
        self.notice_button = QPushButton("")
        self.notice_button.clicked.connect(lambda: self.notice_action.emit(self.notice_button.property("action")))
        notice_row = QHBoxLayout(self.notice)
        notice_row.setContentsMargins(10, 4, 10, 4)
        notice_row.addWidget(self.notice_label, 1)
        notice_row.addWidget(self.notice_button)
        self.notice.setVisible(False)

        self.sort_box = QComboBox()
        self.sort_box.setToolTip("Order of the photos")
        for mode, label in SORT_LABELS.items():
            self.sort_box.addItem(label, mode)
        self.sort_box.currentIndexChanged.connect(lambda _i: self.sort_changed.emit(self.sort_box.currentData()))

        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(MIN_ZOOM, MAX_ZOOM)
        self.zoom.setSingleStep(16)
        self.zoom.setPageStep(32)
        self.zoom.setFixedWidth(140)
        self.zoom.setToolTip("Thumbnail size")
        self.zoom.setValue(zoom)
        self.zoom.valueChanged.connect(self.set_zoom)

        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Copy or link the selected photos into a folder")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_requested)

        header = QHBoxLayout()
        header.setContentsMargins(8, 4, 8, 4)
        header.addWidget(self.title)
        header.addWidget(self.count_label)
        header.addStretch(1)
        header.addWidget(self.export_button)
        header.addWidget(QLabel("Sort"))
        header.addWidget(self.sort_box)
        header.addWidget(QLabel("Zoom"))
        header.addWidget(self.zoom)

        self.view = PhotoListView()
        self.delegate = ThumbnailDelegate(self.view, size=zoom)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(model)
        self._apply_grid_size()
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.view.activated.connect(lambda index: self.activated.emit(index.data(Roles.Row)))
        self.view.customContextMenuRequested.connect(
            lambda pos: self.context_menu_requested.emit(self.view.viewport().mapToGlobal(pos)))
        model.modelReset.connect(self._update_count)
        model.rowsInserted.connect(self._update_count)
        model.rowsRemoved.connect(self._update_count)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.notice)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)

    # ---- state
    def set_title(self, title: str) -> None:
        self.title.setText(title)

    def show_message(self, text: str, error: bool = False) -> None:
        self.banner.setText(text)
        self.banner.setProperty("error", error)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.setVisible(bool(text))

    def set_notice(self, text: str, button: str = "", action: str = "") -> None:
        """A standing notice above the grid with one optional button (empty text hides it)."""
        self.notice_label.setText(text)
        self.notice_button.setText(button)
        self.notice_button.setProperty("action", action)
        self.notice_button.setVisible(bool(button))
        self.notice.setVisible(bool(text))

    def set_sort(self, mode: str, relevance_available: bool) -> None:
        """Select ``mode`` in the box without emitting; relevance is only offered for search results."""
        self.sort_box.blockSignals(True)
        index = self.sort_box.findData("relevance")
        item = self.sort_box.model().item(index)
        item.setEnabled(relevance_available)
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(mode)))
        self.sort_box.blockSignals(False)

    def set_zoom(self, size: int) -> None:
        size = max(MIN_ZOOM, min(MAX_ZOOM, int(size)))
        if self.zoom.value() != size:
            self.zoom.setValue(size)  # re-enters via valueChanged
            return
        if size == self.delegate.size:
            return
        self.delegate.set_size(size)
        self._apply_grid_size()
        self.zoom_changed.emit(size)

    def _apply_grid_size(self) -> None:
        hint = self.delegate.sizeHint(_option_for(self.view), QModelIndex())
        self.view.base_cell = QSize(hint.width() + 4, hint.height() + 4)
        self.view.fit_cells()
        self.view.doItemsLayout()

    def _update_count(self, *args: Any) -> None:
        n = self.model.rowCount()
        self.count_label.setText(f"{n:,} photo{'s' if n != 1 else ''}")

    # ---- selection
    def current_row(self) -> PhotoRow | None:
        index = self.view.currentIndex()
        return index.data(Roles.Row) if index.isValid() else None

    def selected_rows(self) -> list[PhotoRow]:
        indexes = sorted(self.view.selectionModel().selectedIndexes(), key=lambda i: i.row())
        return [i.data(Roles.Row) for i in indexes]

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        if index.isValid():
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.scrollTo(index)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(current.data(Roles.Row) if current.isValid() else None)

    def _on_selection(self, *_args: Any) -> None:
        n = len(self.view.selectionModel().selectedIndexes())
        self.export_button.setEnabled(n > 0)
        self.selection_changed.emit(n)


def _option_for(view: QListView):
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    option.initFrom(view)
    return option
