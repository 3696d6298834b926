"""The Gauss-Newton solver (see the notes of :mod:`riemgn.dynamics.solvers`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from manifolds.exceptions import KrylovConvergenceError
from manifolds.linalg import (
    RankDeficiencyError,
    default_rank_rtol,
    factorize,
    resolve_solver,
)
from manifolds.validation import check_positive_real, describe
from riemgn._checks import QUIET as _QUIET
from riemgn._checks import safe_norm
from riemgn.dynamics.solvers._common import (
    _check_options,
    _check_problem,
    _evaluate,
    _gain_ratio,
    _jacobian_and_gradient,
    _loss_at,
    _rank_cause,
    _Run,
    _weighted,
)
from riemgn.dynamics.solvers._results import IterationInfo, SolverResult, SolverStatus
from riemgn.dynamics.solvers._termination import check_termination

__all__ = ["gauss_newton"]

#: Armijo's sufficient-decrease constant of the Gauss-Newton line search.
ARMIJO_C1 = 1e-4
#: The factor by which the line search shrinks the step.
BACKTRACK_FACTOR = 0.5
#: The largest number of step shrinkings in one line search.
MAX_BACKTRACKS = 30


def gauss_newton(
    output_map,
    params0,
    loss,
    *,
    step_size: float = 1.0,
    line_search: bool = False,
    max_iter: int = 100,
    gtol: float = 1e-10,
    ftol: float = 1e-12,
    xtol: float = 1e-12,
    rank_rtol: float | None = None,
    solver: str = "auto",
    callback: Callable[[IterationInfo], bool | None] | None = None,
    throw: bool = False,
) -> SolverResult:
    r"""Minimize :math:`h(F(\theta))` by the Gauss-Newton iteration.

    .. math::

        \theta_{k+1} = \theta_k + s_k\, \eta_k, \qquad
        \eta_k = -(J_k^\top W_k J_k)^{-1} J_k^\top \nabla h(u_k)
               = -(W_k^{1/2} J_k)^+\, W_k^{-1/2}\nabla h(u_k),

    where

    - :math:`u_k = F(\theta_k)` and :math:`J_k = J(\theta_k)`, of full
      column rank (:math:`p \le n`);
    - :math:`W_k = \nabla^2 h(u_k)` is the diagonal Hessian of the loss
      (``loss.hessian_diagonal``; :math:`W_k = I` for a loss without it), so
      that :math:`\eta_k` minimizes the quadratic model :math:`\nabla
      h^\top J_k\eta + \tfrac12 (J_k\eta)^\top W_k (J_k\eta)`; the
      pseudo-inverse is applied by a thin QR factorization of
      :math:`W_k^{1/2}J_k`, never by the normal equations;
    - :math:`s_k` is ``step_size``, or with ``line_search=True`` the first of
      ``step_size``, ``step_size/2``, ... (at most 30 halvings) that
      satisfies Armijo's condition with :math:`c_1 = 10^{-4}`,

      .. math::

          h(F(\theta_k + s\eta_k)) \le h(F(\theta_k))
              + c_1 s\, \nabla h^\top J_k\eta_k,

      whose slope :math:`\nabla h^\top J_k\eta_k = -\|P_k
      W_k^{-1/2}\nabla h\|^2` (:math:`P_k` the orthogonal projector onto
      :math:`\operatorname{range} W_k^{1/2}J_k`) is negative away from
      critical points.

    For the squared loss :math:`h(u) = \tfrac{s}{2}\|u - y\|^2`,
    :math:`W_k = sI` and :math:`\eta_k = -J_k^+(u_k - y)
    = -(J_k^\top J_k)^{-1}J_k^\top(u_k - y)`, the classical Gauss-Newton step,
    whatever :math:`s`. For ``SquaredLoss(y)`` (:math:`s = 1`) it is the
    paper's direction :math:`-J^+\nabla h`, and
    :math:`F(\theta - tJ^+\nabla h) = R_u(-t\operatorname{grad} h(u))` is
    one step of Riemannian gradient descent on the output manifold (metric
    weight 1) with the chart retraction (see the module notes).

    The iteration stops when, in this order,

    - :math:`\|J^\top\nabla h\|_2 \le` ``gtol`` (checked before each step);
    - :math:`|h_k - h_{k+1}| \le` ``ftol`` :math:`\cdot h_k`;
    - :math:`\|\theta_{k+1} - \theta_k\| \le` ``xtol`` :math:`(` ``xtol``
      :math:`+ \|\theta_k\|)`.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`, with ``n_params <= n_outputs``.
    params0 : ndarray, shape (n_params,)
        The start :math:`\theta_0`, finite.
    loss : loss on outputs
        :math:`h`, e.g. :class:`~riemgn.losses.SquaredLoss`, with
        ``loss.n_outputs == output_map.n_outputs``.
    step_size : float, default 1.0
        :math:`s > 0`, the (first trial) step size.
    line_search : bool, default False
        Backtrack until Armijo's condition holds.
    max_iter : int, default 100
        The largest number of iterations (one Jacobian each).
    gtol, ftol, xtol : float
        Tolerances, ``>= 0`` (0 disables a test).
    rank_rtol : float, optional
        :math:`J` counts as rank-deficient when
        :math:`\sigma_{min} \le` ``rank_rtol`` :math:`\sigma_{max}`; default
        ``max(n, p) * eps``.
    solver : {"auto", "dense", "krylov"}, default "auto"
        ``"dense"`` factorizes :math:`J` (:func:`manifolds.linalg.factorize`);
        ``"krylov"`` never forms it: preconditioned LSMR with ``jvp`` and
        ``vjp`` (the rank test then decided on the estimated singular values
        of a sketch of :math:`J`), and a solve that misses its tolerance stops
        the solver with ``linear_solve_failed`` and the solve's message; ``"auto"`` is
        dense while :math:`8np` bytes fit :data:`manifolds.linalg.DENSE_BUDGET`.
    callback : callable, optional
        ``callback(info)`` with a :class:`riemgn.solvers.IterationInfo` after
        each accepted step; returning True stops the solver (status
        ``callback_stop``).
    throw : bool, default False
        Raise :class:`riemgn.solvers.SolverError` instead of returning an
        unsuccessful result.

    Returns
    -------
    SolverResult
        ``method`` is ``"gauss_newton/qr"`` (``"gauss_newton/qr/armijo"``
        with the line search). ``history.damping`` is 0;
        ``history.gain_ratio`` compares the decrease with the quadratic
        model's. Status ``rank_loss`` if
        :math:`J` loses rank, ``non_finite`` if a step without line search
        leaves the domain where :math:`F` and :math:`h` are finite,
        ``line_search_failed`` if 30 halvings find no decrease.

    Raises
    ------
    ValueError
        If ``params0`` is not finite or has the wrong shape, the loss has
        another number of outputs than ``output_map``, ``n_params >
        n_outputs``, an option is out of range, or :math:`h(F(\theta_0))` is
        not finite.
    TypeError
        If an argument has the wrong type.
    SolverError
        With ``throw=True``, if the solver does not succeed.

    Examples
    --------
    A realizable problem, solved to machine precision in a few steps:

    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 2)
    >>> teacher = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((8, 2)))
    >>> loss = SquaredLoss(output_map.value(teacher))
    >>> result = gauss_newton(output_map, teacher + 0.1, loss)
    >>> result.status.value, result.loss < 1e-25, result.n_iter <= 8
    ('converged_gtol', True, True)
    """
    return _gauss_newton(
        output_map,
        params0,
        loss,
        step_size=step_size,
        line_search=line_search,
        max_iter=max_iter,
        tol={"gtol": gtol, "ftol": ftol, "xtol": xtol},
        rank_rtol=rank_rtol,
        solver=solver,
        callback=callback,
        throw=throw,
    )


def _gauss_newton(
    output_map,
    params0,
    loss,
    *,
    step_size,
    line_search,
    max_iter,
    tol,
    rank_rtol,
    callback,
    throw,
    solver="auto",
    max_backtracks=MAX_BACKTRACKS,
) -> SolverResult:
    """:func:`gauss_newton`, with the number of halvings of its line search."""
    n, p, params, outputs, value = _check_problem(output_map, params0, loss)
    if p > n:
        raise ValueError(
            f"gauss_newton needs n_params <= n_outputs (J of full column rank), got "
            f"n_params = {p} > n_outputs = {n}; use levenberg_marquardt, which "
            "works in the kernel form when p > n"
        )
    step_size = check_positive_real("step_size", step_size)
    if not isinstance(line_search, bool):
        raise TypeError(f"`line_search` must be a bool, got {describe(line_search)}")
    max_iter, tol = _check_options(max_iter, tol, callback, throw)
    if rank_rtol is None:
        rank_rtol = default_rank_rtol(n, p)
    rank_rtol = check_positive_real("rank_rtol", rank_rtol)
    if rank_rtol >= 1:
        raise ValueError(f"`rank_rtol` must be < 1, got {rank_rtol}")
    solver = resolve_solver(solver, n, p)
    form = "qr" if solver == "dense" else "krylov"
    method = f"gauss_newton/{form}" + ("/armijo" if line_search else "")
    run = _Run(method, params, outputs, value, callback, throw)
    backtracks = max_backtracks if line_search else None
    with np.errstate(**_QUIET):
        return _iterations(
            run,
            output_map,
            loss,
            (n, p),
            step_size,
            backtracks,
            max_iter,
            tol,
            rank_rtol,
            solver,
        )


def _iterations(
    run,
    output_map,
    loss,
    shape,
    step_size,
    backtracks,
    max_iter,
    tol,
    rank_rtol,
    solver,
) -> SolverResult:
    """The iterations; ``backtracks`` is the line search's halvings (None: none)."""
    n, p = shape
    line_search = backtracks is not None
    for _ in range(max_iter):
        J, gradient, gradient_norm, stop = _jacobian_and_gradient(
            run, output_map, loss, n, p, tol["gtol"], solver
        )
        if stop is None:
            direction, stop = _direction(run, output_map, loss, J, gradient, rank_rtol)
        if stop is not None:
            return run.finish(*stop)
        J_direction = J @ direction
        slope = float(gradient @ J_direction)
        if not (
            math.isfinite(safe_norm(direction))
            and np.all(np.isfinite(J_direction))
            and math.isfinite(slope)
        ):
            return run.finish(
                SolverStatus.NON_FINITE,
                "the Gauss-Newton direction J^+ grad h is not finite (it overflows "
                "float64)",
            )
        curvature = float(J_direction @ loss.hessian_vector(run.outputs, J_direction))
        s, trial, trial_outputs, trial_loss = _line_search(
            run, output_map, loss, n, direction, slope, step_size, backtracks
        )
        step_norm = s * safe_norm(direction)
        actual = run.loss - trial_loss
        predicted = -s * slope - 0.5 * s**2 * curvature
        finite = math.isfinite(trial_loss)
        armijo = trial_loss <= run.loss + ARMIJO_C1 * s * slope
        accepted = finite and (armijo or not line_search)
        run.record(
            gradient_norm=gradient_norm,
            step_norm=step_norm,
            damping=0.0,
            gain_ratio=_gain_ratio(actual, predicted),
            accepted=accepted,
        )
        if not accepted:
            return _failed(run, s, backtracks)
        old_loss, old_norm = run.loss, safe_norm(run.params)
        run.params, run.outputs, run.loss = trial, trial_outputs, trial_loss
        if run.notify(damping=0.0, step_norm=step_norm, accepted=True):
            return run.finish(
                SolverStatus.CALLBACK_STOP, f"after {run.n_iter} iterations"
            )
        stop = check_termination(actual, old_loss, step_norm, old_norm, tol)
        if stop is not None:
            return run.finish(*stop)
    return run.finish(SolverStatus.MAX_ITER, f"max_iter = {max_iter} iterations")


def _direction(run, output_map, loss, J, gradient, rank_rtol):
    r"""The Gauss-Newton direction :math:`-(W^{1/2}J)^+ W^{-1/2}\nabla h`, or a stop."""
    J_weighted, gradient_weighted = _weighted(loss, run.outputs, J, gradient)
    try:
        factorization = factorize(J_weighted, rank_rtol=rank_rtol)
        factorization.check_rank()
        return -factorization.pinv(gradient_weighted), None
    except RankDeficiencyError as error:
        detail = str(error)
        if isinstance(J, np.ndarray):  # the measured cause needs the dense J
            detail += _rank_cause(output_map, run.params, rank_rtol)
        return None, (SolverStatus.RANK_LOSS, detail)
    except KrylovConvergenceError as error:
        return None, (SolverStatus.LINEAR_SOLVE_FAILED, str(error))
    except np.linalg.LinAlgError as error:
        return None, (SolverStatus.RANK_LOSS, f"LinAlgError: {error}")


def _line_search(run, output_map, loss, n, direction, slope, step_size, backtracks):
    """The step size (halved until Armijo's test holds) and the trial point."""
    s = step_size
    for n_backtracks in range((backtracks or 0) + 1):
        trial = run.params + s * direction
        trial_outputs = _evaluate(output_map, trial, n)
        run.n_value_evals += 1
        trial_loss = _loss_at(loss, trial_outputs)
        if backtracks is None or trial_loss <= run.loss + ARMIJO_C1 * s * slope:
            break
        if n_backtracks < backtracks:
            s *= BACKTRACK_FACTOR
    return s, trial, trial_outputs, trial_loss


def _failed(run, s, backtracks) -> SolverResult:
    if backtracks is None:
        return run.finish(
            SolverStatus.NON_FINITE,
            f"the step of size {s:g} from iteration {run.n_iter - 1} leads to "
            "non-finite outputs or loss; try line_search=True or a smaller "
            "step_size",
        )
    return run.finish(
        SolverStatus.LINE_SEARCH_FAILED,
        f"{backtracks} halvings of the step down to s = {s:.3e} gave "
        "no sufficient decrease (Armijo, c1 = 1e-4)",
    )
