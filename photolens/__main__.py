import sys

from photolens.cli import main

sys.exit(main())
