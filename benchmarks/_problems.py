"""The problems of the suite: the paper's two-layer tanh network at a given size.

``p = width * input_dim``. Every problem is seeded, so that both sides of a
ratio (and every run of the suite) see the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riemgn.losses import SquaredLoss
from riemgn.networks import TwoLayerNetwork


@dataclass
class Problem:
    """A two-layer network on ``n`` inputs, its start and a target."""

    network: TwoLayerNetwork
    X: np.ndarray
    output_map: object
    params0: np.ndarray
    y: np.ndarray

    @property
    def loss(self) -> SquaredLoss:
        return SquaredLoss(self.y)

    @property
    def sizes(self) -> dict:
        n, d = self.X.shape
        return {"n": n, "p": self.params0.size, "d": d, "m": self.network.width}


def two_layer(n: int, d: int, m: int, *, seed: int = 0, shift: float = 0.3):
    """A teacher-student problem whose least-squares minimum is near the start.

    The teacher is the start moved by ``shift`` (relative, in norm) and the
    target is its output plus 1 % noise: every solver from ``params0``
    reaches the same minimum, so that "the same final loss" is well defined.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    network = TwoLayerNetwork(d, m, activation="tanh")
    params0 = network.init_params(rng, "standard")
    output_map = network.output_map(X)
    direction = rng.standard_normal(params0.size)
    teacher = (
        params0
        + shift * np.linalg.norm(params0) / np.linalg.norm(direction) * direction
    )
    clean = output_map.value(teacher)
    y = clean + 0.01 * np.std(clean) * rng.standard_normal(n)
    return Problem(network, X, output_map, params0, y)


def fresh_points(params: np.ndarray, count: int = 3):
    """A function returning ``count`` nearby parameter vectors in turn.

    The network caches its last point (the activation and its derivatives);
    timing a call at a new point each time measures the cold cost, as a flow
    that moves pays it.
    """
    rng = np.random.default_rng(12345)
    points = [params + 1e-9 * rng.standard_normal(params.size) for _ in range(count)]
    state = {"i": 0}

    def next_point() -> np.ndarray:
        state["i"] = (state["i"] + 1) % count
        return points[state["i"]]

    return next_point
