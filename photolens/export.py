"""Export photos into a folder as copies, hard links or symbolic links. Originals are only ever read.

Name clashes never overwrite anything: with ``clash="rename"`` a taken name becomes ``name (2).jpg``,
``name (3).jpg``…; with ``clash="skip"`` the photo is skipped and reported. Targets are created
exclusively (``O_EXCL`` / ``symlink``), so a file appearing in the folder meanwhile is not clobbered either.
A failed copy removes its partial target. Like the indexer, :func:`export_photos` is a generator of
progress events (the GUI runs it in a worker; ``cancel`` stops it between files). A hard link cannot cross
file systems: there the photo is copied instead, and the result says so. :func:`export_groups` exports
named groups (a lens's values, clusters) into one subfolder each.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from photolens.errors import PhotolensError

MODES = ("copy", "hardlink", "symlink")
CLASH_POLICIES = ("rename", "skip")
MAX_RENAMES = 10_000


class ExportError(PhotolensError):
    """The export as a whole cannot start (bad destination, bad options)."""


@dataclass
class ExportResult:
    done: list[tuple[str, str]] = field(default_factory=list)  # (source, target)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    copied_instead: list[tuple[str, str]] = field(default_factory=list)  # hard links made as copies (source, why)

    @property
    def renamed(self) -> int:
        """How many photos got a numbered name because theirs was taken."""
        return sum(os.path.basename(s) != os.path.basename(t) for s, t in self.done)


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


#: Errors of ``os.link`` that mean "not here" (another file system, or one without hard links): copy instead.
_NO_HARD_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, getattr(errno, "ENOTSUP", errno.EPERM),
                 getattr(errno, "EOPNOTSUPP", errno.EPERM)}


def _link_or_copy(source: str, target: str) -> str | None:
    """Hard-link ``target`` to ``source``; where that is impossible, copy. Returns why it was copied."""
    try:
        os.link(source, target)
        return None
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINK:
            raise
        reason = "another file system" if exc.errno == errno.EXDEV else (exc.strerror or str(exc))
    _copy_exclusive(source, target)
    return reason


def _place(source: str, folder: str, mode: str, clash: str) -> tuple[str | None, str | None, str | None]:
    """Create one target; returns (target, None, why a hard link became a copy) or (None, reason skipped, None)."""
    name = os.path.basename(source)
    for candidate in candidate_names(name):
        target = os.path.join(folder, candidate)
        if os.path.lexists(target):
            if clash == "skip":
                return None, f"{candidate} already exists in the destination", None
            continue
        copied_because = None
        try:
            if mode == "copy":
                _copy_exclusive(source, target)
            elif mode == "hardlink":
                copied_because = _link_or_copy(source, target)
            else:
                os.symlink(os.path.abspath(source), target)
        except FileExistsError:
            if clash == "skip":
                return None, f"{candidate} already exists in the destination", None
            continue
        return target, None, copied_because
    raise OSError(f"no free name for {name} after {MAX_RENAMES} tries")


def _make_folder(folder: str) -> str:
    folder = os.path.abspath(os.path.expanduser(folder))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create the export folder {folder}: {exc.strerror or exc}") from exc
    if not os.path.isdir(folder):
        raise ExportError(f"The export destination {folder} is not a folder.")
    return folder


def _check_options(mode: str, clash: str) -> None:
    if mode not in MODES:
        raise ExportError(f"Unknown export mode {mode!r}; use one of: {', '.join(MODES)}.")
    if clash not in CLASH_POLICIES:
        raise ExportError(f"Unknown clash policy {clash!r}; use one of: {', '.join(CLASH_POLICIES)}.")


def _export_pairs(pairs: list[tuple[str, str]], mode: str, clash: str,
                  cancel: threading.Event | None) -> Iterator[ExportProgress]:
    """Export each (source, folder); folders exist already."""
    result = ExportResult()
    for done, (source, folder) in enumerate(pairs, start=1):
        if cancel is not None and cancel.is_set():
            return
        if not os.path.isfile(source):
            result.failed.append((source, "file not found"))
        elif os.path.dirname(source) == folder and clash == "skip":
            result.skipped.append((source, "already in the destination folder"))
        else:
            try:
                target, reason, copied_because = _place(source, folder, mode, clash)
            except OSError as exc:
                result.failed.append((source, exc.strerror or str(exc)))
            else:
                if target is None:
                    result.skipped.append((source, reason or "skipped"))
                else:
                    result.done.append((source, target))
                    if copied_because:
                        result.copied_instead.append((source, copied_because))
        yield ExportProgress(done, len(pairs), result, source)


def export_photos(sources: Iterable[str], destination: str, mode: str = "copy", clash: str = "rename",
                  cancel: threading.Event | None = None) -> Iterator[ExportProgress]:
    """Copy or link each source into ``destination`` (created if needed); one event per file."""
    _check_options(mode, clash)
    folder = _make_folder(destination)
    unique = list(dict.fromkeys(os.path.abspath(s) for s in sources))
    yield from _export_pairs([(source, folder) for source in unique], mode, clash, cancel)


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def folder_name(name: str) -> str:
    """A group's name as a portable folder name: no separators or reserved characters, never ``.``/``..``."""
    cleaned = _UNSAFE.sub("-", name).strip(" .")[:100].strip(" .")
    return cleaned or "unnamed"


def export_groups(groups: Mapping[str, Iterable[str]] | Iterable[tuple[str, Iterable[str]]], destination: str,
                  mode: str = "copy", clash: str = "rename",
                  cancel: threading.Event | None = None) -> Iterator[ExportProgress]:
    """Each group's photos into ``destination/<group name>/`` (names made safe; groups that come out with
    the same folder name, such as two clusters with the same words, get ``name (2)``…); one event per file,
    counting across all groups. ``groups`` is a mapping or (name, photos) pairs; empty groups make no folder."""
    _check_options(mode, clash)
    root = _make_folder(destination)
    taken: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for name, sources in groups.items() if isinstance(groups, Mapping) else groups:
        base = folder_name(name)
        numbered = (base if n == 1 else f"{base} ({n})" for n in range(1, MAX_RENAMES + 2))
        unique_name = next(c for c in numbered if c.casefold() not in taken)
        taken.add(unique_name.casefold())
        members = list(dict.fromkeys(os.path.abspath(s) for s in sources))
        if not members:
            continue
        folder = _make_folder(os.path.join(root, unique_name))
        pairs += [(source, folder) for source in members]
    yield from _export_pairs(pairs, mode, clash, cancel)


def export_all(sources: Iterable[str], destination: str, mode: str = "copy", clash: str = "rename") -> ExportResult:
    """Run :func:`export_photos` to the end and return what happened."""
    result = ExportResult()
    for event in export_photos(sources, destination, mode, clash):
        result = event.result
    return result
