"""Shared CLI plumbing: opening the library, printing results, turning errors into messages."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable

from photolens.errors import PhotolensError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def open_library(args: argparse.Namespace):
    from photolens.library import Library

    return Library(db=args.db, model=args.model)


def run_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except PhotolensError as exc:
        print(f"photolens: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\nphotolens: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def printable(path: str) -> str:
    """Paths with undecodable bytes print with escapes instead of crashing the terminal output."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def print_hits(hits: Iterable, as_json: bool, empty_message: str = "No matching photos.") -> None:
    hits = list(hits)
    if as_json:
        print_json([{**h.as_dict(), "path": printable(h.path)} for h in hits])
        return
    if not hits:
        print(empty_message, file=sys.stderr)
        return
    for hit in hits:
        print(f"{hit.score:7.3f}  {printable(hit.path)}")


def parse_date(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD[THH:MM]): {text}") from exc


def parse_end_date(text: str) -> dt.datetime:
    """Like :func:`parse_date`, but a bare day means the end of that day: "before 2020-08-01" includes it."""
    value = parse_date(text)
    if len(text.strip()) == 10:
        value += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return value


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="folder", metavar="DIR", help="only photos under this folder")
    parser.add_argument("--after", type=parse_date, metavar="DATE", help="taken on or after (YYYY-MM-DD)")
    parser.add_argument("--before", type=parse_end_date, metavar="DATE", help="taken on or before (YYYY-MM-DD)")
    parser.add_argument("--limit", "-n", type=int, default=20, metavar="N", help="number of results (default 20)")
    parser.add_argument("--json", action="store_true", help="print a JSON array (path, score) best first")


def search_filter_from(args: argparse.Namespace):
    from photolens.search import SearchFilter

    return SearchFilter(folder=args.folder, taken_after=args.after, taken_before=args.before)
