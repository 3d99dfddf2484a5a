"""Shared CLI plumbing: opening the library, printing paths and JSON, exit codes, turning errors into messages.

Exit codes (docs/cli-json.md): 0 done; 1 done in part (some files failed); 2 usage or setup error (bad
option or path, no library, missing model, bad query…); 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import sys

from photolens.errors import PhotolensError

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_SURROGATE = re.compile("[\ud800-\udfff]")


class UsageError(PhotolensError):
    """A command line that cannot be carried out as given (a path that does not exist, no library…)."""


def library_location(args: argparse.Namespace) -> str:
    from photolens.config import default_db_url

    return args.db or default_db_url()


def require_library(location: str) -> None:
    """Refuse to go on when a SQLite library file does not exist: only ``index`` creates one, so a typo in
    ``--db`` never leaves empty folders and databases behind."""
    from photolens.store.database import sqlite_file, to_url

    try:
        db_file = sqlite_file(to_url(location))
    except Exception:  # noqa: BLE001 - an unparseable URL: let the database layer say what is wrong
        return
    if db_file is not None and not db_file.is_file():
        from photolens.config import default_db_url

        db_option = "" if location == default_db_url() else f"--db {printable(location)} "
        raise UsageError(f"No library at {printable(str(db_file))}. Index a folder to create one: "
                         f"photolens {db_option}index ~/Pictures")


def open_library(args: argparse.Namespace, create: bool = False):
    """The library of ``--db`` / ``PHOTOLENS_DB`` / the default location; created only when ``create``."""
    from photolens.library import Library

    location = library_location(args)
    if not create:
        require_library(location)
    return Library(db=location, model=args.model)


def run_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # a terminal that cannot show a name still gets the rest
        except (AttributeError, ValueError):
            pass
    try:
        return int(args.func(args) or 0)
    except PhotolensError as exc:
        print(f"photolens: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nphotolens: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep the interpreter's final flush quiet
        except OSError:
            pass
        return EXIT_OK


def printable(path: str) -> str:
    """A path for people: undecodable bytes of a file name shown as ``\\xNN`` (as the database stores it)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def path_fields(path: str) -> dict[str, str]:
    """``path`` (the real one: ``os.fsencode(json.loads(...)["path"])`` gives the file name's exact bytes)
    and ``display_path`` (readable, undecodable bytes as ``\\xNN``)."""
    return {"path": path, "display_path": printable(path)}


def to_json(data: object) -> str:
    """Readable UTF-8 JSON in which lone surrogates (undecodable file-name bytes) are ``\\udcNN`` escapes,
    exactly as ``json.dumps(ensure_ascii=True)`` writes them, so any JSON parser reads them back."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: object) -> None:
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    text = to_json(data) + "\n"
    if out is None:  # a captured text stream (tests)
        sys.stdout.write(text)
    else:
        out.write(text.encode("utf-8"))
        out.flush()


def existing_folder(path: str, option: str) -> str:
    """``path`` as an absolute folder, or a usage error naming ``option``."""
    folder = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(f"{option} {printable(path)}: {printable(folder)} {what}.")
    return folder


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
    parser.add_argument("--json", action="store_true",
                        help="print a JSON array best first (fields: docs/cli-json.md)")


def search_filter_from(args: argparse.Namespace):
    from photolens.search import SearchFilter

    folder = existing_folder(args.folder, "--in") if args.folder else None
    return SearchFilter(folder=folder, taken_after=args.after, taken_before=args.before)
