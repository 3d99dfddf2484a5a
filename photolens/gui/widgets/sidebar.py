"""The sidebar: library folders (a tree with photo counts), saved lenses and saved searches.

Long names are shortened in the middle ("Holidays…2023"), keep their full text as a tooltip, and the
window widens the sidebar to fit the names it has (up to a limit) instead of cutting them."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from photolens.browse import FolderNode
from photolens.gui.lens_adapter import LensSummary

KIND_ROLE = Qt.ItemDataRole.UserRole + 1
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2


class Sidebar(QTreeWidget):
    folder_selected = Signal(object)  # folder path, or None for the whole library
    lens_selected = Signal(str)
    search_selected = Signal(dict)  # a saved search (SearchRequest.as_dict() + "name")
    search_removed = Signal(dict)
    lens_removed = Signal(str)
    add_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(2)
        self.setObjectName("sidebar")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setIndentation(14)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.library = self._section("Library", "library")
        self.lenses = self._section("Lenses", "lenses")
        self.searches = self._section("Saved searches", "searches")
        self.all_photos = QTreeWidgetItem(self.library, ["All photos", ""])
        self.all_photos.setData(0, KIND_ROLE, "all")
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, self.header().ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, self.header().ResizeMode.ResizeToContents)
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)
        self.expandAll()

    def _section(self, title: str, kind: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self, [title.upper(), ""])
        item.setData(0, KIND_ROLE, f"section:{kind}")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = item.font(0)
        font.setBold(True)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        item.setFont(0, font)
        item.setExpanded(True)
        return item

    # ---- content
    def set_folders(self, roots: list[FolderNode], total: int | None = None) -> None:
        selected = self.selected_folder()
        for i in reversed(range(self.library.childCount())):
            child = self.library.child(i)
            if child is not self.all_photos:
                self.library.removeChild(child)
        count = total if total is not None else sum(r.count for r in roots)
        self.all_photos.setText(1, f"{count:,}")

        def add(parent: QTreeWidgetItem, node: FolderNode) -> QTreeWidgetItem:
            item = QTreeWidgetItem(parent, [node.name, f"{node.count:,}"])
            item.setData(0, KIND_ROLE, "folder")
            item.setData(0, VALUE_ROLE, node.path)
            item.setToolTip(0, f"{node.path}\n{node.count:,} photos ({node.direct:,} directly here)")
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            for child in node.children:
                add(item, child)
            return item

        names = [os.path.basename(r.path.rstrip(os.sep)) or r.path for r in roots]
        for root, name in zip(roots, names):
            item = add(self.library, root)
            item.setText(0, name if names.count(name) == 1 else root.path)  # full path only when ambiguous
            item.setExpanded(True)
        self.library.setExpanded(True)
        if selected:
            self.select_folder(selected, emit=False)

    def set_lenses(self, lenses: list[LensSummary], available: bool) -> None:
        """Saved lenses (presets are offered in the lens picker until they are first used)."""
        self.lenses.takeChildren()
        self.lenses.setHidden(not available)
        for lens in (lens for lens in lenses if not lens.builtin):
            item = QTreeWidgetItem(self.lenses, [lens.name, ""])
            item.setData(0, KIND_ROLE, "lens")
            item.setData(0, VALUE_ROLE, lens.name)
            item.setToolTip(0, f"{lens.name}\n{lens.description or ', '.join(lens.values)}")

    def set_saved_searches(self, searches: list[dict]) -> None:
        self.searches.takeChildren()
        for search in searches:
            item = QTreeWidgetItem(self.searches, [search.get("name") or "search", ""])
            item.setToolTip(0, search.get("name") or "search")
            item.setData(0, KIND_ROLE, "search")
            item.setData(0, VALUE_ROLE, search)
        self.searches.setHidden(not searches)

    def preferred_width(self, limit: int = 360) -> int:
        """Width that shows every expanded name and its count unshortened, within ``limit`` px."""
        metrics = self.fontMetrics()
        widest = 0
        stack = [(self.topLevelItem(i), 0) for i in range(self.topLevelItemCount())]
        while stack:
            item, depth = stack.pop()
            text = metrics.horizontalAdvance(item.text(0)) + metrics.horizontalAdvance(item.text(1) + "0000")
            widest = max(widest, text + (depth + 1) * self.indentation() + 24)
            if item.isExpanded():
                stack.extend((item.child(i), depth + 1) for i in range(item.childCount()))
        return max(220, min(limit, widest))

    def folder_items(self) -> list[QTreeWidgetItem]:
        found = []
        stack = [self.library]
        while stack:
            item = stack.pop()
            for i in range(item.childCount()):
                child = item.child(i)
                if child.data(0, KIND_ROLE) == "folder":
                    found.append(child)
                stack.append(child)
        return found

    def selected_folder(self) -> str | None:
        item = self.currentItem()
        if item is not None and item.data(0, KIND_ROLE) == "folder":
            return item.data(0, VALUE_ROLE)
        return None

    def select_folder(self, path: str | None, emit: bool = True) -> None:
        target = self.all_photos if path is None else next(
            (i for i in self.folder_items() if i.data(0, VALUE_ROLE) == path), None)
        if target is None:
            return
        self.blockSignals(not emit)
        self.setCurrentItem(target)
        self.blockSignals(False)
        if emit:
            self._clicked(target)

    # ---- interaction
    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        kind = item.data(0, KIND_ROLE)
        if kind == "all":
            self.folder_selected.emit(None)
        elif kind == "folder":
            self.folder_selected.emit(item.data(0, VALUE_ROLE))
        elif kind == "lens":
            self.lens_selected.emit(item.data(0, VALUE_ROLE))
        elif kind == "search":
            self.search_selected.emit(item.data(0, VALUE_ROLE))

    def _menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        menu = QMenu(self)
        if item is not None and item.data(0, KIND_ROLE) == "search":
            search = item.data(0, VALUE_ROLE)
            menu.addAction("Remove saved search", lambda: self.search_removed.emit(search))
        elif item is not None and item.data(0, KIND_ROLE) == "lens":
            name = item.data(0, VALUE_ROLE)
            menu.addAction(f"Delete lens “{name}”", lambda: self.lens_removed.emit(name))
        else:
            menu.addAction("Add folder…", self.add_folder_requested.emit)
        menu.popup(self.viewport().mapToGlobal(pos))
