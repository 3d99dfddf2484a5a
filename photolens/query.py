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


def _word_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Whitespace-separated words as ``(start, end)``; a quote opening a word (or following ``N:`` or
    ``@``) runs to its closing quote, so ``"rock - paper"`` is one word. A lone ``'`` is an apostrophe."""
    spans = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < n and not text[i].isspace():
            char = text[i]
            if char in "\"'" and (i == start or text[i - 1] in ":@"):
                close = text.find(char, i + 1)
                if close != -1:
                    i = close + 1
                    continue
                if char == '"':
                    raise QueryError(f"Unclosed quote in query: {query!r}")
            i += 1
        spans.append((start, i))
    return spans


def parse_query(query: str) -> list[Term]:
    """Parse a query string into terms; raises :class:`QueryError` on an empty or malformed query."""
    text = query.strip()
    if not text:
        raise QueryError("Empty query: give some words (e.g. 'dog on a beach') or a photo.")
    pieces: list[tuple[str, str]] = []
    sign = "+"
    current: list[int] | None = None  # [start, end] of the term being read
    after_operator = False
    for index, (start, end) in enumerate(_word_spans(text, query)):
        word = text[start:end]
        if word in ("+", "-"):
            if after_operator:
                raise QueryError(f"Two operators in a row in query: {query!r}")
            if current is not None:
                pieces.append((sign, text[current[0] : current[1]]))
                current = None
            sign, after_operator = word, True
            continue
        after_operator = False
        if current is None:
            if index == 0 and word[0] in "+-" and len(word) > 1:
                sign, start = word[0], start + 1  # "-indoors + cat"
            current = [start, end]
        else:
            current[1] = end
    if current is None:
        raise QueryError(f"Query ends with an operator: {query!r}")
    pieces.append((sign, text[current[0] : current[1]]))

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
