"""``python main.py`` from a checkout: the same as the ``cvlens`` command (cvlens/cli.py)."""

import sys

from cvlens.cli import main

if __name__ == "__main__":
    sys.exit(main())
