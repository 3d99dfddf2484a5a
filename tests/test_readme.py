"""README.md is executed: every command line of its ```bash blocks runs here, in README order, against a
library this test generates (``~`` is a temporary home whose ``~/Pictures`` holds generated photos,
including ``cat.jpg``, ``beach.jpg`` and ``2023/``; commands run from ``~/Pictures``).

Each command must exit 0, or the code its comment documents ("exit 2"), with no traceback. The commands
are read from README.md itself: an example that stops working, or a new one, fails here. ``photolens``
lines run in-process through the console script's entry point (``photolens.cli.main``), which saves a
torch import per command; the GUI lines and ``models download`` run as real subprocesses. Install lines
are run by CI's wheel check (packaging/check_wheel.py), which this test checks explicitly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from tests.images import exif_jpeg, make_photo_set, pattern
from tests.readme_commands import KINDS, readme_commands

REPO = Path(__file__).resolve().parent.parent
GUI_ALIVE_S = 4.0
TIMEOUT_S = 180


def make_home(home: Path) -> Path:
    pictures = home / "Pictures"
    make_photo_set(pictures, count=10)
    pattern(700).save(pictures / "cat.jpg", "JPEG")
    pattern(701).save(pictures / "beach.jpg", "JPEG")
    exif_jpeg(pictures / "2023" / "summer.jpg", pattern(702), taken="2023:07:14 18:30:00")
    exif_jpeg(pictures / "2023" / "autumn.jpg", pattern(703), taken="2023:10:02 09:00:00")
    return pictures


def expand_home(argv: list[str], home: Path) -> list[str]:
    """What the shell does to ``~`` and ``~/…`` words."""
    return [str(home) + word[1:] if word == "~" or word.startswith("~/") else word for word in argv]


def subprocess_env(home: Path, data: Path, tiny_spec: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), PHOTOLENS_DATA_DIR=str(data), PHOTOLENS_MODEL=tiny_spec, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""), HF_HUB_OFFLINE="1",
               HF_HUB_CACHE=str(home / "hf-cache"))
    return env


def gui_program(argv: list[str]) -> list[str]:
    if argv[0].endswith("photolens-gui"):
        return [sys.executable, "-m", "photolens.gui.app", *argv[1:]]
    return [sys.executable, "-m", "photolens", *argv[1:]]


def run_gui(argv: list[str], cwd: Path, env: dict[str, str]) -> str | None:
    """Start the app offscreen; None when it is alive after a few seconds with no traceback."""
    process = subprocess.Popen(gui_program(argv), cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(GUI_ALIVE_S)
    alive = process.poll() is None
    process.terminate()
    try:
        _out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
    if not alive:
        return f"exited with {process.returncode} within {GUI_ALIVE_S} s:\n{err}"
    if "Traceback" in err:
        return f"traceback:\n{err}"
    return None


def run_download(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """``models download`` as a user runs it without internet: the default model, no offline flag, a hub that
    cannot be reached (a closed local port, so the test never depends on this machine's network)."""
    env = {k: v for k, v in env.items() if k not in ("HF_HUB_OFFLINE", "PHOTOLENS_MODEL")}  # the default model
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    result = subprocess.run([sys.executable, "-m", "photolens", *argv[1:]], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=TIMEOUT_S)
    return result.returncode, result.stderr


def test_every_readme_line_has_a_known_kind() -> None:
    commands = readme_commands()
    assert {c.kind for c in commands} <= set(KINDS)
    assert sum(c.kind == "cli" for c in commands) >= 20


def test_install_lines_are_run_by_the_wheel_check_and_ci_runs_it() -> None:
    sys.path.insert(0, str(REPO / "packaging"))
    try:
        import check_wheel
    finally:
        sys.path.remove(str(REPO / "packaging"))
    install = [c.text for c in readme_commands() if c.kind == "install"]
    assert install == check_wheel.install_lines()  # run literally, in this order
    assert [c.text for c in readme_commands() if c.kind == "gui" and c.text.startswith(".venv/")] == \
        check_wheel.installed_gui_lines()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "packaging/check_wheel.py" in ci


def test_ci_runs_the_readme_test_command() -> None:
    assert [c.text for c in readme_commands() if c.kind == "ci"] == ["bash .ci/run"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = "QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q"
    assert f"`{command}`" in readme and command in ci


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path: Path, tiny_spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    pictures = make_home(home)
    data = tmp_path / "data"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PHOTOLENS_DATA_DIR", str(data))
    monkeypatch.setenv("PHOTOLENS_MODEL", tiny_spec)
    monkeypatch.setattr("photolens.retrieval.text_inversion.STEPS", 10)  # --precise: same path, fewer steps
    env = subprocess_env(home, data, tiny_spec)
    originals = {p: p.read_bytes() for p in pictures.rglob("*.jpg")}
    problems = []
    ran = 0
    for command in readme_commands():
        if command.kind not in ("cli", "gui"):
            continue
        argv = expand_home(command.argv, home)
        where = f"README.md:{command.line} `{command.text}`"
        if command.kind == "gui":
            problem = run_gui(argv, pictures, env)
            if problem:
                problems.append(f"{where}: {problem}")
            ran += 1
            continue
        if argv[1:3] == ["models", "download"]:
            code, err = run_download(argv, pictures, env)
            if not err.rstrip().endswith("checkpoint.pt.") or "Retrying" in err:
                problems.append(f"{where}: the message is not one complete paragraph:\n{err}")
        else:
            result = run_cli(*argv[1:], cwd=pictures)
            code, err = result.code, result.err
        ran += 1
        if code != command.expected_exit or "Traceback" in err:
            problems.append(f"{where}: exit {code} (documented {command.expected_exit})\n{err}")
    assert not problems, "\n\n".join(problems)
    assert ran == sum(c.kind in ("cli", "gui") for c in readme_commands())
    assert {p: p.read_bytes() for p in pictures.rglob("*.jpg")} == originals  # photos are read-only
    assert sorted(os.listdir(home / "Exports")) == ["by-colour", "by-time", "cats", "red-cars"]
