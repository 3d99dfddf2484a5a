"""``photolens search`` and ``photolens similar``.

Scores are calibrated (see :mod:`photolens.retrieval.relevance`): 1 is the match line, 0 a typical photo of
the library for that query, whatever the query kind. Matches come first; the closest weaker results follow
below the line "— weaker matches —". The raw cosine and the match flag are in the JSON output too.
"""

from __future__ import annotations

import argparse
import sys

from photolens.cli.common import (
    EXIT_OK,
    UsageError,
    add_filter_arguments,
    open_library,
    path_fields,
    print_json,
    printable,
    search_filter_from,
)
from photolens.cli.exporting import add_export_arguments, export_flat

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
    search.add_argument("query", nargs="*", help="words; + and - between terms; N:term for weights; @PATH a photo")
    search.add_argument("--photo", metavar="PATH", help="reference photo for a composed query")
    search.add_argument("--method", choices=COMPOSED_METHODS, default="default",
                        help="how --photo and the words combine (default: measured best)")
    add_filter_arguments(search)
    _add_scoring(search)
    add_export_arguments(search, "the matching photos")
    search.set_defaults(func=run_search)

    similar = subparsers.add_parser("similar", help="photos that look like a given photo",
                                    description="More like this: PHOTO may be in the library or any image file.")
    similar.add_argument("photo", help="a photo file (in the library or not)")
    similar.add_argument("--precise", action="store_true",
                         help="slower, more faithful: match through an optimised text token (seconds per query)")
    add_filter_arguments(similar)
    _add_scoring(similar)
    add_export_arguments(similar, "the matching photos")
    similar.set_defaults(func=run_similar)


WEAK_DIVIDER = "— weaker matches —"


def _print_outcome(outcome, as_json: bool) -> None:
    if as_json:
        print_json([{**hit.as_dict(), **path_fields(hit.path)} for hit in outcome.hits])
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


def _lens_service(library, lens: str | None):
    if not lens:
        return None
    from photolens.lenses.service import LensService

    return LensService(library)


def _space(service, lens: str | None):
    return service.activate(lens).space if service is not None else None


def check_embedded(library) -> None:
    """Say why a search cannot find anything (no photos, none embedded with this model) instead of
    "No matching photos."; note photos still waiting to be embedded."""
    info = library.status()
    if info["photos"] == 0:
        raise UsageError("The library has no photos yet. Index a folder first: photolens index ~/Pictures")
    waiting = max(info["photos"] - info["embedded"] - info["failed"], 0)
    if info["embedded"] == 0:
        raise UsageError(f"None of the library's {info['photos']} photos is embedded with {info['model']} yet "
                         f"({waiting} await embedding). Start with: photolens index")
    if waiting:
        print(f"Note: {waiting} photos await embedding with {info['model']} and are not searched yet; "
              "`photolens index` embeds them.", file=sys.stderr)


def _finish(args: argparse.Namespace, library, service, outcome) -> int:
    """Print, save a preset lens used for the first time, and export when asked."""
    _print_outcome(outcome, args.json)
    if service is not None:
        service.remember_preset(args.lens)
    if not getattr(args, "export", None):
        return EXIT_OK
    matches = [hit.path for hit in outcome.hits if getattr(hit, "match", True)]
    weak = len(outcome.hits) - len(matches)
    if weak:
        print(f"{weak} weak results (below the cutoff) are not exported.", file=sys.stderr)
    return export_flat(args, matches)


def run_search(args: argparse.Namespace) -> int:
    from photolens.errors import QueryError
    from photolens.query import parse_query
    from photolens.retrieval import service

    text = " ".join(args.query)
    if not args.photo and not text.strip():
        raise QueryError("Give some words to search for, or --photo PATH.")
    if not args.photo:
        parse_query(text)  # a malformed query is a usage error, said before anything is opened
    search_filter = search_filter_from(args)
    library = open_library(args)
    check_embedded(library)
    lenses = _lens_service(library, args.lens)
    space = _space(lenses, args.lens)
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
        outcome = service.calibrated_search(library, library.query_vector(text), args.limit, search_filter,
                                            args.min_score, **_in(space))
    return _finish(args, library, lenses, outcome)


def _self(library, photo: str) -> set[int] | None:
    pid = library.photo_id(photo)
    return {pid} if pid is not None else None


def _in(space) -> dict:
    """Pass a lens space only when one is chosen (keeps the call valid for the raw space)."""
    return {"space": space} if space is not None else {}


def run_similar(args: argparse.Namespace) -> int:
    from photolens.errors import QueryError
    from photolens.retrieval import service

    search_filter = search_filter_from(args)
    library = open_library(args)
    check_embedded(library)
    lenses = _lens_service(library, args.lens)
    if args.precise and lenses is not None:
        raise QueryError("--precise works in the model's own space; drop --lens or --precise.")
    space = _space(lenses, args.lens)
    if args.precise:
        outcome = service.precise_similar(library, args.photo, args.limit, search_filter, args.min_score)
    else:
        outcome = service.calibrated_search(library, service.reference_vector(library, args.photo), args.limit,
                                            search_filter, args.min_score, _self(library, args.photo),
                                            **_in(space))
    return _finish(args, library, lenses, outcome)
