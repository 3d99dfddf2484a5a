"""The first screenful of "All photos", remembered between runs so the next start paints photos at once.

Reading a 100k-photo listing takes the better part of a second (more on a busy machine); the window shows
the remembered first page meanwhile and replaces it with the fresh listing when that arrives (same title,
so the scroll position and the current photo are kept). A page that no longer matches (another sort, or
photos gone) is only ever on screen until that listing lands. One small JSON file per library, in the
app's data folder; read and written in tasks, never on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

from photolens.browse import PhotoRow
from photolens.config import data_dir

PAGE_ROWS = 600
VERSION = 1


def page_path(db_url: str) -> Path:
    return data_dir() / "first-page" / f"{hashlib.sha1(db_url.encode()).hexdigest()[:16]}.json"


def save_page(db_url: str, sort: str, rows: list[PhotoRow]) -> None:
    path = page_path(db_url)
    payload = {"version": VERSION, "sort": sort, "rows": [
        [r.id, r.path, r.fingerprint, r.taken_at.isoformat() if r.taken_at else None, r.mtime_ns, r.size]
        for r in rows[:PAGE_ROWS]]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # only a head start is lost


def load_page(db_url: str, sort: str) -> list[PhotoRow]:
    """The remembered first page for ``sort`` (empty when there is none, or it is unreadable)."""
    try:
        payload = json.loads(page_path(db_url).read_text(encoding="utf-8"))
        if payload.get("version") != VERSION or payload.get("sort") != sort:
            return []
        return [PhotoRow(int(i), str(p), f, dt.datetime.fromisoformat(t) if t else None, int(m), int(s))
                for i, p, f, t, m, s in payload["rows"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
