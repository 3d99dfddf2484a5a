"""The built-in viewer: one photo over the whole window, fit or 100 % zoom, previous/next through the list
it was opened from, the details beside it, and the photo actions (more like this, open in the system app,
show in folder). Double-click or Enter in a grid opens it; Esc goes back.

It shows the grid's thumbnail at once and the full-size image when it has been decoded (off the GUI
thread, by whoever listens to ``image_wanted``, which calls :meth:`set_image`).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QKeySequence, QPainter, QPixmap, QResizeEvent, QShortcut, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photolens.browse import PhotoDetails, PhotoRow
from photolens.gui.widgets.details_pane import DetailsPane


class ImageView(QGraphicsView):
    """A pixmap that fits the view (the default) or shows at a chosen scale; Ctrl+wheel zooms."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("viewerImage")
        self.scene_ = QGraphicsScene(self)
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene_.addItem(self.item)
        self.setScene(self.scene_)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fit = True
        self.source_width = 0  # width of the full image, so 100 % means one image pixel per screen pixel

    def set_pixmap(self, pixmap: QPixmap, source_width: int = 0) -> None:
        self.item.setPixmap(pixmap)
        self.source_width = source_width or pixmap.width()
        self.scene_.setSceneRect(QRectF(pixmap.rect()))
        self.apply_zoom()

    @property
    def scale_factor(self) -> float:
        """Screen pixels per image pixel."""
        shown = self.item.pixmap().width()
        if not shown or not self.source_width:
            return 1.0
        return self.transform().m11() * shown / self.source_width

    def apply_zoom(self) -> None:
        if self.fit:
            self.fit_to_window()
        self.zoom_changed.emit(self.scale_factor)

    def fit_to_window(self) -> None:
        self.fit = True
        if not self.item.pixmap().isNull():
            self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor)

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel (of the full-size image once it is loaded)."""
        self.fit = False
        shown = self.item.pixmap().width() or 1
        self.resetTransform()
        factor = (self.source_width or shown) / shown
        self.scale(factor, factor)
        self.zoom_changed.emit(self.scale_factor)

    def zoom_by(self, factor: float) -> None:
        self.fit = False
        self.scale(factor, factor)
        self.zoom_changed.emit(self.scale_factor)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.fit:
            self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)
            event.accept()
            return
        super().wheelEvent(event)


class PhotoViewer(QWidget):
    """The viewer page. ``rows``: the list it steps through; ``position``: the photo shown."""

    closed = Signal()
    current_changed = Signal(object)  # PhotoRow
    image_wanted = Signal(object)  # PhotoRow: decode the full-size image, then call set_image
    more_like_this = Signal(str)
    context_menu_requested = Signal(object)  # global QPoint

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("viewer")
        self.rows: list[PhotoRow] = []
        self.position = -1
        self.image = ImageView()
        self.image.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.image.customContextMenuRequested.connect(
            lambda pos: self.context_menu_requested.emit(self.image.viewport().mapToGlobal(pos)))
        self.details = DetailsPane(with_preview=False)
        self.details.view_button.hide()
        self.details.more_like_this.connect(self.more_like_this)
        self.title = QLabel("")
        self.title.setObjectName("viewerTitle")
        self.zoom_label = QLabel("")
        self.buttons: dict[str, QToolButton] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        for key, text, tip, slot in (
            ("back", "← Back", "Back to the photos (Esc)", self.close_viewer),
            ("previous", "◀", "Previous photo (Left)", self.previous),
            ("next", "▶", "Next photo (Right)", self.next),
            ("fit", "Fit", "Fit the photo in the window (F)", self.image.fit_to_window),
            ("actual", "100 %", "Actual size: one photo pixel per screen pixel (1)", self.image.actual_size),
            ("details", "Details", "Show or hide the details (I)", self.toggle_details),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=slot: s())
            self.buttons[key] = button
            bar.addWidget(button)
            if key == "next":
                bar.addWidget(self.title, 1)
        bar.addWidget(self.zoom_label)
        self.image.zoom_changed.connect(lambda f: self.zoom_label.setText(f"{f * 100:.0f} %"))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.image)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([1000, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        for keys, slot in ((("Escape", "Backspace"), self.close_viewer), (("Left", "PgUp"), self.previous),
                           (("Right", "PgDown", "Space"), self.next), (("F",), self.image.fit_to_window),
                           (("1",), self.image.actual_size), (("I",), self.toggle_details),
                           (("+", "="), lambda: self.image.zoom_by(1.25)), (("-",), lambda: self.image.zoom_by(0.8))):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)

    # ---- content
    @property
    def row(self) -> PhotoRow | None:
        return self.rows[self.position] if 0 <= self.position < len(self.rows) else None

    def open(self, rows: list[PhotoRow], position: int, thumbnail: QPixmap | None = None) -> None:
        self.rows = list(rows)
        self.image.fit = True
        self.show_position(position, thumbnail)
        self.setFocus()

    def show_position(self, position: int, thumbnail: QPixmap | None = None) -> None:
        if not self.rows:
            return
        self.position = max(0, min(position, len(self.rows) - 1))
        row = self.rows[self.position]
        self.title.setText(f"{row.name}   ({self.position + 1:,} of {len(self.rows):,})")
        self.buttons["previous"].setEnabled(self.position > 0)
        self.buttons["next"].setEnabled(self.position < len(self.rows) - 1)
        self.image.set_pixmap(thumbnail if thumbnail is not None else QPixmap())
        self.details.show_details(None)
        self.current_changed.emit(row)
        self.image_wanted.emit(row)

    def set_image(self, row: PhotoRow, pixmap: QPixmap) -> None:
        """The full-size image of ``row`` (ignored when another photo is shown by now)."""
        if self.row is not None and row.id == self.row.id and not pixmap.isNull():
            self.image.set_pixmap(pixmap, pixmap.width())

    def set_details(self, details: PhotoDetails | None, model_key: str | None, model_ready: bool) -> None:
        if details is not None and self.row is not None and details.path == self.row.path:
            self.details.show_details(details, model_key, model_ready)

    # ---- navigation
    def next(self) -> None:
        if self.position < len(self.rows) - 1:
            self.show_position(self.position + 1)

    def previous(self) -> None:
        if self.position > 0:
            self.show_position(self.position - 1)

    def toggle_details(self) -> None:
        self.details.setVisible(not self.details.isVisible())

    def close_viewer(self) -> None:
        self.closed.emit()
