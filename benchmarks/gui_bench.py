"""GUI benchmark: time to first paint and scrolling frame times on a 100k-photo library.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_bench.py --photos 100000 --json /tmp/gui_bench.json
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/gui_bench.py --platform xcb --work /tmp/gb
    .venv/bin/python benchmarks/gui_bench.py --tiny          # a quick run for CI (2,000 photos)

The library is synthetic but realistic where it matters: ``--photos`` rows in the store (in ~200 folders,
with dates and distinct fingerprints, so every row needs its own thumbnail) pointing at ``--files`` real
JPEGs of ``--size`` pixels (cycled), so thumbnails are really decoded, on the app's own thread pool,
while the grid scrolls. Nothing is embedded: neither measurement needs the model.

Measurements
* **first paint**: a fresh interpreter runs the real entry point (``photolens.gui.app.main``) on the
  library; we report the time from process start to the first paint of the window, and to the first paint
  of the grid with photos in it, and check that torch was not imported by then. Median of ``--runs``.
* **frames while scrolling**: in one process, the window shows all photos; each frame moves the scroll
  bar (``--step`` px: smooth scrolling; then page jumps: a fast fling), repaints the grid synchronously and
  processes pending events (arriving thumbnails). We report the median / 95th percentile / worst frame
  time, and how many thumbnails were painted real (not placeholders) by the end.
Both use the offscreen platform unless ``--platform`` / QT_QPA_PLATFORM say otherwise (``xcb`` under Xvfb
measures the X11 path users get on Linux).

The machine may be shared, so every figure comes with a baseline measured in the same run, and the load:
* first paint: a bare process that imports Qt, numpy and SQLAlchemy and paints a list (no photolens code);
* scrolling: the same scroll over a plain QListView of names, in the same process.
The first start (no remembered first page) and later starts (the first page of "All photos" remembered by
the previous run, see photolens/gui/first_page.py) are reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.gui_bench_support import (  # noqa: E402
    _stats,
    baseline_scroll,
    indexing_lag,
    link_tree,
    make_files,
    make_library,
    paint_floor,
)

# --------------------------------------------------------------------------------------------- first paint
CHILD_PAINT = r"""
import os, sys, time, json
from PySide6.QtCore import QEvent, QObject, QTimer
from photolens.gui import main_window
import photolens.gui.app as app_module
marks = {}
class Spy(QObject):
    def __init__(self, window):
        super().__init__()
        self.window = window
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            now = time.time()
            marks.setdefault("window", now)
            marks.setdefault("torch_at_paint", "torch" in sys.modules)
            if obj is self.window.grid.view.viewport() and self.window.model.rowCount() > 0 and "grid" not in marks:
                marks["grid"] = now
                marks["rows_at_grid_paint"] = self.window.model.rowCount()
                marks["remembered_page"] = self.window.browser.provisional
                QTimer.singleShot(0, self.window.close)
        return False
original = main_window.MainWindow.__init__
def init(self, *args, **kwargs):
    original(self, *args, **kwargs)
    self.spy = Spy(self)
    self.installEventFilter(self.spy)
    self.grid.view.viewport().installEventFilter(self.spy)
    QTimer.singleShot(60000, self.close)
main_window.MainWindow.__init__ = init
original_splash = app_module.show_splash
def splash(app):
    shown = original_splash(app)
    marks["splash"] = time.time()  # shown and processed once: painted
    return shown
app_module.show_splash = splash
rc = app_module.main(db=sys.argv[1], model="local-dir:/nonexistent-model-for-bench")
marks["torch_at_exit"] = "torch" in sys.modules
print("MARKS " + json.dumps(marks))
"""


def first_paint(db_path: Path, runs: int, data_dir: Path) -> dict:
    results = []
    env = dict(os.environ, PYTHONPATH=str(ROOT), PHOTOLENS_DATA_DIR=str(data_dir))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    for _ in range(runs):
        started = time.time()
        proc = subprocess.run([sys.executable, "-c", CHILD_PAINT, str(db_path)], capture_output=True, text=True,
                              env=env, timeout=300, cwd=ROOT)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("MARKS ")), None)
        if line is None:
            raise RuntimeError(f"child failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
        marks = json.loads(line[6:])
        results.append({
            "splash_s": marks["splash"] - started if "splash" in marks else None,
            "window_s": marks["window"] - started,
            "grid_s": marks["grid"] - started if "grid" in marks else None,
            "rows_at_grid_paint": marks.get("rows_at_grid_paint"),
            "remembered_page": marks.get("remembered_page"),
            "torch_at_paint": marks["torch_at_paint"],
        })
    def median(key: str) -> float | None:
        values = [r[key] for r in results if r[key] is not None]
        return statistics.median(values) if values else None

    warm = [r["grid_s"] for r in results[1:] if r["grid_s"] is not None]
    return {"runs": results, "splash_median_s": median("splash_s"), "window_median_s": median("window_s"),
            "grid_median_s": median("grid_s"),
            "grid_cold_s": results[0]["grid_s"],  # the first run: no remembered first page yet
            "grid_warm_median_s": statistics.median(warm) if warm else None,
            "torch_imported_before_paint": any(r["torch_at_paint"] for r in results)}


# --------------------------------------------------------------------------------------------- scrolling
def scrolling(db_path: Path, frames: int, step: int, data_dir: Path, zoom: int) -> dict:
    os.environ["PHOTOLENS_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from photolens.gui.app import create_application
    from photolens.gui.lens_adapter import LensAdapter
    from photolens.gui.main_window import MainWindow
    from photolens.gui.models import Roles
    from photolens.gui.settings import GuiSettings
    from photolens.gui.tasks import Pools
    from photolens.library import Library

    app = create_application([sys.argv[0]])
    library = Library(db=str(db_path), model="local-dir:/nonexistent-model-for-bench")
    window = MainWindow(library, GuiSettings(zoom=zoom), Pools.create(), LensAdapter(library, discover=False),
                        check_model_on_start=False)
    window.resize(1400, 900)
    window.show()
    started = time.perf_counter()
    deadline = started + 120
    while time.perf_counter() < deadline:
        app.processEvents()
        if window.model.rowCount() > 0 and not window.feeder.busy and window.grid.title.text() == "All photos" \
                and not window.browser.provisional:
            break
        time.sleep(0.001)
    loaded_s = time.perf_counter() - started
    view = window.grid.view
    bar = view.verticalScrollBar()
    rows = window.model.rowCount()

    def run(frames: int, step: int) -> list[float]:
        times = []
        for _ in range(frames):
            t0 = time.perf_counter()
            bar.setValue(min(bar.maximum(), bar.value() + step))
            view.viewport().repaint()
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
        return times

    def visible_real() -> tuple[int, int]:
        """(thumbnails in memory, cells) over the visible cells."""
        from PySide6.QtCore import QPoint

        seen = real = 0
        rect = view.viewport().rect()
        cell_w, cell_h = max(10, view.gridSize().width()), max(10, view.gridSize().height())
        for y in range(cell_h // 2, rect.height(), cell_h):
            for x in range(cell_w // 2, rect.width(), cell_w):
                index = view.indexAt(QPoint(x, y))
                if index.isValid():
                    seen += 1
                    real += window.thumbnails.pixmap(index.data(Roles.CacheKey)) is not None
        return real, seen

    run(20, step)  # warm up the paint path
    smooth = run(frames, step)
    baseline = baseline_scroll(app, rows, frames, step, view.gridSize(), view.viewport().size())
    time.sleep(1.0)
    app.processEvents()
    settle_real = visible_real()
    fling = run(max(20, frames // 4), bar.pageStep() * 3)
    fling_real = visible_real()
    bar.setValue(0)
    app.processEvents()
    time.sleep(1.0)
    app.processEvents()
    warm = run(min(frames, 100), step)  # the same rows again: thumbnails from the RAM / disk cache
    bar.setValue(bar.maximum() // 2)
    jump = run(10, 0)
    result = {
        "rows": rows, "rows_loaded_s": loaded_s, "grid_px": [view.viewport().width(), view.viewport().height()],
        "zoom": zoom, "step_px": step,
        "smooth": _stats(smooth), "fling": _stats(fling), "warm_smooth": _stats(warm),
        "baseline_plain_list": _stats(baseline),
        "after_jump_repaint": _stats(jump),
        "visible_real_after_smooth_then_1s": settle_real, "visible_real_right_after_fling": fling_real,
        "thumbnails_generated": window.thumbnails.generated, "requests_dropped_as_stale": window.thumbnails.dropped,
        "memory_cache_mb": round(window.thumbnails.memory.bytes / 1e6, 1),
        "torch_imported": "torch" in sys.modules,
    }
    window.close()
    library.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=400, help="distinct real JPEG files behind the rows")
    parser.add_argument("--size", default="1600x1200", help="pixel size of those files")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--step", type=int, default=60, help="scroll px per frame when scrolling smoothly")
    parser.add_argument("--zoom", type=int, default=160)
    parser.add_argument("--runs", type=int, default=3, help="first-paint runs (fresh processes)")
    parser.add_argument("--work", type=Path, default=None, help="keep the generated library here (reused)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--index-photos", type=int, default=300,
                        help="photos indexed (tiny test model) while measuring event-loop lateness; 0 skips")
    parser.add_argument("--platform", default=None,
                        help="Qt platform for the measured processes (offscreen, or xcb under Xvfb/X11); default "
                             "QT_QPA_PLATFORM or offscreen")
    parser.add_argument("--tiny", action="store_true",
                        help="CI mode: 2,000 photos over 20 small files, 60 frames, 1 run, no indexing")
    parser.add_argument("--child-scroll", nargs=2, metavar=("DB", "DATA"), help=argparse.SUPPRESS)
    parser.add_argument("--child-index", nargs=2, metavar=("WORK", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tiny:
        args.photos, args.files, args.size, args.frames, args.runs, args.index_photos = 2000, 20, "320x240", 60, 1, 0
    if args.platform:
        os.environ["QT_QPA_PLATFORM"] = args.platform
    if args.child_index:
        work = Path(args.child_index[0])
        width, height = (int(v) for v in args.size.split("x"))
        files = make_files(work / "files" / "src", args.files, (width, height))
        print("INDEX " + json.dumps(indexing_lag(files, args.index_photos, work, Path(args.child_index[1]))))
        return 0
    if args.child_scroll:
        result = scrolling(Path(args.child_scroll[0]), args.frames, args.step, Path(args.child_scroll[1]), args.zoom)
        print("SCROLL " + json.dumps(result))
        return 0

    work = args.work or Path(tempfile.mkdtemp(prefix="photolens-guibench-"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / f"library-{args.photos}.db"
    width, height = (int(v) for v in args.size.split("x"))
    t0 = time.perf_counter()
    files = make_files(work / "files" / "src", args.files, (width, height))
    if not db_path.exists():
        make_library(db_path, files, args.photos)
        link_tree(files, db_path)
    print(f"library: {args.photos:,} photos over {len(files)} files ({args.size}) in {work} "
          f"[{time.perf_counter() - t0:.1f}s]; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)

    import shutil

    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)  # cold thumbnail cache, no remembered first page
    load_before = os.getloadavg()
    floor = paint_floor(args.runs)
    paint = first_paint(db_path, args.runs, data)
    paint["floor_s"] = floor
    warm = paint["grid_warm_median_s"]
    print(f"first paint: splash {paint['splash_median_s']:.2f}s, window {paint['window_median_s']:.2f}s, grid "
          f"with photos: first start {paint['grid_cold_s']:.2f}s, later starts "
          f"{f'{warm:.2f}s' if warm is not None else '–'} (median of {args.runs - 1}); "
          f"torch imported before paint: {paint['torch_imported_before_paint']}", flush=True)
    if floor:
        print(f"  same-run baseline: a bare Qt + numpy + SQLAlchemy process paints a list in {floor:.2f}s; "
              f"grid / baseline = {paint['grid_cold_s'] / floor:.2f} (first start)"
              + (f", {warm / floor:.2f} (later starts)" if warm else "")
              + f"; load average {load_before[0]:.1f} on {os.cpu_count()} CPUs", flush=True)

    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-scroll", str(db_path), str(data),
                           "--frames", str(args.frames), "--step", str(args.step), "--zoom", str(args.zoom)],
                          capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("SCROLL ")), None)
    if line is None:
        print(proc.stdout, proc.stderr[-3000:], file=sys.stderr)
        return 1
    scroll = json.loads(line[7:])
    s, f = scroll["smooth"], scroll["fling"]
    print(f"rows in the model after {scroll['rows_loaded_s']:.2f}s: {scroll['rows']:,}")
    print(f"scrolling {scroll['step_px']}px/frame: median {s['median_ms']} ms, p95 {s['p95_ms']} ms, "
          f"max {s['max_ms']} ms, {s['over_16ms']}/{s['frames']} frames over 16.7 ms")
    b = scroll["baseline_plain_list"]
    print(f"  same-process baseline, a plain QListView of {scroll['rows']:,} names: median {b['median_ms']} ms, "
          f"p95 {b['p95_ms']} ms; photolens / baseline p95 = {s['p95_ms'] / max(b['p95_ms'], 0.01):.2f}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"flinging 3 pages/frame: median {f['median_ms']} ms, p95 {f['p95_ms']} ms, max {f['max_ms']} ms")
    w = scroll["warm_smooth"]
    print(f"scrolling again over cached thumbnails: median {w['median_ms']} ms, p95 {w['p95_ms']} ms, "
          f"max {w['max_ms']} ms")
    print(f"thumbnails decoded {scroll['thumbnails_generated']}, stale requests dropped "
          f"{scroll['requests_dropped_as_stale']}, visible real after 1 s {scroll['visible_real_after_smooth_then_1s']}")
    index = None
    if args.index_photos:
        shutil.rmtree(data, ignore_errors=True)
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-index", str(work), str(data),
                               "--index-photos", str(args.index_photos), "--files", str(args.files),
                               "--size", args.size], capture_output=True, text=True, env=env, timeout=1800, cwd=ROOT)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("INDEX ")), None)
        if line is None:
            print(proc.stdout, proc.stderr[-3000:], file=sys.stderr)
            return 1
        index = json.loads(line[6:])
        lag, steady = index["event_loop_late_ms"], index["event_loop_late_while_embedding_ms"]
        print(f"indexing {index['photos']} photos ({args.size}) through the app: {index['photos_per_s']} photos/s; "
              f"GUI event loop late by median {lag['median']} ms, p95 {lag['p95']} ms, max {lag['max']} ms "
              f"(model loading included); while embedding: median {steady['median']} ms, p95 {steady['p95']} ms, "
              f"max {steady['max']} ms")
    report = {"photos": args.photos, "files": len(files), "size": args.size, "cpus": os.cpu_count(),
              "load_average": os.getloadavg(),
              "platform": os.environ.get("QT_QPA_PLATFORM", "offscreen"), "first_paint": paint, "scroll": scroll,
              "indexing": index}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
