"""``python -m riemgn``: see :mod:`riemgn.cli`."""

import sys

from riemgn.cli import main

if __name__ == "__main__":
    sys.exit(main())
