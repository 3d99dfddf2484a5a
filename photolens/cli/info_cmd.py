"""``photolens status``, ``photolens models``, ``photolens failures``."""

from __future__ import annotations

import argparse
import os
import sys

from photolens.cli.common import EXIT_OK, open_library, path_fields, print_json, printable


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser("status", help="library counts, model and database location")
    status.add_argument("--json", action="store_true", help="print the counts as JSON (docs/cli-json.md)")
    status.set_defaults(func=run_status)

    models = subparsers.add_parser("models", help="which models are available offline",
                                   description="List CLIP models and whether their weights are here. "
                                   "`photolens models download` fetches the current model's weights "
                                   "(needs internet).")
    models.add_argument("action", nargs="?", choices=["list", "download"], default="list",
                        help="list (default) or download the current model's weights")
    models.add_argument("--all", action="store_true", help="list every open_clip architecture and tag")
    models.add_argument("--json", action="store_true", help="print the list as JSON (docs/cli-json.md)")
    models.set_defaults(func=run_models)

    failures = subparsers.add_parser("failures", help="files that could not be read, with the reason")
    failures.add_argument("--limit", "-n", type=int, default=1000, metavar="N",
                          help="list at most N (default 1000; 0 lists all); the total is always said")
    failures.add_argument("--json", action="store_true", help="print a JSON array of {path, reason}")
    failures.set_defaults(func=run_failures)


def run_status(args: argparse.Namespace) -> int:
    library = open_library(args)
    info = library.status()
    if args.json:
        print_json(info)
        return 0
    print(f"Database:  {info['database']}")
    print(f"Model:     {info['model']}  (key {info['model_key']})")
    print(f"Folders:   {', '.join(printable(r) for r in info['roots']) or '(none yet: photolens index FOLDER)'}")
    print(f"Photos:    {info['photos']}  ({info['embedded']} embedded with this model, {info['failed']} failed, "
          f"{info['missing']} missing)")
    others = {k: v for k, v in info["vectors_by_model"].items() if k != info["model_key"]}
    if others:
        print("Other models' vectors kept: " + ", ".join(f"{k} ({v})" for k, v in others.items()))
    return 0


RECOMMENDED = (
    ("ViT-B-32-256", "datacomp_s34b_b86k"),
    ("ViT-B-32", "laion2b_s34b_b79k"),
    ("ViT-B-16", "datacomp_xl_s13b_b90k"),
    ("ViT-L-14", "datacomp_xl_s13b_b90k"),
)


def run_models(args: argparse.Namespace) -> int:
    from photolens.config import default_model_spec
    from photolens.embedding.spec import hf_cache_dir, parse_model_spec, weights_status
    from photolens.torch_compat import import_open_clip

    current = parse_model_spec(args.model or default_model_spec())
    if args.action == "download":
        return _download(current)
    open_clip = import_open_clip()
    pairs = open_clip.list_pretrained() if args.all else list(RECOMMENDED)
    rows = []
    seen = set()
    for arch, tag in [(current.arch, current.source)] * (current.kind == "tag") + list(pairs):
        if (arch, tag) in seen:
            continue
        seen.add((arch, tag))
        spec = parse_model_spec(f"{arch}:{tag}")
        status = weights_status(spec, open_clip.get_pretrained_cfg(arch, tag))
        rows.append({"spec": spec.text, "available": status.available, "location": status.location,
                     "current": spec.text == current.text})
    if current.kind != "tag":
        status = weights_status(current)
        rows.insert(0, {"spec": current.text, "available": status.available, "location": status.location,
                        "current": True})
    if args.json:
        print_json(rows)
        return 0
    print(f"Hugging Face cache: {hf_cache_dir()}")
    for row in rows:
        mark = "*" if row["current"] else " "
        state = "available" if row["available"] else "not downloaded"
        print(f"{mark} {row['spec']:<50} {state}")
    print("\n* = current model. Set with --model SPEC or PHOTOLENS_MODEL. `photolens models download` fetches "
          "the current model (needs internet).")
    return 0


def _download(spec) -> int:
    from photolens.errors import ModelUnavailableError
    from photolens.torch_compat import import_open_clip

    if spec.kind not in ("tag", "hf-hub"):
        print(f"{spec.text} is a local model; nothing to download.", file=sys.stderr)
        return EXIT_OK
    _check_hub_reachable(spec)
    open_clip = import_open_clip()
    print(f"Downloading {spec.text} into the Hugging Face cache…", file=sys.stderr)
    try:
        if spec.kind == "tag":
            open_clip.create_model(spec.arch, pretrained=spec.source)
        else:
            open_clip.create_model(spec.text)
    except Exception as exc:  # noqa: BLE001 - network and hub errors come in many types
        raise ModelUnavailableError(
            f"Download of {spec.text} failed: {_first_line(exc)}\n{_OFFLINE_ADVICE}"
        ) from exc
    print("Done.", file=sys.stderr)
    return EXIT_OK


_OFFLINE_ADVICE = ("Without internet here, download on another machine (photolens models download) and copy its "
                   "~/.cache/huggingface folder here, or pass --model ARCH:/path/to/checkpoint.pt.")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _check_hub_reachable(spec) -> None:
    """One request, no retries, before the download: offline, the hub client retries each file for
    about a minute and prints a warning per try. Offline mode set by the user is honoured at once."""
    from photolens.errors import ModelUnavailableError

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise ModelUnavailableError(f"Cannot download {spec.text}: HF_HUB_OFFLINE is set.\n{_OFFLINE_ADVICE}")
    try:
        from huggingface_hub import constants
        from huggingface_hub.utils import get_session

        get_session().head(constants.ENDPOINT, timeout=10)
    except Exception as exc:  # noqa: BLE001 - DNS, TLS, proxy and timeout errors come in many types
        raise ModelUnavailableError(
            f"Cannot download {spec.text}: the Hugging Face hub is out of reach ({_first_line(exc)}).\n"
            f"{_OFFLINE_ADVICE}"
        ) from exc


def run_failures(args: argparse.Namespace) -> int:
    library = open_library(args)
    total = library.status()["failed"]
    failures = library.failures(limit=args.limit if args.limit > 0 else None)
    if args.json:
        print_json([{**path_fields(p), "reason": r} for p, r in failures])
    else:
        if not failures:
            print("No failures.")
        for path, reason in failures:
            print(f"{printable(path)}: {reason}")
    if len(failures) < total:
        print(f"Showing {len(failures)} of {total} failures (--limit 0 lists all).", file=sys.stderr)
    return EXIT_OK
