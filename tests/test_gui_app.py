"""Startup and model setup: the app paints without importing torch, the model dialog appears when
weights are missing (and the rest works without them), settings are typed and versioned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from photolens.gui.app import effective_model
from photolens.gui.model_setup import check_model, describe_size
from photolens.gui.settings import SCHEMA_VERSION, GuiSettings, load_settings, save_settings, settings_path
from tests.test_gui_support import db_allowed, grid_names

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


def no_weights_model(folder: Path) -> str:
    """A local model folder with its config but without weights."""
    from tests.tiny_model import TINY_CONFIG

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIG, "preprocess_cfg": {}}))
    return f"local-dir:{folder}"


def test_first_start_without_a_model_explains_itself_and_never_loops(qtbot, make_window, tmp_path: Path,
                                                                      photo_root: Path, tiny_spec: str, tiny_embedder):
    # (tiny_embedder: torch is imported once per session; the indexer imports it to try the model)
    from photolens.library import Library

    spec = no_weights_model(tmp_path / "no-weights")
    library = Library(db=str(tmp_path / "lib.db"), model=spec)
    try:
        window = make_window(library, check_model_on_start=True)
        # the welcome page says the model is missing and offers the ways to get it; no dialog pops up
        qtbot.waitUntil(lambda: "not installed" in window.welcome.model_state.text(), timeout=5000)
        assert window.page == "welcome"
        assert window.welcome.folder_button.isVisibleTo(window) and window.welcome.file_button.isVisibleTo(window)
        assert not window.welcome.download_button.isVisibleTo(window)  # a local folder cannot be downloaded
        assert window.setup.dialog is None

        # adding a folder shows its photos (dates read without a model), still without a dialog
        with qtbot.waitSignal(window.index.finished, timeout=60_000) as done:
            window.welcome.folders_chosen.emit([str(photo_root)])
        outcome = done.args[0]
        assert outcome.model_error and outcome.summary.embedded == 0
        qtbot.waitUntil(lambda: window.model.rowCount() == 13 and not window.feeder.busy, timeout=5000)
        assert window.page == "grid" and grid_names(window)[-1] == "paris.jpg"  # newest first, dates known
        assert window.setup.dialog is None
        assert window.grid.notice.isVisibleTo(window) and "Get the model" in window.grid.notice_button.text()
        window.grid.select_row(0)
        assert window.details.field_text("status").startswith("not embedded")
        assert not window.details.more_button.isEnabled()

        # folder clicks never open the dialog
        for folder in (str(photo_root / "sub"), None, str(photo_root / "trip"), None):
            window.sidebar.select_folder(folder)
        assert window.setup.dialog is None

        # the first search that needs the model asks once; the same cause does not ask again
        window.search_bar.text.setText("dog")
        window.search_bar.submit()
        qtbot.waitUntil(lambda: window.setup.dialog is not None and window.setup.dialog.isVisible(), timeout=10_000)
        assert "Search needs the model" in window.grid.banner.text()
        assert spec in window.setup.dialog.findChildren(QLabel)[0].text()
        window.setup.dialog.reject()  # "Continue without a model"
        qtbot.waitUntil(lambda: window.setup.dialog is None or not window.setup.dialog.isVisible(), timeout=5000)
        window.search_bar.submit()
        qtbot.wait(200)
        assert window.setup.dialog is None or not window.setup.dialog.isVisible()

        # ⊗ goes back to browsing, and the old query does not come back on the next folder click
        window.search_bar.text.clear()
        qtbot.waitUntil(lambda: window.grid.title.text() == "All photos", timeout=5000)
        window.sidebar.select_folder(str(photo_root / "sub"))
        qtbot.waitUntil(lambda: window.grid.title.text() == "sub", timeout=5000)
        assert window.browser.request is None

        # a model appears: embedding starts by itself and the views follow
        with qtbot.waitSignal(window.index.finished, timeout=120_000) as done:
            window.setup.change_model(tiny_spec)
        assert done.args[0].summary.embedded == 13
        qtbot.waitUntil(lambda: window.setup.model_ready is True, timeout=10_000)
        assert not window.grid.notice.isVisibleTo(window)
        with db_allowed():
            assert window.library.status()["embedded"] == 13
        window.grid.select_row(0)
        qtbot.waitUntil(lambda: window.details.field_text("status") == "searchable", timeout=5000)
    finally:
        library.close()


def test_model_dialog_choosing_a_folder_validates_it(qtbot, tmp_path: Path, tiny_spec: str):
    from photolens.embedding.spec import parse_model_spec
    from photolens.gui.dialogs.model_missing import ModelMissingDialog
    from photolens.gui.tasks import TaskRunner

    spec = parse_model_spec("ViT-B-32-256:datacomp_s34b_b86k")
    calls = []

    def fake_download(spec, progress, cancel):
        calls.append(spec.text)
        progress(50, 100)
        raise RuntimeError("no network here")

    runner = TaskRunner()
    dialog = ModelMissingDialog(spec, "missing", runner, downloader=fake_download)
    qtbot.addWidget(dialog)
    assert "about 604 MB" in dialog.download_button.text()
    assert dialog.download_button.isVisibleTo(dialog)
    dialog.start_download()
    qtbot.waitUntil(lambda: "Download failed" in dialog.status.text(), timeout=5000)
    assert "no network here" in dialog.status.text() and calls == [spec.text]
    assert dialog.download_button.isEnabled()
    assert not dialog.use_spec(no_weights_model(tmp_path / "empty"))
    assert "no weights file" in dialog.status.text()
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        assert dialog.use_spec(tiny_spec)
    assert chosen.args == [tiny_spec] and dialog.chosen_spec == tiny_spec
    runner.shutdown(5000)


def test_download_cancel_stops_it_and_says_so(qtbot):
    import threading

    from photolens.embedding.spec import parse_model_spec
    from photolens.gui.dialogs.model_missing import ModelMissingDialog
    from photolens.gui.model_setup import DownloadCancelled
    from photolens.gui.tasks import TaskRunner

    stopped = threading.Event()

    def endless_download(spec, progress, cancel):
        done = 0
        while not cancel.is_set():
            done += 1
            progress(done, 10_000_000)
            cancel.wait(0.01)
        stopped.set()
        raise DownloadCancelled()

    runner = TaskRunner()
    dialog = ModelMissingDialog(parse_model_spec("ViT-B-32-256:datacomp_s34b_b86k"), "missing", runner,
                                downloader=endless_download)
    qtbot.addWidget(dialog)
    dialog.start_download()
    qtbot.waitUntil(lambda: "Downloading" in dialog.status.text(), timeout=5000)
    dialog.reject()  # the first press cancels the download (the dialog stays)
    assert stopped.wait(5) and "cancelled" in dialog.status.text()
    assert dialog.download_button.isEnabled() and not dialog.downloading
    assert runner.shutdown(5000)


def test_progress_bar_class_reports_bytes_and_stops_on_cancel():
    import threading

    from photolens.gui.model_setup import DownloadCancelled, progress_bar_class

    seen, cancel = [], threading.Event()
    bar = progress_bar_class(lambda done, total: seen.append((done, total)), cancel)(total=100)
    bar.update(40)
    bar.update(30)
    assert seen == [(40, 100), (70, 100)]
    cancel.set()
    try:
        bar.update(10)
        raise AssertionError("a cancelled download must stop")
    except DownloadCancelled:
        pass
    bar.close()


def test_known_hub_repos_match_open_clip(tiny_embedder):
    from photolens.gui.model_setup import KNOWN_HUB_REPOS
    from photolens.torch_compat import import_open_clip

    open_clip = import_open_clip()
    for text, repo in KNOWN_HUB_REPOS.items():
        arch, tag = text.split(":")
        assert open_clip.get_pretrained_cfg(arch, tag)["hf_hub"].rstrip("/") == repo


def test_check_model_needs_no_torch_for_local_specs(tmp_path: Path, tiny_spec: str):
    from photolens.embedding.spec import parse_model_spec

    assert check_model(parse_model_spec(tiny_spec)).available is True
    missing = check_model(parse_model_spec(no_weights_model(tmp_path / "m")))
    assert missing.available is False and "no weights file" in missing.message
    default = check_model(parse_model_spec("ViT-B-32-256:datacomp_s34b_b86k"))  # known repo: the HF cache is asked
    assert default.available is False and "Looked in" in default.message
    assert check_model(parse_model_spec("RN50:openai")).available is None  # only open_clip knows: at first use
    assert describe_size(parse_model_spec("ViT-L-14:laion2b_s32b_b82k")) == "about 1.7 GB"
    assert describe_size(parse_model_spec("MyNet:tag")) == "size unknown"


def test_settings_roundtrip_and_versions(tmp_path: Path):
    path = tmp_path / "gui.ini"
    settings = GuiSettings(model="local-dir:/m", zoom=200, sort="name", resume_index=True)
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded == settings and isinstance(loaded.zoom, int) and loaded.resume_index is True
    text = path.read_text()
    assert f"schema_version={SCHEMA_VERSION}" in text
    # out-of-range values are clamped; a file from a newer version is not clobbered
    path.write_text(text.replace("zoom=200", "zoom=9999"))
    assert load_settings(path).zoom == 384
    newer = path.read_text().replace(f"schema_version={SCHEMA_VERSION}", "schema_version=99")
    path.write_text(newer)
    assert load_settings(path) == GuiSettings()
    save_settings(GuiSettings(zoom=100), path)
    assert path.read_text() == newer
    assert str(settings_path()).startswith(os.environ["PHOTOLENS_DATA_DIR"])  # tests never touch real settings


def test_effective_model_precedence(monkeypatch):
    monkeypatch.delenv("PHOTOLENS_MODEL", raising=False)
    assert effective_model(None, "") is None
    assert effective_model(None, "saved") == "saved"
    monkeypatch.setenv("PHOTOLENS_MODEL", "env")
    assert effective_model(None, "saved") == "env"
    assert effective_model("arg", "saved") == "arg"


def test_app_paints_before_torch_is_imported(tmp_path: Path):
    """The real entry point, in a fresh interpreter: the window paints and torch is still not imported."""
    script = (
        "import sys, os\n"
        "from PySide6.QtCore import QTimer, QEvent, QObject\n"
        "import photolens.gui.app as app_module\n"
        "from photolens.gui import main_window\n"
        "seen = {}\n"
        "class Spy(QObject):\n"
        "    def eventFilter(self, obj, event):\n"
        "        if event.type() == QEvent.Type.Paint and 'painted' not in seen:\n"
        "            seen['painted'] = True\n"
        "            seen['torch'] = 'torch' in sys.modules\n"
        "            seen['open_clip'] = 'open_clip' in sys.modules\n"
        "        return False\n"
        "spy = Spy()\n"
        "orig = main_window.MainWindow.__init__\n"
        "def init(self, *a, **k):\n"
        "    orig(self, *a, **k)\n"
        "    self.installEventFilter(spy)\n"
        "    QTimer.singleShot(1500, self.close)\n"
        "main_window.MainWindow.__init__ = init\n"
        "rc = app_module.main(db=sys.argv[1])\n"
        "print('RESULT', rc, seen.get('painted'), seen.get('torch'), seen.get('open_clip'))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "lib.db")], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)
    assert "RESULT 0 True False False" in proc.stdout, proc.stdout + proc.stderr
