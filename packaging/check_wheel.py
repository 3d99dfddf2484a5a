"""Install photolens as a user does, then run it from that installed copy (CI's wheel check).

    .venv/bin/python packaging/check_wheel.py [--workdir DIR]

1. ``python -m build`` makes the source release and, from it, the wheel; the wheel must carry every
   package-data file of the checkout (lens presets, icons, stylesheet, migrations).
2. In the unpacked source release, the README's install lines run literally (``python3 -m venv .venv``,
   the pinned torch, ``pip install … '.[gui,heif]'``: pip builds the wheel and installs it, not editable);
   the installed files must be the wheel's.
3. From a folder outside any source tree, the installed ``photolens`` runs: ``--help``, ``lens list``
   (every preset), an index and a search of a few generated photos with a tiny random CLIP, the GUI's
   icons and stylesheet loaded offscreen from the installed package, and the README's ``photolens-gui``
   line started offscreen (alive after a few seconds, no traceback).

Needs the project's dev environment (``build``, ``pytest``'s helpers are not used) and the package
registries pip is configured for; torch comes from pip's cache or local wheels as for the dev install.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.readme_commands import readme_commands  # noqa: E402

TIMEOUT_S = 900
GUI_ALIVE_S = 5.0


def install_lines() -> list[str]:
    """The README's install lines, in order: what a user types, run here literally."""
    return [c.text for c in readme_commands() if c.kind == "install"]


def installed_gui_lines() -> list[str]:
    """The README's lines that start the installed app (``.venv/bin/photolens-gui``)."""
    return [c.text for c in readme_commands() if c.kind == "gui" and c.text.startswith(".venv/")]


def step(title: str) -> None:
    print(f"check_wheel: {title}", flush=True)


def run(command: list[str] | str, cwd: Path, env: dict[str, str] | None = None, shell: bool = False) -> str:
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, shell=shell, executable="/bin/bash" if shell else None,
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    shown = command if isinstance(command, str) else shlex.join(command)
    shown = shown.splitlines()[0][:160] + (" …" if len(shown) > 160 or "\n" in shown else "")
    if result.returncode != 0 or "Traceback" in result.stderr:
        raise SystemExit(f"check_wheel: FAILED ({result.returncode}): {shown}\n{result.stdout[-4000:]}\n"
                         f"{result.stderr[-4000:]}")
    print(f"  ok ({time.monotonic() - started:.0f} s): {shown}", flush=True)
    return result.stdout


def build(dist: Path) -> tuple[Path, Path]:
    step("building the source release and the wheel from it")
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], cwd=REPO)
    (sdist,) = dist.glob("photolens-*.tar.gz")
    (wheel,) = dist.glob("photolens-*.whl")
    return sdist, wheel


def check_wheel_contents(wheel: Path) -> set[str]:
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p.relative_to(REPO).as_posix() for folder in ("photolens/resources", "photolens/migrations")
              for p in (REPO / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    missing = sorted(wanted - names)
    if missing:
        raise SystemExit(f"check_wheel: FAILED: the wheel lacks {len(missing)} package-data files: {missing[:10]}")
    presets = [n for n in names if n.startswith("photolens/resources/lenses/")]
    print(f"  ok: {wheel.name} carries {len(wanted)} package-data files ({len(presets)} lens presets)")
    return names


def install_like_a_user(sdist: Path, work: Path) -> Path:
    step("installing from the unpacked source release with the README's lines")
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(work)
    (source,) = [p for p in work.iterdir() if p.is_dir() and p.name.startswith("photolens-")]
    lines = install_lines()
    if len(lines) < 3:
        raise SystemExit(f"check_wheel: FAILED: expected the README's venv and pip lines, found {lines}")
    for line in lines:
        run(line, cwd=source, shell=True)
    return source / ".venv"


def check_installed_files(venv: Path, wheel_names: set[str], outside: Path) -> None:
    code = ("import importlib.metadata as m, json, photolens; "
            "print(json.dumps({'file': photolens.__file__, 'files': [str(f) for f in m.files('photolens')]}))")
    info = json.loads(run([str(venv / "bin" / "python"), "-c", code], cwd=outside))
    if not Path(info["file"]).resolve().is_relative_to(venv.resolve()):
        raise SystemExit(f"check_wheel: FAILED: photolens imported from {info['file']}, not the installed copy")
    package_files = {f for f in wheel_names if not f.split("/")[0].endswith(".dist-info")}
    missing = sorted(package_files - set(info["files"]))
    if missing:
        raise SystemExit(f"check_wheel: FAILED: installed files differ from the wheel's: {missing[:10]}")
    print(f"  ok: {len(package_files)} files installed from the wheel; photolens imports from {info['file']}")


PHOTOS = """
import sys
from pathlib import Path
import numpy as np
from PIL import Image
root = Path(sys.argv[1])
root.mkdir(parents=True, exist_ok=True)
for i in range(6):
    pixels = np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / f"photo_{i}.jpg", "JPEG")
"""


def check_installed_app(venv: Path, outside: Path) -> None:
    step("running the installed copy from outside the source tree")
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_", "PHOTOLENS_"))}
    env.update(HOME=str(outside / "home"), PHOTOLENS_DATA_DIR=str(outside / "data"), HF_HUB_OFFLINE="1",
               QT_QPA_PLATFORM="offscreen", HF_HUB_CACHE=str(outside / "hf-cache"))
    (outside / "home").mkdir()
    photolens = str(bin_dir / "photolens")
    run([photolens, "--help"], cwd=outside, env=env)
    listing = json.loads(run([photolens, "lens", "list", "--json"], cwd=outside, env=env))
    expected = sorted(p.stem for p in (REPO / "photolens" / "resources" / "lenses").glob("*.toml"))
    if listing["presets"] != expected:
        raise SystemExit(f"check_wheel: FAILED: lens list shows {listing['presets']}, expected {expected}")
    print(f"  ok: all {len(expected)} presets listed")

    model = outside / "tiny-model"
    make_model = (f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r}); from pathlib import Path; "
                  f"from tiny_model import make_tiny_model; make_tiny_model(Path({str(model)!r}))")
    run([str(bin_dir / "python"), "-c", make_model], cwd=outside, env=env)
    run([str(bin_dir / "python"), "-c", PHOTOS, str(outside / "photos")], cwd=outside, env=env)
    spec = ["--model", f"local-dir:{model}"]
    summary = json.loads(run([photolens, *spec, "index", str(outside / "photos"), "--json"], cwd=outside, env=env))
    if (summary["new"], summary["embedded"], summary["failed"]) != (6, 6, 0):
        raise SystemExit(f"check_wheel: FAILED: index summary {summary}")
    hits = json.loads(run([photolens, *spec, "search", "a red car", "--min-score", "none", "--json"],
                          cwd=outside, env=env))
    if len(hits) != 6 or not all(Path(h["path"]).parent == outside / "photos" for h in hits):
        raise SystemExit(f"check_wheel: FAILED: search returned {hits}")
    print("  ok: indexed and searched 6 photos with the installed copy")

    icons = ("import sys\nfrom pathlib import Path\nfrom PySide6.QtWidgets import QApplication\n"
             "from photolens.gui.resources import app_icon, resource_path, stylesheet\n"
             "app = QApplication([])\nicon = app_icon()\n"
             "assert not icon.isNull() and len(icon.availableSizes()) >= 8, icon.availableSizes()\n"
             "assert stylesheet().strip()\n"
             "assert Path(resource_path('icons')).resolve().is_relative_to(Path(sys.prefix).resolve())\n"
             "print(len(icon.availableSizes()), 'icon sizes from', resource_path('icons'))\n")
    print("  ok: " + run([str(bin_dir / "python"), "-c", icons], cwd=outside, env=env).strip())

    for line in installed_gui_lines():
        words = shlex.split(line, comments=True)
        program = [str(venv / words[0].removeprefix(".venv/")), *words[1:]]
        process = subprocess.Popen(program, cwd=outside, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        time.sleep(GUI_ALIVE_S)
        alive = process.poll() is None
        process.terminate()
        _out, err = process.communicate(timeout=60)
        if not alive or "Traceback" in err:
            raise SystemExit(f"check_wheel: FAILED: `{line}` {'exited' if not alive else 'printed a traceback'}:\n{err}")
        print(f"  ok: `{line}` ran offscreen for {GUI_ALIVE_S:.0f} s with no traceback")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep everything in this folder (default: a temporary one)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="photolens-wheel-") as temporary:
        work = args.workdir or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        sdist, wheel = build(work / "dist")
        names = check_wheel_contents(wheel)
        venv = install_like_a_user(sdist, work / "release")
        outside = work / "elsewhere"
        outside.mkdir()
        check_installed_files(venv, names, outside)
        check_installed_app(venv, outside)
    print(f"check_wheel: passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
