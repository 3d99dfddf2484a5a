"""Errors of the vector index layer."""

from __future__ import annotations

from photolens.errors import PhotolensError


class IndexCorruptError(PhotolensError):
    """A persisted index is missing, truncated, corrupt or disagrees with the store.

    Never fatal: an index is a cache of the store, so the caller rebuilds it (``IndexManager`` does).
    """
