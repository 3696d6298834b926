"""The scaling study: log-log exponents of one step against the problem size.

Each row times one step at several sizes and fits ``log t = a log x + b`` by
least squares; its "ratio" is the exponent ``a``, its target the exponent the
flop count predicts, within :data:`TOLERANCE`:

* ``scaling_gn_n``: one Gauss-Newton step (``jacobian``, ``factorize``, the
  direction ``J^+ r``) against ``n`` at fixed ``p``: expect 1 (n p^2 flops);
* ``scaling_gn_p``: the same step against ``p`` at fixed ``n``: expect 2;
* ``scaling_lm_kernel_n``: one kernel-form LM step (``p > n``:
  ``jacobian``, the thin SVD of J as ``levenberg_marquardt`` takes it, the
  direction ``J^T (K + lambda I)^{-1} r``) against ``n`` at fixed ``p``:
  expect 2 (n^2 p flops).

The raw points are saved with the fit; the Performance page plots them.
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Row, Target, median_times
from benchmarks._problems import fresh_points, two_layer
from manifolds.linalg import factorize, kernel_factorization

TOLERANCE = 0.25

#: For each row and size: (the sizes (n, d, m) of the points, repeats).
GN_N = {
    "full": ([(n, 16, 16) for n in (4000, 8000, 16000, 32000)], 5),
    "quick": ([(n, 16, 16) for n in (4000, 8000, 16000)], 3),
    "check": ([(n, 2, 2) for n in (20, 40, 80)], 1),
}
GN_P = {
    "full": ([(6000, 32, m) for m in (16, 24, 32, 48, 64)], 5),
    "quick": ([(6000, 32, m) for m in (16, 32, 64)], 2),
    "check": ([(40, 2, m) for m in (2, 4, 8)], 1),
}
LM_N = {
    "full": ([(n, 32, 256) for n in (128, 256, 512, 1024)], 5),
    "quick": ([(n, 32, 256) for n in (256, 512, 1024)], 2),
    "check": ([(n, 2, 20) for n in (5, 10, 20)], 1),
}


def gn_step(problem):
    F, point, y = problem.output_map, fresh_points(problem.params0), problem.y

    def step():
        theta = point()
        return factorize(F.jacobian(theta)).pinv(F.value(theta) - y)

    return step


def lm_kernel_step(problem):
    F, point, y = problem.output_map, fresh_points(problem.params0), problem.y

    def step():
        theta = point()
        factorization = kernel_factorization(F.jacobian(theta), solver="svd")
        return factorization.direction(F.value(theta) - y, 1e-3)

    return step


def fit(x, seconds) -> tuple[float, float]:
    """``(exponent, intercept)`` of the least-squares line through the log-log points."""
    exponent, intercept = np.polyfit(np.log(x), np.log(seconds), 1)
    return float(exponent), float(intercept)


def _study(table, size, step, against):
    sizes, repeats = table[size]
    points = []
    for n, d, m in sizes:
        problem = two_layer(n, d, m)
        seconds = median_times({"step": step(problem)}, repeats)["step"]
        points.append({**problem.sizes, "seconds": seconds})
        del problem
    x = [point[against] for point in points]
    exponent, intercept = fit(x, [point["seconds"] for point in points])
    fixed = "p" if against == "n" else "n"
    return {
        "sizes": {
            against: f"{min(x)}..{max(x)}",
            fixed: points[0][fixed],
            "points": len(points),
        },
        "repeats": repeats,
        "seconds": {
            f"step at {against}={x[0]}": points[0]["seconds"],
            f"step at {against}={x[-1]}": points[-1]["seconds"],
        },
        "against": against,
        "points": points,
        "fit": {"exponent": exponent, "intercept": intercept},
        "ratio": exponent,
    }


ROWS = [
    Row(
        "scaling_gn_n",
        "exponent of one GN step (jacobian + factorize + J^+ r) in n, p fixed",
        lambda size: _study(GN_N, size, gn_step, "n"),
        Target("within", 1.0, TOLERANCE),
    ),
    Row(
        "scaling_gn_p",
        "exponent of one GN step in p, n fixed",
        lambda size: _study(GN_P, size, gn_step, "p"),
        Target("within", 2.0, TOLERANCE),
    ),
    Row(
        "scaling_lm_kernel_n",
        "exponent of one kernel-form LM step (p > n, thin SVD of J) in n",
        lambda size: _study(LM_N, size, lm_kernel_step, "n"),
        Target("within", 2.0, TOLERANCE),
    ),
]
