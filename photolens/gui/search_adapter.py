"""Turning a :class:`~photolens.gui.widgets.search_bar.SearchRequest` into a Library call.

* words (with ``+``/``-``, weights) and "without" words → the query language's weighted terms;
* a photo alone → ``Library.similar`` (or the lens service's similar, through the current lens);
* words with a lens chosen → the lens service's search (the query projected into the lens space);
* a photo plus a change in words ("this one, but at night") → the composed-query service
  (``photolens.retrieval.service.composed_search``) when it is importable, else the sum of terms;
* a photo plus words and "without" words → weighted terms (the photo is one term).

Runs on the model pool; returns rows ready for the grid plus notes to show (e.g. "no good match").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from photolens import browse
from photolens.browse import PhotoRow
from photolens.search import SearchFilter

RETRIEVAL_SERVICE = "photolens.retrieval.service"


@dataclass
class SearchResult:
    rows: list[PhotoRow]
    notes: list[str] = field(default_factory=list)
    method: str = "terms"


def _composed_search() -> Any:
    try:
        return getattr(importlib.import_module(RETRIEVAL_SERVICE), "composed_search", None)
    except ImportError:
        return None


def run_search(library: Any, request: Any, limit: int, lens: str | None = None, lenses: Any = None) -> SearchResult:
    search_filter = SearchFilter(folder=request.scope)
    through_lens = bool(lens) and lenses is not None and getattr(lenses, "available", False)
    if request.similar_only:
        hits = lenses.similar(lens, request.photo, limit, search_filter) if through_lens else None
        method = "lens-similar" if hits is not None else "similar"
        if hits is None:
            hits = library.similar(request.photo, limit, search_filter)
        return SearchResult(browse.rows_for_hits(library.db, hits), method=method)
    if through_lens and not request.photo:
        hits = lenses.search(lens, request.terms(), limit, search_filter)
        if hits is not None:
            return SearchResult(browse.rows_for_hits(library.db, hits), method="lens")
    plain_change = request.photo and request.text.strip() and not request.avoid and not _has_operators(request.text)
    composed = _composed_search() if plain_change else None
    if composed is not None:
        # no cutoff: the grid always shows the best candidates, and says when even those match weakly
        outcome = composed(library, request.photo, request.text.strip(), limit=limit, search_filter=search_filter,
                           min_score=None)
        notes = list(outcome.notes)
        weak = _weak_match_note(outcome)
        if weak:
            notes.append(weak)
        return SearchResult(browse.rows_for_hits(library.db, outcome.hits), notes, "composed")
    terms = request.terms()
    exclude = None
    if request.photo:
        pid = library.photo_id(request.photo)
        exclude = {pid} if pid is not None else None
    hits = library.search_vector(library.query_vector(terms), limit, search_filter, exclude)
    return SearchResult(browse.rows_for_hits(library.db, hits))


def _weak_match_note(outcome: Any) -> str:
    """A hint when the calibrated score of the best result is under the service's usual cutoff."""
    try:
        from photolens.retrieval.calibration import DEFAULT_MIN_SCORE
    except ImportError:
        return ""
    scale = getattr(outcome, "scale", None)
    if not outcome.hits or scale is None or not getattr(scale, "reliable", False):
        return ""
    best = outcome.hits[0].score
    if best >= DEFAULT_MIN_SCORE:
        return ""
    return (f"No strong match: the best photo scores {best:.1f} (a good match scores {DEFAULT_MIN_SCORE:g} or more). "
            "These are the closest photos.")


def _has_operators(text: str) -> bool:
    """True when the words use the query language (``a + b``, ``- c``, ``2:dog``)."""
    from photolens.query import parse_query

    try:
        terms = parse_query(text)
    except Exception:  # noqa: BLE001 - an invalid query goes the terms route and reports its error there
        return True
    return len(terms) != 1 or terms[0].weight != 1.0 or terms[0].kind != "text"
