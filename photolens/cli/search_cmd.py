"""``photolens search`` and ``photolens similar``."""

from __future__ import annotations

import argparse

from photolens.cli.common import add_filter_arguments, open_library, print_hits, search_filter_from


def register(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser(
        "search", help="find photos by text (and/or example photos)",
        description="Find photos by meaning. Terms combine with + and -, weights with N: "
        "(e.g.  beach + sunset - people,  2:dog + cat). A term @PATH is a photo.",
    )
    search.add_argument("query", nargs="+", help="words; + and - between terms; N:term for weights")
    add_filter_arguments(search)
    search.add_argument("--lens", metavar="NAME", help="search through a lens (saved or preset); the query is projected too")
    search.set_defaults(func=run_search)

    similar = subparsers.add_parser("similar", help="photos that look like a given photo",
                                    description="More like this: PHOTO may be in the library or any image file.")
    similar.add_argument("photo", help="a photo file")
    add_filter_arguments(similar)
    similar.add_argument("--lens", metavar="NAME", help="similar in the lens's sense only (e.g. same colour)")
    similar.set_defaults(func=run_similar)


def run_search(args: argparse.Namespace) -> int:
    library = open_library(args)
    query = " ".join(args.query)
    if args.lens:
        from photolens.lenses.service import LensService

        hits = LensService(library).search(args.lens, query, args.limit, search_filter_from(args))
    else:
        hits = library.search(query, limit=args.limit, search_filter=search_filter_from(args))
    print_hits(hits, args.json)
    return 0


def run_similar(args: argparse.Namespace) -> int:
    library = open_library(args)
    if args.lens:
        from photolens.lenses.service import LensService

        hits = LensService(library).similar(args.lens, args.photo, args.limit, search_filter_from(args))
    else:
        hits = library.similar(args.photo, limit=args.limit, search_filter=search_filter_from(args))
    print_hits(hits, args.json)
    return 0
