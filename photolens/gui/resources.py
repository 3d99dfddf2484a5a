"""Finding the app's resource files (icons, stylesheet): package data in ``photolens/resources``.

:mod:`importlib.resources` finds them wherever the package is (a checkout, an installed wheel, a
PyInstaller bundle); Qt needs real file paths, which every one of those layouts provides.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path


def resource_dirs() -> list[Path]:
    """Where the resources may be, first hit wins: the package's own data, then a PyInstaller bundle's copy."""
    dirs = []
    packaged = resources.files("photolens").joinpath("resources")
    if isinstance(packaged, Path):
        dirs.append(packaged)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "photolens" / "resources")
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
