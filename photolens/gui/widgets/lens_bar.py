"""The lens picker beside the search bar: which lens, and how to look through it (photos, groups,
clusters with an adjustable k), plus a "Lenses" menu (new, edit, import, export). Hidden when lenses are
unavailable. Kept compact so the search field keeps its room."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSpinBox,
    QToolButton,
    QWidget,
)

from photolens.gui.lens_adapter import LensSummary

VIEW_MODES = ("photos", "groups", "clusters")


class LensBar(QWidget):
    lens_changed = Signal(object)  # lens name or None
    mode_changed = Signal(str)
    k_changed = Signal(int)  # 0 = automatic
    new_requested = Signal()
    edit_requested = Signal(str)
    import_requested = Signal()
    export_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setToolTip("Lens: a notion of similarity (colour, weather, …) that search, groups and\n"
                              "clusters follow")
        self.combo.setMinimumContentsLength(10)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.addItem("No lens", None)
        self.mode_buttons = QButtonGroup(self)
        self.mode_buttons.setExclusive(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(QLabel("Lens"))
        layout.addWidget(self.combo)
        for mode in VIEW_MODES:
            button = QToolButton()
            button.setText(mode.capitalize())
            button.setCheckable(True)
            button.setObjectName(f"mode_{mode}")
            button.setProperty("mode", mode)
            self.mode_buttons.addButton(button)
            layout.addWidget(button)
            if mode == "photos":
                button.setChecked(True)
        self.k_label = QLabel("k")
        self.k = QSpinBox()
        self.k.setRange(0, 50)
        self.k.setSpecialValueText("auto")
        self.k.setToolTip("Number of clusters (auto picks it by silhouette)")
        layout.addWidget(self.k_label)
        layout.addWidget(self.k)
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("New, edit, import or export lenses")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.menu_button)
        self.new_action = menu.addAction("New lens…", self.new_requested.emit)
        self.edit_action = menu.addAction("Edit lens…", lambda: self.lens and self.edit_requested.emit(self.lens))
        menu.addSeparator()
        self.import_action = menu.addAction("Import lens file…", self.import_requested.emit)
        self.export_action = menu.addAction("Export lens…", lambda: self.lens and self.export_requested.emit(self.lens))
        self.menu_button.setMenu(menu)
        layout.addWidget(self.menu_button)

        self.combo.currentIndexChanged.connect(self._on_lens)
        self.mode_buttons.buttonToggled.connect(self._on_mode)
        self.k.valueChanged.connect(self.k_changed)
        self._sync_enabled()

    @property
    def lens(self) -> str | None:
        return self.combo.currentData()

    @property
    def mode(self) -> str:
        checked = self.mode_buttons.checkedButton()
        return checked.property("mode") if checked else "photos"

    def set_lenses(self, lenses: list[LensSummary]) -> None:
        current = self.lens
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("No lens", None)
        separated = False
        for lens in lenses:
            if lens.builtin and not separated:
                self.combo.insertSeparator(self.combo.count())
                separated = True
            self.combo.addItem(lens.name, lens.name)
            tip = lens.description or ("a built-in preset" if lens.builtin else "")
            if tip:
                self.combo.setItemData(self.combo.count() - 1, tip, 3)  # ToolTipRole
        index = self.combo.findData(current) if current else 0
        self.combo.setCurrentIndex(max(0, index))
        self.combo.blockSignals(False)
        if self.lens != current:
            self._on_lens()

    def set_lens(self, name: str | None) -> None:
        index = self.combo.findData(name) if name else 0
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def set_mode(self, mode: str) -> None:
        for button in self.mode_buttons.buttons():
            if button.property("mode") == mode:
                button.setChecked(True)

    def _on_lens(self, *_args: object) -> None:
        if self.lens is None and self.mode != "photos":
            self.set_mode("photos")
        self._sync_enabled()
        self.lens_changed.emit(self.lens)

    def _on_mode(self, button: QToolButton, checked: bool) -> None:
        if checked:
            self._sync_enabled()
            self.mode_changed.emit(button.property("mode"))

    def _sync_enabled(self) -> None:
        has_lens = self.lens is not None
        for button in self.mode_buttons.buttons():
            if button.property("mode") != "photos":
                button.setEnabled(has_lens)
        clusters = self.mode == "clusters"
        self.k.setVisible(clusters)
        self.k_label.setVisible(clusters)
        self.edit_action.setEnabled(has_lens)
        self.export_action.setEnabled(has_lens)
