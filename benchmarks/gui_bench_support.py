"""Pieces of benchmarks/gui_bench.py: the synthetic 100k-photo library, the same-run baselines every figure
is compared with (the machine may be shared, so absolute times alone mean little), and the event-loop
lateness while indexing."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def make_files(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    rng = np.random.default_rng(0)
    for i in range(count):
        path = folder / f"src_{i:05d}.jpg"
        if not path.exists():
            small = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
            Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(path, "JPEG", quality=88)
        files.append(path)
    return files


def make_library(db_path: Path, files: list[Path], photos: int, folders: int = 200) -> None:
    """``photos`` rows in ``folders`` folders under a root, pointing at ``files`` (cycled)."""
    from sqlalchemy import insert

    from photolens.store.database import Database
    from photolens.store.schema import LibraryRoot, Photo

    db = Database(str(db_path))
    root = str(files[0].parent.parent / "library")
    now = dt.datetime(2024, 1, 1)
    with db.session() as session:
        session.add(LibraryRoot(path=root))
    chunk = 5000
    for start in range(0, photos, chunk):
        rows = []
        for i in range(start, min(photos, start + chunk)):
            source = files[i % len(files)]
            folder = f"{root}/{2000 + (i % folders) // 12}/{(i % folders):03d}"
            rows.append({
                "path": f"{folder}/IMG_{i:06d}.jpg",  # a symlink to a real file (link_tree)
                "folder": folder, "size": source.stat().st_size, "mtime_ns": 1_700_000_000_000_000_000 + i,
                "fingerprint": f"bench{i:010d}", "width": 1600, "height": 1200, "image_format": "JPEG",
                "taken_at": now - dt.timedelta(minutes=17 * i), "metadata_read": True,
                "added_at": now, "updated_at": now,
            })
        with db.session() as session:
            session.execute(insert(Photo), rows)
    db.close()


def link_tree(files: list[Path], db_path: Path) -> None:
    """Make every stored path exist: photo rows beyond the real files are symlinks to them."""
    from sqlalchemy import select

    from photolens.store.database import Database
    from photolens.store.schema import Photo

    db = Database(str(db_path))
    with db.session() as session:
        paths = list(session.scalars(select(Photo.path).order_by(Photo.id)))
    db.close()
    for i, path in enumerate(paths):
        target = Path(path)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(files[i % len(files)], target)



# --------------------------------------------------------------------------------------------- baselines
CHILD_FLOOR = r"""
import sys, time, json
started = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QStringListModel, QTimer
from PySide6.QtWidgets import QApplication, QListView
import numpy, sqlalchemy.orm  # what any photolens process imports before it can show a photo
app = QApplication(sys.argv[:1])
view = QListView()
view.setViewMode(QListView.ViewMode.IconMode)
view.setModel(QStringListModel([f"IMG_{i:06d}.jpg" for i in range(600)]))
marks = {}
class Spy(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and "paint" not in marks:
            marks["paint"] = time.time() - started
            QTimer.singleShot(0, app.quit)
        return False
spy = Spy()
view.viewport().installEventFilter(spy)
view.resize(1400, 900)
view.show()
app.exec()
print("FLOOR " + json.dumps(marks))
"""


def paint_floor(runs: int) -> float | None:
    """Baseline in the same run: a bare process that imports Qt, numpy and SQLAlchemy and paints a list of
    600 names. photolens cannot paint before this; ``grid / floor`` is what the app itself adds."""
    values = []
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", CHILD_FLOOR, str(time.time())], capture_output=True, text=True,
                              env=env, timeout=120)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("FLOOR ")), None)
        if line is not None:
            values.append(json.loads(line[6:])["paint"])
    return statistics.median(values) if values else None


def baseline_scroll(app, rows: int, frames: int, step: int, grid, viewport) -> list[float]:
    """Baseline in the same process: the same scroll over a plain icon-mode QListView of ``rows`` names
    (Qt's own delegate, no thumbnails) of the same size: what Qt costs per frame on this machine now."""
    from PySide6.QtCore import QStringListModel
    from PySide6.QtWidgets import QListView

    view = QListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setUniformItemSizes(True)
    view.setLayoutMode(QListView.LayoutMode.Batched)
    view.setGridSize(grid)
    view.setModel(QStringListModel([f"IMG_{i:06d}.jpg" for i in range(rows)]))
    view.resize(viewport.width() + 20, viewport.height() + 4)
    view.show()
    for _ in range(200):
        app.processEvents()
    bar = view.verticalScrollBar()
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        bar.setValue(min(bar.maximum(), bar.value() + step))
        view.viewport().repaint()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
    view.close()
    return times




def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"frames": len(values), "median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2),
            "max_ms": round(ordered[-1], 2), "over_16ms": sum(v > 16.7 for v in values)}


# --------------------------------------------------------------------------------------------- indexing lag
def indexing_lag(files: list[Path], count: int, work: Path, data_dir: Path) -> dict:
    """Index ``count`` photos through the app (tiny test model) while a 10 ms timer measures how late the
    GUI thread's event loop runs: the app stays responsive if that lateness stays small."""
    os.environ["PHOTOLENS_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QTimer

    from photolens.gui.app import create_application
    from photolens.gui.lens_adapter import LensAdapter
    from photolens.gui.main_window import MainWindow
    from photolens.gui.settings import GuiSettings
    from photolens.gui.tasks import Pools
    from photolens.library import Library
    from tests.tiny_model import make_tiny_model

    folder = work / f"index-photos-{count}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for i in range(count):  # hard links: real files to the scanner (it skips symlinks), no copying
            os.link(files[i % len(files)], folder / f"p{i:05d}.jpg")
    model = work / "tiny-model"
    if not model.exists():
        make_tiny_model(model)
    db = data_dir / "index.db"
    app = create_application([sys.argv[0]])
    library = Library(db=str(db), model=f"local-dir:{model}")
    window = MainWindow(library, GuiSettings(), Pools.create(), LensAdapter(library, discover=False),
                        check_model_on_start=False)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    late: list[float] = []
    late_embedding: list[float] = []  # once the model is loaded and batches flow
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)
    updates = []

    def tick() -> None:
        value = max(0.0, clock.restart() - 10.0)
        late.append(value)
        if updates and updates[-1].phase == "embed" and updates[-1].done > 0:
            late_embedding.append(value)

    timer.timeout.connect(tick)
    window.index.progress.connect(lambda status: updates.append(status))
    started = time.perf_counter()
    clock.start()
    timer.start()
    window.indexing.add_folders([str(folder)])
    while window.index.running or not updates:
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - started > 600:
            break
    elapsed = time.perf_counter() - started
    timer.stop()
    embedded = updates[-1].embedded if updates else 0
    window.close()
    library.close()
    lag = _stats(late or [0.0])
    lag_embedding = _stats(late_embedding or [0.0])
    return {"photos": count, "seconds": round(elapsed, 2), "photos_per_s": round(embedded / elapsed, 1),
            "embedded": embedded, "progress_updates": len(updates), "ticks": len(late),
            "event_loop_late_ms": {"median": lag["median_ms"], "p95": lag["p95_ms"], "max": lag["max_ms"]},
            "event_loop_late_while_embedding_ms": {"median": lag_embedding["median_ms"],
                                                   "p95": lag_embedding["p95_ms"], "max": lag_embedding["max_ms"]}}
