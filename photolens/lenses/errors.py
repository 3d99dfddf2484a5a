"""Errors of the lens engine, kept in the lens package so the shared hierarchy stays untouched."""

from __future__ import annotations

from photolens.errors import PhotolensError


class LensError(PhotolensError):
    """Base for everything a lens can refuse; the message is user-facing."""


class LensDefinitionError(LensError):
    """A lens definition (name, words, templates, dim) that cannot be used."""


class LensFitError(LensError):
    """The prompts cannot teach a lens anything (e.g. the words do not change the embedding)."""
