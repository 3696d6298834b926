"""The names the docstring examples of ``manifolds`` start from.

pytest runs every docstring example (``--doctest-modules``). Those of
``manifolds`` share one small problem, so that each example shows only what
it is about:

>>> import autograd.numpy as anp
>>> import numpy as np
>>> from manifolds import AutogradOutputMap, OutputManifold
>>> X = np.random.default_rng(0).normal(size=(6, 2))
>>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
>>> theta0 = np.array([0.3, -0.2])
>>> manifold = OutputManifold(output_map, theta0)
>>> u = manifold.point(theta0)

An example that needs anything else builds it itself. The names are built
afresh for each example (so that no example sees another's cache), and only
for the examples of ``manifolds``: those of ``riemgn`` import what they use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MANIFOLDS = Path(__file__).resolve().parent / "manifolds"


NAMES = ("anp", "np", "AutogradOutputMap", "OutputManifold", "X", "output_map")
NAMES += ("theta0", "manifold", "u")


def _namespace() -> dict:
    import autograd.numpy as anp
    import numpy as np

    from manifolds import AutogradOutputMap, OutputManifold

    X = np.random.default_rng(0).normal(size=(6, 2))
    output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
    theta0 = np.array([0.3, -0.2])
    manifold = OutputManifold(output_map, theta0)
    return {
        "anp": anp,
        "np": np,
        "AutogradOutputMap": AutogradOutputMap,
        "OutputManifold": OutputManifold,
        "X": X,
        "output_map": output_map,
        "theta0": theta0,
        "manifold": manifold,
        "u": manifold.point(theta0),
    }


@pytest.fixture(autouse=True)
def _manifold_doctest_names(request, doctest_namespace):
    """Put the names of the module docstring into each ``manifolds`` doctest's namespace."""
    path = Path(str(request.node.path)).resolve()
    if request.node.__class__.__name__ == "DoctestItem" and path.is_relative_to(
        MANIFOLDS
    ):
        doctest_namespace.update(_namespace())
    else:
        for name in NAMES:
            doctest_namespace.pop(name, None)
