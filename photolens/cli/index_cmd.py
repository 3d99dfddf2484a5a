"""``photolens index``: scan folders and embed what is new, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import os
import sys

from photolens.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    UsageError,
    library_location,
    open_library,
    path_fields,
    print_json,
    printable,
    require_library,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="index photo folders (incremental; resumes if interrupted)",
                                   description="Scan folders for photos and embed the new and changed ones. "
                                   "Without PATH, re-index every folder indexed before.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="folders or files to index")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="skip files or folders matching this pattern (repeatable), e.g. '*/Screenshots'; "
                        "remembered by the library, like the two options below")
    parser.add_argument("--follow-symlinks", action=argparse.BooleanOptionalAction, default=None,
                        help="follow symlinked folders (loops are detected)")
    parser.add_argument("--hidden", action=argparse.BooleanOptionalAction, default=None,
                        help="include hidden files and folders")
    parser.add_argument("--retry-failed", action="store_true", help="try again the files that failed before")
    parser.add_argument("--batch-size", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON (docs/cli-json.md)")
    parser.set_defaults(func=run)


def _summary_lines(summary) -> list[str]:
    parts = [f"{summary.new} new", f"{summary.changed} changed", f"{summary.moved} moved",
             f"{summary.deleted} deleted", f"{summary.failed} failed", f"{summary.unchanged} unchanged"]
    lines = ["Done: " + ", ".join(parts) + f"; {summary.embedded} embedded."]
    if summary.copied:
        lines.append(f"{summary.copied} exact copies reused their twin's vectors.")
    if summary.purged:
        lines.append(f"{summary.purged} photos missing for longer than the grace period were forgotten.")
    for path, reason in summary.problems[:50]:
        hint = "  (gone? `photolens roots remove` forgets it)" if reason == "folder not found" else ""
        lines.append(f"  ! {printable(path)}: {reason}{hint}")
    if len(summary.problems) > 50:
        lines.append(f"  … and {len(summary.problems) - 50} more (photolens failures lists them).")
    return lines


def scan_options(library, args: argparse.Namespace):
    """The library's remembered scan settings (shared with the GUI), updated by this command's options.

    They are remembered because indexing is incremental: a folder excluded in one run and not in the next
    would be marked missing, then indexed again.
    """
    from photolens.browse import get_setting, set_setting
    from photolens.scanner import ScanOptions

    excludes = list(get_setting(library.db, "excludes", []) or [])
    new_excludes = [e for e in args.exclude if e not in excludes]
    if new_excludes:
        excludes += new_excludes
        set_setting(library.db, "excludes", excludes)
    flags = {}
    for key, given in (("follow_symlinks", args.follow_symlinks), ("include_hidden", args.hidden)):
        if given is not None:
            set_setting(library.db, key, bool(given))
            flags[key] = bool(given)
        else:
            flags[key] = bool(get_setting(library.db, key, False))
    return ScanOptions(excludes=excludes, **flags)


def _library_exists(args: argparse.Namespace) -> bool:
    try:
        require_library(library_location(args))
    except UsageError:
        return False
    return True


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from photolens.indexer import IndexOptions

    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        raise UsageError("Not found: " + ", ".join(printable(p) for p in missing) + ". Nothing was indexed.")
    library = open_library(args, create=bool(args.paths)) if args.paths or _library_exists(args) else None
    roots = args.paths or (library.roots() if library is not None else [])
    if not roots:
        print("Nothing to index: give a folder, e.g. `photolens index ~/Pictures`.", file=sys.stderr)
        return EXIT_USAGE
    if args.retry_failed:
        library.clear_failures(roots)
    options = IndexOptions(scan=scan_options(library, args), batch_size=args.batch_size)
    bar = None
    last = None
    quiet = not sys.stderr.isatty() and args.json
    events = library.index(roots, options=options)
    try:
        for event in events:
            last = event
            if event.phase in ("embed", "metadata") and not quiet:
                if bar is None:
                    label = "embedding" if event.phase == "embed" else "reading metadata (no model)"
                    bar = tqdm(total=event.total, unit="photo", desc=label, file=sys.stderr, dynamic_ncols=True)
                bar.update(event.done - bar.n)
                bar.set_postfix_str(printable((event.path or "")[-40:]), refresh=False)
    except KeyboardInterrupt:
        events.close()
        if bar:
            bar.close()
        done = last.summary.embedded if last else 0
        print(f"\nInterrupted. {done} photos embedded in this run are saved; run the same command to resume.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if bar:
        bar.close()
    if last is None:
        return EXIT_OK
    summary = last.summary
    if args.json:
        data = summary.as_dict()
        data["problems"] = [{**path_fields(p), "reason": r} for p, r in summary.problems]
        data["model_error"] = last.model_error
        print_json(data)
    else:
        for line in _summary_lines(summary):
            print(line)
    if last.model_error:
        print(f"\nphotolens: photos were scanned but not embedded.\n{last.model_error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_PARTIAL if summary.failed else EXIT_OK
