"""The Levenberg-Marquardt solver (see the notes of :mod:`riemgn.dynamics.solvers`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from manifolds.exceptions import KrylovConvergenceError
from manifolds.linalg import RankDeficiencyError, default_rank_rtol, resolve_solver
from riemgn._checks import QUIET as _QUIET
from riemgn._checks import safe_norm
from riemgn.dynamics.damping import _NonFiniteDamping
from riemgn.dynamics.solvers._common import (
    _check_options,
    _check_problem,
    _evaluate,
    _gain_ratio,
    _jacobian_and_gradient,
    _loss_at,
    _predicted_reduction,
    _rank_cause,
    _Run,
    _weighted,
)
from riemgn.dynamics.solvers._damping_rules import _damping_rule
from riemgn.dynamics.solvers._lm_subproblem import _LMSubproblem, _RankLoss
from riemgn.dynamics.solvers._results import IterationInfo, SolverResult, SolverStatus
from riemgn.dynamics.solvers._termination import check_termination

__all__ = ["levenberg_marquardt"]


def levenberg_marquardt(
    output_map,
    params0,
    loss,
    *,
    damping="trust_region",
    initial_damping: float | None = None,
    max_iter: int = 200,
    gtol: float = 1e-10,
    ftol: float = 1e-12,
    xtol: float = 1e-12,
    solver: str = "auto",
    callback: Callable[[IterationInfo], bool | None] | None = None,
    throw: bool = False,
) -> SolverResult:
    r"""Minimize :math:`h(F(\theta))` by Levenberg-Marquardt steps with an adaptive damping.

    Each iteration tries the step

    .. math::

        \delta = -(J^\top W J + \lambda I)^{-1} J^\top \nabla h(u)
               = -J_W^\top (K_W + \lambda I)^{-1}\, W^{-1/2}\nabla h(u),

    where

    - :math:`J = J(\theta)` and :math:`u = F(\theta)`;
    - :math:`W = \nabla^2 h(u)` is the diagonal Hessian of the loss
      (``loss.hessian_diagonal``; :math:`W = I` for a loss without it),
      :math:`J_W = W^{1/2}J` and :math:`K_W = J_W J_W^\top`;
    - :math:`\lambda \ge 0` is the damping.

    For ``SquaredLoss(y)``, :math:`W = I` and
    :math:`\delta = -(J^\top J + \lambda I)^{-1}J^\top\nabla h =
    -J^\top(K + \lambda I)^{-1}\nabla h` with :math:`K = JJ^\top`; with
    ``mean=True``, :math:`W = I/n`, which acts as the damping
    :math:`n\lambda` on :math:`(J, u - y)`. A step is accepted when its gain
    ratio :math:`\rho` (actual over predicted decrease of :math:`h`, see the
    module notes) is positive. A new Jacobian is evaluated only after an
    accepted step. For :math:`p \le n` the step comes from the QR of
    :math:`J_W` (a small stacked QR of :math:`[R; \sqrt\lambda I]` per
    damping); for :math:`p > n` from the kernel form and the thin SVD of
    :math:`J_W`, never allocating a :math:`p \times p` array.

    The damping rules:

    ``"nielsen"``
        Nielsen's update: :math:`\lambda_0 = \tau\max_j\|(J_W)_{:,j}\|^2` with
        :math:`\tau = 10^{-3}` (or ``initial_damping``), :math:`\nu = 2`; on
        acceptance :math:`\lambda \leftarrow \lambda\max(\tfrac13,
        1 - (2\rho - 1)^3)`, :math:`\nu \leftarrow 2`; on rejection
        :math:`\lambda \leftarrow \nu\lambda`, :math:`\nu \leftarrow 2\nu`.
    ``"trust_region"`` (default)
        Moré's trust region in parameter space: :math:`\lambda` solves
        :math:`\|\delta(\lambda)\| = \Delta` (or is 0 if the Gauss-Newton
        step fits), via the thin SVD of :math:`J_W`. The radius starts at
        :math:`\|\theta_0\|` (1 if zero), or at the step length of
        ``initial_damping``; it becomes :math:`\|\delta\|/4` when
        :math:`\rho < 0.25` and doubles when :math:`\rho > 0.75` and the step
        reached the boundary (:math:`\|\delta\| \ge 0.95\Delta`).
    a number, a schedule or a callable ``damping(k, state)``
        :math:`\lambda_k` from the schedule (:mod:`riemgn.dynamics.damping`), with
        ``k`` the number of accepted steps and ``state`` a
        :class:`~riemgn.damping.DampingState` built from the current
        :math:`J_W` (its squared singular values as ``kernel_eigenvalues``,
        and :math:`W^{-1/2}\nabla h` as ``gradient``). A rejected step
        doubles :math:`\lambda` (from :math:`\tau\max_j\|(J_W)_{:,j}\|^2` if
        it was 0); the solver gives up after more than 60 consecutive
        rejected steps.

    The solver stops when, in this order,

    - :math:`\|J^\top\nabla h\|_2 \le` ``gtol`` (at each new Jacobian);
    - an accepted step has :math:`h_k - h_{k+1} <` ``ftol`` :math:`\cdot h_k`
      and :math:`\rho > 0.25`;
    - a trial step has :math:`\|\delta\| \le` ``xtol`` :math:`(` ``xtol``
      :math:`+ \|\theta\|)`.

    ``ftol`` and ``xtol`` mean what they mean in
    ``scipy.optimize.least_squares``; ``gtol`` bounds the 2-norm of the
    gradient, which is stricter than scipy's :math:`\infty`-norm.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F` (any :math:`p` and :math:`n`).
    params0 : ndarray, shape (n_params,)
        The start :math:`\theta_0`, finite.
    loss : loss on outputs
        :math:`h`, with ``loss.n_outputs == output_map.n_outputs``.
    damping : {"nielsen", "trust_region"}, float, schedule or callable
        The damping rule.
    initial_damping : float, optional
        :math:`\lambda_0 > 0` for ``"nielsen"`` and ``"trust_region"``.
    max_iter : int, default 200
        The largest number of iterations (trial steps, accepted or not).
    gtol, ftol, xtol : float
        Tolerances, ``>= 0`` (0 disables a test).
    solver : {"auto", "dense", "krylov"}, default "auto"
        ``"krylov"`` never forms :math:`J`: each trial step is a
        preconditioned LSMR (:math:`p \le n`) or CG (kernel form) solve with
        ``jvp`` and ``vjp``, and the damping rules see estimated singular
        values (``"nielsen"`` starts from :math:`\tau\sigma_{max}^2`, an upper
        bound of the largest column norm); ``"trust_region"`` needs the SVD of
        :math:`J` and is refused. A solve that misses its tolerance ends the
        run with ``linear_solve_failed``. ``"auto"`` is dense while
        :math:`8np` bytes fit :data:`manifolds.linalg.DENSE_BUDGET`.
    callback : callable, optional
        ``callback(info)`` with a :class:`riemgn.solvers.IterationInfo` after
        each iteration, accepted or not; returning True stops the solver
        (status ``callback_stop``).
    throw : bool, default False
        Raise :class:`riemgn.solvers.SolverError` instead of returning an
        unsuccessful result.

    Returns
    -------
    SolverResult
        ``method`` is ``"levenberg_marquardt/<rule>/<form>"``, with the rule
        ``nielsen``, ``trust_region`` or ``schedule`` and the form ``qr``
        (:math:`p \le n`) or ``kernel`` (:math:`p > n`). Status ``line_search_failed`` when the damping overflows or the
        retries of a schedule are exhausted; ``rank_loss`` when a zero
        damping meets a rank-deficient :math:`J`; ``non_finite`` when
        :math:`J` is not finite (non-finite trial outputs only reject the
        step).

    Raises
    ------
    ValueError
        If ``params0`` is not finite or has the wrong shape, the loss has
        another number of outputs than ``output_map``, ``damping`` is an
        unknown string or a negative number, ``initial_damping`` is not
        ``> 0`` (or given with a schedule), an option is out of range, or
        :math:`h(F(\theta_0))` is not finite.
    TypeError
        If an argument has the wrong type.
    SolverError
        With ``throw=True``, if the solver does not succeed.

    Examples
    --------
    An overparameterized network (:math:`p = 12 > n = 4`) fits any targets:

    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(1)
    >>> net = TwoLayerNetwork(3, 4)
    >>> params0 = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((4, 3)))
    >>> loss = SquaredLoss(rng.standard_normal(4))
    >>> result = levenberg_marquardt(output_map, params0, loss)
    >>> result.success, result.loss < 1e-20
    (True, True)
    >>> len(result.history) == result.n_iter
    True
    """
    n, p, params, outputs, value = _check_problem(output_map, params0, loss)
    rule = _damping_rule(damping, initial_damping)
    max_iter, tol = _check_options(
        max_iter, {"gtol": gtol, "ftol": ftol, "xtol": xtol}, callback, throw
    )
    solver = resolve_solver(solver, n, p)
    if solver == "krylov" and rule.needs_svd:
        raise ValueError(
            f"`damping` = {rule.name!r} solves its trust-region equation with the "
            f"SVD of J, which `solver` = 'krylov' (chosen for n = {n}, p = {p}) never "
            "forms; pass damping='nielsen' or a schedule, or solver='dense'"
        )
    form = ("kernel" if p > n else "qr") if solver == "dense" else "krylov"
    run = _Run(
        f"levenberg_marquardt/{rule.name}/{form}",
        params,
        outputs,
        value,
        callback,
        throw,
    )
    with np.errstate(**_QUIET):
        return _iterations(run, rule, output_map, loss, (n, p, solver), max_iter, tol)


class _Linearization(NamedTuple):
    """The model at the current iterate: its subproblem and the unweighted pair."""

    subproblem: _LMSubproblem
    J: np.ndarray
    gradient: np.ndarray
    gradient_norm: float


def _iterations(run, rule, output_map, loss, shape, max_iter, tol) -> SolverResult:
    n, p, solver = shape
    rank_rtol = default_rank_rtol(n, p)
    model = None
    n_accepted = 0
    for _ in range(max_iter):
        if model is None:
            model = _linearize(run, rule, output_map, loss, shape, tol, n_accepted)
            if isinstance(model, SolverResult):
                return model
        lam = rule.damping(model.subproblem)
        try:
            step = -model.subproblem.direction(lam)
        except (RankDeficiencyError, _RankLoss) as error:
            detail = str(error)
            if solver == "dense":  # the measured cause needs the dense J
                detail += _rank_cause(output_map, run.params, rank_rtol)
            return run.finish(SolverStatus.RANK_LOSS, f"at lambda = {lam:g}: {detail}")
        except KrylovConvergenceError as error:
            return run.finish(
                SolverStatus.LINEAR_SOLVE_FAILED, f"at lambda = {lam:g}: {error}"
            )
        except np.linalg.LinAlgError as error:
            return run.finish(
                SolverStatus.RANK_LOSS, f"at lambda = {lam:g}: LinAlgError: {error}"
            )
        step_norm = safe_norm(step)
        J_step = model.J @ step
        if not (math.isfinite(step_norm) and np.all(np.isfinite(J_step))):
            return run.finish(
                SolverStatus.NON_FINITE,
                f"the step at lambda = {lam:g} is not finite (it overflows float64)",
            )
        trial = run.params + step
        trial_outputs = _evaluate(output_map, trial, n)
        run.n_value_evals += 1
        trial_loss = _loss_at(loss, trial_outputs)
        actual = run.loss - trial_loss
        predicted = _predicted_reduction(loss, run.outputs, model.gradient, J_step)
        gain_ratio = _gain_ratio(actual, predicted)
        accepted = gain_ratio > 0
        run.record(
            gradient_norm=model.gradient_norm,
            step_norm=step_norm,
            damping=lam,
            gain_ratio=gain_ratio,
            accepted=accepted,
        )
        rule.update(gain_ratio, accepted, step_norm)
        old_loss, old_norm = run.loss, safe_norm(run.params)
        if accepted:
            run.params, run.outputs, run.loss = trial, trial_outputs, trial_loss
            model = None
            n_accepted += 1
        if run.notify(damping=lam, step_norm=step_norm, accepted=accepted):
            return run.finish(
                SolverStatus.CALLBACK_STOP, f"after {run.n_iter} iterations"
            )
        stop = check_termination(
            actual,
            old_loss,
            step_norm,
            old_norm,
            tol,
            gain_ratio=gain_ratio,
            accepted=accepted,
        )
        if stop is None and not accepted:
            reason = rule.exhausted()
            stop = None if reason is None else (SolverStatus.LINE_SEARCH_FAILED, reason)
        if stop is not None:
            return run.finish(*stop)
    return run.finish(SolverStatus.MAX_ITER, f"max_iter = {max_iter} iterations")


def _linearize(run, rule, output_map, loss, shape, tol, n_accepted):
    """The model at a new iterate, or the result if the solver stops there."""
    n, p, solver = shape
    rank_rtol = default_rank_rtol(n, p)
    J, gradient, gradient_norm, stop = _jacobian_and_gradient(
        run, output_map, loss, n, p, tol["gtol"], solver
    )
    if stop is not None:
        return run.finish(*stop)
    try:
        subproblem = _LMSubproblem(
            *_weighted(loss, run.outputs, J, gradient),
            svd=rule.needs_svd,
            rank_rtol=rank_rtol,
        )
        rule.new_jacobian(subproblem, run, n_accepted)
    except (_NonFiniteDamping, OverflowError) as error:
        return run.finish(SolverStatus.NON_FINITE, str(error))
    except KrylovConvergenceError as error:
        return run.finish(SolverStatus.LINEAR_SOLVE_FAILED, str(error))
    except np.linalg.LinAlgError as error:
        cause = (
            _rank_cause(output_map, run.params, rank_rtol) if solver == "dense" else ""
        )
        return run.finish(SolverStatus.RANK_LOSS, f"LinAlgError: {error}" + cause)
    return _Linearization(subproblem, J, gradient, gradient_norm)
