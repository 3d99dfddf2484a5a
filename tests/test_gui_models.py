"""The grid's item model (checked with qtmodeltester), thumbnails (disk cache keyed by fingerprint, RAM
bounded by bytes, stale requests dropped) and the delegate's placeholder."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QStyleOptionViewItem

from photolens.browse import PhotoRow, list_photos
from photolens.gui.delegate import ThumbnailDelegate
from photolens.gui.models import PhotoListModel, Roles
from photolens.gui.tasks import Pools, SyncPool, TaskRunner
from photolens.gui.thumbnails import MAX_PENDING, PixmapCache, ThumbnailDiskCache, ThumbnailLoader

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


def runner_on(pool) -> TaskRunner:
    """A task runner whose every pool is ``pool`` (the thumbnail loader uses its thumbnails pool)."""
    return TaskRunner(Pools(pool, pool, pool, pool))


def rows(n: int) -> list[PhotoRow]:
    return [PhotoRow(i, f"/p/{chr(ord('a') + (i * 7) % 26)}{i}.jpg", f"fp{i:04d}", dt.datetime(2020, 1, 1 + i % 28),
                     0, 100, score=1.0 - i / 100) for i in range(n)]


def test_model_contract(qtmodeltester):
    model = PhotoListModel()
    model.set_rows(rows(30), sort="date")
    qtmodeltester.check(model, force_py=True)
    model.append_rows(rows(35)[30:])
    qtmodeltester.check(model, force_py=True)


def test_roles_and_sorting():
    model = PhotoListModel()
    model.set_rows(rows(5), sort="relevance")
    index = model.index(2, 0)
    assert index.data(Roles.PhotoId) == 2
    assert index.data(Roles.Path) == "/p/o2.jpg"
    assert index.data(Qt.ItemDataRole.DisplayRole) == "o2.jpg"
    assert index.data(Roles.CacheKey) == "fp0002"
    assert index.data(Roles.Score) == pytest.approx(0.98)
    assert "score 0.98" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert index.data(Roles.Thumbnail) is None  # no loader
    model.sort_by("name")
    assert [r.name for r in model.rows()] == ["a0.jpg", "c4.jpg", "h1.jpg", "o2.jpg", "v3.jpg"]
    model.sort_by("newest")
    assert [r.id for r in model.rows()] == [4, 3, 2, 1, 0]
    model.sort_by("oldest")
    assert [r.id for r in model.rows()] == [0, 1, 2, 3, 4]
    model.sort_by("relevance")
    assert [r.id for r in model.rows()] == [0, 1, 2, 3, 4]
    assert model.row_of_id(3) == 3


def test_sort_keeps_persistent_indexes():
    model = PhotoListModel()
    model.set_rows(rows(5), sort="relevance")
    from PySide6.QtCore import QPersistentModelIndex

    keep = QPersistentModelIndex(model.index(0, 0))  # photo 0, the oldest
    model.sort_by("newest")
    assert keep.data(Roles.PhotoId) == 0 and keep.row() == 4


def test_weak_results_come_after_the_matches_and_carry_the_line():
    model = PhotoListModel()
    model.set_rows(rows(5), sort="relevance", weak={1, 3})
    assert [r.id for r in model.rows()] == [0, 2, 4, 1, 3]  # matches first, then the weak ones, best first
    assert model.first_weak == 3 and model.weak_count == 2
    flags = [(model.index(n, 0).data(Roles.Weak), model.index(n, 0).data(Roles.FirstWeak)) for n in range(5)]
    assert flags == [(False, False), (False, False), (False, False), (True, True), (True, False)]
    assert "weak match" in model.index(3, 0).data(Qt.ItemDataRole.ToolTipRole)
    model.sort_by("newest")  # by date there is no line to draw, the weak ones stay dimmed
    assert model.first_weak == -1 and model.index(0, 0).data(Roles.Weak) is False
    model.sort_by("relevance")
    assert [r.id for r in model.rows()] == [0, 2, 4, 1, 3] and model.first_weak == 3


def test_pixmap_cache_is_bounded_by_bytes(qapp):
    cache = PixmapCache(max_bytes=3 * 100 * 100 * 4)
    for i in range(5):
        pixmap = QPixmap(100, 100)
        pixmap.fill(QColor("red"))
        cache.put(f"k{i}", pixmap)
    assert len(cache) == 3 and cache.bytes <= cache.max_bytes
    assert "k0" not in cache and "k4" in cache
    cache.get("k2")  # most recently used now
    pixmap = QPixmap(100, 100)
    cache.put("k5", pixmap)
    assert "k2" in cache and "k3" not in cache


def test_loader_makes_thumbnails_off_disk_cache_by_fingerprint(qtbot, gui_library, tmp_path: Path, photo_root: Path):
    loader = ThumbnailLoader(runner_on(SyncPool()), tmp_path / "thumbs", memory_bytes=64 * 1024 * 1024)
    photo = next(r for r in list_photos(gui_library.db) if r.name == "paris.jpg")
    with qtbot.waitSignal(loader.ready, timeout=5000) as ready:
        loader.request(photo.cache_key, photo.path)
    assert ready.args == [photo.cache_key]
    pixmap = loader.pixmap(photo.cache_key)
    assert pixmap is not None and max(pixmap.width(), pixmap.height()) == 160  # small photo kept its size
    assert loader.disk.path_for(photo.fingerprint).is_file()
    assert loader.generated == 1

    # the photo moves: same fingerprint, so a fresh loader (empty RAM) reads the disk cache, no decoding
    moved = photo_root / "moved.jpg"
    shutil.move(photo.path, moved)
    for _ in gui_library.index([str(photo_root)]):
        pass
    moved_row = next(r for r in list_photos(gui_library.db) if r.name == "moved.jpg")
    assert moved_row.cache_key == photo.cache_key and moved_row.id == photo.id
    fresh = ThumbnailLoader(runner_on(SyncPool()), tmp_path / "thumbs")
    fresh.request(moved_row.cache_key, moved_row.path)
    assert fresh.pixmap(moved_row.cache_key) is not None and fresh.generated == 0


def test_unreadable_file_is_marked_failed(qtbot, tmp_path: Path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"no image here" * 10)
    loader = ThumbnailLoader(runner_on(SyncPool()), tmp_path / "thumbs")
    with qtbot.waitSignal(loader.failed, timeout=5000):
        loader.request("badkey", str(bad))
    assert loader.failure("badkey")
    assert loader.pixmap("badkey") is None
    loader.request("badkey", str(bad))  # not retried in a loop
    assert loader.generated == 0


class HeldPool:
    """A pool that keeps runnables until run_all(): lets a test pile up requests like a fast scroll."""

    def __init__(self):
        self.queued = []

    def start(self, runnable, priority=0):
        self.queued.append(runnable)

    def maxThreadCount(self):  # noqa: N802
        return 1

    def run_all(self):
        while self.queued:
            self.queued.pop(0).run()


def test_requests_scrolled_past_are_dropped_newest_first(qtbot, tmp_path: Path, photo_root: Path):
    pool = HeldPool()
    loader = ThumbnailLoader(runner_on(pool), tmp_path / "thumbs")
    files = sorted(str(p) for p in photo_root.glob("*.jpg") if p.name != "broken.jpg")
    for i in range(MAX_PENDING + 10):
        loader.request(f"old{i}", files[0])
    loader.request("newest", files[1])
    assert len(pool.queued) == 1  # one drainer per pool thread, not one task per request
    assert loader.dropped == 11
    order = []
    loader.ready.connect(order.append)
    pool.run_all()
    assert order[0] == "newest"  # what is on screen now comes first
    assert "old0" not in order and len(order) == MAX_PENDING


def test_model_emits_one_data_changed_for_arriving_thumbnails(qtbot, tmp_path: Path, photo_root: Path):
    pool = HeldPool()
    loader = ThumbnailLoader(runner_on(pool), tmp_path / "thumbs")
    files = sorted(p for p in photo_root.glob("*.jpg") if p.name != "broken.jpg")
    model = PhotoListModel(loader)
    model.set_rows([PhotoRow(i, str(p), f"key{i}", None, p.stat().st_mtime_ns, 1) for i, p in enumerate(files)],
                   sort="name")
    for row in range(4):
        assert model.index(row, 0).data(Roles.Thumbnail) is None  # asking requests it
    changes = []
    model.dataChanged.connect(lambda a, b, roles: changes.append((a.row(), b.row())))
    pool.run_all()
    qtbot.waitUntil(lambda: bool(changes), timeout=2000)
    assert changes == [(0, 3)]
    assert isinstance(model.index(0, 0).data(Roles.Thumbnail), QPixmap)
    assert model.index(5, 0).data(Roles.Thumbnail) is None  # not painted, not requested before


def test_delegate_paints_placeholder_then_thumbnail(qapp):
    delegate = ThumbnailDelegate(size=96)
    model = PhotoListModel()
    model.set_rows(rows(1))

    def paint(index: QModelIndex) -> QImage:
        image = QImage(120, 140, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        option = QStyleOptionViewItem()
        option.rect = QRect(0, 0, 120, 140)
        delegate.paint(painter, option, index)
        painter.end()
        return image

    placeholder = paint(model.index(0, 0))
    assert placeholder.pixelColor(60, 55) != QColor("white")  # a grey placeholder box

    class Loader:
        def __init__(self):
            self.pix = QPixmap(96, 96)
            self.pix.fill(QColor(0, 0, 255))

        def pixmap(self, key):
            return self.pix

        def failure(self, key):
            return None

    model._thumbnails = Loader()
    painted = paint(model.index(0, 0))
    assert painted.pixelColor(60, 55) == QColor(0, 0, 255)
    assert delegate.sizeHint(QStyleOptionViewItem(), model.index(0, 0)).width() == 96 + 12


def test_disk_cache_prune(tmp_path: Path):
    from PIL import Image

    cache = ThumbnailDiskCache(tmp_path / "c", size=64)
    for i in range(6):
        cache.store(f"k{i:03d}", Image.new("RGB", (64, 64), (i * 40, 0, 0)))
    usage = cache.usage()
    assert usage > 0 and len(list((tmp_path / "c").rglob("*.jpg"))) == 6
    removed = cache.prune(usage // 2)
    assert removed >= 3 and cache.usage() <= usage // 2
    assert cache.clear() >= 1 and cache.usage() == 0
