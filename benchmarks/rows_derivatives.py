"""Rows of the derivatives: the analytic Jacobian and NTK against the bound and the AD peers.

* ``jacobian``: ``TwoLayerOutputMap.jacobian`` over one ``np.multiply``
  writing a fresh array of J's shape (the memory-bound floor);
* ``ntk``: ``J @ J.T`` (numpy's ``syrk``, J given) over the closed-form
  ``neural_tangent_kernel``;
* ``jacobian_autograd``, ``jacobian_jax``: our Jacobian over
  ``autograd.jacobian`` and over ``jax.jit(jax.jacfwd(F))`` (compiled first);
* ``ntk_jax``: the closed-form NTK over ``J @ J.T`` with J from
  ``jax.jit(jax.jacrev(F))``, one jitted function.
"""

from __future__ import annotations

import numpy as np

from benchmarks import _peers
from benchmarks._harness import Row, Target, median_times
from benchmarks._problems import fresh_points, two_layer

#: (n, d, m, repeats) of each size.
JACOBIAN = {
    "full": (2000, 32, 32, 25),
    "quick": (2000, 32, 32, 9),
    "check": (40, 4, 3, 1),
}
NTK = {
    "full": (2000, 32, 4096, 3),
    "quick": (2000, 32, 4096, 1),
    "check": (30, 4, 8, 1),
}
AUTOGRAD = {
    "full": (2000, 32, 32, 3),
    "quick": (500, 32, 32, 1),
    "check": (20, 3, 2, 1),
}
JAX_JACOBIAN = {
    "full": (2000, 32, 32, 5),
    "quick": (2000, 32, 32, 2),
    "check": (20, 3, 2, 1),
}
JAX_NTK = {
    "full": (500, 32, 256, 5),
    "quick": (500, 32, 256, 2),
    "check": (20, 3, 4, 1),
}


def _agreement(ours, theirs) -> float:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def _result(problem, repeats, seconds, numerator, denominator, **extra):
    return {
        "sizes": problem.sizes,
        "repeats": repeats,
        "seconds": seconds,
        "ratio": seconds[numerator] / seconds[denominator],
        **extra,
    }


def jacobian(size: str) -> dict:
    n, d, m, repeats = JACOBIAN[size]
    problem = two_layer(n, d, m)
    F, theta = problem.output_map, problem.params0
    # Two factors of the right sizes; np.multiply writes the (n, m, d) product.
    a = np.tanh(problem.X @ theta.reshape(m, d).T)[:, :, None]
    b = problem.X[:, None, :]

    def fill():
        return np.multiply(a, b).reshape(n, m * d)

    point = fresh_points(theta)
    seconds = median_times(
        {"jacobian": lambda: F.jacobian(point()), "fill": fill}, repeats
    )
    return _result(problem, repeats, seconds, "jacobian", "fill")


def ntk(size: str) -> dict:
    n, d, m, repeats = NTK[size]
    problem = two_layer(n, d, m)
    F, theta = problem.output_map, problem.params0
    J = F.jacobian(theta)
    kept, point = {}, fresh_points(theta)

    def gram():
        kept["JJT"] = J @ J.T

    # No warm-up: a matrix product of this size has nothing to warm up, and
    # at n = 2000, p = 131072 it is the slowest call of the quick run.
    seconds = median_times(
        {"J @ J.T": gram, "closed form": lambda: F.neural_tangent_kernel(point())},
        repeats,
        warmup=0,
    )
    error = _agreement(F.neural_tangent_kernel(theta), kept["JJT"])
    return _result(
        problem,
        repeats,
        seconds,
        "J @ J.T",
        "closed form",
        max_relative_difference=error,
    )


def jacobian_autograd(size: str) -> dict:
    n, d, m, repeats = AUTOGRAD[size]
    autograd, anp = _peers.autograd()
    problem = two_layer(n, d, m)
    F, theta, X = problem.output_map, problem.params0, problem.X
    c, scale = problem.network.output_weights, problem.network.alpha / np.sqrt(m)

    def f(t):
        return anp.dot(anp.tanh(anp.dot(X, anp.reshape(t, (m, d)).T)), c) * scale

    peer = autograd.jacobian(f)
    error = _agreement(F.jacobian(theta), peer(theta))
    point = fresh_points(theta)
    seconds = median_times(
        {"jacobian": lambda: F.jacobian(point()), "autograd": lambda: peer(theta)},
        repeats,
    )
    return _result(
        problem, repeats, seconds, "jacobian", "autograd", max_relative_difference=error
    )


def jacobian_jax(size: str) -> dict:
    n, d, m, repeats = JAX_JACOBIAN[size]
    jax, _ = _peers.jax()
    problem = two_layer(n, d, m)
    f, X, theta = _peers.jax_output(problem)
    peer = jax.jit(jax.jacfwd(f))
    reference = np.asarray(peer(theta, X).block_until_ready())  # compiles
    error = _agreement(problem.output_map.jacobian(problem.params0), reference)
    point = fresh_points(problem.params0)
    seconds = median_times(
        {
            "jacobian": lambda: problem.output_map.jacobian(point()),
            "jax.jacfwd": lambda: peer(theta, X).block_until_ready(),
        },
        repeats,
    )
    return _result(
        problem,
        repeats,
        seconds,
        "jacobian",
        "jax.jacfwd",
        max_relative_difference=error,
    )


def ntk_jax(size: str) -> dict:
    n, d, m, repeats = JAX_NTK[size]
    jax, _ = _peers.jax()
    problem = two_layer(n, d, m)
    f, X, theta = _peers.jax_output(problem)
    jacobian_of = jax.jacrev(f)

    @jax.jit
    def peer(theta, X):
        J = jacobian_of(theta, X)
        return J @ J.T

    reference = np.asarray(peer(theta, X).block_until_ready())  # compiles
    F, params = problem.output_map, problem.params0
    error = _agreement(F.neural_tangent_kernel(params), reference)
    point = fresh_points(params)
    seconds = median_times(
        {
            "closed form": lambda: F.neural_tangent_kernel(point()),
            "jax": lambda: peer(theta, X).block_until_ready(),
        },
        repeats,
    )
    return _result(
        problem, repeats, seconds, "closed form", "jax", max_relative_difference=error
    )


ROWS = [
    Row(
        "jacobian",
        "jacobian / np.multiply filling an array of J's shape",
        jacobian,
        Target("<=", 2.0),
    ),
    Row(
        "ntk",
        "J @ J.T (J given) / closed-form neural_tangent_kernel",
        ntk,
        Target(">=", 40.0),
    ),
    Row(
        "jacobian_autograd",
        "jacobian / autograd.jacobian",
        jacobian_autograd,
        Target("<=", 1.0),
    ),
    Row(
        "jacobian_jax",
        "jacobian / jax.jit(jax.jacfwd(F)), compile excluded",
        jacobian_jax,
        Target("<=", 1.0),
    ),
    Row(
        "ntk_jax",
        "closed-form NTK / J @ J.T from jax.jit(jax.jacrev(F)), compile excluded",
        ntk_jax,
        Target("<=", 1.0),
    ),
]
