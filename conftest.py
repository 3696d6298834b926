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
for the examples of ``manifolds``. Likewise the examples of
``riemgn.verify`` share the toy claim ``claim`` that the docstring of
``riemgn/verify/__init__.py`` builds. Other examples import what they use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MANIFOLDS = Path(__file__).resolve().parent / "manifolds"
VERIFY = Path(__file__).resolve().parent / "riemgn" / "verify"


NAMES = ("anp", "np", "AutogradOutputMap", "OutputManifold", "X", "output_map")
NAMES += ("theta0", "manifold", "u")


VERIFY_NAMES = ("partial_sum", "claim")


def _toy_claim() -> dict:
    from riemgn.verify import Check, Claim, Task, Verdict

    def partial_sum(n):
        return sum(0.5**k for k in range(n))

    claim = Claim(
        id="C0",
        title="Geometric series",
        statement="1 + 1/2 + 1/4 + ... = 2.",
        criterion="|S_n - 2| <= 1e-6",
        presets={"quick": {"n": 30}, "full": {"n": 50}},
        tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
        evaluate=lambda config, results: Verdict(
            [Check.below("error", abs(results[0] - 2.0), 1e-6)],
            {"S_n": results[0]},
            key="error",
        ),
        figure=lambda config, results, verdict: None,
    )
    return {"partial_sum": partial_sum, "claim": claim}


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
    """Put the shared names into the namespace of each doctest that uses them."""
    path = Path(str(request.node.path)).resolve()
    doctest = request.node.__class__.__name__ == "DoctestItem"
    for name in NAMES + VERIFY_NAMES:
        doctest_namespace.pop(name, None)
    if doctest and path.is_relative_to(MANIFOLDS):
        doctest_namespace.update(_namespace())
    elif doctest and path.is_relative_to(VERIFY) and path.name != "__init__.py":
        doctest_namespace.update(_toy_claim())
