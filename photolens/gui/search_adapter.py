"""Turning a :class:`~photolens.gui.widgets.search_bar.SearchRequest` into a Library call.

* words (with ``+``/``-``, weights) and "without" words → the query language's weighted terms;
* a photo alone → ``Library.similar`` (or the lens service's similar, through the current lens);
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
    if request.similar_only:
        hits = lenses.similar(lens, request.photo, limit) if lens and lenses is not None else None
        method = "lens-similar" if hits is not None else "similar"
        if hits is None:
            hits = library.similar(request.photo, limit, search_filter)
        return SearchResult(browse.rows_for_hits(library.db, hits), method=method)
    plain_change = request.photo and request.text.strip() and not request.avoid and not _has_operators(request.text)
    composed = _composed_search() if plain_change else None
    if composed is not None:
        outcome = composed(library, request.photo, request.text.strip(), limit=limit, search_filter=search_filter)
        return SearchResult(browse.rows_for_hits(library.db, outcome.hits), list(outcome.notes), "composed")
    terms = request.terms()
    exclude = None
    if request.photo:
        pid = library.photo_id(request.photo)
        exclude = {pid} if pid is not None else None
    hits = library.search_vector(library.query_vector(terms), limit, search_filter, exclude)
    return SearchResult(browse.rows_for_hits(library.db, hits))


def _has_operators(text: str) -> bool:
    """True when the words use the query language (``a + b``, ``- c``, ``2:dog``)."""
    from photolens.query import parse_query

    try:
        terms = parse_query(text)
    except Exception:  # noqa: BLE001 - an invalid query goes the terms route and reports its error there
        return True
    return len(terms) != 1 or terms[0].weight != 1.0 or terms[0].kind != "text"
