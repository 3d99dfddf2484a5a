"""Thumbnails: decoded off the GUI thread, cached on disk by content fingerprint, bounded in RAM.

* Disk: ``<data dir>/thumbnails/<size>/<key[:2]>/<key>.jpg`` where the key is the photo's fingerprint, so
  a moved or renamed photo keeps its thumbnail. :meth:`ThumbnailDiskCache.prune` bounds the folder's size.
* Work: the grid asks for the items it paints. Requests go on a bounded last-in-first-out list: when the
  user scrolls fast, what is on screen now is decoded first and requests for rows long scrolled past are
  dropped before they start. At most ``maxThreadCount`` drainer tasks pull from that list.
* Worker threads make ``QImage`` only; the GUI thread turns it into a ``QPixmap`` and keeps it in an LRU
  bounded by bytes. ``ready(key)`` tells models to repaint.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from photolens.config import data_dir

log = logging.getLogger(__name__)

THUMB_SIZE = 256  # longest side stored on disk and kept in RAM
PREVIEW_SIZE = 1280
MAX_PENDING = 400  # requests beyond this many are the oldest (scrolled past) and are dropped
JPEG_QUALITY = 85


def default_cache_dir() -> Path:
    return data_dir() / "thumbnails"


# --------------------------------------------------------------------------------------------- disk
class ThumbnailDiskCache:
    """JPEG thumbnails keyed by content fingerprint. Safe to use from several threads."""

    def __init__(self, folder: Path, size: int = THUMB_SIZE):
        self.folder = Path(folder)
        self.size = size

    def path_for(self, key: str) -> Path:
        safe = "".join(ch for ch in key if ch.isalnum())[:64] or "x"
        return self.folder / str(self.size) / safe[:2] / f"{safe}.jpg"

    def load(self, key: str) -> QImage | None:
        path = self.path_for(key)
        if not path.is_file():
            return None
        try:
            from PIL import Image

            with Image.open(path) as image:
                image.load()
                return pil_to_qimage(image.convert("RGB"))
        except Exception:  # noqa: BLE001 - a damaged cache file is regenerated
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def store(self, key: str, image: Any) -> None:
        """Write a PIL image atomically (a reader never sees half a file)."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
            image.save(tmp, "JPEG", quality=JPEG_QUALITY)
            os.replace(tmp, path)
        except OSError as exc:
            log.debug("cannot write thumbnail %s: %s", path, exc)

    def usage(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*.jpg") if p.is_file()) if self.folder.exists() else 0

    def prune(self, max_bytes: int) -> int:
        """Delete the oldest thumbnails until the cache fits in ``max_bytes``; returns how many went."""
        if not self.folder.exists():
            return 0
        files = []
        for path in self.folder.rglob("*.jpg"):
            try:
                info = path.stat()
            except OSError:
                continue
            files.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= max_bytes:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= size
            removed += 1
        return removed

    def clear(self) -> int:
        return self.prune(0)


def render_thumbnail(path: str, size: int) -> Any:
    """Decode ``path`` upright and shrink it to fit ``size`` px (a PIL image). Raises ImageError."""
    from PIL import Image

    from photolens.imaging import load_oriented

    image, _ = load_oriented(path, min_side=size)
    image.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def _render_or_null(path: str, size: int) -> QImage:
    try:
        return pil_to_qimage(render_thumbnail(path, size))
    except Exception:  # noqa: BLE001 - shown as "cannot preview"
        return QImage()


def load_full_image(path: str) -> QImage:
    """The whole photo, upright, as a QImage (for the viewer's 100 % zoom). Raises ImageError."""
    from photolens.imaging import load_oriented

    image, _ = load_oriented(path)
    return pil_to_qimage(image)


def pil_to_qimage(image: Any) -> QImage:
    """An RGB PIL image as a QImage that owns its pixels (safe to pass between threads)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    qimage = QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()


# --------------------------------------------------------------------------------------------- RAM
class PixmapCache:
    """LRU of QPixmaps bounded by bytes (GUI thread only)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[QPixmap, int]] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: str) -> QPixmap | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: str, pixmap: QPixmap) -> None:
        cost = max(1, pixmap.width() * pixmap.height() * max(1, pixmap.depth() // 8))
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._items[key] = (pixmap, cost)
        self.bytes += cost
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, (_, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped

    def set_limit(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, (_, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


# --------------------------------------------------------------------------------------------- loader
class _Drainer(QRunnable):
    def __init__(self, loader: ThumbnailLoader):
        super().__init__()
        self.setAutoDelete(True)
        self._loader = loader

    def run(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            from photolens.gui.tasks import lower_thread_priority

            lower_thread_priority()  # decoding yields the CPU to the GUI thread's painting
        self._loader._drain()


class ThumbnailLoader(QObject):
    """Thumbnails for the GUI thread: ``pixmap(key)`` or ``request(key, path)`` then ``ready(key)``."""

    ready = Signal(str)
    failed = Signal(str)
    preview_ready = Signal(str, QPixmap)  # key, pixmap (null when the photo cannot be decoded)
    _out = Signal(str, QImage, str)  # worker → GUI thread: key, image, error

    def __init__(self, runner: Any, cache_dir: Path | None = None, memory_bytes: int = 192 * 1024 * 1024,
                 size: int = THUMB_SIZE, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.pool = runner.pools.thumbnails
        self.size = size
        self.disk = ThumbnailDiskCache(cache_dir or default_cache_dir(), size)
        self.memory = PixmapCache(memory_bytes)
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, str] = OrderedDict()  # key → path, newest last
        self._in_flight: set[str] = set()
        self._drainers = 0
        self._failed: dict[str, str] = {}
        self.display_size = 0  # when set (the grid's cell), workers deliver thumbnails already at that size
        self.dropped = 0  # requests dropped as stale (scrolled past)
        self.generated = 0  # thumbnails decoded from the original (disk-cache misses)
        self._out.connect(self._on_out)

    # ---- GUI thread
    def pixmap(self, key: str) -> QPixmap | None:
        return self.memory.get(key)

    def failure(self, key: str) -> str | None:
        return self._failed.get(key)

    def request(self, key: str, path: str) -> None:
        if key in self.memory or key in self._failed:
            return
        start = False
        with self._lock:
            if key in self._in_flight:
                return
            self._pending[key] = path
            self._pending.move_to_end(key)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
                self.dropped += 1
            if self._drainers < max(1, self.pool.maxThreadCount()):
                self._drainers += 1
                start = True
        if start:
            self.runner.submit("thumbnails", _Drainer(self))

    def cancel_pending(self) -> None:
        """Drop every request not yet started (e.g. the grid now shows something else)."""
        with self._lock:
            self.dropped += len(self._pending)
            self._pending.clear()

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._in_flight)

    def request_preview(self, key: str, path: str, size: int = PREVIEW_SIZE) -> None:
        """A large image for the details pane; only the latest request is delivered."""
        def done(image: QImage) -> None:
            self.preview_ready.emit(key, QPixmap.fromImage(image) if not image.isNull() else QPixmap())

        self.runner.run("preview", "thumbnails", lambda: _render_or_null(path, size), done,
                        lambda _exc: self.preview_ready.emit(key, QPixmap()))

    def set_display_size(self, size: int) -> None:
        """The grid's thumbnail size: thumbnails decoded from now on arrive at it. Zooming in empties the
        memory cache (small ones would look blurred); zooming out keeps it (they are scaled down)."""
        if size > self.display_size and self.display_size:
            self.memory.clear()
        self.display_size = size

    def set_memory_limit(self, max_bytes: int) -> None:
        self.memory.set_limit(max_bytes)

    def forget_failures(self) -> None:
        self._failed.clear()

    @Slot(str, QImage, str)
    def _on_out(self, key: str, image: QImage, error: str) -> None:
        with self._lock:
            self._in_flight.discard(key)
        if error or image.isNull():
            self._failed[key] = error or "cannot decode"
            self.failed.emit(key)
            return
        self.memory.put(key, QPixmap.fromImage(image))
        self.ready.emit(key)

    # ---- worker threads
    def _next(self) -> tuple[str, str] | None:
        with self._lock:
            if not self._pending:
                self._drainers -= 1
                return None
            key, path = self._pending.popitem(last=True)  # newest first
            self._in_flight.add(key)
            return key, path

    def _drain(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            key, path = job
            display = self.display_size
            image = self.disk.load(key)
            error = ""
            if image is None:
                try:
                    thumb = render_thumbnail(path, self.size)
                except Exception as exc:  # noqa: BLE001 - per photo, never fatal
                    error = str(exc) or type(exc).__name__
                    image = QImage()
                else:
                    self.disk.store(key, thumb)
                    image = pil_to_qimage(thumb)
                    self.generated += 1
            if display and not image.isNull() and max(image.width(), image.height()) > display:
                image = image.scaled(display, display, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)  # here, not in a paint
            self._out.emit(key, image, error)
