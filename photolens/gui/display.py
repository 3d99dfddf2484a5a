"""Before Qt starts: is there a display the app can use? Qt itself aborts the process ("could not connect
to display", "Reinstalling the application may fix this problem") when there is none; this check says
instead what is missing and how to fix it. Linux/BSD only: macOS and Windows always have their platform.

It never imports Qt's GUI: the xcb plugin's shared libraries are loaded with ctypes (which names the
first missing library), and the X server is asked for a connection through libxcb.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs", "vkkhrdisplay", "minimalegl")
XCB_HELP = ("On Debian/Ubuntu: sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 "
            "libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 "
            "libegl1 libgl1 libfontconfig1 libdbus-1-3 (packaging/README.md lists them for other systems).")


def _platform_plugin(name: str) -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    for base in (Path(PySide6.__file__).parent / "Qt" / "plugins", Path(PySide6.__file__).parent / "plugins"):
        candidate = base / "platforms" / f"libq{name}.so"
        if candidate.is_file():
            return candidate
    return None


def _xcb_connects(display: str) -> bool:
    try:
        libxcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # cannot ask; the plugin check has already passed, let Qt try
    libxcb.xcb_connect.restype = ctypes.c_void_p
    libxcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    libxcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    libxcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = libxcb.xcb_connect(display.encode(), None)
    try:
        return connection is not None and libxcb.xcb_connection_has_error(connection) == 0
    finally:
        if connection is not None:
            libxcb.xcb_disconnect(connection)


def display_problem(environ: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """None when the app can open a window here, else a message saying what is missing and what to do."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform) in ("darwin", "win32", "cygwin"):
        return None
    requested = (env.get("QT_QPA_PLATFORM") or "").split(":")[0].strip()
    if requested in HEADLESS_PLATFORMS:
        return None
    if requested.startswith("wayland") or (not requested and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return None  # Qt's wayland plugin reports its own problems and falls back cleanly
    display = env.get("DISPLAY", "")
    if not display:
        return ("photolens-gui needs a graphical display, and none is set (no DISPLAY or WAYLAND_DISPLAY). "
                "Start it from a desktop session; over SSH use `ssh -X`; on a server without a screen run it "
                "under a virtual X server (`xvfb-run -a photolens-gui`). Everything the app does also works "
                "from the command line: `photolens --help`.")
    plugin = _platform_plugin("xcb")
    if plugin is not None:
        try:
            ctypes.CDLL(str(plugin))
        except OSError as exc:
            missing = str(exc).split(":")[0].strip()
            return (f"Qt's X11 platform plugin cannot load: {missing} is missing ({exc}). {XCB_HELP}")
    if not _xcb_connects(display):
        return (f"Cannot connect to the X display {display!r}: no X server answers there (or access is "
                "refused; check DISPLAY and XAUTHORITY). On a server, `xvfb-run -a photolens-gui` provides one.")
    return None
