"""Finding the app's resource files (icon, stylesheet) in a checkout, an installed package or a bundle."""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # .../photolens


def resource_dirs() -> list[Path]:
    """Where ``resources/`` may be, first hit wins: a PyInstaller bundle, the source checkout, package data."""
    dirs = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "resources")
    dirs.append(_PACKAGE.parent / "resources")
    dirs.append(_PACKAGE / "data")
    return dirs


def resource_path(*parts: str) -> Path | None:
    for folder in resource_dirs():
        candidate = folder.joinpath(*parts)
        if candidate.exists():
            return candidate
    return None


def app_icon():
    """The window icon with every PNG size we ship plus the SVG (an empty icon if none is found)."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    folder = resource_path("icons")
    if folder is None:
        return icon
    for png in sorted(folder.glob("photolens-*.png")):
        icon.addFile(str(png))
    svg = folder / "photolens.svg"
    if svg.exists():
        icon.addFile(str(svg))
    return icon


def stylesheet() -> str:
    path = resource_path("photolens.qss")
    try:
        return path.read_text(encoding="utf-8") if path else ""
    except OSError:
        return ""
