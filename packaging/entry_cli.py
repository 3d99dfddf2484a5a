"""PyInstaller entry point of the command line (``photolens``), bundled next to the app."""

import sys

from photolens.cli import main

if __name__ == "__main__":
    sys.exit(main())
