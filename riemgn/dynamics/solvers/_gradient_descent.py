r"""Gradient descent in parameter space, the first-order baseline of Gauss-Newton."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from manifolds.linalg import singular_values
from manifolds.validation import check_positive_real, describe
from riemgn._checks import QUIET as _QUIET
from riemgn._checks import safe_norm
from riemgn.dynamics.solvers._common import (
    _check_options,
    _check_problem,
    _evaluate,
    _jacobian,
    _loss_at,
    _loss_gradient,
    _non_finite_detail,
    _Run,
)
from riemgn.dynamics.solvers._results import IterationInfo, SolverResult, SolverStatus
from riemgn.dynamics.solvers._termination import check_gradient, check_termination

__all__ = ["gradient_descent"]

#: Armijo's sufficient-decrease constant of the gradient-descent line search.
ARMIJO_C1 = 1e-4
#: Below this step size a failed Armijo test ends the run (``line_search_failed``).
MIN_STEP_SIZE = 1e-300
_TINY = 1e-250


def gradient_descent(
    output_map,
    params0,
    loss,
    *,
    step_size: float | None = None,
    line_search: bool = True,
    max_iter: int = 1000,
    gtol: float = 1e-10,
    ftol: float = 1e-12,
    xtol: float = 1e-12,
    callback: Callable[[IterationInfo], bool | None] | None = None,
    throw: bool = False,
) -> SolverResult:
    r"""Minimize :math:`h(F(\theta))` by gradient descent in parameter space.

    .. math::

        \theta_{k+1} = \theta_k - s_k\, g_k, \qquad
        g_k = J_k^\top \nabla h(u_k), \qquad
        s_0 = 1/\|J(\theta_0)\|_2^2 = 1/\lambda_{\max}(G_0),

    where :math:`u_k = F(\theta_k)`, :math:`J_k = J(\theta_k)` and
    :math:`G = J^\top J`. :math:`1/\|J\|_2^2` is the classical stable step of
    the linearized squared loss :math:`\tfrac12\|u - y\|^2`. With
    ``line_search=True`` the step is halved until Armijo's condition

    .. math::

        h(F(\theta_k - s_k g_k)) \le h(F(\theta_k)) - c_1 s_k \|g_k\|^2,
        \qquad c_1 = 10^{-4},

    holds, and the halved step is kept for the next iterations (it never
    grows again), so the loss decreases monotonically. It contracts the
    slowest mode of the residual by :math:`1 - s\lambda_{\min}(G)` per step,
    so it needs a number of iterations of order
    :math:`\operatorname{cond}(G)`, where
    :func:`riemgn.solvers.gauss_newton` needs a bounded number (claim C6).

    The iteration stops when, in this order,

    - :math:`\|g_k\|_2 \le` ``gtol`` (checked before each step);
    - the callback returns True (after each step);
    - :math:`|h_k - h_{k+1}| \le` ``ftol`` :math:`\cdot h_k`;
    - :math:`\|\theta_{k+1} - \theta_k\| \le` ``xtol`` :math:`(` ``xtol``
      :math:`+ \|\theta_k\|)`.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F` (any :math:`p` and :math:`n`: no rank is needed).
    params0 : ndarray, shape (n_params,)
        The start :math:`\theta_0`, finite.
    loss : loss on outputs
        :math:`h`, e.g. :class:`~riemgn.losses.SquaredLoss`, with
        ``loss.n_outputs == output_map.n_outputs``.
    step_size : float, optional
        :math:`s_0 > 0`; default :math:`1/\|J(\theta_0)\|_2^2`, from the
        Jacobian at :math:`\theta_0` (the only one formed). Pass a step for
        a model whose :math:`J` does not fit in memory: the iterations are
        matrix-free.
    line_search : bool, default True
        Halve (and keep halved) the step until Armijo's condition holds.
    max_iter : int, default 1000
        The largest number of iterations, each with one vector-Jacobian
        product :math:`J_k^\top\nabla h(u_k)` (``output_map.vjp``); the
        Jacobian itself is formed only at :math:`\theta_0`, and only for the
        default step.
    gtol, ftol, xtol : float
        Tolerances, ``>= 0`` (0 disables a test).
    callback : callable, optional
        ``callback(info)`` with a :class:`riemgn.solvers.IterationInfo` after
        each step; returning True stops the solver (status ``callback_stop``).
    throw : bool, default False
        Raise :class:`riemgn.solvers.SolverError` instead of returning an
        unsuccessful result.

    Returns
    -------
    SolverResult
        ``method`` is ``"gradient_descent"`` (``"gradient_descent/armijo"``
        with the line search). ``history.loss`` holds :math:`h_k` for
        :math:`k < ` ``n_iter`` (the final :math:`h` is ``loss``),
        ``history.step_norm`` :math:`s_k\|g_k\|`; ``history.damping`` and
        ``history.gain_ratio`` are NaN. Each step evaluates :math:`F` once
        plus once per halving, so ``n_value_evals - 1 - n_iter`` is the
        number of halvings, and the final step size is :math:`s_0
        2^{-\text{halvings}}`. ``n_jacobian_evals`` counts the
        vector-Jacobian products. Status ``non_finite`` if :math:`J` or the
        gradient is not finite, or a step without line search leaves the
        domain where :math:`F` and :math:`h` are finite;
        ``line_search_failed`` if the step falls below ``1e-300``.

    Raises
    ------
    ValueError
        If ``params0`` is not finite or has the wrong shape, the loss has
        another number of outputs than ``output_map``, an option is out of
        range, or :math:`h(F(\theta_0))` is not finite.
    TypeError
        If an argument has the wrong type.
    SolverError
        With ``throw=True``, if the solver does not succeed.

    Examples
    --------
    Gradient descent to a relative excess risk of :math:`10^{-6}`, against
    the handful of Gauss-Newton steps:

    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> from riemgn.solvers import gauss_newton
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 2)
    >>> theta0 = net.init_params(rng)
    >>> F = net.output_map(rng.standard_normal((20, 2)))
    >>> loss = SquaredLoss(F.value(theta0 + 0.05 * rng.standard_normal(4)))
    >>> h0 = loss.value(F.value(theta0))
    >>> def reached(info):
    ...     return info.loss / h0 <= 1e-6
    >>> gd = gradient_descent(F, theta0, loss, max_iter=10_000, callback=reached)
    >>> gn = gauss_newton(F, theta0, loss, callback=reached)
    >>> gd.status.value, gn.status.value, gd.n_iter > 10 * gn.n_iter
    ('callback_stop', 'callback_stop', True)
    """
    n, p, params, outputs, value = _check_problem(output_map, params0, loss)
    if step_size is not None:
        step_size = check_positive_real("step_size", step_size)
    if not isinstance(line_search, bool):
        raise TypeError(f"`line_search` must be a bool, got {describe(line_search)}")
    max_iter, tol = _check_options(
        max_iter, {"gtol": gtol, "ftol": ftol, "xtol": xtol}, callback, throw
    )
    method = "gradient_descent" + ("/armijo" if line_search else "")
    run = _Run(method, params, outputs, value, callback, throw)
    with np.errstate(**_QUIET):
        return _iterations(
            run, output_map, loss, n, p, step_size, line_search, max_iter, tol
        )


def _iterations(
    run, output_map, loss, n, p, step, line_search, max_iter, tol
) -> SolverResult:
    for _ in range(max_iter):
        gradient = _loss_gradient(loss, run.outputs)
        if step is None:  # 1 / ||J(theta_0)||_2^2: the only Jacobian formed
            J = _jacobian(output_map, run.params, n, p)
            if J is None:
                return run.finish(SolverStatus.NON_FINITE, "J(theta) is not finite")
            step = 1.0 / singular_values(J)[0] ** 2
        g = None if gradient is None else _vjp(output_map, run.params, gradient, p)
        run.n_jacobian_evals += 1
        gg = math.inf if g is None else float(g @ g)
        # sqrt(g . g), from the product Armijo's test needs; safe_norm if it
        # overflows or underflows.
        gradient_norm = math.sqrt(gg) if _TINY < gg < math.inf else safe_norm(g)
        if not math.isfinite(gradient_norm):
            return run.finish(
                SolverStatus.NON_FINITE, _non_finite_detail(gradient, gradient_norm)
            )
        stop = check_gradient(gradient_norm, tol["gtol"])
        if stop is not None:
            return run.finish(*stop)
        step, trial, trial_outputs, trial_loss = _step(
            run, output_map, loss, n, g, ARMIJO_C1 * gg, step, line_search
        )
        step_norm = step * gradient_norm
        accepted = trial_loss is not None
        run.record(
            gradient_norm=gradient_norm,
            step_norm=step_norm,
            damping=math.nan,
            gain_ratio=math.nan,
            accepted=accepted,
        )
        if not accepted:
            return _failed(run, step, line_search)
        old_loss = run.loss
        old_norm = safe_norm(run.params) if tol["xtol"] > 0 else 0.0
        run.params, run.outputs, run.loss = trial, trial_outputs, trial_loss
        if run.notify(damping=math.nan, step_norm=step_norm, accepted=True):
            return run.finish(
                SolverStatus.CALLBACK_STOP, f"after {run.n_iter} iterations"
            )
        stop = check_termination(
            old_loss - trial_loss, old_loss, step_norm, old_norm, tol
        )
        if stop is not None:
            return run.finish(*stop)
    return run.finish(SolverStatus.MAX_ITER, f"max_iter = {max_iter} iterations")


def _vjp(output_map, params: np.ndarray, cotangent: np.ndarray, p: int) -> np.ndarray:
    r""":math:`J(\theta)^\top` ``cotangent`` by the map's ``vjp``, without forming J.

    An overflow gives an infinite vector, which the caller reports as
    ``non_finite``.
    """
    try:
        g = np.asarray(output_map.vjp(params, cotangent), dtype=np.float64)
    except OverflowError:  # a model that refuses to overflow
        return np.full(p, np.inf)
    if g.shape != (p,):
        raise ValueError(
            f"the output map's vjp returned shape {g.shape}, expected ({p},)"
        )
    return g


def _step(run, output_map, loss, n, g, decrease, step, line_search):
    r"""The trial step, the step halved until Armijo's test holds.

    ``decrease`` is :math:`c_1\|g\|^2`. Returns the step size and the trial
    point, outputs and loss (the loss None if no acceptable step was found).
    """
    while True:
        trial = run.params - step * g
        trial_outputs = _evaluate(output_map, trial, n)
        run.n_value_evals += 1
        trial_loss = _loss_at(loss, trial_outputs)
        if not line_search:
            finite = math.isfinite(trial_loss)
            return step, trial, trial_outputs, trial_loss if finite else None
        if trial_loss <= run.loss - step * decrease:
            return step, trial, trial_outputs, trial_loss
        if step < MIN_STEP_SIZE:
            return step, trial, trial_outputs, None
        step *= 0.5


def _failed(run, step, line_search) -> SolverResult:
    if not line_search:
        return run.finish(
            SolverStatus.NON_FINITE,
            f"the step of size {step:g} from iteration {run.n_iter - 1} leads to "
            "non-finite outputs or loss; try line_search=True or a smaller step_size",
        )
    return run.finish(
        SolverStatus.LINE_SEARCH_FAILED,
        f"halving the step down to s = {step:.3e} gave no sufficient decrease "
        f"(Armijo, c1 = {ARMIJO_C1:g})",
    )
