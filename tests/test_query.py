"""The query language: weighted positive and negative terms, quotes, photos, and clear errors."""

from __future__ import annotations

import pytest

from photolens.errors import QueryError
from photolens.query import Term, parse_query


def test_single_text_term() -> None:
    assert parse_query("dog on a beach") == [Term("text", "dog on a beach", 1.0)]


def test_plus_and_minus_terms_with_quotes() -> None:
    assert parse_query('"beach" + "sunset" - "people"') == [
        Term("text", "beach", 1.0),
        Term("text", "sunset", 1.0),
        Term("text", "people", -1.0),
    ]


def test_weights_apply_to_positive_and_negative_terms() -> None:
    assert parse_query('2:dog + cat - 0.5:"parking lot"') == [
        Term("text", "dog", 2.0),
        Term("text", "cat", 1.0),
        Term("text", "parking lot", -0.5),
    ]


def test_decimal_weight_forms() -> None:
    assert parse_query(".5:x + 1.:y")[0].weight == 0.5
    assert parse_query(".5:x + 1.:y")[1].weight == 1.0


def test_hyphenated_words_and_attached_signs_stay_in_the_term() -> None:
    assert parse_query("red t-shirt") == [Term("text", "red t-shirt", 1.0)]
    assert parse_query("a+b") == [Term("text", "a+b", 1.0)]


def test_leading_minus_makes_the_first_term_negative() -> None:
    assert parse_query("-indoors + cat") == [Term("text", "indoors", -1.0), Term("text", "cat", 1.0)]
    assert parse_query("- indoors + cat") == [Term("text", "indoors", -1.0), Term("text", "cat", 1.0)]


def test_quotes_keep_operators_inside_a_term() -> None:
    assert parse_query('"rock - paper" + scissors') == [
        Term("text", "rock - paper", 1.0),
        Term("text", "scissors", 1.0),
    ]


def test_apostrophes_are_not_quotes() -> None:
    assert parse_query("dog's toy + cat") == [Term("text", "dog's toy", 1.0), Term("text", "cat", 1.0)]


def test_at_sign_term_is_a_photo_even_with_spaces_in_quotes() -> None:
    assert parse_query('@/photos/beach.jpg + at night') == [
        Term("image", "/photos/beach.jpg", 1.0),
        Term("text", "at night", 1.0),
    ]
    assert parse_query('@"/my photos/a - b.jpg" - 2:people') == [
        Term("image", "/my photos/a - b.jpg", 1.0),
        Term("text", "people", -2.0),
    ]


def test_extra_whitespace_is_ignored() -> None:
    assert parse_query("  a   +   b  ") == [Term("text", "a", 1.0), Term("text", "b", 1.0)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Empty query"),
        ("   ", "Empty query"),
        ("- people", "at least one positive"),
        ("a + - b", "Two operators"),
        ("a +", "ends with an operator"),
        ("a -", "ends with an operator"),
        ('a - ""', "Empty term"),
        ("0:dog", "positive"),
        ('"unclosed + b', "quote"),
    ],
)
def test_malformed_queries_raise_clear_errors(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query)
