"""``photolens status``, ``photolens models``, ``photolens failures``."""

from __future__ import annotations

import argparse
import sys

from photolens.cli.common import open_library, print_json, printable


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser("status", help="library counts, model and database location")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)

    models = subparsers.add_parser("models", help="which models are available offline",
                                   description="List CLIP models and whether their weights are here. "
                                   "`photolens models download` fetches the current model's weights "
                                   "(needs internet).")
    models.add_argument("action", nargs="?", choices=["list", "download"], default="list")
    models.add_argument("--all", action="store_true", help="list every open_clip architecture and tag")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=run_models)

    failures = subparsers.add_parser("failures", help="files that could not be read, with the reason")
    failures.add_argument("--json", action="store_true")
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
        return 0
    open_clip = import_open_clip()
    print(f"Downloading {spec.text} into the Hugging Face cache…", file=sys.stderr)
    try:
        if spec.kind == "tag":
            open_clip.create_model(spec.arch, pretrained=spec.source)
        else:
            open_clip.create_model(spec.text)
    except Exception as exc:  # noqa: BLE001 - network and hub errors come in many types
        raise ModelUnavailableError(
            f"Download of {spec.text} failed: {str(exc).splitlines()[0][:300]}\n"
            "Without internet here, download on another machine and copy its ~/.cache/huggingface folder, "
            "or pass --model ARCH:/path/to/checkpoint.pt."
        ) from exc
    print("Done.", file=sys.stderr)
    return 0


def run_failures(args: argparse.Namespace) -> int:
    library = open_library(args)
    failures = library.failures()
    if args.json:
        print_json([{"path": printable(p), "reason": r} for p, r in failures])
        return 0
    if not failures:
        print("No failures.")
    for path, reason in failures:
        print(f"{printable(path)}: {reason}")
    return 0
