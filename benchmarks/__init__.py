"""riemgn's benchmark suite: ``python -m benchmarks [--quick] [--check]``.

Every row is a ratio of two wall times measured in one process (median of
repeats): a riemgn operation over the BLAS-3 bound of the same problem (one
``J.T @ J`` per point) or over the peer a user would otherwise run
(scipy, optimistix on JAX, autograd, ``jax.jacfwd``, ``solve_ivp``). Each row
has a target from issue 15; the run exits non-zero when a row misses it.
``--check`` runs every row at tiny sizes and asserts no timing (for CI).

The rows live in ``rows_*.py``; ``_harness.py`` times, decides and writes
``results.json``. The optional peers come with ``pip install
"riemgn[benchmarks]"``; without them their rows are skipped, not missed.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The committed results of the documented run, rendered by docs/performance.rst.
RESULTS = HERE / "results.json"
#: The report of ``riemgn verify`` whose numbers the verify row compares against.
REFERENCE = HERE / "reference"

#: The row modules, in the order of the table.
ROW_MODULES = (
    "rows_derivatives",
    "rows_geometry",
    "rows_flows",
    "rows_solvers",
    "rows_verify",
    "rows_scaling",
    "rows_memory",
)


def all_rows() -> list:
    """Every row of the suite, in table order."""
    from importlib import import_module

    rows = []
    for name in ROW_MODULES:
        rows.extend(import_module(f"benchmarks.{name}").ROWS)
    return rows
