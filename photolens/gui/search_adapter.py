"""Turning a :class:`~photolens.gui.widgets.search_bar.SearchRequest` into one call of the retrieval service,
so text, "more like this", composed and lens searches all come back on the same calibrated scale.

* words (with ``+``/``-``, weights) and "without" words → the query language's weighted terms →
  ``calibrated_search``;
* a photo alone → ``calibrated_search`` with the photo's vector, the photo itself excluded;
* a photo plus a change in words ("this one, but at night") → ``composed_search``;
* a photo plus words and "without" words → weighted terms (the photo is one term);
* a lens chosen → the same calls in the lens's space (``LensAdapter.space``).

Nothing is cut: the grid shows every result up to the limit, best first, and the hits flagged
``match == False`` (below the relevance cutoff) are drawn as the weaker section after the line. Runs on the
model pool; returns rows ready for the grid plus notes to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from photolens import browse
from photolens.browse import PhotoRow
from photolens.search import SearchFilter


@dataclass
class SearchResult:
    rows: list[PhotoRow]
    notes: list[str] = field(default_factory=list)
    method: str = "terms"
    weak_ids: frozenset[int] = frozenset()  # results below the relevance cutoff

    @property
    def matches(self) -> int:
        return sum(1 for r in self.rows if r.id not in self.weak_ids)


def is_match(hit: Any) -> bool:
    """The hit's relevance flag (``SearchHit.match``); a hit without one counts as a match (no line drawn)."""
    return bool(getattr(hit, "match", True))


def result_from_outcome(db: Any, outcome: Any, method: str) -> SearchResult:
    """Rows in the outcome's order (matches first, then weak ones) with the weak ids and the notes."""
    rows = browse.rows_for_hits(db, outcome.hits)
    weak = frozenset(h.photo_id for h in outcome.hits if not is_match(h))
    notes = list(getattr(outcome, "notes", []) or [])
    if rows and weak and all(r.id in weak for r in rows):
        notes.append("No strong match: these are the closest photos.")
    return SearchResult(rows, notes, method, weak)


def run_search(library: Any, request: Any, limit: int, lens: str | None = None, lenses: Any = None) -> SearchResult:
    from photolens.retrieval import service

    search_filter = SearchFilter(folder=request.scope)
    space = lenses.space(lens) if lens and lenses is not None and getattr(lenses, "available", False) else None
    where = {"space": space} if space is not None else {}
    suffix = "-lens" if space is not None else ""
    exclude = None
    if request.photo:
        pid = library.photo_id(request.photo)
        exclude = {pid} if pid is not None else None
    if request.similar_only:
        query = service.reference_vector(library, request.photo)
        outcome = service.calibrated_search(library, query, limit, search_filter, None, exclude, **where)
        return result_from_outcome(library.db, outcome, "similar" + suffix)
    plain_change = request.photo and request.text.strip() and not request.avoid and not _has_operators(request.text)
    if plain_change:
        outcome = service.composed_search(library, request.photo, request.text.strip(), limit=limit,
                                          search_filter=search_filter, min_score=None, **where)
        return result_from_outcome(library.db, outcome, "composed" + suffix)
    query = library.query_vector(request.terms())
    outcome = service.calibrated_search(library, query, limit, search_filter, None, exclude, **where)
    return result_from_outcome(library.db, outcome, "terms" + suffix)


def _has_operators(text: str) -> bool:
    """True when the words use the query language (``a + b``, ``- c``, ``2:dog``)."""
    from photolens.query import parse_query

    try:
        terms = parse_query(text)
    except Exception:  # noqa: BLE001 - an invalid query goes the terms route and reports its error there
        return True
    return len(terms) != 1 or terms[0].weight != 1.0 or terms[0].kind != "text"
