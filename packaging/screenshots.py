"""Start the real app under an X server on a generated library, drive it, and save screenshots.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python packaging/screenshots.py --out /tmp/photolens-shots

What it does, end to end, with the real window, real thread pools and the real indexing worker:

1. makes a photo library in a temporary folder: the tiny Fashion-MNIST CLIP's held-out renders when that
   fixture is available (``benchmarks.tinyclip``; needs the ``dataset-fashion-mnist`` Debian package and a
   few minutes to train once, reused afterwards), else generated pattern photos with a random tiny model;
   photos get EXIF dates, cameras and GPS positions and are spread over dated folders;
2. starts with an empty library (welcome page), adds the folder, pauses indexing for a shot, resumes;
3. browses, selects a photo (details pane), searches by words, "more like this", a composed query;
4. shows lens group and cluster views and the lens editor (``photolens.lenses.service``), with lenses
   made from the photos' vocabulary ("item colour": the item's tint whatever the background);
5. exports a selection, opens settings, and opens a second library whose model has no weights (the
   model-setup dialog).

Screenshots are written to ``--out`` (not committed). Data stays under a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------------------------- library
def make_photos(dest: Path, tinyclip_dir: Path | None, count: int) -> tuple[str, dict]:
    """Fill ``dest`` with photos in dated folders; returns (model spec, vocabulary for lenses)."""
    from PIL import Image

    from tests.images import exif_jpeg, pattern

    rng = random.Random(7)
    cameras = [("Canon", "Canon EOS R6"), ("FUJIFILM", "X-T4"), ("Apple", "iPhone 13"), None]
    places = [(48.8584, 2.2945), (51.5007, -0.1246), (40.6892, -74.0445), None, None]
    folders = ["2021/summer", "2021/winter", "2022/market", "2023/wardrobe", "2023/shop window"]
    vocab: dict = {}
    sources: list[Path]
    if tinyclip_dir is not None:
        from benchmarks.tinyclip import ensure_tiny_clip

        fixture = ensure_tiny_clip(tinyclip_dir, log=lambda m: print("tinyclip:", m, flush=True))
        spec = fixture.model_spec
        vocab = dict(fixture.vocab)
        sources = sorted(fixture.photos_dir.glob("*.jpg"))[:count]
    else:
        from tests.tiny_model import make_tiny_model

        model = make_tiny_model(dest.parent / "tiny-model")
        spec = f"local-dir:{model}"
        sources = []
    for i in range(count):
        folder = dest / folders[i % len(folders)]
        year = int(folders[i % len(folders)][:4])
        taken = dt.datetime(year, 1 + (i * 5) % 12, 1 + (i * 7) % 28, 8 + i % 12, (i * 13) % 60)
        image = Image.open(sources[i]).convert("RGB") if sources else pattern(i, (240, 160))
        image = image.resize((image.width * 2, image.height * 2)) if image.width < 100 else image
        camera = cameras[rng.randrange(len(cameras))]
        exif_jpeg(folder / f"IMG_{i:04d}.jpg", image, taken=taken.strftime("%Y:%m:%d %H:%M:%S"),
                  make=camera[0] if camera else None, model=camera[1] if camera else None,
                  gps=places[rng.randrange(len(places))])
    (dest / "notes.jpg").write_text("not a photo: shows up in the unreadable files list\n")
    return spec, vocab


# --------------------------------------------------------------------------------------------- driving
class Driver:
    def __init__(self, app, out: Path):
        self.app = app
        self.out = out
        self.shots: list[Path] = []

    def pump(self, seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def until(self, condition, timeout: float = 60.0, what: str = "") -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.app.processEvents()
            if condition():
                return True
            time.sleep(0.02)
        print(f"  (timed out waiting for {what or condition})", flush=True)
        return False

    def shot(self, widget, name: str, settle: float = 0.8) -> None:
        self.pump(settle)
        path = self.out / f"{name}.png"
        screen = widget.screen() if hasattr(widget, "screen") else None
        pixmap = widget.grab() if screen is None else screen.grabWindow(0, *widget.frameGeometry().getRect())
        if pixmap.isNull() or pixmap.width() < 50:
            pixmap = widget.grab()
        pixmap.save(str(path))
        self.shots.append(path)
        print(f"  saved {path}", flush=True)


def run(out: Path, count: int, tinyclip_dir: Path | None) -> int:
    work = Path(tempfile.mkdtemp(prefix="photolens-shots-"))
    os.environ["PHOTOLENS_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out.mkdir(parents=True, exist_ok=True)
    photos = work / "Pictures"
    if tinyclip_dir is not None and tinyclip_dir.is_dir():
        # work on a copy: a fixture built elsewhere is reused as is and never rebuilt in place
        shutil.copytree(tinyclip_dir, work / "tinyclip")
        tinyclip_dir = work / "tinyclip"
    print(f"making {count} photos in {photos}", flush=True)
    spec, vocab = make_photos(photos, tinyclip_dir, count)

    from PySide6.QtWidgets import QApplication

    from photolens.gui.app import create_application
    from photolens.gui.lens_adapter import LensAdapter, LensFields
    from photolens.gui.main_window import MainWindow
    from photolens.gui.settings import GuiSettings
    from photolens.gui.tasks import Pools
    from photolens.lenses.definition import LensDefinition
    from photolens.library import Library

    app = create_application([sys.argv[0]])
    driver = Driver(app, out)
    library = Library(db=str(work / "data" / "library.db"), model=spec)
    extra = []
    if vocab.get("tint"):
        extra.append(LensDefinition("item colour", tuple(vocab["tint"]), ("a photo of a {} item.", "a {} thing")))
    if vocab.get("item"):
        extra.append(LensDefinition("item", tuple(vocab["item"]), ("a photo of a {}.",)))
    adapter = LensAdapter(library)
    print(f"lens service: {type(adapter.service).__name__ if adapter.available else adapter.reason}", flush=True)
    for definition in extra if adapter.available else []:
        adapter.service.save_lens(definition)  # lenses made of the photos' own vocabulary
    window = MainWindow(library, GuiSettings(zoom=128), Pools.create(), adapter)
    window.resize(1560, 960)
    window.move(0, 0)
    window.show()
    driver.until(lambda: window.stack.currentIndex() == 0, 10, "welcome page")
    driver.shot(window, "01-welcome")

    # index through the app, pausing once for a shot of the progress bar
    paused = []

    def on_progress(status):
        if status.phase == "embed" and status.done >= min(64, status.total // 3) and not paused:
            paused.append(status)
            window.indexing.toggle_pause()

    window.index.progress.connect(on_progress)
    window.indexing.add_folders([str(photos)])
    driver.until(lambda: bool(paused) or not window.index.running, 300, "indexing progress")
    driver.pump(1.0)
    driver.shot(window, "02-indexing-paused")
    window.indexing.toggle_pause()
    driver.until(lambda: not window.index.running, 600, "indexing to finish")
    driver.until(lambda: window.model.rowCount() >= count - 5 and not window.feeder.busy, 30, "grid")
    window.grid.select_row(3)
    driver.until(lambda: window.details.preview.has_image(), 10, "preview")
    driver.pump(2.0)  # thumbnails
    driver.shot(window, "03-browse-details")

    queries = ["a red bag", "a white sneaker"] if vocab else ["red", "blue squares"]
    window.search_bar.text.setText(queries[0])
    window.search_bar.submit()
    driver.until(lambda: window.grid.title.text().startswith("Results") and window.model.rowCount() > 0, 120,
                 "search results")
    window.grid.select_row(0)
    driver.pump(2.0)
    driver.shot(window, "04-search")

    first = window.model.rows()[0]
    window.browser.more_like_this(first.path)
    driver.until(lambda: "like" in window.grid.title.text() and window.model.rowCount() > 0, 60, "similar")
    driver.pump(2.0)
    driver.shot(window, "05-more-like-this")

    window.search_bar.text.setText("on a blue background" if vocab else "at night")
    window.search_bar.submit()
    driver.until(lambda: "background" in window.grid.title.text() or "night" in window.grid.title.text(), 300,
                 "composed query")
    driver.pump(2.0)
    driver.shot(window, "06-composed-query")

    window.search_bar.clear()
    window.search_bar.submit()  # an empty search goes back to browsing
    window.sidebar.select_folder(None)
    driver.until(lambda: window.grid.title.text() == "All photos", 30, "browse")
    lens = "item colour" if vocab else (adapter.list_lenses()[0].name if adapter.available else None)
    if lens and adapter.available:
        window.lens_bar.set_lens(lens)
        window.lens_bar.set_mode("groups")
        driver.until(lambda: window.sections_view.sections, 300, "group view")
        driver.pump(2.5)
        driver.shot(window, "07-lens-groups")
        window.lens_bar.set_mode("clusters")
        driver.until(lambda: "clusters" in window.sections_view.heading.text(), 300, "cluster view")
        driver.pump(2.5)
        driver.shot(window, "08-lens-clusters")
        editor = window.open_lens_editor(None)
        editor.move(80, 60)
        editor.set_fields(LensFields("background", "Background colour",
                                     list(vocab.get("background") or ["sunny", "rainy", "snowy"]),
                                     ["a photo of an item on a {} background."] if vocab else []))
        editor.refresh_preview()
        driver.until(lambda: editor.preview_view.sections, 300, "editor preview")
        driver.pump(2.0)
        driver.shot(editor, "09-lens-editor")
        editor.values.setPlainText("red")
        driver.pump(0.3)
        driver.shot(editor, "09b-lens-editor-validation", settle=0.3)
        editor.reject()
        window.lens_bar.set_lens(None)
        window.lens_bar.set_mode("photos")

    driver.until(lambda: window.stack.currentIndex() == 1 and window.model.rowCount() > 0, 30, "grid again")
    for row in range(6):
        window.grid.view.selectionModel().select(window.model.index(row, 0),
                                                 window.grid.view.selectionModel().SelectionFlag.Select)
    dialog = window.export_selected()
    dialog.move(200, 150)
    export_dir = work / "Exported"
    export_dir.mkdir()
    shutil.copy(window.model.rows()[0].path, export_dir / os.path.basename(window.model.rows()[0].path))
    dialog.destination.setText(str(export_dir))
    dialog.start()
    driver.until(lambda: dialog.result_data is not None, 60, "export")
    driver.shot(dialog, "10-export")
    print("  exported:", sorted(os.listdir(export_dir)), flush=True)
    dialog.reject()

    settings = window.open_settings()
    settings.move(200, 120)
    driver.shot(settings, "11-settings")
    settings.reject()
    failures = window.show_failures()
    failures.move(200, 120)
    driver.shot(failures, "12-unreadable-files")
    failures.reject()

    # a second library whose model folder has no weights: the model-setup dialog
    empty_model = work / "model-without-weights"
    empty_model.mkdir()
    (empty_model / "open_clip_config.json").write_text(json.dumps({"model_cfg": {"embed_dim": 32}}))
    library2 = Library(db=str(work / "data" / "second.db"), model=f"local-dir:{empty_model}")
    window2 = MainWindow(library2, GuiSettings(), Pools.create(), LensAdapter(library2, discover=False))
    window2.resize(1200, 800)
    window2.move(0, 0)
    window2.show()
    driver.until(lambda: window2.model_dialog is not None and window2.model_dialog.isVisible(), 20, "model dialog")
    window2.model_dialog.move(180, 160)
    driver.shot(window2, "13-model-missing", settle=1.0)
    driver.shot(window2.model_dialog, "13b-model-missing-dialog", settle=0.2)
    window2.model_dialog.reject()
    window2.close()
    window.close()
    library2.close()
    library.close()
    QApplication.processEvents()
    print(f"{len(driver.shots)} screenshots in {out}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--count", type=int, default=400, help="photos in the generated library")
    parser.add_argument("--tinyclip", type=Path, default=ROOT / "bench-data" / "tinyclip",
                        help="tiny Fashion-MNIST CLIP fixture folder (copied; built in the copy when incomplete)")
    parser.add_argument("--random-model", action="store_true", help="generated patterns + random tiny model")
    args = parser.parse_args()
    tinyclip = None
    if not args.random_model:
        try:
            from benchmarks.tinyclip import DATASET_DIR

            tinyclip = args.tinyclip if DATASET_DIR.is_dir() else None
        except ImportError:
            tinyclip = None
    return run(args.out, args.count, tinyclip)


if __name__ == "__main__":
    sys.exit(main())
