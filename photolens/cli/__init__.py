"""The ``photolens`` command line: everything the app does, headless.

Startup stays fast: this module imports only argparse; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from photolens import __version__

#: Modules that each add their subcommands with ``register(subparsers)``.
COMMAND_MODULES = (
    "photolens.cli.index_cmd",
    "photolens.cli.search_cmd",
    "photolens.cli.info_cmd",
    "photolens.cli.roots_cmd",
    "photolens.cli.lens_cmd",
    "photolens.cli.pic2word_cmd",
    "photolens.cli.gui_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photolens",
        description="Organise a photo library by meaning: index folders with CLIP, search by text or by "
        "photo, and look through lenses (named notions of similarity such as colour or weather).",
    )
    parser.add_argument("--version", action="version", version=f"photolens {__version__}")
    _add_global_options(parser, defaults=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command family not built into this install
            raise
        module.register(subparsers)
    _share_global_options(subparsers)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """``--db``/``--model``/``-v``; sub-parsers get them with SUPPRESS so either position works."""
    extra = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument("--db", metavar="PATH_OR_URL", **extra,
                        help="library database: a file path or any SQLAlchemy URL (env PHOTOLENS_DB; "
                        "default: library.db in the user data folder)")
    parser.add_argument("--model", metavar="SPEC", **extra,
                        help="CLIP model: ARCH:TAG, ARCH:/path/checkpoint.pt, local-dir:/folder or hf-hub:ORG/REPO "
                        "(env PHOTOLENS_MODEL; default ViT-B-32-256:datacomp_s34b_b86k)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging",
                        **({} if defaults else {"default": argparse.SUPPRESS}))


def _share_global_options(subparsers: argparse._SubParsersAction) -> None:
    for sub in set(subparsers.choices.values()):
        _add_global_options(sub, defaults=False)
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                _share_global_options(action)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from photolens.cli.common import run_command

    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
