"""Folder watching: new and removed photos are picked up without pressing F5.

Qt's :class:`QFileSystemWatcher` (inotify, FSEvents, ReadDirectoryChangesW; no extra dependency) watches
the library's folders, which the window already knows from the folder tree. Changes are collected for
``delay_ms`` (a copy of 500 photos is one rescan, not 500) and reported as the folders to rescan, the
indexer then scans only those (unchanged files cost a ``stat``). At most ``limit`` folders are watched
(inotify's per-user limit is often 8,192); beyond that, the top folders are watched and F5 does the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

WATCH_LIMIT = 4000
DELAY_MS = 1500


class FolderWatcher(QObject):
    changed = Signal(list)  # folders whose content changed (deduplicated, outermost first)

    def __init__(self, parent: QObject | None = None, delay_ms: int = DELAY_MS, limit: int = WATCH_LIMIT):
        super().__init__(parent)
        self.limit = limit
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._changed)
        self._pending: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._flush)
        self.paused = False  # while photolens itself indexes, changes are collected and reported after

    @property
    def folders(self) -> list[str]:
        return sorted(self._watcher.directories())

    def watch(self, folders: Iterable[str]) -> None:
        """Watch exactly ``folders`` (the roots and their subfolders, shallowest first), within the limit."""
        wanted = sorted(dict.fromkeys(os.path.abspath(f) for f in folders), key=lambda f: (f.count(os.sep), f))
        wanted = wanted[: self.limit]
        current = set(self._watcher.directories())
        gone = [f for f in current if f not in set(wanted)]
        if gone:
            self._watcher.removePaths(gone)
        new = [f for f in wanted if f not in current and os.path.isdir(f)]
        if new:
            self._watcher.addPaths(new)

    def stop(self) -> None:
        self._timer.stop()
        self._pending.clear()
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused and self._pending:
            self._timer.start()

    def _changed(self, folder: str) -> None:
        self._pending.add(folder)
        if not self.paused:
            self._timer.start()  # restarts: a burst of changes is one rescan

    def _flush(self) -> None:
        if self.paused or not self._pending:
            return
        folders = sorted({_existing(f) for f in self._pending}, key=lambda f: (f.count(os.sep), f))
        self._pending.clear()
        outermost: list[str] = []
        for folder in folders:
            if not any(folder == o or folder.startswith(o.rstrip(os.sep) + os.sep) for o in outermost):
                outermost.append(folder)
        self.changed.emit(outermost)


def _existing(folder: str) -> str:
    """A removed folder is rescanned through its nearest parent that still exists (its photos go missing)."""
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    return folder
