"""Test mode: a database session opened on the GUI thread raises instead of freezing the window.

The window must never wait on the database (the indexer holds write locks for up to the busy timeout).
:func:`install` sets :data:`photolens.store.database.session_hook` to a check that raises
:class:`GuiThreadDatabaseError` when a session opens on the GUI thread outside a task (a synchronous test
pool runs tasks on the GUI thread: that is allowed, see :func:`photolens.gui.tasks.in_task`). The GUI tests
install it for every window; ``PHOTOLENS_GUI_GUARD=1`` installs it in the app, for developers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from photolens.gui.tasks import in_task
from photolens.store import database

_state = {"gui_thread": None, "allowed": 0}


class GuiThreadDatabaseError(AssertionError):
    """A database session was opened on the GUI thread (a bug: that work belongs in a task)."""


def _check() -> None:
    if threading.get_ident() == _state["gui_thread"] and not in_task() and not _state["allowed"]:
        raise GuiThreadDatabaseError("database session opened on the GUI thread; run it through the TaskRunner")


def install() -> None:
    """Guard the calling thread (the GUI thread)."""
    _state["gui_thread"] = threading.get_ident()
    database.session_hook = _check


def uninstall() -> None:
    if database.session_hook is _check:
        database.session_hook = None
    _state["gui_thread"] = None


def installed() -> bool:
    return database.session_hook is _check


@contextlib.contextmanager
def allowed() -> Iterator[None]:
    """Let test code itself read the database on the GUI thread (to compute expected answers)."""
    _state["allowed"] += 1
    try:
        yield
    finally:
        _state["allowed"] -= 1
