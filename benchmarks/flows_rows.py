"""Rows of the flows: the intrinsic RK4 flow against the GN flow, and the GN flow's cost.

Each function runs one problem in this process and returns a dict of numbers
(seconds, counts, errors, the ratio); the suite in :mod:`benchmarks` prints
and records them. The problem is a :class:`~riemgn.TwoLayerNetwork` with
``d`` inputs and ``width`` neurons (``p = d * width``) on ``n`` standard
normal inputs scaled by :math:`1/\\sqrt d`, started at the standard
initialization, with a reachable teacher target
:math:`y = F(\\theta_0 + \\delta)`, :math:`\\|\\delta\\| = 0.3\\|\\theta_0\\|`
(a flow that converges, as in the claims). All runs use ``ftol=None``: they
go to ``t_end`` and stop there, so that their final states are comparable.

* :func:`intrinsic_against_gauss_newton` -- the wall time of the intrinsic
  RK4 flow (:func:`riemgn.flows.riemannian_gradient_flow`, fixed step,
  including the construction of its :class:`~manifolds.OutputManifold`)
  over that of the Gauss-Newton flow (:func:`riemgn.flows.gauss_newton_flow`,
  DOP853), each tuned to reach the SAME final output-space accuracy
  ``accuracy``: the error
  :math:`\\|u(t_{end}) - u_{ref}(t_{end})\\| / \\|u_{ref}(t_{end}) - u_0\\|`
  against a reference GN flow at ``rtol = 1e-13``. GN takes the loosest
  ``rtol`` of a ladder that reaches it; RK4 the longest step that does,
  found from its fourth-order error model and checked by a run.
* :func:`gauss_newton_flow_cost` -- the GN flow's wall time over its
  Jacobian evaluations times the bound of one point, ``jacobian`` +
  ``J.T @ J`` (medians of repeats), with the factorizations counted.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

import manifolds.linalg
import riemgn.dynamics.flows._dynamics as _dynamics
from manifolds import OutputManifold
from riemgn.dynamics.flows import gauss_newton_flow, riemannian_gradient_flow
from riemgn.losses import SquaredLoss
from riemgn.networks import TwoLayerNetwork

__all__ = ["gauss_newton_flow_cost", "intrinsic_against_gauss_newton", "problem"]

#: The reference flow's tolerances.
REFERENCE_RTOL, REFERENCE_ATOL = 1e-13, 1e-15
#: The GN flow's relative tolerances, loosest first.
GN_RTOLS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12)


def problem(n: int, d: int, width: int, seed: int = 0):
    """``(output_map, params0, loss)`` of the rows' problem (see the module)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / math.sqrt(d)
    network = TwoLayerNetwork(d, width)
    params0 = network.init_params(rng, "standard")
    output_map = network.output_map(X)
    delta = rng.standard_normal(params0.size)
    delta *= 0.3 * np.linalg.norm(params0) / np.linalg.norm(delta)
    loss = SquaredLoss(output_map.value(params0 + delta))
    return output_map, params0, loss


def _timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def _error(u, reference, u0) -> float:
    return float(np.linalg.norm(u - reference) / np.linalg.norm(reference - u0))


def intrinsic_against_gauss_newton(
    n: int = 4000,
    d: int = 32,
    width: int = 32,
    *,
    t_end: float = 2.0,
    accuracy: float = 1e-6,
    repeats: int = 1,
    seed: int = 0,
) -> dict:
    """The intrinsic RK4 flow's wall time over the GN flow's, at the same final accuracy.

    Parameters
    ----------
    n, d, width : int
        The problem's size (``p = d * width``).
    t_end : float
        The flows run over ``[0, t_end]``.
    accuracy : float
        The final output-space error both flows must reach (see the module).
    repeats : int
        Runs of each tuned flow; the median time counts (the tuning run is one).
    seed : int
        The problem's seed.

    Returns
    -------
    dict
        ``ratio`` (RK4 / GN seconds, the row), both flows' ``*_seconds``,
        ``*_error``, ``*_jacobian_evals``, GN's ``gn_rtol`` and RK4's
        ``rk4_step`` and ``rk4_steps``, and the problem's ``n``, ``p``,
        ``t_end``, ``accuracy``, ``reference_seconds``.
    """
    output_map, params0, loss = problem(n, d, width, seed)
    t_span = (0.0, float(t_end))
    u0 = output_map.value(params0)

    def gn(rtol, atol=1e-12):
        return gauss_newton_flow(
            output_map, params0, loss, t_span, t_eval=[t_end], rtol=rtol, atol=atol,
            ftol=None,
        )  # fmt: skip

    def rk4(steps):
        manifold = OutputManifold(output_map, params0)
        return riemannian_gradient_flow(
            manifold, loss, manifold.point(params0), t_span, step=t_end / steps,
            ftol=None,
        )  # fmt: skip

    reference_seconds, reference = _timed(lambda: gn(REFERENCE_RTOL, REFERENCE_ATOL))
    u_ref = reference.outputs[-1]

    for rtol in GN_RTOLS:
        gn_seconds, gn_run = _timed(lambda rtol=rtol: gn(rtol))
        gn_error = _error(gn_run.outputs[-1], u_ref, u0)
        if gn_error <= accuracy:
            break
    gn_times = [gn_seconds] + [_timed(lambda: gn(rtol))[0] for _ in range(repeats - 1)]

    # RK4: the global error is C h^4; a coarse run measures C, then the
    # predicted step (with a safety factor) is checked and shortened if need be.
    steps = 4
    rk4_seconds, rk4_run = _timed(lambda: rk4(steps))
    rk4_error = _error(rk4_run.outputs[-1], u_ref, u0)
    for _ in range(8):
        if rk4_error <= accuracy:
            break
        factor = 0.9 * (accuracy / rk4_error) ** 0.25 if rk4_error > 0 else 1.0
        steps = max(steps + 1, math.ceil(steps / min(factor, 0.9)))
        rk4_seconds, rk4_run = _timed(lambda steps=steps: rk4(steps))
        rk4_error = _error(rk4_run.outputs[-1], u_ref, u0)
    rk4_times = [rk4_seconds] + [
        _timed(lambda: rk4(steps))[0] for _ in range(repeats - 1)
    ]
    gn_median, rk4_median = statistics.median(gn_times), statistics.median(rk4_times)
    return {
        "n": n,
        "p": int(params0.size),
        "t_end": float(t_end),
        "accuracy": accuracy,
        "ratio": rk4_median / gn_median,
        "gn_seconds": gn_median,
        "gn_rtol": rtol,
        "gn_error": gn_error,
        "gn_jacobian_evals": gn_run.n_jacobian_evals,
        "gn_status": gn_run.status.value,
        "rk4_seconds": rk4_median,
        "rk4_step": t_end / steps,
        "rk4_steps": steps,
        "rk4_error": rk4_error,
        "rk4_jacobian_evals": rk4_run.n_jacobian_evals,
        "rk4_status": rk4_run.status.value,
        "reference_seconds": reference_seconds,
        "reference_jacobian_evals": reference.n_jacobian_evals,
    }


def gauss_newton_flow_cost(
    n: int = 4000,
    d: int = 32,
    width: int = 32,
    *,
    t_end: float = 5.0,
    repeats: int = 5,
    seed: int = 0,
) -> dict:
    """The GN flow's wall time over (Jacobian evaluations x (``jacobian`` + ``J.T @ J``)).

    Parameters
    ----------
    n, d, width : int
        The problem's size (``p = d * width``).
    t_end : float
        The flow runs over ``[0, t_end]`` (default options otherwise).
    repeats : int
        Repeats of the bound's ``jacobian`` and ``J.T @ J`` (medians).
    seed : int
        The problem's seed.

    Returns
    -------
    dict
        ``ratio`` (the row), ``flow_seconds``, ``jacobian_evals``,
        ``factorizations`` (counted in the flow: one per Jacobian when
        nothing refactorizes), ``jacobian_seconds``, ``gram_seconds``,
        ``status``, ``n``, ``p``.
    """
    output_map, params0, loss = problem(n, d, width, seed)
    count = {"factorizations": 0}
    factorization = _dynamics.JacobianFactorization

    def counting(*args, **kwargs):
        count["factorizations"] += 1
        return factorization(*args, **kwargs)

    _dynamics.JacobianFactorization = counting
    try:
        flow_seconds, run = _timed(
            lambda: gauss_newton_flow(output_map, params0, loss, (0.0, float(t_end)))
        )
    finally:
        _dynamics.JacobianFactorization = factorization
    jacobian_times, gram_times = [], []
    for k in range(repeats):
        # A fresh point each time: a model may cache its work per point.
        theta = params0 + 1e-9 * (k + 1)
        seconds, J = _timed(lambda theta=theta: output_map.jacobian(theta))
        jacobian_times.append(seconds)
        gram_times.append(_timed(lambda J=J: J.T @ J)[0])
    bound = statistics.median(jacobian_times) + statistics.median(gram_times)
    return {
        "n": n,
        "p": int(params0.size),
        "ratio": flow_seconds / (run.n_jacobian_evals * bound),
        "flow_seconds": flow_seconds,
        "jacobian_evals": run.n_jacobian_evals,
        "factorizations": count["factorizations"],
        "factorization_method": getattr(
            manifolds.linalg.factorize(output_map.jacobian(params0)), "method", ""
        ),
        "jacobian_seconds": statistics.median(jacobian_times),
        "gram_seconds": statistics.median(gram_times),
        "status": run.status.value,
    }
