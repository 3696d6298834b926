r"""``riemgn verify``: check the theory's claims numerically, with figures.

Each claim of THEORY.md §4 is one module here that defines a
:class:`riemgn.verify.Claim`: its statement, the ``quick`` and ``full``
configurations, independent runs (:class:`riemgn.verify.Task`), the
measurement and the numeric pass criteria (:class:`riemgn.verify.Check`),
and its figure:

- :mod:`riemgn.verify.c1_equivalence`: the GN flow is the Riemannian
  gradient flow on the output manifold;
- :mod:`riemgn.verify.c2_conditioning`: GN converges at a rate independent
  of ``cond(G)``;
- :mod:`riemgn.verify.c3_scaling`: the effect of the scaling factor
  :math:`\alpha`;
- :mod:`riemgn.verify.c4_initialization`: the effect of the initialization;
- :mod:`riemgn.verify.c5_levenberg_marquardt`: LM is robust to an
  ill-conditioned kernel;
- :mod:`riemgn.verify.c6_first_order`: GN beats first-order methods when
  the problem is ill-conditioned.

The framework:

- :data:`riemgn.verify.CLAIMS` maps ``"C1"`` … ``"C6"`` to the claims;
- :func:`riemgn.verify.run` runs some of them and returns a
  :class:`riemgn.verify.Report`;
- :func:`riemgn.verify.prepare_output` checks the output directory first;
- :func:`riemgn.verify.write_report` writes ``report.json`` (schema:
  :func:`riemgn.verify.schema`), ``report.md`` and one PNG per claim,
  assembled beside the output directory and swapped in as a whole.

The command line is ``riemgn verify``; see ``riemgn verify --help``.

Examples
--------
>>> from riemgn.verify import CLAIMS
>>> for claim in CLAIMS.values():
...     print(claim.id, claim.title)
C1 GN flow is the Riemannian gradient flow on M
C2 GN converges at a rate independent of cond(G)
C3 Effect of the scaling factor alpha
C4 Effect of the initialization
C5 LM is robust to an ill-conditioned kernel K
C6 GN beats first-order methods when ill-conditioned

The examples of the runner and the report use one toy claim, ``claim``: the
partial sums of a geometric series, which pass at ``n = 30`` and fail at
``n = 10`` (pytest provides it to those examples):

>>> from riemgn.verify import Check, Claim, Task, Verdict, run
>>> def partial_sum(n):
...     return sum(0.5**k for k in range(n))
>>> claim = Claim(
...     id="C0",
...     title="Geometric series",
...     statement="1 + 1/2 + 1/4 + ... = 2.",
...     criterion="|S_n - 2| <= 1e-6",
...     presets={"quick": {"n": 30}, "full": {"n": 50}},
...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
...     evaluate=lambda config, results: Verdict(
...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
...         {"S_n": results[0]},
...         key="error",
...     ),
...     figure=lambda config, results, verdict: None,
... )
>>> run([claim], plots=False, progress=False).status.value
'pass'
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

#: The claims of THEORY.md §4, by id, ``"C1"`` … ``"C6"``, in order.
#:
#: Each value is the ``CLAIM`` of its module (:mod:`riemgn.verify.c1_equivalence`
#: … :mod:`riemgn.verify.c6_first_order`); ``riemgn verify`` runs those that
#: support the chosen data.
CLAIMS: dict[str, Claim] = {}
for _name in _MODULES:
    _claim = importlib.import_module(f"riemgn.verify.{_name}").CLAIM
    CLAIMS[_claim.id] = _claim
del _name, _claim
