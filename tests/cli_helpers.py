"""Running ``photolens`` in-process, as its console script does, with real byte streams.

A subprocess per command costs seconds (torch and open_clip imports); in-process, the whole CLI runs
through ``photolens.cli.main`` exactly as the entry point calls it, with stdout and stderr replaced by
UTF-8 byte streams so the JSON path (written as bytes) is the one users get.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.images import exif_jpeg, make_photo_set, pattern

#: A file name that is not valid UTF-8 (Latin-1 é and a stray 0xff), possible on Linux.
ODD_NAME = b"caf\xe9 \xff.jpg"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def ok(self) -> Result:
        assert self.code == 0, f"exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"
        return self


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)


def run_cli(*argv: str, cwd: Path | None = None) -> Result:
    """``photolens ARGV`` in this process; argparse's SystemExit becomes the exit code."""
    from photolens.cli import main

    out, err = _stream(), _stream()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            _chdir(stack, cwd)
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return Result(int(code), out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8"))


def _chdir(stack: contextlib.ExitStack, cwd: Path) -> None:
    before = os.getcwd()
    os.chdir(cwd)
    stack.callback(os.chdir, before)


def can_write_odd_names(folder: Path) -> bool:
    try:
        probe = os.path.join(os.fsencode(folder), b"probe \xff")
        with open(probe, "wb"):
            pass
        os.unlink(probe)
        return sys.platform != "darwin"
    except OSError:
        return False


def make_library_photos(root: Path, count: int = 12) -> dict[str, Path]:
    """Photos for CLI tests: a plain set, two with EXIF dates (2019 and 2023), one broken file, and, where
    the file system allows, a good photo and a broken one whose names are not valid UTF-8."""
    paths = make_photo_set(root, count=count)
    named = {"first": paths[0], "second": paths[1]}
    named["old"] = exif_jpeg(root / "dated" / "old.jpg", pattern(300), taken="2019:06:01 12:00:00")
    named["new"] = exif_jpeg(root / "dated" / "new.jpg", pattern(301), taken="2023:06:01 12:00:00")
    named["broken"] = root / "broken.jpg"
    named["broken"].write_bytes(b"not a photo")
    if can_write_odd_names(root):
        odd = os.path.join(os.fsencode(root), ODD_NAME)
        with open(odd, "wb") as handle:
            handle.write(paths[2].read_bytes())
        named["odd"] = Path(os.fsdecode(odd))
        odd_broken = os.path.join(os.fsencode(root), b"broken \xff.jpg")
        with open(odd_broken, "wb") as handle:
            handle.write(b"")
        named["odd_broken"] = Path(os.fsdecode(odd_broken))
    return named
