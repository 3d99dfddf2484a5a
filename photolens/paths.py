"""File names that are not valid UTF-8 (possible on Linux) still have to be stored and reopened.

The database keeps a readable UTF-8 ``path`` (undecodable bytes shown as ``\\xNN``) and, only for such
names, the exact bytes in ``raw_path``.
"""

from __future__ import annotations

import os


def to_db_path(fs_path: str) -> tuple[str, bytes | None]:
    try:
        fs_path.encode("utf-8")
        return fs_path, None
    except UnicodeEncodeError:
        raw = os.fsencode(fs_path)
        return raw.decode("utf-8", "backslashreplace"), raw


def from_db_path(path: str, raw_path: bytes | None) -> str:
    return os.fsdecode(raw_path) if raw_path else path


def folder_prefix(folder: str) -> str:
    """``/a/b`` → ``/a/b/`` so that a prefix match never catches ``/a/bc``."""
    folder = os.path.abspath(folder)
    return folder if folder.endswith(os.sep) else folder + os.sep
