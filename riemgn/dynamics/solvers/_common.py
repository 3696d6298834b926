"""Validation, evaluation and bookkeeping shared by the solvers.

The evaluation helpers (``_evaluate``, ``_loss_at``, ``_jacobian``,
``_loss_gradient``, ``_gradient_norm``) report a value that is not finite
instead of warning: call them inside ``np.errstate(**QUIET)``, as every
solver's loop runs.
"""

from __future__ import annotations

import math

import numpy as np

from manifolds import jacobian_rank
from manifolds.linalg import JacobianOperator
from manifolds.validation import (
    all_finite,
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    describe,
)
from riemgn._checks import DOMAIN_ERRORS, check_loss, safe_norm
from riemgn._checks import QUIET as _QUIET
from riemgn.dynamics.solvers._results import (
    _HISTORY_FIELDS,
    SOLVER_MESSAGES,
    IterationInfo,
    SolverError,
    SolverHistory,
    SolverResult,
    SolverStatus,
)
from riemgn.dynamics.solvers._termination import check_gradient

_LOSS_METHODS = ("value", "gradient", "hessian_vector")


def _weighted(loss, outputs, J, gradient):
    r"""The Gauss-Newton model's weighted pair :math:`(W^{1/2}J,\ W^{-1/2}\nabla h)`.

    With :math:`W = \nabla^2 h(u)` diagonal, the model
    :math:`h + \nabla h^\top J\delta + \tfrac12 (J\delta)^\top W J\delta` is
    minimized (with damping :math:`\lambda`) by
    :math:`\delta = -(J^\top W J + \lambda I)^{-1}J^\top\nabla h`, the least-squares
    step of the weighted pair. For :math:`h = \tfrac{s}{2}\|u-y\|^2`,
    :math:`W = sI` and the step is :math:`-J^+ (u - y)` whatever :math:`s`. A
    loss without ``hessian_diagonal`` is weighted by :math:`W = I`.
    """
    diagonal = getattr(loss, "hessian_diagonal", None)
    if diagonal is None:
        return J, gradient
    w = np.asarray(diagonal(outputs), dtype=np.float64)
    root = np.sqrt(np.maximum(w, 0.0))
    if (root == 1.0).all():  # W = I (the squared loss): no copy of J
        return J, gradient
    scaled = np.divide(gradient, root, out=np.zeros_like(gradient), where=root > 0)
    if isinstance(J, JacobianOperator):  # matrix-free: scale the rows of J v
        return JacobianOperator(J.output_map, J.params, row_scale=root), scaled
    return root[:, None] * J, scaled


def _check_problem(output_map, params0, loss):
    missing = [
        name
        for name in ("n_params", "n_outputs", "value", "jacobian")
        if not hasattr(output_map, name)
    ]
    if missing:
        raise TypeError(
            "`output_map` must implement manifolds.OutputMap (at least n_params, "
            f"n_outputs, value and jacobian); {describe(output_map)} lacks {missing}"
        )
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    params0 = as_finite_vector("params0", params0, p).copy()
    check_loss(loss, n, require=_LOSS_METHODS)
    try:
        with np.errstate(**_QUIET):  # reported below instead
            outputs = np.asarray(output_map.value(params0), dtype=np.float64)
    except OverflowError as error:  # a model that refuses to overflow
        raise ValueError(
            "the outputs F(params0) are not finite at the initial point `params0`: "
            f"{error}"
        ) from None
    if outputs.shape != (n,):
        raise ValueError(
            f"the output map returned shape {outputs.shape} at `params0`, expected ({n},)"
        )
    if not np.isfinite(outputs).all():
        raise ValueError(
            "the outputs F(params0) are not finite at the initial point "
            f"({int(np.sum(~np.isfinite(outputs)))} NaN or inf value(s)); choose "
            "another `params0`"
        )
    try:
        value = float(loss.value(outputs))
    except OverflowError as error:
        raise ValueError(
            f"the loss is not finite at the initial point `params0`: {error}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"the loss is not finite at the initial point, h(F(params0)) = {value}"
        )
    return n, p, params0, outputs, value


def _check_options(max_iter, tolerances: dict, callback, throw):
    max_iter = check_positive_int("max_iter", max_iter)
    checked = {
        name: check_positive_real(name, value, allow_zero=True)
        for name, value in tolerances.items()
    }
    if callback is not None and not callable(callback):
        raise TypeError(
            f"`callback` must be callable or None, got {describe(callback)}"
        )
    if not isinstance(throw, bool):
        raise TypeError(f"`throw` must be a bool, got {describe(throw)}")
    return max_iter, checked


def _evaluate(output_map, params: np.ndarray, n: int) -> np.ndarray | None:
    """``F(params)`` at a trial point, or None if it is not finite.

    A trial step may overflow the model; the solver handles the non-finite
    result (it rejects the step), so numpy's overflow warnings are silenced.
    """
    if not all_finite(params):  # an overflowed step: F is not evaluated
        return None
    try:
        outputs = np.asarray(output_map.value(params), dtype=np.float64)
    except OverflowError:  # a model that refuses to overflow
        return None
    if outputs.shape != (n,):
        raise ValueError(
            f"the output map returned shape {outputs.shape}, expected ({n},)"
        )
    return outputs if all_finite(outputs) else None


def _loss_at(loss, outputs: np.ndarray | None) -> float:
    """``h(outputs)``, or inf if the outputs or the loss are not finite."""
    if outputs is None:
        return math.inf
    try:
        value = float(loss.value(outputs))
    except OverflowError:
        return math.inf
    return value if math.isfinite(value) else math.inf


def _jacobian(output_map, params: np.ndarray, n: int, p: int) -> np.ndarray | None:
    try:
        J = np.asarray(output_map.jacobian(params), dtype=np.float64)
    except OverflowError:  # a model that refuses to overflow
        return None
    if J.shape != (n, p):
        raise ValueError(
            f"the output map's jacobian has shape {J.shape}, expected ({n}, {p})"
        )
    return J if all_finite(J) else None


def _loss_gradient(loss, outputs: np.ndarray) -> np.ndarray | None:
    """``loss.gradient(outputs)``, or None if it overflows or is not finite."""
    try:
        gradient = np.asarray(loss.gradient(outputs), dtype=np.float64)
    except OverflowError:
        return None
    if gradient.shape != outputs.shape:
        raise ValueError(
            f"`loss.gradient` returned shape {gradient.shape}, expected {outputs.shape}"
        )
    return gradient if all_finite(gradient) else None


def _jacobian_and_gradient(
    run, output_map, loss, n: int, p: int, gtol: float, solver: str = "dense"
):
    r"""``J``, :math:`\nabla h` and :math:`\|J^\top\nabla h\|` at the iterate, and the stop if any.

    The stop is ``(status, message)``: a non-finite :math:`J` or gradient, or
    the gradient test of :func:`check_gradient`; None to go on. With
    ``solver="krylov"``, ``J`` is a :class:`~manifolds.linalg.JacobianOperator`
    (products only; their finiteness is checked where they are used).
    """
    gradient = _loss_gradient(loss, run.outputs)
    if solver == "krylov":
        J = JacobianOperator(output_map, run.params)
    else:
        J = _jacobian(output_map, run.params, n, p)
    run.n_jacobian_evals += 1
    if J is None:
        return (
            None,
            gradient,
            math.nan,
            (
                SolverStatus.NON_FINITE,
                "J(theta) is not finite",
            ),
        )
    gradient_norm = math.inf if gradient is None else _gradient_norm(J, gradient)
    if not math.isfinite(gradient_norm):
        detail = _non_finite_detail(gradient, gradient_norm)
        return J, gradient, gradient_norm, (SolverStatus.NON_FINITE, detail)
    return J, gradient, gradient_norm, check_gradient(gradient_norm, gtol)


def _gradient_norm(J: np.ndarray, gradient: np.ndarray) -> float:
    r""":math:`\|J^\top\nabla h\|_2`, ``inf`` (without a warning) if it overflows."""
    return safe_norm(J.T @ gradient)


def _non_finite_detail(gradient, gradient_norm) -> str:
    if gradient is None:
        return "the loss gradient is not finite (it overflows float64)"
    return f"|J^T grad h| = {gradient_norm} is not finite (it overflows float64)"


def _predicted_reduction(loss, outputs, gradient, J_step) -> float:
    r""":math:`m(0) - m(\delta) = -\nabla h^\top J\delta - \tfrac12 (J\delta)^\top\nabla^2h\,J\delta`."""
    curvature = float(J_step @ loss.hessian_vector(outputs, J_step))
    return -float(gradient @ J_step) - 0.5 * curvature


def _gain_ratio(actual: float, predicted: float) -> float:
    if not math.isfinite(actual) or not predicted > 0:
        return -math.inf
    return actual / predicted


class _Run:
    """The mutable state of one solver run: iterate, counters, history rows."""

    def __init__(self, method, params, outputs, loss_value, callback, throw):
        self.method = method
        self.params = params
        self.outputs = outputs
        self.loss = loss_value
        self.callback = callback
        self.throw = throw
        self.n_value_evals = 1
        self.n_jacobian_evals = 0
        self.rows = {name: [] for name in (*_HISTORY_FIELDS, "accepted")}

    @property
    def n_iter(self) -> int:
        return len(self.rows["loss"])

    def record(self, *, gradient_norm, step_norm, damping, gain_ratio, accepted):
        rows = self.rows
        rows["loss"].append(self.loss)
        rows["gradient_norm"].append(gradient_norm)
        rows["step_norm"].append(step_norm)
        rows["damping"].append(damping)
        rows["gain_ratio"].append(gain_ratio)
        rows["accepted"].append(accepted)

    def notify(self, *, damping, step_norm, accepted) -> bool:
        """Call the callback; True if it asks to stop."""
        if self.callback is None:
            return False
        info = IterationInfo(
            iteration=self.n_iter,
            params=self.params.copy(),
            outputs=self.outputs.copy(),
            loss=self.loss,
            damping=float(damping),
            step_norm=float(step_norm),
            accepted=bool(accepted),
        )
        return bool(self.callback(info))

    def finish(self, status: SolverStatus, detail: str) -> SolverResult:
        message = SOLVER_MESSAGES[status] + (f": {detail}" if detail else "")
        result = SolverResult(
            params=self.params,
            outputs=self.outputs,
            loss=self.loss,
            status=status,
            message=message,
            n_iter=self.n_iter,
            n_value_evals=self.n_value_evals,
            n_jacobian_evals=self.n_jacobian_evals,
            history=SolverHistory(**self.rows),
            method=self.method,
        )
        if self.throw and not result.success:
            raise SolverError(result)
        return result


def _rank_cause(output_map, params: np.ndarray, rank_rtol: float) -> str:
    """What J(params) shows where it lost rank, as "; measured: ...", or "".

    Measured, not guessed (see :attr:`manifolds.RankInfo.cause`): the model's
    own account (saturated or paired neurons, duplicate inputs) or the
    vanishing and parallel columns of J.
    """
    try:
        info = jacobian_rank(output_map, params, rank_rtol=rank_rtol)
    except DOMAIN_ERRORS + (ValueError,):
        return ""
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    if info.rank >= min(n, p) or not info.cause:
        return ""
    return f"; measured: {info.cause}"
