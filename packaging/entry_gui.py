"""PyInstaller entry point of the desktop app (the same as the ``photolens-gui`` launcher)."""

import sys

from photolens.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
