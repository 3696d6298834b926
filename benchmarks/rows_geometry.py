"""Row of the geometry: a chart of the output manifold against the BLAS-3 bound.

``chart``: a new :class:`manifolds.OutputManifold` at a fresh point, its
``point`` and one ``projection``, over the bound of that point: one
``jacobian`` and one ``J.T @ J`` (numpy's ``syrk``).
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Row, Target, median_times
from benchmarks._problems import fresh_points, two_layer
from manifolds import OutputManifold

#: (n, d, m, repeats) of each size.
CHART = {"full": (4000, 32, 32, 7), "quick": (4000, 32, 32, 3), "check": (40, 4, 3, 1)}


def bound(problem, params=None):
    """The BLAS-3 bound of one point: ``jacobian`` then ``J.T @ J``."""
    F = problem.output_map
    point = fresh_points(problem.params0 if params is None else params)

    def run():
        J = F.jacobian(point())
        return J.T @ J

    return run


def chart(size: str) -> dict:
    n, d, m, repeats = CHART[size]
    problem = two_layer(n, d, m)
    F, theta = problem.output_map, problem.params0
    z = np.random.default_rng(1).standard_normal(n)

    point = fresh_points(theta)

    def fresh_chart():
        params = point()
        manifold = OutputManifold(F, params)
        return manifold.projection(manifold.point(params), z)

    seconds = median_times({"chart": fresh_chart, "bound": bound(problem)}, repeats)
    return {
        "sizes": problem.sizes,
        "repeats": repeats,
        "seconds": seconds,
        "ratio": seconds["chart"] / seconds["bound"],
    }


ROWS = [
    Row(
        "chart",
        "new OutputManifold + point + projection / (jacobian + J.T @ J)",
        chart,
        Target("<=", 2.0),
    ),
]
