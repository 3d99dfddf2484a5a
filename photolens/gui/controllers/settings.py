"""Settings and the model: the settings dialog, whether the search model is here (checked in a task at
start), the ways to get it (download, a model folder, a checkpoint file), and switching models safely.

No nagging: a missing model is stated on the welcome page and in a notice above the grid with one button;
the model dialog opens by itself at most once per cause (when a search first needs the model), and
otherwise only from Library → Model… or that button. Switching models drops every result still on its way,
stops indexing, opens the new library off the GUI thread, and closes the old one only once the tasks that
use it have finished.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt

from photolens import browse
from photolens.gui import settings as gui_settings
from photolens.gui.dialogs import ask
from photolens.gui.dialogs.model_missing import ModelMissingDialog, validate_choice
from photolens.gui.dialogs.settings_dialog import LibraryOptions, SettingsDialog
from photolens.gui.model_setup import ModelCheck, can_download, check_model, describe_size

NOTICE_ACTION = "model"


def read_options(db: Any) -> LibraryOptions:
    return LibraryOptions(list(browse.get_setting(db, "excludes", []) or []),
                          bool(browse.get_setting(db, "follow_symlinks", False)),
                          bool(browse.get_setting(db, "include_hidden", False)),
                          str(browse.get_setting(db, "index_mode", "auto") or "auto"))


def write_settings(library: Any, options: LibraryOptions, removed: list[str]) -> None:
    db = library.db
    browse.set_setting(db, "excludes", options.excludes)
    browse.set_setting(db, "follow_symlinks", options.follow_symlinks)
    browse.set_setting(db, "include_hidden", options.include_hidden)
    browse.set_setting(db, "index_mode", options.index_mode)
    for folder in removed:
        library.remove_root(folder)


class SettingsController(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        self.check: ModelCheck | None = None  # None until the check has run
        self.shown_causes: set[str] = set()
        self.dialog: ModelMissingDialog | None = None
        self.options = LibraryOptions()
        self.switching = False

    # ------------------------------------------------------------------ is the model here?
    @property
    def model_ready(self) -> bool | None:
        """True (weights here), False (missing) or None (not known before the first use, or not checked yet)."""
        return None if self.check is None else self.check.available

    def check_model(self) -> None:
        spec = self.w.library.spec
        self.w.welcome.set_model_state(None, "", spec.text, checking=True)
        self.w.runner.run("model-check", "io", lambda: check_model(spec), self._checked, self.w.report_error)

    def _checked(self, check: ModelCheck) -> None:
        self.check = check
        self._show_state()
        self.w.indexing.maybe_auto_index()

    def _show_state(self) -> None:
        w, check = self.w, self.check
        spec = w.library.spec
        ready = None if check is None else check.available
        download = f"Download ({describe_size(spec)})" if can_download(spec) else ""
        w.welcome.set_model_state(ready, (check.detail or _short(check.message)) if check else "", spec.text, download)
        if ready is False:
            w.grid.set_notice(f"Search needs the model “{spec.text}”, which is not on this computer. Browsing by "
                              "folder and date works without it.", "Get the model…", NOTICE_ACTION)
        else:
            w.grid.set_notice("")

    def model_missing(self, message: str, ask_now: bool = False) -> None:
        """The model turned out to be missing (a search or an indexing run tried it). The dialog opens by
        itself only when ``ask_now`` (the user asked for something that needs it) and only once per cause."""
        self.check = ModelCheck(False, message)
        self._show_state()
        cause = f"{self.w.library.spec.text}\n{message.splitlines()[0] if message else ''}"
        if ask_now and cause not in self.shown_causes:
            self.shown_causes.add(cause)
            self.show_model_dialog(message)

    def show_model_dialog(self, message: str | None = None, download: bool = False) -> ModelMissingDialog:
        if self.dialog is not None and self.dialog.isVisible():
            return self.dialog
        spec = self.w.library.spec
        ready = self.model_ready is True
        if message is None:
            message = (self.check.message if self.check and self.check.message else
                       f"Model in use: {spec.text}" + (" (its weights are on this computer)." if ready else "."))
        dialog = ModelMissingDialog(spec, message, self.w.runner, self.w, ready=ready)
        dialog.model_chosen.connect(self.change_model)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        if download:
            dialog.start_download()
        return dialog

    def welcome_action(self, action: str) -> None:
        """A button of the welcome page or the notice: download, a model folder or a checkpoint file."""
        if action in ("download", NOTICE_ACTION):
            self.show_model_dialog(download=action == "download")
            return
        if action == "folder":
            folder = ask.pick_folder(self.w, "Choose an open_clip model folder")
            spec = f"local-dir:{folder}" if folder else ""
        else:
            path = ask.pick_file(self.w, "Choose a checkpoint file", ask.CHECKPOINT_FILTER)
            spec = f"{self.w.library.spec.arch or 'ViT-B-32-256'}:{path}" if path else ""
        if spec:
            self.w.runner.run("model-validate", "io", lambda: validate_choice(spec),
                              lambda problem: self._validated(spec, problem), self.w.report_error)

    def _validated(self, spec: str, problem: str | None) -> None:
        if problem:
            self.w.grid.show_message(f"Cannot use that model: {problem}", error=True)
            ask.inform(self.w, "Cannot use that model", problem)
            return
        self.change_model(spec)

    # ------------------------------------------------------------------ switching models
    def change_model(self, spec_text: str, remember: bool = True) -> None:
        """Use another model (remembered in the settings): reopen the library with it, safely."""
        w = self.w
        if remember:
            w.settings.model = spec_text
            gui_settings.save_settings(w.settings)
        self.switching = True
        w.runner.invalidate_all()  # nothing computed with the old model reaches the views
        w.info_label.setText(f"Switching to the model {spec_text}…")
        if w.indexing.index.running:
            w.indexing.index.cancel()
            w.indexing.index.finished.connect(lambda _o: self._open_library(spec_text, remember),
                                              Qt.ConnectionType.SingleShotConnection)
            return
        self._open_library(spec_text, remember)

    def _open_library(self, spec_text: str, remember: bool) -> None:
        from photolens.library import Library

        url = self.w.library.db.url
        self.w.runner.run("model-switch", "db", lambda: Library(db=url, model=spec_text),
                          lambda library: self._swap(library, spec_text, remember), self._switch_failed)

    def _switch_failed(self, exc: BaseException) -> None:
        self.switching = False
        self.w.report_error(exc)

    def _swap(self, library: Any, spec_text: str, remember: bool) -> None:
        w = self.w
        old = w.library
        w.set_library(library)
        self.switching = False
        self.check = None
        w.runner.after_current(lambda: w.runner.run(f"retire-{id(old)}", "db", old.close, lambda _r: None))
        w.indexing.forget_auto()
        self.check_model()
        w.indexing.refresh_library(browse_after=True)
        if remember:
            w.info_label.setText(f"Model: {spec_text}. Photos are embedded with it in the background.")

    # ------------------------------------------------------------------ the settings dialog
    def open_settings(self) -> None:
        library = self.w.library
        self.w.runner.run("options", "db", lambda: read_options(library.db), self._open_settings_with,
                          self.w.report_error)

    def _open_settings_with(self, options: LibraryOptions) -> SettingsDialog:
        w = self.w
        self.options = options
        dialog = SettingsDialog(w.settings, options, list(w.indexing.roots), w.library.spec.text,
                                hasattr(w.library, "remove_root"), "", w)
        dialog.clear_cache_requested.connect(self.clear_thumbnail_cache)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.values()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        w.settings_dialog = dialog
        dialog.open()
        return dialog

    def apply_settings(self, result: Any) -> None:
        w = self.w
        model_changed = result.settings.model != w.settings.model
        mode_changed = result.options.index_mode != self.options.index_mode
        w.settings = result.settings
        gui_settings.save_settings(w.settings)
        w.thumbnails.set_memory_limit(w.settings.memory_cache_mb * 1024 * 1024)
        self.options = result.options
        library = w.library

        def written(_r: object) -> None:
            self.prune_thumbnail_cache()
            if model_changed and result.settings.model:
                self.change_model(result.settings.model)
            elif mode_changed:
                self.change_model(w.library.spec.text, remember=False)  # reopen: the index layer reads the mode
            if result.added_folders:
                w.indexing.add_folders(result.added_folders)
            elif result.removed_folders:
                w.indexing.refresh_library(browse_after=True)

        w.runner.run("settings-write", "db", lambda: write_settings(library, result.options, result.removed_folders),
                     written, w.report_error)

    def prune_thumbnail_cache(self) -> None:
        disk, limit = self.w.thumbnails.disk, self.w.settings.thumbnail_cache_mb * 1024 * 1024
        self.w.runner.run("prune", "io", lambda: disk.prune(limit), lambda _n: None, self.w.report_error)

    def clear_thumbnail_cache(self) -> None:
        w = self.w
        disk = w.thumbnails.disk
        w.thumbnails.memory.clear()
        w.thumbnails.forget_failures()
        w.runner.run("prune", "io", disk.clear, lambda n: w.info_label.setText(f"Removed {n:,} cached thumbnails."),
                     w.report_error)

    # ------------------------------------------------------------------ help
    def show_data_locations(self) -> None:
        w = self.w
        ask.inform(w, "Where is my data?", f"Library database: {w.library.db.url}\n"
                   f"Thumbnails: {w.thumbnails.disk.folder}\nSettings: {gui_settings.settings_path()}\n"
                   f"Model: {w.library.spec.text}")

    def show_about(self) -> None:
        from photolens import __version__

        ask.inform(self.w, "About photolens", f"<b>photolens {__version__}</b><p>Organise a photo library by "
                   "meaning: CLIP search, lenses and clusters, all on your computer.</p>", rich=True)


def _short(message: str) -> str:
    first = message.splitlines()[0] if message else ""
    return first if len(first) < 160 else first[:157] + "…"
