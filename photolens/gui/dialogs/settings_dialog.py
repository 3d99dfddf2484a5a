"""Settings: model, search mode, library folders and excludes, thumbnail cache size."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from photolens.gui.dialogs import ask
from photolens.gui.settings import GuiSettings


@dataclass
class LibraryOptions:
    """Library-wide indexing options, stored in the library database."""

    excludes: list[str] = field(default_factory=list)
    follow_symlinks: bool = False
    include_hidden: bool = False
    index_mode: str = "auto"  # the vector index layer: auto, exact or hnsw


@dataclass
class SettingsResult:
    settings: GuiSettings
    options: LibraryOptions
    added_folders: list[str]
    removed_folders: list[str]


class SettingsDialog(QDialog):
    clear_cache_requested = Signal()

    def __init__(self, settings: GuiSettings, options: LibraryOptions, folders: list[str],
                 effective_model: str, can_remove_folders: bool, cache_usage: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(640, 460)
        self._settings = settings
        self._folders = list(folders)
        tabs = QTabWidget()

        # general
        general = QWidget()
        form = QFormLayout(general)
        self.model = QLineEdit(settings.model)
        self.model.setPlaceholderText(effective_model)
        self.model.setToolTip("ARCH:TAG, ARCH:/path/checkpoint.pt, local-dir:/folder or hf-hub:ORG/REPO.\n"
                              "Empty: --model, PHOTOLENS_MODEL or the default.")
        folder_button = QPushButton("Folder…")
        folder_button.clicked.connect(self._choose_model_folder)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(folder_button)
        form.addRow("Model", model_row)
        form.addRow("", QLabel(f"In use: {effective_model}"))
        self.index_mode = QComboBox()
        self.index_mode.addItem("Automatic (exact; a vector index for large libraries)", "auto")
        self.index_mode.addItem("Exact search (every photo compared)", "exact")
        self.index_mode.addItem("Vector index (hnsw, fastest on huge libraries)", "hnsw")
        self.index_mode.setCurrentIndex(max(0, self.index_mode.findData(options.index_mode)))
        self.index_mode.setToolTip("Stored in the library; the vector index is rebuilt from the database when needed.")
        form.addRow("Search", self.index_mode)
        self.result_limit = QSpinBox()
        self.result_limit.setRange(10, 10_000)
        self.result_limit.setValue(settings.result_limit)
        form.addRow("Results per search", self.result_limit)
        tabs.addTab(general, "General")

        # library
        library = QWidget()
        column = QVBoxLayout(library)
        column.addWidget(QLabel("Library folders"))
        self.folder_list = QListWidget()
        self.folder_list.addItems(folders)
        column.addWidget(self.folder_list)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self._add_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setEnabled(can_remove_folders)
        if not can_remove_folders:
            self.remove_button.setToolTip("Removing folders from a library is not supported by this version yet.")
        self.remove_button.clicked.connect(self._remove_folder)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        column.addWidget(QLabel("Exclude (one pattern per line, matched on names and paths, e.g. */Screenshots)"))
        self.excludes = QPlainTextEdit("\n".join(options.excludes))
        self.excludes.setMaximumHeight(90)
        column.addWidget(self.excludes)
        self.follow = QCheckBox("Follow symbolic links to folders (loops are detected)")
        self.follow.setChecked(options.follow_symlinks)
        self.hidden = QCheckBox("Include hidden files and folders")
        self.hidden.setChecked(options.include_hidden)
        column.addWidget(self.follow)
        column.addWidget(self.hidden)
        tabs.addTab(library, "Library")

        # cache
        cache = QWidget()
        form = QFormLayout(cache)
        self.disk_cache = QSpinBox()
        self.disk_cache.setRange(16, 1_000_000)
        self.disk_cache.setSuffix(" MB")
        self.disk_cache.setValue(settings.thumbnail_cache_mb)
        form.addRow("Thumbnail cache on disk", self.disk_cache)
        self.memory_cache = QSpinBox()
        self.memory_cache.setRange(16, 16_384)
        self.memory_cache.setSuffix(" MB")
        self.memory_cache.setValue(settings.memory_cache_mb)
        form.addRow("Thumbnails in memory", self.memory_cache)
        if cache_usage:
            form.addRow("", QLabel(cache_usage))
        clear = QPushButton("Clear thumbnail cache")
        clear.clicked.connect(self.clear_cache_requested)
        form.addRow("", clear)
        tabs.addTab(cache, "Thumbnails")

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(box)

    def _choose_model_folder(self) -> None:
        folder = ask.pick_folder(self, "Choose an open_clip model folder")
        if folder:
            self.model.setText(f"local-dir:{folder}")

    def _add_folder(self) -> None:
        folder = ask.pick_folder(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        if not self.folder_list.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folder_list.addItem(folder)

    def _remove_folder(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))

    def values(self) -> SettingsResult:
        current = [self.folder_list.item(i).text() for i in range(self.folder_list.count())]
        settings = dataclasses.replace(
            self._settings, model=self.model.text().strip(), result_limit=self.result_limit.value(),
            thumbnail_cache_mb=self.disk_cache.value(), memory_cache_mb=self.memory_cache.value()).clamp()
        excludes = [line.strip() for line in self.excludes.toPlainText().splitlines() if line.strip()]
        options = LibraryOptions(excludes, self.follow.isChecked(), self.hidden.isChecked(),
                                 self.index_mode.currentData())
        return SettingsResult(settings, options, [f for f in current if f not in self._folders],
                              [f for f in self._folders if f not in current])
