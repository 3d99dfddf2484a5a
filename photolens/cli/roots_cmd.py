"""``photolens roots list|remove``: the folders the library indexes, and forgetting one (a deleted folder,
an old drive). Removing a folder touches nothing on disk: its photos leave results at once and their rows
are forgotten after the grace period (indexing the folder again in time costs nothing)."""

from __future__ import annotations

import argparse
import os

from photolens.cli.common import EXIT_OK, UsageError, open_library, path_fields, print_json, printable


def register(subparsers: argparse._SubParsersAction) -> None:
    roots = subparsers.add_parser("roots", help="the folders the library indexes; forget one",
                                  description="List the indexed folders (with their photo counts and whether "
                                  "they are still on disk), or remove one from the library.")
    actions = roots.add_subparsers(dest="roots_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the indexed folders")
    listing.add_argument("--json", action="store_true", help="print a JSON array of {path, photos, exists}")
    listing.set_defaults(func=run_list)
    remove = actions.add_parser("remove", help="stop indexing a folder (nothing on disk is touched)")
    remove.add_argument("folder", help="an indexed folder, as `photolens roots list` shows it")
    remove.set_defaults(func=run_remove)


def _photo_counts(library, roots: list[str]) -> dict[str, int]:
    from sqlalchemy import func, select

    from photolens.store.queries import under_any
    from photolens.store.schema import Photo

    counts = {}
    with library.db.session() as session:
        for root in roots:
            counts[root] = session.scalar(select(func.count()).select_from(Photo).where(
                Photo.missing_since.is_(None), under_any(Photo.path, [root], [root]))) or 0
    return counts


def run_list(args: argparse.Namespace) -> int:
    library = open_library(args)
    roots = library.roots()
    counts = _photo_counts(library, roots)
    rows = [{**path_fields(root), "photos": counts[root], "exists": os.path.isdir(root)} for root in roots]
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print("No folders yet: photolens index ~/Pictures")
    for row in rows:
        gone = "" if row["exists"] else "  (not on disk: `photolens roots remove` forgets it)"
        print(f"{row['photos']:>8}  {row['display_path']}{gone}")
    return EXIT_OK


def run_remove(args: argparse.Namespace) -> int:
    library = open_library(args)
    folder = os.path.abspath(os.path.expanduser(args.folder))
    if not library.remove_root(folder):
        known = ", ".join(printable(r) for r in library.roots()) or "none"
        raise UsageError(f"{printable(folder)} is not an indexed folder. Indexed: {known}.")
    print(f"Removed {printable(folder)}: its photos leave the results now (nothing on disk was touched).")
    return EXIT_OK
