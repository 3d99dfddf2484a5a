"""``photolens search`` and ``photolens similar``.

Scores are calibrated (see :mod:`photolens.retrieval.relevance`): 1 is the match line, 0 a typical photo of
the library for that query, whatever the query kind. Matches come first; the closest weaker results follow
below the line "— weaker matches —". The raw cosine and the match flag are in the JSON output too.
"""

from __future__ import annotations

import argparse
import sys

from photolens.cli.common import add_filter_arguments, open_library, print_json, printable, search_filter_from

COMPOSED_METHODS = ("default", "image", "text", "sum", "weighted", "pdv", "pic2word")


def _min_score(text: str) -> float | None:
    if text.lower() in ("none", "off"):
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number (or 'none'): {text}") from exc


def _add_scoring(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lens", metavar="NAME", help="search through a lens (saved or preset)")
    parser.add_argument("--min-score", type=_min_score, default=None, metavar="S",
                        help="leave out results below this calibrated score (1 = the match line; "
                             "default: keep them, flagged as weaker matches)")


def register(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser(
        "search", help="find photos by text, by example photo, or a photo plus a change",
        description="Find photos by meaning. Terms combine with + and -, weights with N: "
        "(e.g.  beach + sunset - people,  2:dog + cat). A term @PATH is a photo. "
        "--photo PATH with words searches for that photo changed as the words say ('at night').",
    )
    search.add_argument("query", nargs="*", help="words; + and - between terms; N:term for weights")
    search.add_argument("--photo", metavar="PATH", help="reference photo for a composed query")
    search.add_argument("--method", choices=COMPOSED_METHODS, default="default",
                        help="how --photo and the words combine (default: measured best)")
    add_filter_arguments(search)
    _add_scoring(search)
    search.set_defaults(func=run_search)

    similar = subparsers.add_parser("similar", help="photos that look like a given photo",
                                    description="More like this: PHOTO may be in the library or any image file.")
    similar.add_argument("photo", help="a photo file")
    similar.add_argument("--precise", action="store_true",
                         help="slower, more faithful: match through an optimised text token (seconds per query)")
    add_filter_arguments(similar)
    _add_scoring(similar)
    similar.set_defaults(func=run_similar)


WEAK_DIVIDER = "— weaker matches —"


def _print_outcome(outcome, as_json: bool) -> None:
    if as_json:
        print_json([{**hit.as_dict(), "path": printable(hit.path)} for hit in outcome.hits])
    else:
        divided = False
        for hit in outcome.hits:
            if not hit.match and not divided:
                print(WEAK_DIVIDER)
                divided = True
            print(f"{hit.score:6.2f}  {printable(hit.path)}")
    for note in outcome.notes:
        print(note, file=sys.stderr)
    if not outcome.hits and not outcome.notes:
        print("No matching photos.", file=sys.stderr)


def _space(library, lens: str | None):
    if not lens:
        return None
    from photolens.lenses.service import LensService

    return LensService(library).activate(lens).space


def run_search(args: argparse.Namespace) -> int:
    from photolens.errors import QueryError
    from photolens.retrieval import service

    library = open_library(args)
    text = " ".join(args.query)
    search_filter = search_filter_from(args)
    space = _space(library, args.lens)
    if args.photo:
        if not text.strip():
            outcome = service.calibrated_search(library, service.reference_vector(library, args.photo), args.limit,
                                                search_filter, args.min_score, _self(library, args.photo),
                                                **_in(space))
        else:
            mapper = None
            if args.method == "pic2word":
                from photolens.cli.pic2word_cmd import stored_mapper

                mapper = stored_mapper(library)
            outcome = service.composed_search(library, args.photo, text, args.method, limit=args.limit,
                                              search_filter=search_filter, min_score=args.min_score,
                                              mapper_bytes=mapper, **_in(space))
    else:
        if not text.strip():
            raise QueryError("Give some words to search for, or --photo PATH.")
        outcome = service.calibrated_search(library, library.query_vector(text), args.limit, search_filter,
                                            args.min_score, **_in(space))
    _print_outcome(outcome, args.json)
    return 0


def _self(library, photo: str) -> set[int] | None:
    pid = library.photo_id(photo)
    return {pid} if pid is not None else None


def _in(space) -> dict:
    """Pass a lens space only when one is chosen (keeps the call valid for the raw space)."""
    return {"space": space} if space is not None else {}


def run_similar(args: argparse.Namespace) -> int:
    from photolens.errors import QueryError
    from photolens.retrieval import service

    library = open_library(args)
    space = _space(library, args.lens)
    if args.precise:
        if space is not None:
            raise QueryError("--precise works in the model's own space; drop --lens or --precise.")
        outcome = service.precise_similar(library, args.photo, args.limit, search_filter_from(args), args.min_score)
    else:
        outcome = service.calibrated_search(library, service.reference_vector(library, args.photo), args.limit,
                                            search_filter_from(args), args.min_score, _self(library, args.photo),
                                            **_in(space))
    _print_outcome(outcome, args.json)
    return 0
