"""Errors of the retrieval package; all are :class:`PhotolensError`, so the CLI and GUI show their message."""

from __future__ import annotations

from photolens.errors import PhotolensError, QueryError


class UnsupportedModelError(PhotolensError):
    """The model's text tower cannot take a pseudo-word token (Pic2Word, precise 'more like this')."""


class MapperUnavailableError(PhotolensError):
    """No Pic2Word mapper is trained for this model, or the stored one belongs to another model."""


class CheckpointError(PhotolensError):
    """Stored Pic2Word bytes are damaged or of an unknown format."""


__all__ = ["CheckpointError", "MapperUnavailableError", "QueryError", "UnsupportedModelError"]
