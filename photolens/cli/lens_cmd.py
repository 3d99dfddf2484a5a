"""``photolens lens …``, ``photolens group`` and ``photolens cluster``; ``--lens`` for search/similar.

A preset is saved into the library only once a command used it successfully: ``lens show PRESET`` or a
``group`` that fails leaves the library as it was. ``lens list``, ``show`` and ``export`` work before any
library exists (presets only).
"""

from __future__ import annotations

import argparse
import sys

from photolens.cli.common import (
    EXIT_OK,
    UsageError,
    existing_folder,
    library_location,
    open_library,
    path_fields,
    print_json,
    printable,
    require_library,
)
from photolens.cli.exporting import add_export_arguments, export_grouped


def register(subparsers: argparse._SubParsersAction) -> None:
    lens = subparsers.add_parser("lens", help="create, list, show, delete, export and import lenses",
                                 description="A lens is a named notion of similarity (colour, weather, …) "
                                 "learned from a few words; search, similar, group and cluster can use it.")
    actions = lens.add_subparsers(dest="lens_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a lens from value words and templates")
    create.add_argument("name", help="the lens's name (used with --lens NAME)")
    create.add_argument("--values", required=True, help='comma-separated words, e.g. "red, green, blue"')
    create.add_argument("--template", action="append", dest="templates", metavar="TEXT",
                        help="a prompt with {} for the word (repeatable), e.g. 'a photo of something {}'")
    create.add_argument("--dim", type=int, help="output dimension (default: a quarter of the model's)")
    create.add_argument("--description", default="", help="a sentence saying what the lens is for")
    create.add_argument("--replace", action="store_true", help="overwrite a lens of the same name")
    create.set_defaults(func=run_create)

    listing = actions.add_parser("list", help="saved lenses and presets")
    listing.add_argument("--json", action="store_true", help="print {saved, presets} as JSON (docs/cli-json.md)")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="a lens's words, templates and fit")
    show.add_argument("name", help="a saved lens or a preset")
    show.add_argument("--json", action="store_true", help="print the definition and its fit as JSON")
    show.set_defaults(func=run_show)

    remove = actions.add_parser("delete", help="delete a saved lens")
    remove.add_argument("name", help="a saved lens")
    remove.set_defaults(func=run_delete)

    export = actions.add_parser("export", help="write a lens to a .toml or .json file")
    export.add_argument("name", help="a saved lens or a preset")
    export.add_argument("file", help="the file to write (.toml or .json)")
    export.set_defaults(func=run_export)

    imp = actions.add_parser("import", help="read a lens from a .toml or .json file")
    imp.add_argument("file", help="a lens file (.toml or .json)")
    imp.add_argument("--replace", action="store_true", help="overwrite a saved lens of the same name")
    imp.set_defaults(func=run_import)

    group = subparsers.add_parser("group", help="sort photos by a lens's value words",
                                  description="Each photo goes to the value word it matches best, with its "
                                  "margin over the runner-up; small margins go to 'unsure'.")
    group.add_argument("path", nargs="?", help="only photos under this folder")
    group.add_argument("--lens", required=True, help="a saved lens or a preset")
    group.add_argument("--unsure-margin", type=float, help="margin below which a photo is unsure")
    group.add_argument("--show", type=int, default=5, metavar="N", help="photos listed per group (text output)")
    group.add_argument("--json", action="store_true", help="JSON array: path, value, margin, score, unsure")
    add_export_arguments(group, "the photos, one folder per value word and unsure/ for the unsure ones,")
    group.set_defaults(func=run_group)

    clust = subparsers.add_parser("cluster", help="cluster photos in a lens's space",
                                  description="k-means in lens space; k chosen by silhouette unless given. "
                                  "Each cluster is named by its nearest value words.")
    clust.add_argument("path", nargs="?", help="only photos under this folder")
    clust.add_argument("--lens", required=True, help="a saved lens or a preset")
    clust.add_argument("--k", default="auto", help="number of clusters or 'auto' (default)")
    clust.add_argument("--show", type=int, default=5, metavar="N", help="representative photos per cluster")
    clust.add_argument("--json", action="store_true", help="JSON array: path, cluster, label, score")
    add_export_arguments(clust, "the photos, one folder per named cluster,")
    clust.set_defaults(func=run_cluster)


def _service(args: argparse.Namespace):
    from photolens.lenses.service import LensService

    return LensService(open_library(args))


def _service_if_library(args: argparse.Namespace):
    """The lens service, or None before any library exists (presets can still be listed and shown)."""
    try:
        require_library(library_location(args))
    except UsageError:
        return None
    return _service(args)


def lens_json(definition) -> dict:
    """A definition with every field present (docs/cli-json.md), unlike the file format's optional ones."""
    return {"name": definition.name, "description": definition.description, "values": list(definition.values),
            "templates": list(definition.templates), "dim": definition.dim}


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
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from photolens.lenses.presets import list_presets

    service = _service_if_library(args)
    saved = service.list_lenses() if service is not None else []
    saved_names = {d.name for d in saved}
    presets = [p for p in list_presets() if p not in saved_names]
    if args.json:
        print_json({"saved": [lens_json(d) for d in saved], "presets": presets})
        return EXIT_OK
    for definition in saved:
        print(f"{definition.name:<16} {', '.join(definition.values[:8])}{' …' if len(definition.values) > 8 else ''}")
    if not saved:
        print("No saved lenses yet." if service is not None else "No saved lenses (no library yet).")
    print(f"\nPresets (use by name, e.g. --lens colour): {', '.join(presets)}")
    return EXIT_OK


def _definition(args: argparse.Namespace, service):
    if service is not None:
        return service.get_lens(args.name)
    from photolens.lenses.presets import list_presets, load_preset

    if args.name not in list_presets():
        require_library(library_location(args))  # a saved lens needs the library: say there is none
    return load_preset(args.name)


def run_show(args: argparse.Namespace) -> int:
    service = _service_if_library(args)
    definition = _definition(args, service)
    info = service.fit_info(args.name) if service is not None else None
    if args.json:
        print_json({**lens_json(definition), "fit": info})
        return EXIT_OK
    print(definition.to_toml().rstrip())
    if info is None:
        print("# not fitted yet: a lens is fitted to the model of a library (photolens index FOLDER first)")
    else:
        print(f"# fitted for {info['model_key']}: {info['dim_in']}→{info['dim_out']}, loss {info['loss']:.4f}")
        if info["warning"]:
            print(f"# warning: {info['warning']}")
    return EXIT_OK


def run_delete(args: argparse.Namespace) -> int:
    if not _service(args).delete_lens(args.name):
        raise UsageError(f"No saved lens called {args.name!r} (presets cannot be deleted).")
    print(f"Deleted lens {args.name!r}.")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    _definition(args, _service_if_library(args)).save(args.file)
    print(f"Wrote {args.file}.")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    definition = _service(args).import_lens(args.file, replace=args.replace)
    print(f"Imported lens {definition.name!r} ({len(definition.values)} words).")
    return EXIT_OK


def _ids_under(library, path: str | None):
    import numpy as np

    from photolens.search import SearchFilter

    if not path:
        return None
    allowed = library.allowed_ids(SearchFilter(folder=existing_folder(path, "PATH")))
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
        print_json([{**path_fields(paths[pid]), "value": grouping.values[v], "margin": round(m, 6),
                     "score": round(s, 6), "unsure": u} for pid, v, s, m, u in rows])
    else:
        _print_groups(args, grouping, rows, paths)
    if not args.export:
        return EXIT_OK
    groups: dict[str, list[str]] = {word: [] for word in grouping.values}
    groups["unsure"] = []
    for pid, v, _s, _m, unsure in rows:
        groups["unsure" if unsure else grouping.values[v]].append(paths[pid])
    return export_grouped(args, groups.items())


def _print_groups(args: argparse.Namespace, grouping, rows: list, paths: dict[int, str]) -> None:
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


def _k(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise UsageError(f"--k must be a number or 'auto', not {text!r}") from exc


def centre_scores(service, lens: str, ids, result) -> dict[int, float]:
    """Each photo's cosine to its cluster's centre in lens space (1 = at the centre)."""
    import numpy as np

    _active, present, vectors = service.lens_vectors(lens, ids)
    row_of = {int(pid): i for i, pid in enumerate(present)}
    centres = np.asarray(result.centroids, dtype=np.float32)
    centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    scores = {}
    for pid, label in zip(ids, result.labels):
        row = row_of.get(int(pid))
        if label >= 0 and row is not None:
            scores[int(pid)] = float(vectors[row] @ centres[int(label)])
    return scores


def run_cluster(args: argparse.Namespace) -> int:
    service = _service(args)
    library = service.library
    k = _k(args.k)
    ids = _ids_under(library, args.path)
    result = service.cluster(args.lens, ids, k)
    ids = service.grouped_ids(args.lens, ids)
    paths = _paths(library, ids)
    labels = {info.index: " / ".join(w for w, _ in info.names) or f"cluster {info.index + 1}" for info in result.clusters}
    members = [(int(pid), int(c)) for pid, c in zip(ids, result.labels) if c >= 0 and int(pid) in paths]
    if args.json:
        scores = centre_scores(service, args.lens, ids, result)
        print_json([{**path_fields(paths[pid]), "cluster": c, "label": labels[c], "score": round(scores[pid], 6)}
                    for pid, c in members])
    else:
        chosen = "chosen by silhouette" if k is None else "given"
        print(f"{result.k} clusters ({chosen})")
        for info in result.clusters:
            print(f"[{info.index}] {labels[info.index]} ({info.size} photos)")
            for row in info.representatives[: args.show]:
                pid = int(ids[int(row)])
                if pid in paths:
                    print(f"    {printable(paths[pid])}")
    if not args.export:
        return EXIT_OK
    return export_grouped(args, [(labels[info.index], [paths[pid] for pid, c in members if c == info.index])
                                 for info in result.clusters])
