"""Startup and model setup: the app paints without importing torch, the model dialog appears when
weights are missing (and the rest works without them), settings are typed and versioned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from photolens.gui.app import effective_model
from photolens.gui.model_setup import check_model, describe_size
from photolens.gui.settings import SCHEMA_VERSION, GuiSettings, load_settings, save_settings, settings_path
from tests.test_gui_support import grid_names

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


def no_weights_model(folder: Path) -> str:
    """A local model folder with its config but without weights."""
    from tests.tiny_model import TINY_CONFIG

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIG, "preprocess_cfg": {}}))
    return f"local-dir:{folder}"


def test_model_dialog_appears_when_weights_are_missing_and_browsing_still_works(qtbot, make_window, tmp_path: Path,
                                                                               photo_root: Path, tiny_embedder):
    # (tiny_embedder: torch is imported once per session; the indexer imports it to try the model)
    from photolens.library import Library

    spec = no_weights_model(tmp_path / "no-weights")
    library = Library(db=str(tmp_path / "lib.db"), model=spec)
    try:
        window = make_window(library, check_model_on_start=True)
        qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible(), timeout=5000)
        dialog = window.model_dialog
        assert spec in dialog.findChildren(type(dialog.status))[0].text()
        assert "no weights file" in dialog.message.text()
        assert not dialog.download_button.isVisible()  # a local folder cannot be downloaded
        assert dialog.folder_button.isVisible() and dialog.file_button.isVisible()
        dialog.reject()  # "Continue without a model"

        # indexing without the model still lists photos with their dates (metadata only)
        with qtbot.waitSignal(window.index.finished, timeout=60_000) as done:
            window.add_folders([str(photo_root)])
        outcome = done.args[0]
        assert outcome.model_error and outcome.summary.embedded == 0
        qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
        assert grid_names(window)[0] == "paris.jpg"  # dates were read without a model
        qtbot.waitUntil(lambda: window.model_dialog.isVisible(), timeout=5000)  # shown again after the run
        window.model_dialog.reject()
        window.grid.select_row(0)
        assert window.details.field_text("status").startswith("not embedded")
        assert not window.details.more_button.isEnabled()

        # a search needs the model: the dialog comes back instead of an error
        window.model_dialog.close()
        window.search_bar.text.setText("dog")
        window.search_bar.submit()
        qtbot.waitUntil(lambda: window.model_dialog.isVisible(), timeout=10_000)
        assert "Search needs the model" in window.grid.banner.text()
    finally:
        library.close()


def test_model_dialog_choosing_a_folder_validates_it(qtbot, tmp_path: Path, tiny_spec: str):
    from PySide6.QtCore import QThreadPool

    from photolens.embedding.spec import parse_model_spec
    from photolens.gui.dialogs.model_missing import ModelMissingDialog

    spec = parse_model_spec("ViT-B-32-256:datacomp_s34b_b86k")
    calls = []

    def fake_download(spec, progress, cancel):
        calls.append(spec.text)
        progress(50, 100)
        raise RuntimeError("no network here")

    dialog = ModelMissingDialog(spec, "missing", QThreadPool.globalInstance(), downloader=fake_download)
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


def test_check_model_needs_no_torch_for_local_specs(tmp_path: Path, tiny_spec: str):
    from photolens.embedding.spec import parse_model_spec

    assert check_model(parse_model_spec(tiny_spec)).available is True
    missing = check_model(parse_model_spec(no_weights_model(tmp_path / "m")))
    assert missing.available is False and "no weights file" in missing.message
    assert check_model(parse_model_spec("ViT-B-32-256:datacomp_s34b_b86k")).available is None  # decided at first use
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
