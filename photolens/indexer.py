"""The indexing pipeline: scan → reconcile with the store → decode and embed what is new.

It is a generator of :class:`IndexProgress` events so the CLI (progress bar), the GUI (a worker with
signals) and tests drive the same code; closing the generator or setting ``cancel`` stops it at the next
batch. Work is committed batch by batch, so an interrupted run (Ctrl-C, ``kill -9``) resumes where it
stopped: photos already embedded are unchanged files on the next scan and cost nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, exists, select, update

from photolens.config import DEFAULT_MISSING_GRACE_DAYS
from photolens.embedding.embedder import Embedder
from photolens.errors import ImageError, ModelUnavailableError
from photolens.fingerprint import fingerprint_file
from photolens.imaging import PhotoMetadata, open_image, read_metadata
from photolens.paths import folder_prefix, from_db_path, to_db_path
from photolens.pipeline import EmbeddedBatch, embed_stream
from photolens.scanner import ScannedFile, ScanOptions, ScanProblem, scan
from photolens.store.database import Database
from photolens.store.queries import insert_ignoring_duplicates, register_model, under_any
from photolens.store.schema import Embedding, LibraryRoot, Photo, utcnow
from photolens.vectors import to_blob

log = logging.getLogger(__name__)

BATCH_SIZE = 32
WRITE_CHUNK = 500


@dataclass
class IndexSummary:
    new: int = 0
    changed: int = 0
    moved: int = 0
    copied: int = 0
    deleted: int = 0
    purged: int = 0
    unchanged: int = 0
    embedded: int = 0
    failed: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "problems"}
        data["problems"] = [{"path": p, "reason": r} for p, r in self.problems]
        return data


@dataclass
class IndexProgress:
    """One step of a run. ``phase`` is ``scan``, ``embed``, ``metadata`` or ``done``."""

    phase: str
    done: int
    total: int
    summary: IndexSummary
    path: str | None = None
    model_error: str | None = None


@dataclass
class IndexOptions:
    scan: ScanOptions = field(default_factory=ScanOptions)
    batch_size: int = BATCH_SIZE
    decode_workers: int = max(1, os.cpu_count() or 1)
    missing_grace_days: int = DEFAULT_MISSING_GRACE_DAYS


@dataclass
class _Row:
    id: int
    path: str
    size: int
    mtime_ns: int
    fingerprint: str | None
    missing: bool


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path.startswith(p) for p in prefixes)


def _metadata_columns(meta: PhotoMetadata) -> dict:
    return {
        "width": meta.width,
        "height": meta.height,
        "image_format": meta.image_format,
        "taken_at": meta.taken_at,
        "camera_make": meta.camera_make,
        "camera_model": meta.camera_model,
        "gps_lat": meta.gps_lat,
        "gps_lon": meta.gps_lon,
        "orientation": meta.orientation,
        "metadata_read": True,
    }


class Indexer:
    """Runs indexing passes over a :class:`Database` with a model obtained lazily from ``get_embedder``
    (only when something needs embedding, so a rescan of an unchanged library never loads torch)."""

    def __init__(self, db: Database, get_embedder: Callable[[], Embedder], model_key: str,
                 options: IndexOptions | None = None):
        self.db = db
        self.get_embedder = get_embedder
        self.model_key = model_key
        self.options = options or IndexOptions()

    # ------------------------------------------------------------------ entry point
    def run(self, roots: list[str], cancel: threading.Event | None = None) -> Iterator[IndexProgress]:
        cancel = cancel or threading.Event()
        summary = IndexSummary()
        roots = [os.path.abspath(r) for r in roots]
        self._remember_roots(roots)
        yield from self._scan_and_reconcile(roots, summary, cancel)
        if cancel.is_set():
            return
        yield from self._embed_pending(roots, summary, cancel)

    def _remember_roots(self, roots: list[str]) -> None:
        """Remember the folders indexed, for ``photolens index`` without PATH: not a path that does not
        exist (a typo), not one inside a known folder; a new parent replaces the folders inside it."""
        with self.db.session() as session:
            known = set(session.scalars(select(LibraryRoot.path)))
            for root in roots:
                if not os.path.exists(root) or to_db_path(root)[1] is not None:
                    continue  # a typo; or a name that is not UTF-8, which library_roots cannot store exactly
                if root in known or _under(root, [folder_prefix(k) for k in known]):
                    continue
                inside = [k for k in known if k.startswith(folder_prefix(root))]
                if inside:
                    session.execute(delete(LibraryRoot).where(LibraryRoot.path.in_(inside)))
                    known.difference_update(inside)
                session.add(LibraryRoot(path=root))
                known.add(root)

    # ------------------------------------------------------------------ phase 1
    def _scan_and_reconcile(self, roots: list[str], summary: IndexSummary,
                            cancel: threading.Event) -> Iterator[IndexProgress]:
        seen: dict[str, ScannedFile] = {}
        unreadable: list[str] = []
        for item in scan(roots, self.options.scan):
            if isinstance(item, ScanProblem):
                summary.problems.append((item.path, item.reason))
                unreadable.append(item.path)
            else:
                seen[item.path] = item
            if len(seen) % 2000 == 0:
                yield IndexProgress("scan", len(seen), 0, summary)
                if cancel.is_set():
                    return
        yield IndexProgress("scan", len(seen), len(seen), summary)

        scanned_folders = [r for r in roots if os.path.isdir(r)]
        scanned_files = {r for r in roots if os.path.isfile(r)}
        shielded = [folder_prefix(p) for p in unreadable] + [p for p in unreadable]
        rows = self._rows_under(scanned_folders, scanned_files)
        by_path = {from_db_path(r.path, None): r for r in rows}

        new_files: list[ScannedFile] = []
        changed: list[tuple[_Row, ScannedFile]] = []
        revived: list[_Row] = []
        for path, item in seen.items():
            row = by_path.pop(path, None)
            if row is None:
                new_files.append(item)
            elif row.size != item.size or row.mtime_ns != item.mtime_ns:
                changed.append((row, item))
            else:
                summary.unchanged += 1
                if row.missing:
                    revived.append(row)
        gone = [r for r in by_path.values() if not r.missing and not _under(r.path, shielded)
                and r.path not in unreadable]

        self._apply_changes(changed, revived, summary)
        yield from self._apply_new(new_files, gone, summary, cancel)
        self._mark_missing(gone, summary)
        self._purge_expired(summary)

    def _rows_under(self, folders: list[str], files: set[str]) -> list[_Row]:
        if not folders and not files:
            return []
        stmt = select(Photo.id, Photo.path, Photo.raw_path, Photo.size, Photo.mtime_ns, Photo.fingerprint,
                      Photo.missing_since).where(under_any(Photo.path, folders, sorted(files)))
        with self.db.session() as session:
            return [
                _Row(r.id, from_db_path(r.path, r.raw_path), r.size, r.mtime_ns, r.fingerprint,
                     r.missing_since is not None)
                for r in session.execute(stmt)
            ]

    def _apply_changes(self, changed: list[tuple[_Row, ScannedFile]], revived: list[_Row],
                       summary: IndexSummary) -> None:
        if not changed and not revived:
            return
        with self.db.session() as session:
            for row, item in changed:
                try:
                    fingerprint = fingerprint_file(item.path, item.size)
                except OSError:
                    fingerprint = None
                session.execute(delete(Embedding).where(Embedding.photo_id == row.id))
                session.execute(
                    update(Photo).where(Photo.id == row.id).values(
                        size=item.size, mtime_ns=item.mtime_ns, fingerprint=fingerprint, error=None,
                        metadata_read=False, missing_since=None, updated_at=utcnow(),
                    )
                )
                summary.changed += 1
            if revived:
                session.execute(update(Photo).where(Photo.id.in_([r.id for r in revived])).values(missing_since=None))

    def _apply_new(self, new_files: list[ScannedFile], gone: list[_Row], summary: IndexSummary,
                   cancel: threading.Event) -> Iterator[IndexProgress]:
        """Insert new files; a fingerprint matching a vanished photo is a move, one matching a live photo a
        copy. Both reuse what is stored: no decode, no model pass."""
        if not new_files:
            return
        gone_by_fp: dict[str, _Row] = {r.fingerprint: r for r in gone if r.fingerprint}
        with self.db.session() as session:
            missing_by_fp = {
                fp: pid for pid, fp in session.execute(
                    select(Photo.id, Photo.fingerprint).where(Photo.missing_since.is_not(None))
                ) if fp
            }
        done = 0
        for start in range(0, len(new_files), WRITE_CHUNK):
            chunk = new_files[start : start + WRITE_CHUNK]
            fingerprints: list[str | None] = []
            for item in chunk:
                try:
                    fingerprints.append(fingerprint_file(item.path, item.size))
                except OSError:
                    fingerprints.append(None)
            with self.db.session() as session:
                live_by_fp = self._live_fingerprints(session, [f for f in fingerprints if f])
                inserts = []
                copies: list[tuple[str, int]] = []
                for item, fp in zip(chunk, fingerprints):
                    db_path, raw = to_db_path(item.path)
                    folder = os.path.dirname(db_path)
                    moved_id = None
                    if fp and fp in gone_by_fp:
                        moved_row = gone_by_fp.pop(fp)
                        gone.remove(moved_row)
                        moved_id = moved_row.id
                    elif fp and fp in missing_by_fp:
                        moved_id = missing_by_fp.pop(fp)
                    if moved_id is not None:
                        session.execute(update(Photo).where(Photo.id == moved_id).values(
                            path=db_path, raw_path=raw, folder=folder, size=item.size, mtime_ns=item.mtime_ns,
                            missing_since=None, updated_at=utcnow()))
                        summary.moved += 1
                        continue
                    inserts.append({"path": db_path, "raw_path": raw, "folder": folder, "size": item.size,
                                    "mtime_ns": item.mtime_ns, "fingerprint": fp, "metadata_read": False,
                                    "added_at": utcnow(), "updated_at": utcnow()})
                    if fp and fp in live_by_fp:
                        copies.append((db_path, live_by_fp[fp]))
                    summary.new += 1
                insert_ignoring_duplicates(session, Photo, inserts)
                if copies:
                    self._copy_from_twins(session, copies)
                    summary.copied += len(copies)
            done += len(chunk)
            yield IndexProgress("scan", done, len(new_files), summary)
            if cancel.is_set():
                return

    @staticmethod
    def _live_fingerprints(session, fingerprints: list[str]) -> dict[str, int]:
        if not fingerprints:
            return {}
        stmt = select(Photo.fingerprint, Photo.id).where(
            Photo.fingerprint.in_(fingerprints), Photo.missing_since.is_(None), Photo.metadata_read.is_(True)
        )
        return {fp: pid for fp, pid in session.execute(stmt)}

    @staticmethod
    def _copy_from_twins(session, copies: list[tuple[str, int]]) -> None:
        """A byte-identical copy shares its twin's metadata and vectors."""
        ids = dict(session.execute(select(Photo.path, Photo.id).where(Photo.path.in_([p for p, _ in copies]))).all())
        columns = ("width", "height", "image_format", "taken_at", "camera_make", "camera_model", "gps_lat",
                   "gps_lon", "orientation", "metadata_read", "error")
        for path, twin_id in copies:
            twin = session.get(Photo, twin_id)
            session.execute(update(Photo).where(Photo.id == ids[path]).values(
                **{c: getattr(twin, c) for c in columns}))
            vectors = session.execute(select(Embedding.model_key, Embedding.vector).where(
                Embedding.photo_id == twin_id)).all()
            insert_ignoring_duplicates(session, Embedding, [
                {"photo_id": ids[path], "model_key": key, "vector": blob} for key, blob in vectors])

    def _mark_missing(self, gone: list[_Row], summary: IndexSummary) -> None:
        if not gone:
            return
        now = utcnow()
        with self.db.session() as session:
            ids = [r.id for r in gone]
            for start in range(0, len(ids), WRITE_CHUNK):
                session.execute(update(Photo).where(Photo.id.in_(ids[start : start + WRITE_CHUNK]))
                                .values(missing_since=now))
        summary.deleted += len(gone)

    def _purge_expired(self, summary: IndexSummary) -> None:
        cutoff = utcnow() - dt.timedelta(days=self.options.missing_grace_days)
        with self.db.session() as session:
            result = session.execute(delete(Photo).where(Photo.missing_since.is_not(None),
                                                         Photo.missing_since <= cutoff))
            summary.purged += result.rowcount or 0

    # ------------------------------------------------------------------ phase 2
    def pending(self, roots: list[str]) -> list[tuple[int, str]]:
        """Live photos under ``roots`` without a vector for the current model (and not known-broken)."""
        where_root = under_any(Photo.path, [r for r in roots if os.path.isdir(r)],
                               [r for r in roots if not os.path.isdir(r)])
        has_vector = exists().where(and_(Embedding.photo_id == Photo.id, Embedding.model_key == self.model_key))
        stmt = (select(Photo.id, Photo.path, Photo.raw_path)
                .where(where_root, Photo.missing_since.is_(None), Photo.error.is_(None), ~has_vector)
                .order_by(Photo.path))
        with self.db.session() as session:
            return [(r.id, from_db_path(r.path, r.raw_path)) for r in session.execute(stmt)]

    def _embed_pending(self, roots: list[str], summary: IndexSummary,
                       cancel: threading.Event) -> Iterator[IndexProgress]:
        work = self.pending(roots)
        if not work:
            yield IndexProgress("done", 0, 0, summary)
            return
        try:
            embedder = self.get_embedder()
        except ModelUnavailableError as exc:
            yield from self._metadata_only(work, summary, cancel)
            yield IndexProgress("done", 0, len(work), summary, model_error=str(exc))
            return
        self._register_model(embedder)
        yield from self._embed(work, embedder, summary, cancel)

    def _register_model(self, embedder: Embedder) -> None:
        with self.db.session() as session:
            register_model(session, embedder.key, embedder.spec.text, embedder.dim)

    def _embed(self, work: list[tuple[int, str]], embedder: Embedder, summary: IndexSummary,
               cancel: threading.Event) -> Iterator[IndexProgress]:
        done = 0
        for batch in embed_stream(work, embedder, self.options.batch_size, self.options.decode_workers, cancel):
            self._write_batch(batch, summary)
            done += batch.size
            yield IndexProgress("embed", done, len(work), summary, path=batch.last_path)
        yield IndexProgress("done", done, len(work), summary)

    def _write_batch(self, batch: EmbeddedBatch, summary: IndexSummary) -> None:
        with self.db.session() as session:
            vectors = []
            for (photo_id, _path, decoded), vector in zip(batch.ok, batch.vectors if batch.vectors is not None else []):
                session.execute(update(Photo).where(Photo.id == photo_id).values(
                    **_metadata_columns(decoded.metadata)))
                vectors.append({"photo_id": photo_id, "model_key": self.model_key, "vector": to_blob(vector)})
            insert_ignoring_duplicates(session, Embedding, vectors)
            for photo_id, path, reason in batch.failed:
                if reason == "file vanished":
                    session.execute(update(Photo).where(Photo.id == photo_id).values(missing_since=utcnow()))
                    summary.deleted += 1
                else:
                    session.execute(update(Photo).where(Photo.id == photo_id).values(error=reason))
                    summary.failed += 1
                    summary.problems.append((path, reason))
        summary.embedded += len(batch.ok)

    def _metadata_only(self, work: list[tuple[int, str]], summary: IndexSummary,
                       cancel: threading.Event) -> Iterator[IndexProgress]:
        """Without a model, still read dates, cameras and sizes so browsing works."""
        with self.db.session() as session:
            ids = {pid for (pid,) in session.execute(select(Photo.id).where(Photo.metadata_read.is_(False)))}
        todo = [(pid, path) for pid, path in work if pid in ids]
        for start in range(0, len(todo), BATCH_SIZE):
            chunk = todo[start : start + BATCH_SIZE]
            updates = []
            for pid, path in chunk:
                try:
                    with open_image(path) as image:
                        updates.append((pid, _metadata_columns(read_metadata(image))))
                except Exception as exc:  # noqa: BLE001 - one damaged file must not stop the run
                    reason = str(exc) if isinstance(exc, ImageError) else f"unreadable: {type(exc).__name__}: {exc}"
                    updates.append((pid, {"error": reason}))
                    summary.failed += 1
                    summary.problems.append((path, reason))
            with self.db.session() as session:
                for pid, values in updates:
                    session.execute(update(Photo).where(Photo.id == pid).values(**values))
            yield IndexProgress("metadata", start + len(chunk), len(todo), summary)
            if cancel.is_set():
                return
