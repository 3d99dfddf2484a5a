"""Library-facing helpers: composed search, calibrated search, precise 'more like this', Pic2Word training.

Thin glue over :class:`photolens.library.Library`'s public methods (``vectors``, ``text_vectors``,
``photo_vector``, ``photo_id``, ``search_vector``, ``embedder``, ``model_key``) so the CLI and GUI can call one
function per feature. Storage of the Pic2Word mapper is the caller's (bytes under
:func:`photolens.retrieval.pic2word.mapper_key`); nothing here touches the database directly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from photolens.errors import QueryError
from photolens.retrieval import calibration
from photolens.retrieval.composed import (
    DEFAULT_ALPHA,
    DEFAULT_METHOD,
    DEFAULT_PDV,
    ComposedQuery,
    PDVWeights,
    PropertyPrompts,
    compose,
)
from photolens.retrieval.errors import CheckpointError, MapperUnavailableError
from photolens.retrieval.pic2word import Pic2WordConfig, Pic2WordMapper, Pic2WordProgress, Pic2WordTrainer
from photolens.search import SearchFilter, SearchHit
from photolens.spaces import RAW_SPACE, Space

if TYPE_CHECKING:
    from photolens.library import Library


@dataclass
class SearchOutcome:
    """Results on the calibrated scale (``hits[i].score``), their raw cosines, and what to tell the user."""

    hits: list[SearchHit]
    raw: list[float]
    scale: calibration.ScoreScale
    min_score: float | None
    notes: list[str] = field(default_factory=list)
    query: ComposedQuery | None = None
    cut: int = 0  # candidates hidden by the cutoff

    @property
    def no_good_match(self) -> bool:
        """True when the cutoff removed every candidate: say so rather than showing nothing silently."""
        return not self.hits and self.cut > 0


def calibrated_search(library: Library, query: np.ndarray, limit: int = 20,
                      search_filter: SearchFilter | None = None, min_score: float | None = calibration.DEFAULT_MIN_SCORE,
                      exclude: set[int] | None = None, space: Space = RAW_SPACE) -> SearchOutcome:
    """Top ``limit`` photos for a query vector, scored on the calibrated scale and cut at ``min_score``.

    The scale comes from the whole library (a fixed sample of at most 8,192 photos), not the filtered subset,
    measured in the space searched (a lens space has its own score distribution).
    ``min_score=None`` disables the cutoff; libraries under 50 photos are never cut (too few to calibrate).
    """
    _ids, matrix = library.space_vectors(space)
    rows = calibration.sample_rows(matrix.shape[0])
    scale = calibration.scale_for(space.project(query), matrix, rows=rows) if matrix.shape[0] else \
        calibration.ScoreScale(0.0, 1.0, 0)
    hits = library.search_vector(query, limit, search_filter, exclude, space=space)
    notes: list[str] = []
    if min_score is not None and not scale.reliable and hits:
        notes.append(f"Only {scale.n} photos: too few to calibrate scores, so no cutoff is applied.")
    scored = [SearchHit(h.photo_id, h.path, float(scale(h.score))) for h in hits]
    keep = calibration.keep_above(np.array([h.score for h in scored]), min_score, scale)
    kept = [h for h, k in zip(scored, keep) if k]
    raw = [h.score for h, k in zip(hits, keep) if k]
    outcome = SearchOutcome(kept, raw, scale, min_score, notes, cut=len(hits) - len(kept))
    if hits and not kept:
        outcome.notes.append(f"No good match: the best photo scores {scored[0].score:.1f}, below the cutoff "
                             f"{min_score:g} (use --min-score to lower it).")
    return outcome


def preset_properties(library: Library, names: Sequence[str] | None = None) -> list[PropertyPrompts]:
    """Lens presets as PDV candidate descriptions (prompt-ensembled per value word, vectors cached in the store)."""
    from photolens.lenses.presets import list_presets, load_preset

    out = []
    for name in names if names is not None else list_presets():
        lens = load_preset(name)
        out.append(PropertyPrompts.from_templates(lens.name, lens.values, lens.templates, library.text_vectors))
    return out


def reference_vector(library: Library, photo: str) -> np.ndarray:
    """The reference photo's vector, with a clear message when it is not a readable image."""
    if not photo or not photo.strip():
        raise QueryError("Give a reference photo (a path to an image file).")
    if os.path.isdir(photo):
        raise QueryError(f"{photo} is a folder; the reference must be one photo.")
    if library.photo_id(photo) is None and not os.path.isfile(photo):
        raise QueryError(f"Reference photo not found: {photo}")
    return library.photo_vector(photo)  # raises QueryError for files that are not readable images


def composed_search(library: Library, photo: str, change: str, method: str = "default", *, limit: int = 20,
                    search_filter: SearchFilter | None = None,
                    min_score: float | None = calibration.DEFAULT_MIN_SCORE, alpha: float = DEFAULT_ALPHA,
                    pdv: PDVWeights = DEFAULT_PDV, properties: Sequence[PropertyPrompts] | None = None,
                    mapper_bytes: bytes | None = None, space: Space = RAW_SPACE) -> SearchOutcome:
    """``search --photo PHOTO "change"``: compose, search, calibrate; the reference itself is excluded.

    ``properties`` default to the lens presets (loaded for PDV only); ``mapper_bytes`` is the stored Pic2Word
    mapper of this model, if any (used by ``method="pic2word"``).
    """
    ref = reference_vector(library, photo)
    text = " ".join((change or "").split())
    change_vector = library.text_vectors([text])[0] if text else None
    effective = DEFAULT_METHOD if method in ("default", "pic2word") else method  # pic2word may fall back
    needs_props = effective == "pdv"
    props = list(properties) if properties is not None else (preset_properties(library) if needs_props and text else [])
    mapper = model = tokenizer = None
    early_notes: list[str] = []
    if method == "pic2word" and mapper_bytes is not None:
        try:
            mapper = Pic2WordMapper.from_bytes(mapper_bytes, library.model_key)
            model, tokenizer = library.embedder.model, library.embedder.tokenizer
        except (CheckpointError, MapperUnavailableError) as exc:
            early_notes.append(str(exc))  # compose() then falls back and says so
    query = compose(method, ref, text, change_vector, alpha=alpha, pdv=pdv, properties=props,
                    mapper=mapper, model=model, tokenizer=tokenizer)
    pid = library.photo_id(photo)
    outcome = calibrated_search(library, query.vector, limit, search_filter, min_score,
                                exclude={pid} if pid is not None else None, space=space)
    outcome.notes[:0] = early_notes + list(query.notes)
    outcome.query = query
    return outcome


def precise_similar(library: Library, photo: str, limit: int = 20, search_filter: SearchFilter | None = None,
                    min_score: float | None = calibration.DEFAULT_MIN_SCORE, steps: int | None = None,
                    cancel: threading.Event | None = None) -> SearchOutcome:
    """``similar --precise``: more like this through an optimised text token (Cross the Gap, OTI)."""
    from photolens.retrieval.text_inversion import STEPS, invert

    ref = reference_vector(library, photo)
    embedder = library.embedder
    result = invert(embedder.model, embedder.tokenizer, ref[None], steps=steps or STEPS, cancel=cancel)
    pid = library.photo_id(photo)
    return calibrated_search(library, result.vectors[0], limit, search_filter, min_score,
                             exclude={pid} if pid is not None else None)


def pic2word_trainer(library: Library, config: Pic2WordConfig | None = None,
                     checkpoint: bytes | None = None) -> Pic2WordTrainer:
    """A trainer over the library's current vectors; run it in a worker and store ``checkpoint()`` as it goes."""
    embedder = library.embedder
    return Pic2WordTrainer(embedder.model, embedder.tokenizer, library.vectors().matrix, library.model_key,
                           config, checkpoint)


def train_pic2word(library: Library, config: Pic2WordConfig | None = None, checkpoint: bytes | None = None,
                   cancel: threading.Event | None = None) -> Iterator[tuple[Pic2WordProgress, Pic2WordTrainer]]:
    """Convenience generator for a background job: yields (progress, trainer) so the caller can save
    ``trainer.checkpoint()`` every so often and ``trainer.mapper().to_bytes()`` when ``progress.done``."""
    trainer = pic2word_trainer(library, config, checkpoint)
    for progress in trainer.run(cancel):
        yield progress, trainer
