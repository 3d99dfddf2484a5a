"""The app's own settings: typed, versioned, stored with QSettings in an INI file in the data folder.

Per-user preferences live here (model choice, cache sizes, zoom, sort, window layout). Settings that belong
to a library (excludes, symlinks, saved searches) live in its database (:func:`photolens.browse.get_setting`)
so they follow the library. Tests are isolated automatically: ``PHOTOLENS_DATA_DIR`` moves the INI file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path

from photolens.config import data_dir

SCHEMA_VERSION = 2  # 2: sort "date" became "newest" / "oldest" (newest first by default)


@dataclass
class GuiSettings:
    model: str = ""  # empty: --model / PHOTOLENS_MODEL / the default
    thumbnail_cache_mb: int = 1024  # disk
    memory_cache_mb: int = 192  # RAM, decoded thumbnails
    zoom: int = 160  # thumbnail size in the grid, px
    sort: str = "newest"
    result_limit: int = 200
    resume_index: bool = False  # an indexing run was interrupted: resume it at the next start
    cluster_k: int = 0  # 0 = automatic

    def clamp(self) -> GuiSettings:
        self.thumbnail_cache_mb = max(16, min(self.thumbnail_cache_mb, 1_000_000))
        self.memory_cache_mb = max(16, min(self.memory_cache_mb, 16_384))
        self.zoom = max(64, min(self.zoom, 384))
        self.result_limit = max(10, min(self.result_limit, 10_000))
        self.cluster_k = max(0, min(self.cluster_k, 50))
        if self.sort not in ("relevance", "newest", "oldest", "name"):
            self.sort = "newest"
        return self


def settings_path() -> Path:
    return data_dir() / "gui.ini"


def _qsettings(path: Path | None):
    from PySide6.QtCore import QSettings

    return QSettings(str(path or settings_path()), QSettings.Format.IniFormat)


def _coerce(value: object, default: object) -> object:
    """INI values come back as strings; turn them into the default's type (bad values give the default)."""
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(default, int):
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default
    return default if value is None else str(value)


def _migrate(values: dict[str, object], version: int) -> dict[str, object]:
    """Upgrade stored values from ``version`` to SCHEMA_VERSION, one step at a time."""
    if version < 2 and values.get("sort") == "date":
        values = {**values, "sort": "newest"}  # version 1 sorted dates oldest first; newest first is the default now
    return values


def load_settings(path: Path | None = None) -> GuiSettings:
    store = _qsettings(path)
    version = _coerce(store.value("schema_version", SCHEMA_VERSION), SCHEMA_VERSION)
    defaults = GuiSettings()
    if version > SCHEMA_VERSION:  # written by a newer photolens: use defaults, do not clobber its file
        return defaults
    raw = {f.name: store.value(f"settings/{f.name}") for f in fields(GuiSettings)}
    raw = _migrate({k: v for k, v in raw.items() if v is not None}, version)
    values = {k: _coerce(v, getattr(defaults, k)) for k, v in raw.items()}
    return dataclasses.replace(defaults, **values).clamp()


def save_settings(settings: GuiSettings, path: Path | None = None) -> None:
    store = _qsettings(path)
    version = _coerce(store.value("schema_version", SCHEMA_VERSION), SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        return
    store.setValue("schema_version", SCHEMA_VERSION)
    for f in fields(GuiSettings):
        store.setValue(f"settings/{f.name}", getattr(settings, f.name))
    store.sync()


def save_window_state(geometry: bytes, state: bytes, splitter: bytes, path: Path | None = None) -> None:
    store = _qsettings(path)
    store.setValue("window/geometry", geometry)
    store.setValue("window/state", state)
    store.setValue("window/splitter", splitter)
    store.sync()


def load_window_state(path: Path | None = None) -> tuple[object, object, object]:
    store = _qsettings(path)
    return store.value("window/geometry"), store.value("window/state"), store.value("window/splitter")
