"""Starting the desktop app: ``photolens gui`` and the ``photolens-gui`` launcher both call :func:`main`.

Startup stays fast: this module imports only PySide6 and the light parts of photolens; torch is imported
the first time a search or an indexing run needs the model (``Library`` loads it lazily).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

APP_ID = "photolens"


#: Qt's own command-line options (they are passed on to QApplication): option → takes a value.
QT_OPTIONS = {"-platform": True, "-platformpluginpath": True, "-platformtheme": True, "-plugin": True,
              "-qwindowgeometry": True, "-qwindowicon": True, "-qwindowtitle": True, "-display": True,
              "-geometry": True, "-style": True, "-stylesheet": True, "-reverse": False, "-session": True,
              "-widgetcount": False, "-qmljsdebugger": True}


class UsageError(Exception):
    """Bad command-line arguments (the message is argparse's usage text plus the problem)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # raise instead of exiting, so main() decides
        raise UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


def _parser() -> argparse.ArgumentParser:
    from photolens import __version__

    parser = _Parser(prog="photolens-gui", description="photolens desktop app",
                     epilog="Qt's own options (-platform NAME, -style NAME, …) are passed on to Qt.")
    parser.add_argument("--db", metavar="PATH_OR_URL", help="library database (env PHOTOLENS_DB)")
    parser.add_argument("--model", metavar="SPEC", help="CLIP model spec (env PHOTOLENS_MODEL)")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--version", action="version", version=f"photolens {__version__}")
    return parser


def split_qt_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(our arguments, Qt's arguments): Qt's single-dash options and their values go to QApplication."""
    ours, qt = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in QT_OPTIONS:
            qt.append(arg)
            if QT_OPTIONS[name] and "=" not in arg and i + 1 < len(argv):
                qt.append(argv[i + 1])
                i += 1
        else:
            ours.append(arg)
        i += 1
    return ours, qt


def _parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Unknown options are an error (they never open the app); ``--version``/``--help`` print and exit."""
    ours, qt = split_qt_args(argv)
    return _parser().parse_args(ours), qt


def create_application(argv: list[str] | None = None):
    """The QApplication with the app's names, icon and stylesheet (reused if one exists)."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from photolens.gui.resources import app_icon, stylesheet

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    QCoreApplication.setOrganizationName(APP_ID)
    QCoreApplication.setApplicationName(APP_ID)
    QGuiApplication.setApplicationDisplayName("photolens")
    QGuiApplication.setDesktopFileName("io.github.photolens.Photolens")
    app.setWindowIcon(app_icon())
    sheet = stylesheet()
    if sheet:
        app.setStyleSheet(sheet)
    return app


def show_splash(app):
    """The icon and name on screen at once, while the rest of the app loads (None without an icon)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPainter, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    from photolens.gui.resources import resource_path

    icon = resource_path("icons", "photolens-128.png")
    if icon is None:
        return None
    pixmap = QPixmap(320, 200)
    pixmap.fill(QColor("#2b3a55"))
    painter = QPainter(pixmap)
    painter.drawPixmap(96, 20, QPixmap(str(icon)))
    painter.setPen(QColor("white"))
    painter.drawText(pixmap.rect().adjusted(0, 0, 0, -12), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                     "photolens — opening your library…")
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.show()
    app.processEvents()
    return splash


def effective_model(model: str | None, saved: str) -> str | None:
    """--model, then PHOTOLENS_MODEL, then the model chosen in the app's settings, else the default."""
    return model or os.environ.get("PHOTOLENS_MODEL") or saved or None


def main(db: str | None = None, model: str | None = None, argv: list[str] | None = None,
         parse: bool | None = None) -> int:
    """Run the app until its window closes; returns the exit status.

    ``photolens-gui`` calls it with no arguments (it reads ``sys.argv``); ``photolens gui`` passes ``db`` and
    ``model`` from its own options and ``parse=False``."""
    argv = list(sys.argv if argv is None else argv)
    qt_args: list[str] = []
    if parse is None:
        parse = db is None and model is None
    if parse:
        try:
            args, qt_args = _parse_args(argv[1:])
        except UsageError as exc:
            print(exc, file=sys.stderr)
            return 2
        except SystemExit as exc:  # --version / --help printed their text
            return int(exc.code or 0)
        db, model = args.db, args.model
        if args.verbose:
            logging.basicConfig(level=logging.DEBUG)
    from photolens.gui.display import display_problem

    problem = display_problem()
    if problem is not None and not any(a == "-platform" or a.startswith("-platform=") for a in qt_args):
        print(f"photolens-gui: {problem}", file=sys.stderr)
        return 1
    app = create_application(argv[:1] + qt_args)
    splash = show_splash(app)  # painted before the heavier imports and the database open

    from PySide6.QtWidgets import QMessageBox

    from photolens.errors import PhotolensError
    from photolens.gui.main_window import MainWindow
    from photolens.gui.settings import load_settings
    from photolens.library import Library

    if os.environ.get("PHOTOLENS_GUI_GUARD") == "1":  # developers: database work on the GUI thread raises
        from photolens.gui import guard

        guard.install()
    settings = load_settings()
    try:
        library = Library(db=db, model=effective_model(model, settings.model))
    except PhotolensError as exc:
        if splash is not None:
            splash.close()
        QMessageBox.critical(None, "photolens cannot open the library", str(exc))
        return 1
    app.setQuitOnLastWindowClosed(False)  # the window quits the app once its work has stopped
    window = MainWindow(library, settings)
    window.closed.connect(app.quit)
    window.show()
    if splash is not None:
        splash.finish(window)
    smoke = os.environ.get("PHOTOLENS_GUI_SMOKE", "")
    if smoke:  # packaging check: start, paint, quit after N ms (default 1500)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(smoke) if smoke.isdigit() and int(smoke) > 100 else 1500, window.close)
    try:
        return int(app.exec())
    finally:
        window.library.close()  # the window's current library (a model switch replaces the first one)
        if window.library is not library:
            library.close()


if __name__ == "__main__":
    sys.exit(main())
