"""Start the real app under an X server on a generated library, drive it, and save screenshots.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python packaging/screenshots.py --out /tmp/photolens-shots

What it does, end to end, with the real window, real thread pools and the real indexing worker:

1. makes a photo library in a temporary folder: the tiny Fashion-MNIST CLIP's held-out renders when that
   fixture is available (``benchmarks.tinyclip``; needs the ``dataset-fashion-mnist`` Debian package and a
   few minutes to train once, reused afterwards), else generated pattern photos with a random tiny model;
   photos get EXIF dates, cameras and GPS positions and are spread over dated folders;
2. the first start without the model's weights: the welcome page saying so with the ways to get it,
   the folder browsable by date without a model, and the model dialog;
3. starts a library with a model (welcome page), adds the folder, pauses indexing for a shot, resumes;
4. browses, selects a photo (details pane), opens the viewer (fit and 100 %), searches by words (and the
   photo context menu), "more like this", a composed query;
5. shows lens group and cluster views, the lens editor (empty, with a preview, with a validation message)
   and the active-lens chip (``photolens.lenses.service``), with lenses made from the photos' vocabulary
   ("item colour": the item's tint whatever the background);
6. exports a selection, opens settings and the unreadable-files list.

The tiny CLIP fixture is used only when it is already built (``--tinyclip DIR``) or when
``--train-tinyclip`` asks for it to be trained; otherwise pattern photos and a random tiny model.

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
    folders = ["2021/summer", "2021/winter", "2022/market", "2023/wardrobe", "2023/shop window",
               "Holidays 2023 in Brittany and Normandy/beach"]
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
        year = int(folders[i % len(folders)][:4]) if folders[i % len(folders)][:4].isdigit() else 2023
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
    if tinyclip_dir is not None:
        # work on a copy: a fixture built elsewhere is reused as is and never rebuilt in place
        shutil.copytree(tinyclip_dir, work / "tinyclip")
        tinyclip_dir = work / "tinyclip"
    print(f"making {count} photos in {photos}", flush=True)
    spec, vocab = make_photos(photos, tinyclip_dir, count)

    from PySide6.QtCore import QPoint
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

    # 1. the very first start, without the model's weights: the welcome page says so and offers the ways
    empty_model = work / "model-without-weights"
    empty_model.mkdir()
    (empty_model / "open_clip_config.json").write_text(json.dumps({"model_cfg": {"embed_dim": 32}}))
    first_library = Library(db=str(work / "data" / "first.db"), model=f"local-dir:{empty_model}")
    first = MainWindow(first_library, GuiSettings(zoom=128), Pools.create(), LensAdapter(first_library, discover=False))
    first.resize(1400, 900)
    first.move(0, 0)
    first.show()
    driver.until(lambda: first.page == "welcome" and "not installed" in first.welcome.model_state.text(), 20,
                 "welcome page stating the missing model")
    driver.shot(first, "01-first-start-without-model")
    first.indexing.add_folders([str(photos)])
    driver.until(lambda: not first.index.running and first.model.rowCount() >= count - 5, 300,
                 "photos browsable without a model")
    driver.pump(2.0)
    driver.shot(first, "02-browsing-without-model")
    first.setup.show_model_dialog()
    driver.until(lambda: first.setup.dialog is not None and first.setup.dialog.isVisible(), 10, "model dialog")
    first.setup.dialog.move(180, 160)
    driver.shot(first.setup.dialog, "03-model-dialog", settle=0.3)
    first.setup.dialog.reject()
    first.close()
    driver.until(lambda: not first.isVisible(), 20, "first window closed")

    # 2. a library with a model
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
    driver.until(lambda: window.page == "welcome" and "ready" in window.welcome.model_state.text(), 20,
                 "welcome page")
    driver.shot(window, "04-welcome")

    # index through the app, pausing once for a shot of the progress bar
    paused = []

    def on_progress(status):
        if status.phase == "embed" and status.done >= min(64, status.total // 3) and not paused:
            paused.append(status)
            window.indexing.toggle_pause()

    window.index.progress.connect(on_progress)
    window.indexing.add_folders([str(photos)])
    driver.until(lambda: bool(paused) or not window.index.running, 300, "indexing progress")
    driver.pump(1.5)
    driver.shot(window, "05-indexing-paused")
    window.indexing.toggle_pause()
    driver.until(lambda: not window.index.running, 600, "indexing to finish")
    driver.until(lambda: window.model.rowCount() >= count - 5 and not window.feeder.busy, 30, "grid")
    window.grid.select_row(3)
    driver.until(lambda: window.details.preview.has_image(), 10, "preview")
    driver.pump(2.0)  # thumbnails
    driver.shot(window, "06-browse-details")

    window.photos.view(window.grid.current_row())
    driver.until(lambda: window.viewer.image.source_width > 0, 20, "viewer image")
    driver.pump(1.0)
    driver.shot(window, "07-viewer")
    window.viewer.image.actual_size()
    driver.shot(window, "07b-viewer-100-percent", settle=0.4)
    window.viewer.close_viewer()

    queries = ["a red bag", "a white sneaker"] if vocab else ["red", "blue squares"]
    window.search_bar.text.setText(queries[0])
    window.search_bar.submit()
    driver.until(lambda: window.grid.title.text().startswith("Results") and window.model.rowCount() > 0, 120,
                 "search results")
    window.grid.select_row(0)
    driver.pump(2.0)
    driver.shot(window, "08-search")
    menu = window.photos.context_menu(window.grid.view.mapToGlobal(QPoint(120, 120)), window.grid.selected_rows())
    driver.shot(window, "08b-photo-context-menu", settle=0.5)
    menu.close()

    first_row = window.model.rows()[0]
    window.browser.more_like_this(first_row.path)
    driver.until(lambda: "like" in window.grid.title.text() and window.model.rowCount() > 0, 60, "similar")
    driver.pump(2.0)
    driver.shot(window, "09-more-like-this")

    window.search_bar.text.setText("on a blue background" if vocab else "at night")
    window.search_bar.submit()
    driver.until(lambda: "background" in window.grid.title.text() or "night" in window.grid.title.text(), 300,
                 "composed query")
    driver.pump(2.0)
    driver.shot(window, "10-composed-query")

    window.search_bar.clear()
    window.browser.clear_search()
    window.sidebar.select_folder(None)
    driver.until(lambda: window.grid.title.text() == "All photos", 30, "browse")
    lens = "item colour" if vocab else (window.lens_summaries[0].name if window.lens_summaries else None)
    if lens and adapter.available:
        window.lens_bar.set_lens(lens)
        window.lens_bar.set_mode("groups")
        driver.until(lambda: window.sections_view.sections, 300, "group view")
        driver.pump(2.5)
        driver.shot(window, "11-lens-groups")
        window.lens_bar.set_mode("clusters")
        driver.until(lambda: "clusters" in window.sections_view.heading.text(), 300, "cluster view")
        driver.pump(2.5)
        driver.shot(window, "12-lens-clusters")
        window.lens_ctl.open_editor(None)
        editor = window.lens_ctl.editor
        editor.move(80, 60)
        driver.shot(editor, "13-lens-editor-new", settle=0.4)
        editor.set_fields(LensFields("background", "Background colour",
                                     list(vocab.get("background") or ["sunny", "rainy", "snowy"]),
                                     ["a photo of an item on a {} background."] if vocab else []))
        editor.refresh_preview()
        driver.until(lambda: editor.preview_view.sections, 300, "editor preview")
        driver.pump(2.0)
        driver.shot(editor, "13b-lens-editor-preview")
        editor.values.setPlainText("red")
        driver.pump(0.3)
        driver.shot(editor, "13c-lens-editor-validation", settle=0.3)
        editor.reject()
        window.lens_bar.set_mode("photos")
        driver.shot(window, "14-lens-chip", settle=1.0)
        window.lens_bar.set_lens(None)

    driver.until(lambda: window.page == "grid" and window.model.rowCount() > 0, 30, "grid again")
    for row in range(6):
        window.grid.view.selectionModel().select(window.model.index(row, 0),
                                                 window.grid.view.selectionModel().SelectionFlag.Select)
    dialog = window.photos.export_selected()
    dialog.move(200, 150)
    export_dir = work / "Exported"
    export_dir.mkdir()
    shutil.copy(window.model.rows()[0].path, export_dir / os.path.basename(window.model.rows()[0].path))
    dialog.destination.setText(str(export_dir))
    dialog.start()
    driver.until(lambda: dialog.result_data is not None, 60, "export")
    driver.shot(dialog, "15-export")
    print("  exported:", sorted(os.listdir(export_dir)), flush=True)
    dialog.reject()

    window.setup.open_settings()
    driver.until(lambda: getattr(window, "settings_dialog", None) is not None, 10, "settings")
    window.settings_dialog.move(200, 120)
    driver.shot(window.settings_dialog, "16-settings")
    window.settings_dialog.reject()
    window.indexing.show_failures()
    driver.until(lambda: getattr(window, "failures_dialog", None) is not None, 10, "unreadable files")
    window.failures_dialog.move(200, 120)
    driver.shot(window.failures_dialog, "17-unreadable-files")
    window.failures_dialog.reject()
    window.close()
    driver.until(lambda: not window.isVisible(), 20, "window closed")
    library.close()
    first_library.close()
    QApplication.processEvents()
    print(f"{len(driver.shots)} screenshots in {out}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--count", type=int, default=400, help="photos in the generated library")
    parser.add_argument("--tinyclip", type=Path, default=ROOT / "bench-data" / "tinyclip",
                        help="a built tiny Fashion-MNIST CLIP fixture folder (copied, never changed)")
    parser.add_argument("--train-tinyclip", action="store_true",
                        help="train the tiny CLIP into --tinyclip first when it is not built (a few minutes)")
    parser.add_argument("--random-model", action="store_true", help="generated patterns + random tiny model")
    args = parser.parse_args()
    tinyclip = None
    if not args.random_model:
        tinyclip = tinyclip_fixture(args.tinyclip, args.train_tinyclip)
    return run(args.out, args.count, tinyclip)


def tinyclip_fixture(folder: Path, train: bool) -> Path | None:
    """The tiny CLIP fixture when it is built (or ``train`` builds it, saying so); else None: pattern photos
    and a random tiny model. Never trains without being asked."""
    try:
        from benchmarks.tinyclip import DATASET_DIR, TinyClipParams, _complete, ensure_tiny_clip
    except ImportError:
        return None
    if _complete(folder, TinyClipParams().fingerprint()):
        return folder
    if train and DATASET_DIR.is_dir():
        print(f"training the tiny CLIP into {folder} (asked for with --train-tinyclip)", flush=True)
        ensure_tiny_clip(folder, log=lambda m: print("tinyclip:", m, flush=True))
        return folder
    print(f"no built tiny CLIP in {folder} (--train-tinyclip builds one): using pattern photos and a random "
          "tiny model", flush=True)
    return None


if __name__ == "__main__":
    sys.exit(main())
