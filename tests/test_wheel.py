"""The built wheel carries its package data (lens presets, icons, stylesheet, migrations), one copy of which
lives in the repository; installing it and running the installed copy is CI's packaging/check_wheel.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DATA = ("photolens/resources", "photolens/migrations")


@pytest.mark.slow
def test_the_wheel_carries_every_package_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy, so no build/ folder is left in the checkout
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                                                "__pycache__", "bench-data", ".*_cache"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("photolens-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p.relative_to(REPO).as_posix() for folder in PACKAGE_DATA for p in (REPO / folder).rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    assert {"photolens/resources/photolens.qss", "photolens/resources/icons/photolens.svg",
            "photolens/resources/lenses/colour.toml"} <= wanted
    assert sorted(wanted - names) == []
    assert not any(n.startswith(("tests/", "benchmarks/", "resources/")) for n in names)


def test_resources_exist_once_in_the_repository() -> None:
    assert not (REPO / "resources").exists()
    from photolens.lenses.presets import list_presets

    assert list_presets() == sorted(p.stem for p in (REPO / "photolens" / "resources" / "lenses").glob("*.toml"))


def test_the_gui_finds_its_icons_and_stylesheet_in_the_package(qapp) -> None:
    from photolens.gui.resources import app_icon, resource_path, stylesheet

    assert resource_path("icons") == REPO / "photolens" / "resources" / "icons"
    assert len(app_icon().availableSizes()) == 8
    assert "#searchText" in stylesheet()
