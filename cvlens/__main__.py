"""``python -m cvlens``: the same as the ``cvlens`` command."""

import sys

from cvlens.cli import main

if __name__ == "__main__":
    sys.exit(main())
