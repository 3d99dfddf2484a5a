"""Browsing the library without a model: photos of a folder, sorted by date or name; the folder tree with
photo counts; one photo's metadata; library-wide settings.

Plain queries over the store (``Database.session()`` and :mod:`photolens.store.schema`), Qt-free, so the
GUI, the CLI and tests share them. Only live photos count: rows of vanished files (``missing_since`` set)
are invisible, and files that failed to decode are left out of browsing (``Library.failures`` lists them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, select

from photolens.paths import folder_prefix, from_db_path, to_db_path
from photolens.store.database import Database
from photolens.store.queries import under_prefix
from photolens.store.schema import Embedding, Photo, Setting

#: Orders a list of photos can be shown in. ``relevance`` keeps the given order (search results).
SORT_MODES = ("relevance", "date", "name")
ID_CHUNK = 500


class PhotoRow(NamedTuple):
    """What a grid needs to show and sort one photo (cheap: a tuple, no EXIF beyond the date)."""

    id: int
    path: str
    fingerprint: str | None
    taken_at: dt.datetime | None
    mtime_ns: int
    size: int
    score: float | None = None  # set for search results

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def date(self) -> dt.datetime:
        """Capture date, else the file's modification time (local time, naive like ``taken_at``)."""
        if self.taken_at is not None:
            return self.taken_at
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9)

    @property
    def cache_key(self) -> str:
        """Identity of the picture for caches: the content fingerprint (so a move keeps it), else the file."""
        if self.fingerprint:
            return self.fingerprint
        text = f"{self.path}\0{self.size}\0{self.mtime_ns}".encode("utf-8", "surrogateescape")
        return "p" + hashlib.blake2b(text, digest_size=16).hexdigest()

    def with_score(self, score: float) -> PhotoRow:
        return self._replace(score=score)


_ROW_COLUMNS = (Photo.id, Photo.path, Photo.raw_path, Photo.fingerprint, Photo.taken_at, Photo.mtime_ns, Photo.size)


def _row(r: Any) -> PhotoRow:
    return PhotoRow(r[0], os.fsdecode(r[2]) if r[2] else r[1], r[3], r[4], r[5], r[6])


def _date_key(r: PhotoRow) -> tuple:
    taken = r[3]
    return (taken if taken is not None else dt.datetime.fromtimestamp(r[4] / 1e9), r[1])


def _live(include_failed: bool = False) -> list:
    conditions = [Photo.missing_since.is_(None)]
    if not include_failed:
        conditions.append(Photo.error.is_(None))
    return conditions


def _under_folder(folder: str, recursive: bool):
    """Photos in ``folder`` (and below, when ``recursive``), matched case-sensitively on the stored form."""
    stored = to_db_path(os.path.abspath(folder))[0]
    if recursive:
        return (Photo.folder == stored) | under_prefix(Photo.folder, folder_prefix(stored))
    return Photo.folder == stored


def sort_rows(rows: Sequence[PhotoRow], mode: str, descending: bool = False) -> list[PhotoRow]:
    """``rows`` in ``mode`` order; ties fall back to the path so the order is stable and total.

    ``relevance`` keeps search results best first (by score when present, else the given order).
    """
    if mode not in SORT_MODES:
        raise ValueError(f"unknown sort mode {mode!r}; expected one of {', '.join(SORT_MODES)}")
    if mode == "relevance":
        if all(r.score is not None for r in rows):
            return sorted(rows, key=lambda r: -(r.score or 0.0), reverse=descending)
        return list(reversed(rows)) if descending else list(rows)
    if mode == "date":
        return sorted(rows, key=_date_key, reverse=descending)
    return sorted(rows, key=lambda r: (os.path.basename(r[1]).casefold(), r[1]), reverse=descending)


def list_photos(db: Database, folder: str | None = None, recursive: bool = True, sort: str = "date",
                descending: bool = False, include_failed: bool = False, limit: int | None = None) -> list[PhotoRow]:
    """Live photos (optionally only under ``folder``), in ``sort`` order."""
    stmt = select(*_ROW_COLUMNS).where(*_live(include_failed))
    if folder:
        stmt = stmt.where(_under_folder(folder, recursive))
    with db.session() as session:
        rows = [_row(r) for r in session.execute(stmt)]
    rows = sort_rows(rows, "name" if sort == "relevance" else sort, descending)
    return rows[:limit] if limit is not None else rows


def count_photos(db: Database, folder: str | None = None, recursive: bool = True) -> int:
    stmt = select(func.count()).select_from(Photo).where(*_live())
    if folder:
        stmt = stmt.where(_under_folder(folder, recursive))
    with db.session() as session:
        return int(session.scalar(stmt) or 0)


def photos_by_ids(db: Database, ids: Iterable[int]) -> dict[int, PhotoRow]:
    """Rows of the given photo ids that are live (vanished ones are absent from the result)."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found: dict[int, PhotoRow] = {}
    with db.session() as session:
        for start in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[start : start + ID_CHUNK]
            for r in session.execute(select(*_ROW_COLUMNS).where(Photo.id.in_(chunk), Photo.missing_since.is_(None))):
                found[r[0]] = _row(r)
    return found


def rows_for_hits(db: Database, hits: Iterable[Any]) -> list[PhotoRow]:
    """Search hits (anything with ``photo_id`` and ``score``) as rows, in the hits' order."""
    hits = list(hits)
    rows = photos_by_ids(db, (h.photo_id for h in hits))
    return [rows[h.photo_id].with_score(float(h.score)) for h in hits if h.photo_id in rows]


def rows_in_order(db: Database, ids: Iterable[int]) -> list[PhotoRow]:
    """Rows for ``ids`` in that order (unknown or vanished ids skipped)."""
    ids = [int(i) for i in ids]
    rows = photos_by_ids(db, ids)
    return [rows[i] for i in ids if i in rows]


# --------------------------------------------------------------------------------------------- folders
@dataclass
class FolderNode:
    """A folder in the library tree. ``count`` includes subfolders; ``direct`` only this folder's photos."""

    path: str
    name: str
    direct: int = 0
    count: int = 0
    children: list[FolderNode] = field(default_factory=list)

    def walk(self) -> Iterator[FolderNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, path: str) -> FolderNode | None:
        return next((node for node in self.walk() if node.path == path), None)


def folder_counts(db: Database) -> dict[str, int]:
    """Live photos per folder (direct children only)."""
    stmt = select(Photo.folder, func.count()).where(*_live()).group_by(Photo.folder)
    with db.session() as session:
        return {folder: int(n) for folder, n in session.execute(stmt)}


def folder_tree(db: Database, roots: Sequence[str]) -> list[FolderNode]:
    """One tree per library root, with every folder that holds photos and the folders between.

    Folders outside every root (a root that is a single file, or a root removed later) hang from their own
    top-level node so their photos stay reachable. Children are sorted by name.
    """
    counts = folder_counts(db)
    root_paths = sorted({os.path.abspath(r) for r in roots}, key=len, reverse=True)  # deepest root first
    tops: dict[str, FolderNode] = {}
    nodes: dict[str, FolderNode] = {}

    def owner(folder: str) -> str:
        for root in root_paths:
            if folder == root or folder.startswith(folder_prefix(root)):
                return root
        return folder

    def node_for(path: str, top: str) -> FolderNode:
        if path in nodes:
            return nodes[path]
        node = FolderNode(path, os.path.basename(path.rstrip(os.sep)) or path)
        nodes[path] = node
        if path == top:
            tops[path] = node
        else:
            node_for(os.path.dirname(path), top).children.append(node)
        return node

    for root in root_paths:
        if os.path.isdir(root) or any(owner(f) == root for f in counts):
            node_for(root, root)
    for folder, n in counts.items():
        node_for(folder, owner(folder)).direct += n

    def total(node: FolderNode) -> int:
        node.children.sort(key=lambda c: c.name.casefold())
        node.count = node.direct + sum(total(c) for c in node.children)
        return node.count

    result = sorted(tops.values(), key=lambda n: n.path)
    for node in result:
        total(node)
    for node in result:  # a top-level node shows its full path (a root is recognised by where it is)
        node.name = node.path
    return result


# --------------------------------------------------------------------------------------------- details
@dataclass(frozen=True)
class PhotoDetails:
    """Everything the details pane shows about one photo."""

    id: int
    path: str
    folder: str
    size: int
    mtime: dt.datetime
    width: int | None
    height: int | None
    image_format: str | None
    taken_at: dt.datetime | None
    camera_make: str | None
    camera_model: str | None
    gps_lat: float | None
    gps_lon: float | None
    fingerprint: str | None
    error: str | None
    models: tuple[str, ...]  # model keys this photo has vectors for

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def camera(self) -> str | None:
        make, model = (self.camera_make or "").strip(), (self.camera_model or "").strip()
        if make and model.lower().startswith(make.lower()):
            return model  # "Canon" + "Canon EOS 5D" → "Canon EOS 5D"
        return " ".join(p for p in (make, model) if p) or None

    @property
    def place(self) -> str | None:
        """GPS position as degrees with hemispheres, e.g. ``48.85840° N, 2.29450° E``."""
        if self.gps_lat is None or self.gps_lon is None:
            return None
        ns = "N" if self.gps_lat >= 0 else "S"
        ew = "E" if self.gps_lon >= 0 else "W"
        return f"{abs(self.gps_lat):.5f}° {ns}, {abs(self.gps_lon):.5f}° {ew}"

    @property
    def dimensions(self) -> str | None:
        if not self.width or not self.height:
            return None
        return f"{self.width} × {self.height}"


def photo_details(db: Database, photo_id: int) -> PhotoDetails | None:
    with db.session() as session:
        photo = session.get(Photo, int(photo_id))
        if photo is None:
            return None
        models = tuple(session.scalars(select(Embedding.model_key).where(Embedding.photo_id == photo.id)))
        return PhotoDetails(
            id=photo.id, path=from_db_path(photo.path, photo.raw_path), folder=photo.folder, size=photo.size,
            mtime=dt.datetime.fromtimestamp(photo.mtime_ns / 1e9), width=photo.width, height=photo.height,
            image_format=photo.image_format, taken_at=photo.taken_at, camera_make=photo.camera_make,
            camera_model=photo.camera_model, gps_lat=photo.gps_lat, gps_lon=photo.gps_lon,
            fingerprint=photo.fingerprint, error=photo.error, models=models,
        )


def human_size(n: int) -> str:
    """``1536`` → ``1.5 KB`` (decimal units, as file managers show)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover


# --------------------------------------------------------------------------------------------- settings
def get_setting(db: Database, key: str, default: Any = None) -> Any:
    """A library-wide setting (JSON in the ``settings`` table), or ``default``."""
    with db.session() as session:
        row = session.get(Setting, key)
    if row is None:
        return default
    try:
        return json.loads(row.value)
    except ValueError:
        return default


def set_setting(db: Database, key: str, value: Any) -> None:
    with db.session() as session:
        session.merge(Setting(key=key, value=json.dumps(value)))
