"""``--export DIR`` / ``--as MODE`` for search, similar, group and cluster: the GUI's export, headless.

The work is :mod:`photolens.export` (originals only read; clashes get numbered names). Here: the options,
a progress bar that appears only when an export takes more than a second, and one summary line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator

from photolens.cli.common import EXIT_OK, EXIT_PARTIAL, printable

MODE_WORDS = {"copy": "copies", "hardlink": "hard links", "symlink": "symbolic links"}


def add_export_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--export", metavar="DIR",
                        help=f"also put {what} into DIR (created if needed); the originals are never touched")
    parser.add_argument("--as", dest="export_as", choices=tuple(MODE_WORDS), default="copy",
                        help="with --export: copy (default), hardlink (falls back to copies across file systems) "
                        "or symlink")


def export_flat(args: argparse.Namespace, paths: Iterable[str]) -> int:
    """Export ``paths`` into ``args.export``; returns the exit code (1 when some photos failed)."""
    from photolens.export import export_photos

    paths = list(paths)
    return _run(export_photos(paths, args.export, args.export_as), args)


def export_grouped(args: argparse.Namespace, groups: Iterable[tuple[str, Iterable[str]]]) -> int:
    """One subfolder of ``args.export`` per (group name, photos); equal names get numbered folders."""
    from photolens.export import export_groups

    return _run(export_groups([(name, list(paths)) for name, paths in groups], args.export, args.export_as), args)


def _run(events: Iterator, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    result = None
    bar = None
    try:
        for event in events:
            if bar is None:
                bar = tqdm(total=event.total, unit="photo", desc="exporting", file=sys.stderr, delay=1.0,
                           dynamic_ncols=True, leave=False)
            bar.update(event.done - bar.n)
            result = event.result
    finally:
        if bar is not None:
            bar.close()
    if result is None:
        print(f"Nothing to export into {printable(args.export)}.", file=sys.stderr)
        return EXIT_OK
    print(summary_line(result, args.export, args.export_as), file=sys.stderr)
    for source, reason in result.failed[:20]:
        print(f"  ! {printable(source)}: {reason}", file=sys.stderr)
    if len(result.failed) > 20:
        print(f"  … and {len(result.failed) - 20} more.", file=sys.stderr)
    return EXIT_PARTIAL if result.failed else EXIT_OK


def summary_line(result, destination: str, mode: str) -> str:
    done = len(result.done)
    parts = [f"Exported {done} photo{'s' * (done != 1)} into {printable(destination)} as {MODE_WORDS[mode]}"]
    notes = []
    if result.renamed:
        notes.append(f"{result.renamed} under a numbered name (the name was taken)")
    if result.copied_instead:
        notes.append(f"{len(result.copied_instead)} copied instead of hard-linked "
                     f"({result.copied_instead[0][1]})")
    if result.skipped:
        notes.append(f"{len(result.skipped)} skipped")
    if result.failed:
        notes.append(f"{len(result.failed)} failed")
    return parts[0] + (f"; {', '.join(notes)}." if notes else ".")
