"""The command lines of README.md's ```bash blocks, each with its kind and its documented exit code.

Shared by tests/test_readme.py (which runs the photolens commands against a generated library) and
packaging/check_wheel.py (which runs the install lines literally and the installed app), so a README
line that neither knows fails the suite.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

#: How each kind of line is exercised.
KINDS = {
    "install": "run literally by packaging/check_wheel.py (CI's wheel check) in an unpacked source release",
    "ci": "the CI entry point itself: tests/test_readme.py checks it runs the README's test command",
    "gui": "started offscreen, checked alive with no traceback, then stopped",
    "cli": "run against a library the test generates",
}


@dataclass(frozen=True)
class Command:
    line: int  # README line number where the command starts
    text: str  # the command as the shell gets it (continuation lines joined, comment removed)
    comment: str  # the trailing comment, if any
    kind: str
    expected_exit: int  # 0, or the code the README's comment documents ("exit 2")

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text)


def _split_comment(line: str) -> tuple[str, str]:
    """Code and trailing ``# comment`` (a ``#`` inside quotes is code)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def kind_of(text: str) -> str:
    words = shlex.split(text)
    if words[:3] == ["python3", "-m", "venv"] or words[0].endswith(".venv/bin/pip"):
        return "install"
    if words[:2] == ["bash", ".ci/run"]:
        return "ci"
    program = words[0].rsplit("/", 1)[-1]
    if program == "photolens-gui" or (program == "photolens" and words[1:2] == ["gui"]):
        return "gui"
    if program == "photolens":
        return "cli"
    raise ValueError(f"README command of an unknown kind (teach tests/readme_commands.py about it): {text}")


def readme_commands(text: str | None = None) -> list[Command]:
    """Every command of every ```bash block, in README order."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    commands: list[Command] = []
    in_block = False
    pending: list[str] = []
    start = 0
    comments: list[str] = []
    for number, raw in enumerate(lines, start=1):
        if raw.strip().startswith("```"):
            in_block = raw.strip() == "```bash" if not in_block else False
            continue
        if not in_block or (not raw.strip() and not pending):
            continue
        code, comment = _split_comment(raw)
        if not pending:
            start = number
        if comment:
            comments.append(comment)
        if code.endswith("\\"):
            pending.append(code[:-1].strip())
            continue
        pending.append(code.strip())
        full = " ".join(p for p in pending if p)
        note = " ".join(comments)
        documented = re.search(r"\bexit (\d+)\b", note)
        commands.append(Command(start, full, note, kind_of(full), int(documented.group(1)) if documented else 0))
        pending, comments = [], []
    return commands
