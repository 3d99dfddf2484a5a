"""Lenses in the window: the group and cluster views, a section shown in the grid, the lens editor (with its
bounded live preview), deleting, importing and exporting lenses, and the active-lens chip that shows which
lens searches go through (one click removes it)."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from photolens import browse
from photolens.gui.dialogs import ask
from photolens.gui.dialogs.lens_editor import LensEditorDialog
from photolens.gui.lens_adapter import LensFields, Section
from photolens.gui.widgets.sections_view import STRIP_PHOTOS, SectionData

LENS_SAMPLE = 300  # photos in the lens editor's live preview


def section_data(db: Any, sections: list[Section]) -> list[SectionData]:
    """Rows for the first photos of each section (what the strips show), read in one pass."""
    wanted = [pid for s in sections for pid in s.photo_ids[:STRIP_PHOTOS]]
    rows = browse.photos_by_ids(db, wanted)
    return [SectionData(s, [rows[i] for i in s.photo_ids[:STRIP_PHOTOS] if i in rows]) for s in sections]


def sample_ids(db: Any, folder: str | None, size: int = LENS_SAMPLE) -> list[int]:
    """An even sample of the folder's photos (the lens editor previews its groups on it)."""
    rows = browse.list_photos(db, folder, sort="name")
    step = max(1, len(rows) // size)
    return [r.id for r in rows[::step]][:size]


class LensController(QObject):
    sections_shown = Signal()

    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        self.editor: LensEditorDialog | None = None

    # ------------------------------------------------------------------ picking a lens and a view
    def lens_changed(self, lens: str | None) -> None:
        w = self.w
        w.search_bar.lens_chip.set_lens(lens if w.lenses.available else None)
        if lens is None:
            w.show_page("grid")
            w.browser.reload()
        elif w.lens_bar.mode != "photos":
            self.show_lens_view()
        elif w.browser.request is not None:
            w.browser.search(w.browser.request)  # the results now go through the lens

    def clear_lens(self) -> None:
        self.w.lens_bar.set_lens(None)

    def mode_changed(self, mode: str) -> None:
        if mode == "photos":
            self.w.show_page("grid")
            if self.w.browser.section is None:
                self.w.browser.reload()
        else:
            self.show_lens_view()

    def k_changed(self, k: int) -> None:
        self.w.settings.cluster_k = k
        if self.w.lens_bar.mode == "clusters":
            self.show_lens_view()

    def show_lens_view(self) -> None:
        """Group or cluster the current folder through the chosen lens."""
        w = self.w
        lens, mode, k = w.lens_bar.lens, w.lens_bar.mode, w.lens_bar.k.value()
        if not lens or mode == "photos" or not w.lenses.available:
            return
        w.show_page("sections")
        folder = w.browser.folder
        scope = os.path.basename(folder.rstrip(os.sep)) if folder else "all photos"
        w.sections_view.set_message(f"{'Grouping' if mode == 'groups' else 'Clustering'} {scope} by {lens}…")
        library, lenses = w.library, w.lenses

        def run() -> list[SectionData]:
            ids = [r.id for r in browse.list_photos(library.db, folder, sort="name")]
            sections = lenses.group(lens, ids) if mode == "groups" else lenses.cluster(lens, ids, k or None)
            return section_data(library.db, sections)

        def done(data: list[SectionData]) -> None:
            what = "groups" if mode == "groups" else "clusters"
            total = sum(d.section.count for d in data)
            w.sections_view.set_sections(data, heading=f"{lens}: {what} of {scope} ({total:,} photos)")
            if any(s.name == lens and s.builtin for s in w.lens_summaries):
                w.indexing.refresh_library()  # a preset is saved when first used: list it with the saved lenses
            self.sections_shown.emit()

        def failed(exc: BaseException) -> None:
            w.sections_view.set_message(f"Cannot show {lens}: {exc}")
            w.report_error(exc)

        w.runner.run("photos", "model", run, done, failed)

    def open_section(self, section: Section) -> None:
        """Show every photo of a group or cluster in the grid."""
        w = self.w
        w.browser.section = section
        w.browser.request = None
        lens = w.lens_bar.lens or ""
        db = w.library.db
        w.lens_bar.blockSignals(True)
        w.lens_bar.set_mode("photos")
        w.lens_bar.blockSignals(False)
        w.lens_bar._sync_enabled()
        w.browser.show_rows(f"{lens}: {section.title}", lambda: browse.rows_in_order(db, section.photo_ids),
                            "relevance", relevance=True)

    # ------------------------------------------------------------------ the editor
    def open_editor(self, name: str | None = None) -> None:
        """The lens editor, empty or with a saved lens (read in a task first)."""
        if not name:
            self._open_editor_with(None)
            return
        lenses = self.w.lenses

        def read() -> LensFields:
            summary = lenses.get(name)
            return LensFields(summary.name, summary.description, list(summary.values), list(summary.templates))

        self.w.runner.run("lens-get", "db", read, self._open_editor_with, self.w.report_error)

    def _open_editor_with(self, fields: LensFields | None) -> LensEditorDialog:
        w = self.w
        library, lenses, folder = w.library, w.lenses, w.browser.folder

        def preview(lens_fields: LensFields) -> list[SectionData]:
            return section_data(library.db, lenses.preview_group(lens_fields, sample_ids(library.db, folder)))

        dialog = LensEditorDialog(lenses, w.runner, w.thumbnails, preview, fields, w, presets=w.lens_presets)
        dialog.saved.connect(self.lens_saved)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.editor = dialog
        dialog.open()
        return dialog

    def lens_saved(self, name: str) -> None:
        self.w.indexing.refresh_library()
        QTimer.singleShot(0, lambda: self.w.lens_bar.set_lens(name))

    # ------------------------------------------------------------------ delete, import, export
    def delete_lens(self, name: str, confirm: bool = True) -> None:
        if confirm:
            ask.confirm(self.w, "Delete lens", f"Delete the lens “{name}”? Photos are not affected.",
                        lambda: self.delete_lens(name, confirm=False))
            return
        lenses = self.w.lenses
        self.w.runner.run("lens-delete", "db", lambda: lenses.delete(name), lambda _ok: self._deleted(name),
                          self.w.report_error)

    def _deleted(self, name: str) -> None:
        if self.w.lens_bar.lens == name:
            self.w.lens_bar.set_lens(None)
        self.w.indexing.refresh_library()

    def import_lens(self) -> None:
        path = ask.pick_file(self.w, "Import a lens", ask.LENS_FILTER)
        if not path:
            return
        lenses = self.w.lenses

        def imported(name: str) -> None:
            self.w.info_label.setText(f"Imported the lens “{name}”.")
            self.lens_saved(name)

        self.w.runner.run("lens-import", "db", lambda: lenses.import_lens(path, replace=True), imported,
                          self.w.report_error)

    def export_lens(self, name: str | None = None) -> None:
        name = name or self.w.lens_bar.lens
        if not name:
            self.w.info_label.setText("Choose a lens to export first.")
            return
        path = ask.pick_save_file(self.w, "Export the lens", f"{name}.toml", ask.LENS_FILTER)
        if not path:
            return
        lenses = self.w.lenses
        self.w.runner.run("lens-export", "db", lambda: lenses.export_lens(name, path),
                          lambda _r: self.w.info_label.setText(f"Saved the lens “{name}” to {path}."),
                          self.w.report_error)
