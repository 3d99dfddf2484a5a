"""``photolens lens …``, ``photolens group`` and ``photolens cluster``; ``--lens`` for search/similar."""

from __future__ import annotations

import argparse
import sys

from photolens.cli.common import open_library, print_json, printable


def register(subparsers: argparse._SubParsersAction) -> None:
    lens = subparsers.add_parser("lens", help="create, list, show, delete, export and import lenses",
                                 description="A lens is a named notion of similarity (colour, weather, …) "
                                 "learned from a few words; search, similar, group and cluster can use it.")
    actions = lens.add_subparsers(dest="lens_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a lens from value words and templates")
    create.add_argument("name")
    create.add_argument("--values", required=True, help='comma-separated words, e.g. "red, green, blue"')
    create.add_argument("--template", action="append", dest="templates", metavar="TEXT",
                        help="a prompt with {} for the word (repeatable), e.g. 'a photo of something {}'")
    create.add_argument("--dim", type=int, help="output dimension (default: a quarter of the model's)")
    create.add_argument("--description", default="")
    create.add_argument("--replace", action="store_true", help="overwrite a lens of the same name")
    create.set_defaults(func=run_create)

    listing = actions.add_parser("list", help="saved lenses and presets")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="a lens's words, templates and fit")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)

    remove = actions.add_parser("delete", help="delete a saved lens")
    remove.add_argument("name")
    remove.set_defaults(func=run_delete)

    export = actions.add_parser("export", help="write a lens to a .toml or .json file")
    export.add_argument("name")
    export.add_argument("file")
    export.set_defaults(func=run_export)

    imp = actions.add_parser("import", help="read a lens from a .toml or .json file")
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true")
    imp.set_defaults(func=run_import)

    group = subparsers.add_parser("group", help="sort photos by a lens's value words",
                                  description="Each photo goes to the value word it matches best, with its "
                                  "margin over the runner-up; small margins go to 'unsure'.")
    group.add_argument("path", nargs="?", help="only photos under this folder")
    group.add_argument("--lens", required=True)
    group.add_argument("--unsure-margin", type=float, help="margin below which a photo is unsure")
    group.add_argument("--show", type=int, default=5, metavar="N", help="photos listed per group (text output)")
    group.add_argument("--json", action="store_true", help="JSON array: path, value, margin, score, unsure")
    group.set_defaults(func=run_group)

    clust = subparsers.add_parser("cluster", help="cluster photos in a lens's space",
                                  description="k-means in lens space; k chosen by silhouette unless given. "
                                  "Each cluster is named by its nearest value words.")
    clust.add_argument("path", nargs="?", help="only photos under this folder")
    clust.add_argument("--lens", required=True)
    clust.add_argument("--k", default="auto", help="number of clusters or 'auto' (default)")
    clust.add_argument("--show", type=int, default=5, metavar="N", help="representative photos per cluster")
    clust.add_argument("--json", action="store_true", help="JSON array: path, cluster, label")
    clust.set_defaults(func=run_cluster)


def _service(args: argparse.Namespace):
    from photolens.lenses.service import LensService

    return LensService(open_library(args))


def run_create(args: argparse.Namespace) -> int:
    from photolens.lenses.definition import LensDefinition

    definition = LensDefinition.from_cli(args.name, args.values, args.templates, args.dim, args.description)
    service = _service(args)
    service.save_lens(definition, replace=args.replace)
    info = service.fit_info(definition.name)
    print(f"Lens {definition.name!r}: {len(definition.values)} words, {info['prompts']} prompts, "
          f"{info['dim_in']}→{info['dim_out']} dimensions (fit loss {info['loss']:.4f}).")
    if info["warning"]:
        print(f"warning: {info['warning']}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    service = _service(args)
    saved = service.list_lenses()
    saved_names = {d.name for d in saved}
    presets = [p for p in service.presets() if p not in saved_names]
    if args.json:
        print_json({"saved": [d.to_dict() for d in saved], "presets": presets})
        return 0
    for definition in saved:
        print(f"{definition.name:<16} {', '.join(definition.values[:8])}{' …' if len(definition.values) > 8 else ''}")
    if not saved:
        print("No saved lenses yet.")
    print(f"\nPresets (use by name, e.g. --lens colour): {', '.join(presets)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    service = _service(args)
    definition = service.get_lens(args.name)
    info = service.fit_info(args.name)
    if args.json:
        print_json({**definition.to_dict(), "fit": info})
        return 0
    print(definition.to_toml().rstrip())
    print(f"# fitted for {info['model_key']}: {info['dim_in']}→{info['dim_out']}, loss {info['loss']:.4f}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    if not _service(args).delete_lens(args.name):
        print(f"photolens: no saved lens called {args.name!r}", file=sys.stderr)
        return 1
    print(f"Deleted lens {args.name!r}.")
    return 0


def run_export(args: argparse.Namespace) -> int:
    _service(args).export_lens(args.name, args.file)
    print(f"Wrote {args.file}.")
    return 0


def run_import(args: argparse.Namespace) -> int:
    definition = _service(args).import_lens(args.file, replace=args.replace)
    print(f"Imported lens {definition.name!r} ({len(definition.values)} words).")
    return 0


def _ids_under(library, path: str | None):
    import numpy as np

    from photolens.search import SearchFilter

    if not path:
        return None
    allowed = library.allowed_ids(SearchFilter(folder=path))
    return np.asarray(allowed if allowed is not None else [], dtype=np.int64)


def _paths(library, ids) -> dict[int, str]:
    from photolens.browse import photos_by_ids

    return {pid: row.path for pid, row in photos_by_ids(library.db, [int(i) for i in ids]).items()}


def run_group(args: argparse.Namespace) -> int:
    service = _service(args)
    library = service.library
    ids = _ids_under(library, args.path)
    grouping = service.group(args.lens, ids, args.unsure_margin)
    ids = service.grouped_ids(args.lens, ids)
    paths = _paths(library, ids)
    rows = [(int(pid), int(v), float(s), float(m), bool(u))
            for pid, v, s, m, u in zip(ids, grouping.value, grouping.score, grouping.margin, grouping.unsure)
            if v >= 0 and int(pid) in paths]
    if args.json:
        print_json([{"path": printable(paths[pid]), "value": grouping.values[v], "margin": round(m, 6),
                     "score": round(s, 6), "unsure": u} for pid, v, s, m, u in rows])
        return 0
    for index, word in enumerate(grouping.values):
        members = sorted((r for r in rows if r[1] == index and not r[4]), key=lambda r: -r[2])
        if not members:
            continue
        print(f"{word} ({len(members)})")
        for pid, *_ in members[: args.show]:
            print(f"    {printable(paths[pid])}")
    unsure = sorted((r for r in rows if r[4]), key=lambda r: -r[3])
    if unsure:
        print(f"unsure ({len(unsure)}; margin below {grouping.threshold:.3f})")
        for pid, v, _s, m, _u in unsure[: args.show]:
            print(f"    {printable(paths[pid])}  (maybe {grouping.values[v]}, margin {m:.3f})")
    return 0


def run_cluster(args: argparse.Namespace) -> int:
    from photolens.errors import PhotolensError

    service = _service(args)
    library = service.library
    if args.k == "auto":
        k = None
    else:
        try:
            k = int(args.k)
        except ValueError as exc:
            raise PhotolensError(f"--k must be a number or 'auto', not {args.k!r}") from exc
    ids = _ids_under(library, args.path)
    result = service.cluster(args.lens, ids, k)
    ids = service.grouped_ids(args.lens, ids)
    paths = _paths(library, ids)
    labels = {info.index: " / ".join(w for w, _ in info.names) or f"cluster {info.index + 1}" for info in result.clusters}
    if args.json:
        print_json([{"path": printable(paths[int(pid)]), "cluster": int(c), "label": labels[int(c)]}
                    for pid, c in zip(ids, result.labels) if c >= 0 and int(pid) in paths])
        return 0
    chosen = "chosen by silhouette" if k is None else "given"
    print(f"{result.k} clusters ({chosen})")
    for info in result.clusters:
        print(f"[{info.index}] {labels[info.index]} ({info.size} photos)")
        for row in info.representatives[: args.show]:
            pid = int(ids[int(row)])
            if pid in paths:
                print(f"    {printable(paths[pid])}")
    return 0


