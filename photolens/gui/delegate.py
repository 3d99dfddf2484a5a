"""Painting one grid cell: the thumbnail when it is in memory, a placeholder until then, a caption.

Search results below the relevance cutoff are dimmed; the first of them carries the line (a bar on its
left edge and "weaker matches"), so the grid shows where good matches end without hiding anything.

Speed: a cell is painted from one model call (``Roles.Paint``), and thumbnails are scaled to the cell once
and kept in a small LRU (bounded by bytes): drawing a pre-scaled pixmap is a copy, where smooth-scaling
a 256 px thumbnail on every paint cost about 0.5 ms per cell, most of a 60 fps frame budget."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from photolens.gui.models import Roles

PADDING = 6
CAPTION_LINES = 1
WEAK_OPACITY = 0.45
SCALED_CACHE_BYTES = 48 * 1024 * 1024


class ThumbnailDelegate(QStyledItemDelegate):
    """Square cells of ``size`` px; the photo fits inside, keeping its aspect ratio."""

    def __init__(self, parent: QWidget | None = None, size: int = 160, captions: bool = True):
        super().__init__(parent)
        self._size = size
        self._scaled: OrderedDict[tuple[int, int], QPixmap] = OrderedDict()
        self._scaled_bytes = 0
        self.captions = captions
        self.placeholder = QColor(128, 128, 128, 40)
        self.broken = QColor(200, 60, 60, 60)
        self.line = QColor(230, 140, 30)

    @property
    def size(self) -> int:
        return self._size

    def set_size(self, size: int) -> None:
        self._size = size
        self._scaled.clear()
        self._scaled_bytes = 0

    def scaled(self, pixmap: QPixmap, side: int) -> QPixmap:
        """``pixmap`` fitted into ``side`` × ``side`` (smooth), from the LRU when it was scaled before."""
        if max(pixmap.width(), pixmap.height()) == side:
            return pixmap
        key = (pixmap.cacheKey(), side)
        found = self._scaled.get(key)
        if found is not None:
            self._scaled.move_to_end(key)
            return found
        found = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self._scaled[key] = found
        self._scaled_bytes += found.width() * found.height() * 4
        while self._scaled_bytes > SCALED_CACHE_BYTES and len(self._scaled) > 1:
            _, old = self._scaled.popitem(last=False)
            self._scaled_bytes -= old.width() * old.height() * 4
        return found

    def _caption_height(self, option: QStyleOptionViewItem) -> int:
        return option.fontMetrics.height() * CAPTION_LINES + 4 if self.captions else 0

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(self._size + 2 * PADDING, self._size + 2 * PADDING + self._caption_height(option))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:  # the active colour even when the window is not focused: a selection stays visible
            highlight = QColor(option.palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight))
            highlight.setAlpha(110)
            path = QPainterPath()
            path.addRoundedRect(QRectF(rect.adjusted(1, 1, -1, -1)), 6, 6)
            painter.fillPath(path, highlight)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(option.palette.highlight().color(), 1.5))
            painter.drawRoundedRect(QRectF(rect.adjusted(1, 1, -2, -2)), 6, 6)

        painted = index.data(Roles.Paint)
        pixmap, failed, weak, first_weak, name = painted if painted is not None else (None, None, False, False, "")
        if weak:
            painter.setOpacity(WEAK_OPACITY)
        side = min(self._size, rect.width() - 2 * PADDING)
        box = QRect(rect.x() + (rect.width() - side) // 2, rect.y() + PADDING, side, side)
        if pixmap is not None and not pixmap.isNull():
            fitted = self.scaled(pixmap, side)
            target = QRect(0, 0, fitted.width(), fitted.height())
            target.moveCenter(box.center())
            painter.drawPixmap(target.topLeft(), fitted)
        else:
            inner = box.adjusted(side // 10, side // 10, -side // 10, -side // 10)
            painter.fillRect(inner, self.broken if failed else self.placeholder)  # a plain fill: cheap while scrolling
            if failed:
                painter.setPen(option.palette.text().color())
                painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, "⚠")

        if weak:
            painter.setOpacity(1.0)
            if first_weak:
                painter.fillRect(QRect(rect.x(), rect.y() + 2, 3, rect.height() - 4), self.line)
                small = painter.font()
                small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
                painter.setFont(small)
                painter.setPen(self.line)
                painter.drawText(rect.adjusted(6, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 "weaker matches")
                painter.setFont(option.font)

        if self.captions:
            painter.setOpacity(WEAK_OPACITY if weak else 1.0)
            text_rect = QRect(rect.x() + PADDING, box.bottom() + 3, rect.width() - 2 * PADDING,
                              self._caption_height(option))
            elided = option.fontMetrics.elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width())
            painter.setPen(option.palette.text().color())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, elided)
        painter.restore()
