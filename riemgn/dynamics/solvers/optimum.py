"""The optimal in-class risk, by Gauss-Newton on the output manifold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.stats

from manifolds.output_map import OutputMap
from manifolds.validation import (
    NonFiniteError,
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    max_abs,
    norm,
)
from riemgn.dynamics.solvers._gauss_newton import _gauss_newton
from riemgn.dynamics.solvers._results import SOLVER_MESSAGES, SolverStatus
from riemgn.theory._common import (
    _EPS,
    _check_output_map,
    _jacobian,
)

__all__ = ["InClassOptimum", "optimal_in_class_risk"]

#: The halvings of the line search: steps down to 2**-39 (> 1e-12).
MAX_BACKTRACKS = 39


@dataclass(frozen=True)
class InClassOptimum:
    r"""The optimal in-class risk :math:`h^* = \min_\theta h(F(\theta))` near :math:`\theta_0`, cross-checked.

    Attributes
    ----------
    risk : float
        :math:`h^*` from the Gauss-Newton run.
    params : ndarray, shape (n_params,)
        Its minimizer :math:`\theta^*`.
    outputs : ndarray, shape (n_outputs,)
        The optimal in-class predictor :math:`u^* = F(\theta^*)`.
    gradient_norm : float
        :math:`\|J^\top\nabla h\|` at :math:`\theta^*`.
    n_iter : int
        Gauss-Newton iterations.
    reference_risk : float
        The risk found by the independent scipy solver.
    reference_method : str
        ``"least_squares/trf"``.
    difference : float
        :math:`|h^*_{GN} - h^*_{ref}|`.
    tolerance : float
        The agreement required of ``difference``.
    consistent : bool
        Whether the two agree to ``tolerance``.
    message : str
        How the Gauss-Newton run ended.

    Examples
    --------
    A realizable teacher-student problem: the optimal in-class risk is 0
    and the optimal predictor is the teacher's output.

    >>> import numpy as np
    >>> from riemgn.data import teacher_student
    >>> from riemgn.losses import SquaredLoss
    >>> problem = teacher_student(20, 2, 2, rng=np.random.default_rng(0))
    >>> optimum = optimal_in_class_risk(
    ...     problem.output_map, problem.params0, SquaredLoss(problem.y)
    ... )
    >>> optimum.consistent, optimum.risk < 1e-20
    (True, True)
    >>> bool(np.allclose(optimum.outputs, problem.clean_targets))
    True
    """

    risk: float
    params: np.ndarray
    outputs: np.ndarray
    gradient_norm: float
    n_iter: int
    reference_risk: float
    reference_method: str
    difference: float
    tolerance: float
    consistent: bool
    message: str


def optimal_in_class_risk(
    output_map: OutputMap,
    params0,
    loss,
    *,
    max_iter: int = 1000,
    gtol: float = 1e-13,
    rtol: float = 1e-9,
) -> InClassOptimum:
    r"""The optimal in-class risk :math:`h^*`, by a long Gauss-Newton run checked against scipy.

    The Gauss-Newton iteration with Armijo backtracking
    (:func:`riemgn.solvers.gauss_newton` with ``line_search=True``, here
    with up to 39 halvings, down to :math:`t = 2^{-39}`),

    .. math::

        \theta_{k+1} = \theta_k - t_k J^+ (u_k - y), \qquad
        h(F(\theta_{k+1})) \le h(F(\theta_k)) - 10^{-4} t_k\,
        \nabla h^\top P (u_k - y),

    where :math:`u_k = F(\theta_k)`, :math:`\nabla h = s(u_k - y)`,
    :math:`J^+ = R^{-1}Q^\top` (thin QR), :math:`P = QQ^\top` and
    :math:`t_k \in \{1, \tfrac12, \dots, 2^{-39}\}`, runs until
    :math:`\|J^\top \nabla h\| \le` ``gtol`` :math:`\max(1, \|J^\top\nabla h\|_0)`
    or until the risk stops decreasing in float64 (no step decreases it, or
    one leaves it unchanged: the run then ends at the iterate before that
    step), or until :math:`J` loses
    rank (the optimum is then not attained near :math:`\theta_0`: neurons
    saturate, and ``consistent`` is usually False). This is the discrete
    counterpart of the GN flow, whose limit is the optimal in-class predictor
    (a local minimizer near :math:`\theta_0`).

    The result is cross-checked from the same start by
    ``scipy.optimize.least_squares`` (``method="trf"``) on the residual
    :math:`\sqrt{s}(F(\theta) - y)`. Only the squared loss is supported: for
    other losses :math:`-J^+\nabla h` has no curvature model of :math:`h`
    and the run can stall far from the optimum. The two agree when
    :math:`|h^*_{GN} - h^*_{ref}| \le` ``rtol`` :math:`\max(h^*_{GN}, h^*_{ref})
    + 10^3 \epsilon\, h(F(\theta_0))`.

    Parameters
    ----------
    output_map : OutputMap
        An underparameterized map (:math:`p \le n`).
    params0 : ndarray, shape (n_params,)
        The start :math:`\theta_0`.
    loss : SquaredLoss
        The squared loss :math:`\tfrac{s}{2}\|u - y\|^2`.
    max_iter : int, default 1000
        The iteration budget of the Gauss-Newton run.
    gtol : float, default 1e-13
        The relative gradient tolerance.
    rtol : float, default 1e-9
        The relative agreement required of the cross-check.

    Returns
    -------
    InClassOptimum
        The risk, minimizer and predictor, with the scipy cross-check (a
        :class:`riemgn.solvers.InClassOptimum`).

    Raises
    ------
    ValueError
        If ``params0`` is not finite or has the wrong shape, the loss does not
        match the outputs, :math:`p > n`, an option is out of range, or the
        output map (or its Jacobian) is not finite at ``params0``.
    TypeError
        If ``loss`` is not a :class:`~riemgn.losses.SquaredLoss`, or
        ``output_map`` does not implement :class:`~manifolds.OutputMap`.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> network = TwoLayerNetwork(2, 2)
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(rng.normal(size=(30, 2)))
    >>> y = F.value(theta0 + 0.3 * rng.normal(size=4)) + 0.1 * rng.normal(size=30)
    >>> optimum = optimal_in_class_risk(F, theta0, SquaredLoss(y))
    >>> optimum.consistent, optimum.reference_method
    (True, 'least_squares/trf')
    """
    from riemgn.losses import SquaredLoss

    n, p = _check_output_map(output_map)
    if not isinstance(loss, SquaredLoss):
        raise TypeError(
            "`loss` must be a riemgn.losses.SquaredLoss: the optimal in-class risk is "
            f"computed for the squared loss only, got {type(loss).__name__}"
        )
    params = as_finite_vector("params0", params0, p).copy()
    if getattr(loss, "n_outputs", None) != n:
        raise ValueError(
            f"the loss has n_outputs = {getattr(loss, 'n_outputs', None)} but the output "
            f"map has n_outputs = {n}"
        )
    if p > n:
        raise ValueError(
            f"the optimal in-class risk needs p <= n, got n_params = {p} > n_outputs = {n}"
        )
    max_iter = check_positive_int("max_iter", max_iter)
    gtol = check_positive_real("gtol", gtol)
    rtol = check_positive_real("rtol", rtol)
    u = np.asarray(output_map.value(params), dtype=np.float64)
    risk = loss.value(u) if np.all(np.isfinite(u)) else math.inf
    if not math.isfinite(risk):
        raise NonFiniteError(
            "the risk h(F(params0)) is not finite: the output map or the loss "
            f"overflows float64 at `params0` (max |params0| = {max_abs(params):.3e})"
        )
    initial_risk = risk
    scale = max(1.0, _gradient_norm(output_map, params, u, loss))
    risk, params, u, gradient_norm, n_iter, message = _gauss_newton_run(
        output_map, params, loss, max_iter=max_iter, gtol=gtol * scale
    )
    if message is None:
        message = f"converged: |J^T grad h| = {gradient_norm:.3e} <= gtol x {scale:.3e}"

    reference_method, reference_risk = _reference_optimum(output_map, params0, loss, p)
    difference = abs(risk - reference_risk)
    tolerance = rtol * max(risk, reference_risk) + 1e3 * _EPS * initial_risk
    params, u = np.array(params), np.array(u)
    params.flags.writeable = False
    u.flags.writeable = False
    return InClassOptimum(
        risk=float(risk),
        params=params,
        outputs=u,
        gradient_norm=gradient_norm,
        n_iter=n_iter,
        reference_risk=float(reference_risk),
        reference_method=reference_method,
        difference=float(difference),
        tolerance=float(tolerance),
        consistent=bool(difference <= tolerance),
        message=message,
    )


def _reference_optimum(output_map, params0, loss, p):
    root = math.sqrt(1.0 / loss.n_outputs if loss.mean else 1.0)
    solution = scipy.optimize.least_squares(
        lambda theta: root * (np.asarray(output_map.value(theta)) - loss.y),
        np.asarray(params0, dtype=np.float64),
        jac=lambda theta: root * _jacobian(output_map, theta),
        method="trf",
        x_scale="jac",
        ftol=1e-15,
        xtol=1e-15,
        gtol=1e-15,
        max_nfev=200 * max(p, 5),
    )
    return "least_squares/trf", 0.5 * float(solution.fun @ solution.fun)


def _gradient_norm(output_map, params, u, loss) -> float:
    r""":math:`\|J^\top\nabla h\|` at ``params``; NonFiniteError if it overflows."""
    g = loss.gradient(u)
    J = _jacobian(output_map, params)
    with np.errstate(all="ignore"):
        gradient_norm = norm(J.T @ g)
    if not math.isfinite(gradient_norm):
        raise NonFiniteError(
            "J^T grad h is not finite, it overflows float64 during the Gauss-Newton run "
            f"(max |J| = {max_abs(J):.3e}, max |grad h| = {max_abs(g):.3e}); the model's "
            "scale (`alpha`) or the targets are too large"
        )
    return gradient_norm


def _gauss_newton_run(output_map, params, loss, *, max_iter, gtol):
    """The Gauss-Newton run with Armijo backtracking, to ``gtol`` or no decrease.

    Returns the risk, minimizer, predictor, last gradient norm, iterations
    (the gradient evaluations) and the message (None for the gtol test). A
    step that leaves the risk unchanged in float64 ends the run at the
    iterate it started from.
    """
    iterates = [(params, None)]

    def remember(info):  # the last two iterates, to undo a step that changed nothing
        iterates[:] = [iterates[-1], (info.params, info.outputs)]

    result = _gauss_newton(
        output_map,
        params,
        loss,
        step_size=1.0,
        line_search=True,
        max_iter=max_iter,
        tol={"gtol": gtol, "ftol": 0.0, "xtol": 0.0},
        rank_rtol=None,
        callback=remember,
        throw=False,
        max_backtracks=MAX_BACKTRACKS,
    )
    status = result.status
    if status is SolverStatus.NON_FINITE:
        raise NonFiniteError(
            f"the Gauss-Newton run of the optimal in-class risk failed: {result.message}"
        )
    params, u, risk = result.params, result.outputs, result.loss
    if status in (SolverStatus.CONVERGED_GTOL, SolverStatus.RANK_LOSS):
        # Stopped before a step: the gradient norm there, and that iteration.
        gradient_norm = _gradient_norm(output_map, params, u, loss)
        prefix = len(SOLVER_MESSAGES[SolverStatus.RANK_LOSS]) + 2
        message = None if status.success else f"stopped: {result.message[prefix:]}"
        return risk, params, u, gradient_norm, result.n_iter + 1, message
    gradient_norm = float(result.history.gradient_norm[-1])
    if status is SolverStatus.MAX_ITER:
        message = f"the iteration budget max_iter = {max_iter} ran out"
        return risk, params, u, gradient_norm, result.n_iter, message
    if status is SolverStatus.CONVERGED_FTOL:  # the last step changed nothing: undo it
        params, u = iterates[0]
        if u is None:
            u = np.asarray(output_map.value(params), dtype=np.float64)
    message = (
        f"converged: the risk no longer decreases in float64 "
        f"(|J^T grad h| = {gradient_norm:.3e})"
    )
    return risk, params, u, gradient_norm, result.n_iter, message
