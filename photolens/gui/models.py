"""The photo grid's item model: a flat list of :class:`photolens.browse.PhotoRow` with custom roles.

Views stay virtual: ``data`` is only asked for the rows being painted, and the thumbnail role asks the
:class:`~photolens.gui.thumbnails.ThumbnailLoader` for exactly those. When thumbnails arrive, the model
emits one ``dataChanged`` per event-loop pass covering the rows that changed (not one per thumbnail).
Rows drag out as file URLs, so photos can be dropped into a file manager, another app or the search bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    QUrl,
)

from photolens.browse import PhotoRow, sort_rows

#: The orders the grid offers: (the store's sort mode, descending). Dates are newest first by default.
SORTS = {"relevance": ("relevance", False), "newest": ("date", True), "oldest": ("date", False),
         "name": ("name", False)}


def core_sort(mode: str) -> tuple[str, bool]:
    """The store's (mode, descending) for a grid order; unknown names (old settings) sort newest first."""
    return SORTS.get(mode, SORTS["newest"])


class Roles(IntEnum):
    PhotoId = Qt.ItemDataRole.UserRole + 1
    Path = Qt.ItemDataRole.UserRole + 2
    CacheKey = Qt.ItemDataRole.UserRole + 3
    Score = Qt.ItemDataRole.UserRole + 4
    Date = Qt.ItemDataRole.UserRole + 5
    Row = Qt.ItemDataRole.UserRole + 6  # the PhotoRow itself
    Thumbnail = Qt.ItemDataRole.UserRole + 7  # QPixmap or None; asking requests it
    ThumbnailFailed = Qt.ItemDataRole.UserRole + 8  # reason (str) or None
    Weak = Qt.ItemDataRole.UserRole + 9  # a search result below the relevance cutoff
    FirstWeak = Qt.ItemDataRole.UserRole + 10  # the first weak result in relevance order: the line is drawn here
    Paint = Qt.ItemDataRole.UserRole + 11  # (thumbnail or None, failure or None, weak, first weak, name): one call


_ROLE_NAMES = {r: r.name.encode() for r in Roles}


class PhotoListModel(QAbstractListModel):
    """A list of photos. ``thumbnails`` may be None (no images, e.g. in model tests)."""

    def __init__(self, thumbnails: Any = None, parent: QObject | None = None):
        super().__init__(parent)
        self._rows: list[PhotoRow] = []
        self._rows_of_key: dict[str, list[int]] | None = None
        self._thumbnails = thumbnails
        self._sort = "relevance"
        self._weak: frozenset[int] = frozenset()
        self._first_weak = -1
        self._changed_rows: set[int] = set()
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(15)
        self._flush.timeout.connect(self._flush_changes)
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_changed)
            thumbnails.failed.connect(self._thumbnail_changed)

    # ---- Qt API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802
        names = dict(super().roleNames())
        names.update({int(k): v for k, v in _ROLE_NAMES.items()})
        return names

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row = index.row()
        if row < 0 or row >= len(self._rows):
            return None
        item = self._rows[row]
        if role == Roles.Paint:  # everything the delegate paints, in one call (it runs for every visible cell)
            loader = self._thumbnails
            pixmap = failed = None
            if loader is not None:
                pixmap = loader.pixmap(item.cache_key)
                if pixmap is None:
                    failed = loader.failure(item.cache_key)
                    if failed is None:
                        loader.request(item.cache_key, item.path)
            weak = item.id in self._weak
            return pixmap, failed, weak, weak and row == self._first_weak, item.name
        if role == Roles.Thumbnail:
            if self._thumbnails is None:
                return None
            pixmap = self._thumbnails.pixmap(item.cache_key)
            if pixmap is None:
                self._thumbnails.request(item.cache_key, item.path)
            return pixmap
        if role == Qt.ItemDataRole.DisplayRole:
            return item.name
        if role == Roles.PhotoId:
            return item.id
        if role == Roles.Path:
            return item.path
        if role == Roles.CacheKey:
            return item.cache_key
        if role == Roles.Row:
            return item
        if role == Roles.Score:
            return item.score
        if role == Roles.Date:
            return item.date
        if role == Roles.Weak:
            return item.id in self._weak
        if role == Roles.FirstWeak:
            return row == self._first_weak
        if role == Roles.ThumbnailFailed:
            return None if self._thumbnails is None else self._thumbnails.failure(item.cache_key)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [item.path, item.date.strftime("%Y-%m-%d %H:%M")]
            if item.score is not None:
                weak = " (weak match)" if item.id in self._weak else ""
                lines.append(f"score {item.score:.2f}{weak}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.DecorationRole:
            return None if self._thumbnails is None else self._thumbnails.pixmap(item.cache_key)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled | \
            Qt.ItemFlag.ItemNeverHasChildren

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        mime = QMimeData()
        paths = [self._rows[i.row()].path for i in sorted(indexes, key=lambda i: i.row()) if i.isValid()]
        mime.setUrls([QUrl.fromLocalFile(p) for p in dict.fromkeys(paths)])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction | Qt.DropAction.LinkAction

    # ---- content
    @property
    def sort_mode(self) -> str:
        return self._sort

    def rows(self) -> list[PhotoRow]:
        return list(self._rows)

    def row_at(self, row: int) -> PhotoRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of_id(self, photo_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == photo_id), -1)

    def set_rows(self, rows: Iterable[PhotoRow], sort: str | None = None, weak: Iterable[int] = ()) -> None:
        """Replace everything (rows are sorted by the current or given grid order). ``weak``: ids of search
        results below the relevance cutoff (dimmed, after the line in relevance order)."""
        if sort is not None:
            self._sort = sort
        self.beginResetModel()
        self._weak = frozenset(weak)
        mode, descending = core_sort(self._sort)
        self._rows = sort_rows(list(rows), mode, descending)
        if mode == "relevance" and self._weak:  # matches first, then the weak ones, each best first
            self._rows = [r for r in self._rows if r.id not in self._weak] + [r for r in self._rows if r.id in self._weak]
        self._rows_of_key = _key_index(self._rows)
        self._changed_rows.clear()
        self._find_first_weak()
        self.endResetModel()

    def set_weak(self, weak: Iterable[int]) -> None:
        self._weak = frozenset(weak)
        self._find_first_weak()

    @property
    def weak_count(self) -> int:
        return sum(1 for r in self._rows if r.id in self._weak)

    @property
    def first_weak(self) -> int:
        """Row of the first weak result when the grid is in relevance order, else -1."""
        return self._first_weak

    def _find_first_weak(self) -> None:
        self._first_weak = -1
        if self._weak and self._sort == "relevance":
            self._first_weak = next((n for n, r in enumerate(self._rows) if r.id in self._weak), -1)

    def append_rows(self, rows: Sequence[PhotoRow]) -> None:
        """Add rows at the end as they are (already sorted by the producer)."""
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        if self._rows_of_key is not None:  # extend the key index chunk by chunk (no 100k-row rebuild in a frame)
            for n, r in enumerate(rows, start=first):
                self._rows_of_key.setdefault(r.cache_key, []).append(n)
        if self._first_weak < 0 and self._weak and self._sort == "relevance":
            self._first_weak = next((n for n, r in enumerate(rows, start=first) if r.id in self._weak), -1)
        self.endInsertRows()

    def clear(self) -> None:
        self.set_rows([])

    def sort_by(self, mode: str) -> None:
        self._sort = mode
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_ids = [self._rows[i.row()].id if i.isValid() else None for i in old]
        core, descending = core_sort(mode)
        self._rows = sort_rows(self._rows, core, descending)
        if core == "relevance" and self._weak:  # matches first, then the weak ones, each best first
            self._rows = [r for r in self._rows if r.id not in self._weak] + [r for r in self._rows if r.id in self._weak]
        self._rows_of_key = _key_index(self._rows)
        self._find_first_weak()
        position = {r.id: n for n, r in enumerate(self._rows)}
        self.changePersistentIndexList(old, [self.index(position[i], 0) if i in position else QModelIndex()
                                             for i in old_ids])
        self.layoutChanged.emit()

    # ---- thumbnails
    def _thumbnail_changed(self, key: str) -> None:
        if self._rows_of_key is None:
            self._rows_of_key = _key_index(self._rows)
        rows = self._rows_of_key.get(key)
        if rows:
            self._changed_rows.update(rows)
            if not self._flush.isActive():
                self._flush.start()

    def _flush_changes(self) -> None:
        if not self._changed_rows:
            return
        rows = sorted(r for r in self._changed_rows if r < len(self._rows))
        self._changed_rows.clear()
        if rows:
            roles = [int(Roles.Thumbnail), int(Qt.ItemDataRole.DecorationRole), int(Roles.ThumbnailFailed)]
            self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], 0), roles)


def _key_index(rows: Sequence[PhotoRow]) -> dict[str, list[int]]:
    """Cache key → rows showing it (a thumbnail that arrives repaints exactly those)."""
    index: dict[str, list[int]] = {}
    for n, r in enumerate(rows):
        index.setdefault(r.cache_key, []).append(n)
    return index
