"""Walking library folders: which files are photos, with their size and mtime, and nothing else.

The scan never opens a file (that is the decoder's job); it is a single ``os.scandir`` pass, so a
100k-photo library rescans in seconds and unchanged photos cost nothing more.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from photolens.imaging import IMAGE_EXTENSIONS

#: Folders that hold caches, metadata or other programs' files, never a user's photos.
JUNK_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        "@eaDir",
        ".thumbnails",
        "System Volume Information",
        "$RECYCLE.BIN",
        "__pycache__",
        "lost+found",
        ".Trash",
        ".Trashes",
    }
)


@dataclass(frozen=True)
class ScannedFile:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanProblem:
    path: str
    reason: str


@dataclass
class ScanOptions:
    excludes: list[str] = field(default_factory=list)  # glob patterns on the name or the whole path
    follow_symlinks: bool = False
    include_hidden: bool = False


def _excluded(path: str, name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns)


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def scan(roots: Iterable[str], options: ScanOptions | None = None) -> Iterator[ScannedFile | ScanProblem]:
    """Yield every photo under ``roots`` (files or folders) and every problem met on the way.

    Symlinked folders are followed only with ``follow_symlinks``; a (device, inode) set stops loops.
    Files that vanish between listing and ``stat`` are skipped silently: they are simply not there.
    """
    options = options or ScanOptions()
    visited: set[tuple[int, int]] = set()
    for root in roots:
        root = os.path.abspath(root)
        try:
            info = os.stat(root)
        except FileNotFoundError:
            yield ScanProblem(root, "folder not found")
            continue
        except OSError as exc:
            yield ScanProblem(root, f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISREG(info.st_mode):
            if is_photo_name(root):
                yield ScannedFile(root, info.st_size, info.st_mtime_ns)
            continue
        yield from _walk(root, options, visited)


def _walk(root: str, options: ScanOptions, visited: set[tuple[int, int]]) -> Iterator[ScannedFile | ScanProblem]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            folder_stat = os.stat(folder)
        except FileNotFoundError:
            continue  # vanished mid-scan: its photos are simply gone (not shielded as unreadable)
        except OSError as exc:
            yield ScanProblem(folder, f"cannot read: {exc.strerror or exc}")
            continue
        identity = (folder_stat.st_dev, folder_stat.st_ino)
        if identity in visited:
            continue  # a symlink loop or a folder reached twice
        visited.add(identity)
        try:
            with os.scandir(folder) as entries:
                listing = list(entries)
        except FileNotFoundError:
            continue  # vanished mid-scan
        except OSError as exc:
            yield ScanProblem(folder, f"cannot list folder: {exc.strerror or exc}")
            continue
        subfolders = []
        for entry in listing:
            name = entry.name
            if not options.include_hidden and name.startswith("."):
                continue
            if options.excludes and _excluded(entry.path, name, options.excludes):
                continue
            try:
                is_link = entry.is_symlink()
                if entry.is_dir(follow_symlinks=options.follow_symlinks):
                    if name not in JUNK_DIRS and (options.follow_symlinks or not is_link):
                        subfolders.append(entry.path)
                    continue
                if not is_photo_name(name):
                    continue
                if is_link and not options.follow_symlinks:
                    continue
                info = entry.stat(follow_symlinks=options.follow_symlinks)
            except FileNotFoundError:
                continue
            except OSError as exc:
                yield ScanProblem(entry.path, f"cannot read: {exc.strerror or exc}")
                continue
            if stat.S_ISREG(info.st_mode):
                yield ScannedFile(entry.path, info.st_size, info.st_mtime_ns)
        stack.extend(sorted(subfolders, reverse=True))
