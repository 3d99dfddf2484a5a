"""Typed errors. Library code raises these with a message meant for the user; the CLI and GUI decide
how to show them. Nothing in the core prints or exits."""

from __future__ import annotations


class PhotolensError(Exception):
    """Base class: the message is complete and user-facing."""


class ModelUnavailableError(PhotolensError):
    """Model weights or config cannot be found offline."""


class ModelSpecError(PhotolensError):
    """A model spec string that cannot be understood."""


class DatabaseError(PhotolensError):
    """The database cannot be opened or used."""


class DatabaseLockedError(DatabaseError):
    """Another process holds the database lock for longer than the busy timeout."""


class SchemaTooNewError(DatabaseError):
    """The database was written by a newer photolens; we refuse to touch it."""


class EmbeddingDimensionError(PhotolensError):
    """Stored vectors and the loaded model disagree on the embedding size."""


class ImageError(PhotolensError):
    """One file could not be read as an image (per-file, never fatal to a run)."""


class QueryError(PhotolensError):
    """A search query that cannot be understood."""
