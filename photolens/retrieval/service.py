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
from photolens.retrieval import relevance
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
from photolens.retrieval.vocabulary import generic_captions
from photolens.search import SearchFilter, SearchHit
from photolens.spaces import RAW_SPACE, Space
from photolens.vectors import normalize

if TYPE_CHECKING:
    from photolens.library import Library


@dataclass
class SearchOutcome:
    """Results, matches first then weak ones (``hit.match``), best first (scores are monotone in the cosine).

    ``hit.score`` is the calibrated score (1 = the match line, the same scale for every kind of query),
    ``hit.cosine`` the raw cosine in the space searched.
    """

    hits: list[SearchHit]
    curve: relevance.QueryCurve
    min_score: float | None
    notes: list[str] = field(default_factory=list)
    query: ComposedQuery | None = None
    dropped: int = 0  # candidates under ``min_score``, left out on request

    @property
    def matches(self) -> list[SearchHit]:
        return [h for h in self.hits if h.match]

    @property
    def no_good_match(self) -> bool:
        """True when results exist but none of them is a match (they are still returned, flagged weak)."""
        return bool(self.hits) and not any(h.match for h in self.hits)


_NULLS: dict[tuple, relevance.NullModel] = {}


def null_model(library: Library, matrix: np.ndarray, space: Space = RAW_SPACE) -> relevance.NullModel:
    """The library's null model in ``space``: generic captions (text vectors cached in the store per model)
    and a sample of its photos; rebuilt when the library's vectors change, kept for a few libraries."""
    key = (library.model_key, space.key, matrix.shape, id(matrix), float(matrix[:: max(1, len(matrix) // 64)].sum()))
    null = _NULLS.get(key)
    if null is None:
        captions = library.text_vectors(generic_captions())
        null = relevance.build_null(space.project(captions), matrix)
        if len(_NULLS) >= 8:
            _NULLS.pop(next(iter(_NULLS)))
        _NULLS[key] = null
    return null


def calibrated_search(library: Library, query: np.ndarray, limit: int = 20,
                      search_filter: SearchFilter | None = None, min_score: float | None = None,
                      exclude: set[int] | None = None, space: Space = RAW_SPACE) -> SearchOutcome:
    """Top ``limit`` photos for a query vector: matches first, then the closest weak results, never empty
    for a library with photos (unless ``min_score`` drops them: results scoring below it are left out).

    The curve statistics come from the whole library (a fixed sample of at most 8,192 photos), not the
    filtered subset, in the space searched (a lens space has its own distribution and its own null).
    """
    ids, matrix = library.space_vectors(space)
    projected = normalize(np.asarray(space.project(query), dtype=np.float32).reshape(-1))
    if not matrix.shape[0]:
        return SearchOutcome([], relevance.QueryCurve(0.0, 0.0, 0, 1.0), min_score)
    null = null_model(library, matrix, space)
    curve = relevance.query_curve(projected, matrix, null, relevance.sample_rows(matrix.shape[0]))
    pool = library.search_vector(query, 2 * limit + 20, search_filter, exclude, space=space)
    rows = _rows_of(ids, np.array([h.photo_id for h in pool], dtype=np.int64))
    cosines = np.array([h.score for h in pool], dtype=np.float64)
    scores = relevance.judged_scores(curve, null, matrix[rows], cosines, projected) if pool else np.zeros(0, np.float32)
    judged = [SearchHit(h.photo_id, h.path, float(sc), float(h.score), bool(sc >= 1.0)) for h, sc in zip(pool, scores)]
    kept = [h for h in judged if min_score is None or h.score >= min_score]
    outcome = SearchOutcome(kept[:limit], curve, min_score, dropped=len(judged) - len(kept))
    if not curve.reliable:
        outcome.notes.append(f"Only {curve.n} photos: too few to calibrate scores well, so the match line is rough.")
    if outcome.hits and outcome.no_good_match:
        outcome.notes.append(f"No photo matches well; showing the closest {len(outcome.hits)}.")
    elif pool and not outcome.hits:
        outcome.notes.append(f"No photo scores {min_score:g} or more (the best scores {judged[0].score:.2f}); "
                             "lower --min-score to see the closest ones.")
    return outcome


def _rows_of(ids: np.ndarray, photo_ids: np.ndarray) -> np.ndarray:
    """Row of each photo id in ``ids`` (every id is there: hits come from the same vectors)."""
    order = np.argsort(ids, kind="stable")
    return order[np.searchsorted(ids, photo_ids, sorter=order)]


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
                    min_score: float | None = None, alpha: float = DEFAULT_ALPHA,
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
                    min_score: float | None = None, steps: int | None = None,
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
