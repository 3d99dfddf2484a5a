"""Built-in lens presets: one TOML file per lens in ``resources/lenses/``.

Where the files are found, first hit wins:
1. ``resources/lenses`` next to the package root (a source checkout or an editable install);
2. ``photolens/data/lenses`` inside the installed package, for builds that ship the presets as package
   data (the packaging step copies them there; the repository keeps a single copy in ``resources/``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensDefinitionError

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../photolens


def presets_dir() -> Path | None:
    """The folder holding the preset TOML files, or None when neither location exists."""
    candidates = [_PACKAGE_ROOT.parent / "resources" / "lenses"]
    packaged = resources.files("photolens") / "data" / "lenses"
    if isinstance(packaged, Path):
        candidates.append(packaged)
    return next((path for path in candidates if path.is_dir()), None)


def list_presets() -> list[str]:
    """Preset names (file stems), sorted."""
    folder = presets_dir()
    return [] if folder is None else sorted(path.stem for path in folder.glob("*.toml"))


def load_preset(name: str) -> LensDefinition:
    """Load one preset by name; raises :class:`LensDefinitionError` naming the available presets."""
    folder = presets_dir()
    available = list_presets()
    if folder is None or name not in available:
        shown = ", ".join(available) if available else "none installed"
        raise LensDefinitionError(f"No lens preset called {name!r}. Available: {shown}.")
    return LensDefinition.load(folder / f"{name}.toml")
