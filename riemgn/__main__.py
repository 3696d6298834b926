"""``python -m riemgn``: see :mod:`riemgn.cli`."""

from riemgn.cli import main_entry

if __name__ == "__main__":
    main_entry()
