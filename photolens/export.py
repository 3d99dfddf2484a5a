"""Export photos into a folder as copies or symbolic links. Originals are only ever read.

Name clashes never overwrite anything: with ``clash="rename"`` a taken name becomes ``name (2).jpg``,
``name (3).jpg``…; with ``clash="skip"`` the photo is skipped and reported. Targets are created
exclusively (``O_EXCL`` / ``symlink``), so a file appearing in the folder meanwhile is not clobbered either.
A failed copy removes its partial target. Like the indexer, :func:`export_photos` is a generator of
progress events (the GUI runs it in a worker; ``cancel`` stops it between files).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from photolens.errors import PhotolensError

MODES = ("copy", "symlink")
CLASH_POLICIES = ("rename", "skip")
MAX_RENAMES = 10_000


class ExportError(PhotolensError):
    """The export as a whole cannot start (bad destination, bad options)."""


@dataclass
class ExportResult:
    done: list[tuple[str, str]] = field(default_factory=list)  # (source, target)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


@dataclass
class ExportProgress:
    done: int
    total: int
    result: ExportResult
    source: str | None = None


def candidate_names(name: str) -> Iterator[str]:
    """``photo.jpg``, ``photo (2).jpg``, ``photo (3).jpg``…"""
    yield name
    stem, ext = os.path.splitext(name)
    for n in range(2, MAX_RENAMES + 2):
        yield f"{stem} ({n}){ext}"


def _copy_exclusive(source: str, target: str) -> None:
    """Copy bytes and timestamps into a new file; raises FileExistsError if ``target`` exists."""
    with open(source, "rb") as src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        except BaseException:
            try:
                os.unlink(target)
            except OSError:
                pass
            raise
    try:
        shutil.copystat(source, target)
    except OSError:
        pass  # timestamps are a nicety; the bytes are there


def _place(source: str, folder: str, mode: str, clash: str) -> tuple[str | None, str | None]:
    """Create one target; returns (target, None) or (None, reason it was skipped)."""
    name = os.path.basename(source)
    for candidate in candidate_names(name):
        target = os.path.join(folder, candidate)
        if os.path.lexists(target):
            if clash == "skip":
                return None, f"{candidate} already exists in the destination"
            continue
        try:
            if mode == "copy":
                _copy_exclusive(source, target)
            else:
                os.symlink(os.path.abspath(source), target)
        except FileExistsError:
            if clash == "skip":
                return None, f"{candidate} already exists in the destination"
            continue
        return target, None
    raise OSError(f"no free name for {name} after {MAX_RENAMES} tries")


def export_photos(sources: Iterable[str], destination: str, mode: str = "copy", clash: str = "rename",
                  cancel: threading.Event | None = None) -> Iterator[ExportProgress]:
    """Copy or link each source into ``destination`` (created if needed); one event per file."""
    if mode not in MODES:
        raise ExportError(f"Unknown export mode {mode!r}; use one of: {', '.join(MODES)}.")
    if clash not in CLASH_POLICIES:
        raise ExportError(f"Unknown clash policy {clash!r}; use one of: {', '.join(CLASH_POLICIES)}.")
    folder = os.path.abspath(os.path.expanduser(destination))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create the export folder {folder}: {exc.strerror or exc}") from exc
    if not os.path.isdir(folder):
        raise ExportError(f"The export destination {folder} is not a folder.")
    unique = list(dict.fromkeys(os.path.abspath(s) for s in sources))
    result = ExportResult()
    for done, source in enumerate(unique, start=1):
        if cancel is not None and cancel.is_set():
            return
        if not os.path.isfile(source):
            result.failed.append((source, "file not found"))
        elif os.path.dirname(source) == folder and clash == "skip":
            result.skipped.append((source, "already in the destination folder"))
        else:
            try:
                target, reason = _place(source, folder, mode, clash)
            except OSError as exc:
                result.failed.append((source, exc.strerror or str(exc)))
            else:
                if target is None:
                    result.skipped.append((source, reason or "skipped"))
                else:
                    result.done.append((source, target))
        yield ExportProgress(done, len(unique), result, source)


def export_all(sources: Iterable[str], destination: str, mode: str = "copy", clash: str = "rename") -> ExportResult:
    """Run :func:`export_photos` to the end and return what happened."""
    result = ExportResult()
    for event in export_photos(sources, destination, mode, clash):
        result = event.result
    return result
