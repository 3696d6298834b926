"""``riemgn verify``: check the theory's claims numerically, with figures.

Each claim of THEORY.md §4 is one module here that defines a
:class:`Claim`: its statement, the ``quick`` and ``full`` configurations,
independent runs (:class:`Task`), the measurement and the numeric pass
criterion (:class:`Check`), and its figure.

- :data:`CLAIMS` maps ``"C1"`` … ``"C6"`` to the claims;
- :func:`run` runs some of them and returns a :class:`Report`;
- :func:`write_report` writes ``report.json`` (schema: :func:`schema`),
  ``report.md`` and one PNG per claim.

The command line is ``riemgn verify``; see ``riemgn verify --help``.
"""

from __future__ import annotations

import importlib

from riemgn.verify._core import Check, Claim, Status, Task, Verdict
from riemgn.verify.report import (
    ClaimResult,
    OutputDirectoryError,
    Report,
    figure_problems,
    prepare_output,
    schema,
    write_report,
)
from riemgn.verify.runner import Progress, run

__all__ = [
    "CLAIMS",
    "Check",
    "Claim",
    "ClaimResult",
    "OutputDirectoryError",
    "Progress",
    "Report",
    "Status",
    "Task",
    "Verdict",
    "figure_problems",
    "prepare_output",
    "run",
    "schema",
    "write_report",
]

_MODULES = (
    "c1_equivalence",
    "c2_conditioning",
    "c3_scaling",
    "c4_initialization",
    "c5_levenberg_marquardt",
    "c6_first_order",
)

CLAIMS: dict[str, Claim] = {}
for _name in _MODULES:
    _claim = importlib.import_module(f"riemgn.verify.{_name}").CLAIM
    CLAIMS[_claim.id] = _claim
del _name, _claim
