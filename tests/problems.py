"""A small catalogue of test problems, crossed with checks via ``parametrize``.

Every problem is seeded explicitly; none touches numpy's global state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manifolds import OutputManifold
from riemgn.networks import TwoLayerNetwork


@dataclass
class Problem:
    """A network, its inputs, its output map at initialization and the manifold."""

    network: TwoLayerNetwork
    X: np.ndarray
    output_map: object
    params0: np.ndarray
    manifold: OutputManifold | None


def conditioned_inputs(
    n: int, d: int, cond: float, rng: np.random.Generator
) -> np.ndarray:
    """Inputs ``X = U diag(s) V^T`` whose singular values fall geometrically over ``cond``."""
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.sqrt(n) * np.geomspace(1.0, 1.0 / cond, d)
    return (U * s) @ V.T


def two_layer(
    n: int = 30,
    d: int = 3,
    width: int = 2,
    *,
    alpha: float = 1.0,
    activation: str = "tanh",
    scheme: str = "standard",
    cond_x: float | None = None,
    seed: int = 0,
    build_manifold: bool = True,
    **manifold_options,
) -> Problem:
    """A two-layer network problem; ``cond_x`` makes the inputs ill-conditioned."""
    rng = np.random.default_rng(seed)
    if cond_x is None:
        X = rng.standard_normal((n, d))
    else:
        X = conditioned_inputs(n, d, cond_x, rng)
    network = TwoLayerNetwork(d, width, alpha=alpha, activation=activation)
    params0 = network.init_params(rng, scheme)
    output_map = network.output_map(X)
    manifold = None
    if build_manifold:
        manifold_options.setdefault("rng", np.random.default_rng(seed + 1000))
        manifold = OutputManifold(output_map, params0, **manifold_options)
    return Problem(network, X, output_map, params0, manifold)


class CountingMap:
    """Wrap an output map and count the evaluations of each method."""

    def __init__(self, output_map):
        self._map = output_map
        self.counts = {
            name: 0
            for name in (
                "value",
                "jacobian",
                "jvp",
                "vjp",
                "second_derivative",
                "weighted_hessian_vector",
            )
        }

    @property
    def n_params(self):
        return self._map.n_params

    @property
    def n_outputs(self):
        return self._map.n_outputs

    def _count(self, name, *args):
        self.counts[name] += 1
        return getattr(self._map, name)(*args)

    def value(self, params):
        return self._count("value", params)

    def jacobian(self, params):
        return self._count("jacobian", params)

    def jvp(self, params, vector):
        return self._count("jvp", params, vector)

    def vjp(self, params, cotangent):
        return self._count("vjp", params, cotangent)

    def second_derivative(self, params, vector_a, vector_b):
        return self._count("second_derivative", params, vector_a, vector_b)

    def weighted_hessian_vector(self, params, weights, vector):
        return self._count("weighted_hessian_vector", params, weights, vector)
