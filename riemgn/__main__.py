"""``python -m riemgn``: see :mod:`riemgn.cli`."""

import sys

from riemgn.cli import main

sys.exit(main())
