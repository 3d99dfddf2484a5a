"""Built-in lens presets: one TOML file per lens, shipped as package data in ``photolens/resources/lenses``.

They are read through :mod:`importlib.resources`, so the same code finds them in a source checkout, an
installed wheel and a PyInstaller bundle (one copy in the repository, nothing copied at build time).
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensDefinitionError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def presets_folder() -> Traversable:
    """The package-data folder holding the preset TOML files (it may be absent in a stripped build)."""
    return resources.files("photolens").joinpath("resources", "lenses")


def list_presets() -> list[str]:
    """Preset names (file stems), sorted."""
    folder = presets_folder()
    if not folder.is_dir():
        return []
    return sorted(entry.name[: -len(".toml")] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def load_preset(name: str) -> LensDefinition:
    """Load one preset by name; raises :class:`LensDefinitionError` naming the available presets."""
    available = list_presets()
    if name not in available:
        shown = ", ".join(available) if available else "none installed"
        raise LensDefinitionError(f"No lens preset called {name!r}. Available: {shown}.")
    entry = presets_folder().joinpath(f"{name}.toml")
    return LensDefinition.from_toml(entry.read_text(encoding="utf-8"), f"preset {name!r}")
