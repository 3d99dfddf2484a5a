"""The query language: weighted positive and negative terms, text or photos.

    beach + sunset - people        two positives, one negative
    2:dog + cat                    weights (a number and a colon before a term)
    "red car" - 0.5:"parking lot"  quotes keep a term together
    @/photos/beach.jpg + at night  a term starting with @ is a photo file

Operators must stand apart (`` + `` / `` - ``) so hyphenated words (``t-shirt``) stay whole. CLIP does
not understand negation inside a sentence ("a cat without glasses"): explicit ``-`` terms do that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from photolens.errors import QueryError

_SPLIT = re.compile(r"(?:^|\s+)([+-])\s+|^([+-])(?=\S)")
_WEIGHT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+):(.+)$", re.S)


@dataclass(frozen=True)
class Term:
    kind: str  # "text" or "image"
    value: str
    weight: float = 1.0  # negative for "-" terms


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def parse_query(query: str) -> list[Term]:
    """Parse a query string into terms; raises :class:`QueryError` on an empty or malformed query."""
    text = query.strip()
    if not text:
        raise QueryError("Empty query: give some words (e.g. 'dog on a beach') or a photo.")
    pieces: list[tuple[str, str]] = []
    sign, pos = "+", 0
    for match in _SPLIT.finditer(text):
        chunk = text[pos : match.start()]
        if chunk.strip():
            pieces.append((sign, chunk))
        elif match.start() > 0:
            raise QueryError(f"Two operators in a row in query: {query!r}")
        sign = match.group(1) or match.group(2)
        pos = match.end()
    tail = text[pos:]
    if not tail.strip():
        raise QueryError(f"Query ends with an operator: {query!r}")
    pieces.append((sign, tail))

    terms = []
    for sign, raw in pieces:
        raw = raw.strip()
        weight = 1.0
        match = _WEIGHT.match(raw)
        if match:
            weight = float(match.group(1))
            raw = match.group(2)
        value = _strip_quotes(raw)
        if not value:
            raise QueryError(f"Empty term in query: {query!r}")
        if weight <= 0:
            raise QueryError(f"Weights must be positive (use '-' for a negative term): {query!r}")
        kind = "text"
        if value.startswith("@") and len(value) > 1:
            kind, value = "image", _strip_quotes(value[1:])
        terms.append(Term(kind, value, weight if sign == "+" else -weight))
    if all(t.weight < 0 for t in terms):
        raise QueryError("A query needs at least one positive term; negatives only push results away.")
    return terms
