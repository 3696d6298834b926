"""A small catalogue of test problems, crossed with checks via ``parametrize``.

Every problem is seeded explicitly; none touches numpy's global state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manifolds import OutputManifold
from riemgn.data import conditioned_inputs
from riemgn.networks import TwoLayerNetwork


@dataclass
class Problem:
    """A network, its inputs, its output map at initialization and the manifold."""

    network: TwoLayerNetwork
    X: np.ndarray
    output_map: object
    params0: np.ndarray
    manifold: OutputManifold | None


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


def gram_condition(output_map, params) -> float:
    """cond(G) = cond(J)^2 at ``params``, from the singular values of J."""
    s = np.linalg.svd(output_map.jacobian(params), compute_uv=False)
    return float((s[0] / s[-1]) ** 2)


def two_layer_with_condition(
    target: float,
    n: int = 30,
    d: int = 3,
    width: int = 2,
    *,
    tolerance: float = 2.0,
    seed: int = 0,
    **options,
) -> Problem:
    """A two-layer problem whose cond(G0) is within a factor ``tolerance`` of ``target``.

    Bisects the input conditioning ``cond_x`` on a log scale, with the seed
    (so X's singular vectors, the init and the manifold's rng) fixed.
    """
    build_manifold = options.pop("build_manifold", True)
    low, high = 0.0, 8.0  # log10 cond_x
    for attempt in range(60):
        middle = 0.0 if attempt == 0 else 0.5 * (low + high)
        problem = two_layer(
            n, d, width, cond_x=10.0**middle, seed=seed, build_manifold=False, **options
        )
        condition = gram_condition(problem.output_map, problem.params0)
        if abs(np.log(condition / target)) <= np.log(tolerance):
            if not build_manifold:
                return problem
            return two_layer(n, d, width, cond_x=10.0**middle, seed=seed, **options)
        if condition < target:
            low = middle
        else:
            high = middle
    raise RuntimeError(f"no cond_x gives cond(G0) = {target:g} for seed {seed}")


def teacher_target(problem: Problem, distance: float, seed: int = 0) -> np.ndarray:
    """A realizable target ``F(theta*)`` with ``|theta* - theta0| = distance``."""
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(problem.params0.size)
    teacher = problem.params0 + distance * direction / np.linalg.norm(direction)
    return problem.output_map.value(teacher)


def slow_teacher_target(problem: Problem, distance: float) -> np.ndarray:
    """A realizable target whose teacher sits along the flattest direction of G0.

    ``theta* = theta0 + distance * v_min`` with ``v_min`` the right singular
    vector of ``J(theta0)`` for its smallest singular value: the hardest
    target for gradient flow, whose rate is then ``2 lambda_min(G)`` from the
    start instead of only asymptotically.
    """
    _, _, Vt = np.linalg.svd(problem.output_map.jacobian(problem.params0))
    return problem.output_map.value(problem.params0 + distance * Vt[-1])


def overparameterized_with_lambda_min(
    target: float,
    n: int = 6,
    d: int = 10,
    width: int = 10,
    *,
    tolerance: float = 1.5,
    seed: int = 0,
    alpha: float = 1.0,
    activation: str = "tanh",
) -> Problem:
    """A two-layer problem with p = width * d > n whose lambda_min(K0) is near ``target``.

    The kernel is made ill-conditioned by a near-duplicate sample:
    ``x_n = x_1 + eta z`` (``|z| = 1``), which gives ``lambda_min(K0) ~ eta^2``;
    ``eta`` is found by bisection on a log scale.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    z = rng.standard_normal(d)
    z /= np.linalg.norm(z)
    network = TwoLayerNetwork(d, width, alpha=alpha, activation=activation)
    params0 = network.init_params(rng, "standard")
    low, high = -10.0, 0.0  # log10 eta
    for _ in range(80):
        middle = 0.5 * (low + high)
        X[-1] = X[0] + 10.0**middle * z
        output_map = network.output_map(X.copy())
        s = np.linalg.svd(output_map.jacobian(params0), compute_uv=False)
        lambda_min = float(s[-1] ** 2)
        if abs(np.log(lambda_min / target)) <= np.log(tolerance):
            return Problem(network, X.copy(), output_map, params0, None)
        if lambda_min > target:
            high = middle
        else:
            low = middle
    raise RuntimeError(
        f"no near-duplicate gives lambda_min(K0) = {target:g} for seed {seed}"
    )


def kernel_mode_target(problem: Problem, size: float) -> np.ndarray:
    """``y = F(theta0) + size * u_min``, with ``u_min`` the flattest eigenvector of K0.

    The residual then lies along the kernel's slowest mode: the hardest
    target for the Levenberg-Marquardt and gradient flows, whose rate is the
    slowest eigen-rate from the start.
    """
    U, _, _ = np.linalg.svd(
        problem.output_map.jacobian(problem.params0), full_matrices=False
    )
    return problem.output_map.value(problem.params0) + size * U[:, -1]


class LinearMap:
    """The flat output map F(w) = A w, with exact (zero) second derivatives."""

    def __init__(self, A):
        self.A = np.asarray(A, dtype=float)
        self.n_outputs, self.n_params = self.A.shape

    def value(self, params):
        return self.A @ params

    def jacobian(self, params):
        return self.A.copy()

    def jvp(self, params, vector):
        return self.A @ vector

    def vjp(self, params, cotangent):
        return self.A.T @ cotangent

    def second_derivative(self, params, vector_a, vector_b):
        return np.zeros(self.n_outputs)

    def weighted_hessian_vector(self, params, weights, vector):
        return np.zeros(self.n_params)


class NaNBeyond(LinearMap):
    """The linear map F(theta) = A theta, whose value turns NaN once theta_0 > 0.5."""

    def value(self, params):
        if params[0] > 0.5:
            return np.full(self.n_outputs, np.nan)
        return super().value(params)
