"""``photolens gui``: start the desktop app (PySide6 is imported only here)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="open the desktop app")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photolens.errors import PhotolensError

    try:
        from photolens.gui.display import display_problem
    except ImportError as exc:
        raise PhotolensError(f"The desktop app needs PySide6 (pip install 'photolens[gui]'): {exc}") from exc
    problem = display_problem()
    if problem is not None:
        raise PhotolensError(problem)  # said clearly, instead of Qt aborting the process
    try:
        from photolens.gui.app import main as gui_main
    except ImportError as exc:
        raise PhotolensError(f"The desktop app needs PySide6 (pip install 'photolens[gui]'): {exc}") from exc
    return gui_main(db=args.db, model=args.model, argv=["photolens"], parse=False)
