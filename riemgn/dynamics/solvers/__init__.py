r"""Discrete-time Gauss-Newton and Levenberg-Marquardt dynamics, with result objects.

Three solvers minimize :math:`h(F(\theta))` for an output map
:math:`F: \mathbb{R}^p \to \mathbb{R}^n` and a loss :math:`h` on its outputs:

* :func:`riemgn.solvers.gauss_newton`: :math:`\theta \leftarrow \theta +
  s\,\eta` with :math:`\eta = -(J^\top WJ)^{-1}J^\top\nabla h`, which is
  :math:`-J^+(u - y)` for the squared loss;
* :func:`riemgn.solvers.levenberg_marquardt`: :math:`\theta \leftarrow
  \theta + \delta` with :math:`\delta = -(J^\top WJ + \lambda
  I)^{-1}J^\top\nabla h`, the damping :math:`\lambda` set by Nielsen's rule,
  a trust region or a schedule;
* :func:`riemgn.solvers.riemannian_gradient_descent`: pymanopt's optimizers
  on the output manifold itself, for comparison.

Here :math:`W = \nabla^2 h(u)` is the (diagonal) Hessian of the loss at
:math:`u = F(\theta)`, :math:`W = I` for ``SquaredLoss(y)`` (see the
developer notes). Each solver returns a frozen
:class:`riemgn.solvers.SolverResult` whose ``status`` is a
:class:`riemgn.solvers.SolverStatus`; all messages sit in
:data:`riemgn.solvers.SOLVER_MESSAGES`.

Developer notes
---------------
*Gauss-Newton is Riemannian gradient descent.* With :math:`P_u = JJ^+` the
orthogonal projector onto :math:`T_uM = \operatorname{range} J`, the
Riemannian gradient of :math:`h` on :math:`M` (metric weight 1) is
:math:`\operatorname{grad} h(u) = P_u\nabla h(u)`, and the chart retraction
is :math:`R_u(\xi) = F(\theta + J^+\xi)`. Because :math:`J^+P_u = J^+`,

.. math::

    R_u(-s\operatorname{grad} h(u)) = F(\theta - s J^+P_u\nabla h)
        = F(\theta - s J^+\nabla h),

so for :math:`h(u) = \tfrac12\|u - y\|^2` one Gauss-Newton step *is* one
step of Riemannian gradient descent with the chart retraction, and the
direction :math:`-J^+(u - y) = -J^+\nabla h` is the classical Gauss-Newton
step. :math:`J^+g` is computed from the thin QR of :math:`J`
(``manifolds.linalg.gauss_newton_direction``): the normal equations would
square :math:`\operatorname{cond}(J)`.

*The weighted model.* For a general loss both solvers minimize the
second-order model of :math:`h` around :math:`u` composed with the
linearization :math:`u + J\delta` of :math:`F` (see *Gain ratio* below).
With :math:`W = \nabla^2 h(u)`, diagonal for the separable losses of
:mod:`riemgn.losses` (``loss.hessian_diagonal``; :math:`W = I` for a loss
without it), its damped minimizer is

.. math::

    \delta = -(J^\top W J + \lambda I)^{-1} J^\top \nabla h
           = -\arg\min_\eta
             \big\|[W^{1/2}J;\ \sqrt\lambda I]\,\eta - [W^{-1/2}\nabla h;\ 0]\big\|,

so the solvers factorize the weighted pair :math:`(W^{1/2}J,
W^{-1/2}\nabla h)` in place of :math:`(J, \nabla h)` (entries with
:math:`W_{ii} = 0` get a zero right-hand side). For the squared loss
:math:`\tfrac{s}{2}\|u - y\|^2`, :math:`W = sI` and the Gauss-Newton step
is :math:`-J^+(u - y)` whatever :math:`s`; the LM damping then acts as
:math:`\lambda/s` on :math:`(J, u - y)`.

*Levenberg-Marquardt in two forms.* The identity
:math:`(J^\top J + \lambda I)^{-1}J^\top = J^\top(JJ^\top + \lambda I)^{-1}`
gives two ways to the same step (:math:`J` and :math:`g` stand for the
weighted pair here).

- :math:`p \le n`: each Jacobian is factorized once, :math:`J = QR`. Since
  :math:`\|J\eta - g\|^2 = \|R\eta - Q^\top g\|^2 + \text{const}`, the
  damped least-squares problem :math:`\min\|[J; \sqrt\lambda I]\eta - [g; 0]\|`
  equals :math:`\min\|[R; \sqrt\lambda I]\eta - [Q^\top g; 0]\|`, a
  :math:`2p \times p` QR per trial damping instead of an :math:`(n+p) \times p`
  one (MINPACK's trick).
- :math:`p > n`: the kernel form :math:`J^\top(K + \lambda I)^{-1}g` through
  the thin SVD of :math:`J` (``manifolds.linalg.kernel_factorization``).
  Only :math:`n \times n` and :math:`n \times p` arrays exist; nothing of
  size :math:`p \times p` is ever allocated.

*Gain ratio.* A trial step :math:`\delta` is judged by

.. math::

    \rho = \frac{h(F(\theta)) - h(F(\theta + \delta))}{m(0) - m(\delta)},
    \qquad
    m(\delta) = h + \nabla h^\top J\delta
        + \tfrac12 (J\delta)^\top \nabla^2 h\, (J\delta),

the model being the second-order expansion of :math:`h` around :math:`u`
composed with the linearization :math:`u + J\delta` of :math:`F`
(:math:`\nabla^2 h` is applied through ``loss.hessian_vector``). A step
whose outputs are not finite, or for which the model predicts no decrease,
gets :math:`\rho = -\infty` and is rejected.

*Trust region.* Moré's method: with the thin SVD :math:`J = U\Sigma V^\top`
and :math:`c = U^\top g`, the step length
:math:`\|\delta(\lambda)\|^2 = \sum_i \sigma_i^2c_i^2/(\sigma_i^2 + \lambda)^2`
is decreasing in :math:`\lambda`, and :math:`1/\|\delta(\lambda)\|` is
concave and almost linear, so Newton's method on
:math:`1/\|\delta(\lambda)\| = 1/\Delta`, safeguarded by the bracket
:math:`0 \le \lambda \le \|\Sigma c\|/\Delta`, solves the secular equation
in a few cheap iterations.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from manifolds import jacobian_rank
from manifolds.validation import (
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    describe,
)
from riemgn._checks import DOMAIN_ERRORS, check_loss, safe_norm
from riemgn._checks import QUIET as _QUIET
from manifolds.linalg import (
    RankDeficiencyError,
    gauss_newton_direction,
    kernel_factorization,
    stacked_lm_direction,
)
from riemgn.dynamics.damping import (
    DampingState,
    _NonFiniteDamping,
    as_schedule,
    evaluate_damping,
)

__all__ = [
    "SOLVER_MESSAGES",
    "IterationInfo",
    "SolverError",
    "SolverHistory",
    "SolverResult",
    "SolverStatus",
    "gauss_newton",
    "levenberg_marquardt",
    "riemannian_gradient_descent",
]

_EPS = np.finfo(np.float64).eps

#: Armijo's sufficient-decrease constant of the Gauss-Newton line search.
ARMIJO_C1 = 1e-4
#: The factor by which the line search shrinks the step.
BACKTRACK_FACTOR = 0.5
#: The largest number of step shrinkings in one line search.
MAX_BACKTRACKS = 30
#: Nielsen's :math:`\tau`: :math:`\lambda_0 = \tau \max_j \|J_{:,j}\|^2`.
NIELSEN_TAU = 1e-3
#: Trust-region radius update: shrink when :math:`\rho` is below the first,
#: expand when it is above the second (and the step reached the boundary).
TRUST_REGION_THRESHOLDS = (0.25, 0.75)
#: The largest number of consecutive rejected steps for a damping schedule.
MAX_SCHEDULE_RETRIES = 60

_SECULAR_RTOL = 1e-2
DAMPING_RULES = ("nielsen", "trust_region")
RIEMANNIAN_OPTIMIZERS = ("steepest_descent", "conjugate_gradient", "trust_regions")


class SolverStatus(str, enum.Enum):
    """How a solver ended.

    The three ``CONVERGED_*`` members (the ``gtol``, ``ftol`` and ``xtol``
    tests) and ``CALLBACK_STOP`` are successes; ``MAX_ITER``, ``RANK_LOSS``,
    ``NON_FINITE``, ``LINE_SEARCH_FAILED`` and ``LEFT_REGION`` are not. Each
    status's message opens with its entry of
    :data:`riemgn.solvers.SOLVER_MESSAGES`. The members are strings, so a
    status compares equal to its value.

    Examples
    --------
    >>> SolverStatus("rank_loss")
    <SolverStatus.RANK_LOSS: 'rank_loss'>
    >>> SolverStatus.CONVERGED_FTOL.success, SolverStatus.MAX_ITER.success
    (True, False)
    >>> SOLVER_MESSAGES[SolverStatus.MAX_ITER]
    'not converged: the iteration budget is exhausted'
    """

    CONVERGED_GTOL = "converged_gtol"
    CONVERGED_FTOL = "converged_ftol"
    CONVERGED_XTOL = "converged_xtol"
    CALLBACK_STOP = "callback_stop"
    MAX_ITER = "max_iter"
    RANK_LOSS = "rank_loss"
    NON_FINITE = "non_finite"
    LINE_SEARCH_FAILED = "line_search_failed"
    LEFT_REGION = "left_region"

    @property
    def success(self) -> bool:
        """Whether the solver converged or was stopped by its callback."""
        return self in _SUCCESS


_SUCCESS = frozenset(
    {
        SolverStatus.CONVERGED_GTOL,
        SolverStatus.CONVERGED_FTOL,
        SolverStatus.CONVERGED_XTOL,
        SolverStatus.CALLBACK_STOP,
    }
)

#: The opening of each status's message; the solver appends the specifics.
SOLVER_MESSAGES = {
    SolverStatus.CONVERGED_GTOL: "converged: the gradient norm fell below gtol",
    SolverStatus.CONVERGED_FTOL: "converged: the relative loss reduction fell below ftol",
    SolverStatus.CONVERGED_XTOL: "converged: the relative step fell below xtol",
    SolverStatus.CALLBACK_STOP: "stopped: the callback returned True",
    SolverStatus.MAX_ITER: "not converged: the iteration budget is exhausted",
    SolverStatus.RANK_LOSS: "rank loss: J(theta) is no longer of full rank",
    SolverStatus.NON_FINITE: "blow-up: the outputs, loss or Jacobian are not finite",
    SolverStatus.LINE_SEARCH_FAILED: "no acceptable step: no trial step decreased the loss",
    SolverStatus.LEFT_REGION: "left the region B(theta0, radius) of the output manifold",
}

_HISTORY_FIELDS = ("loss", "gradient_norm", "step_norm", "damping", "gain_ratio")


@dataclass(frozen=True, eq=False)
class SolverHistory:
    r"""Per-iteration diagnostics of a solver; one row per iteration.

    Row :math:`k` describes iteration :math:`k`: the iterate
    :math:`\theta_k` it started from and the trial step it took. A rejected
    trial is an iteration that leaves :math:`\theta` unchanged. The loss at
    the final iterate is the ``loss`` of the
    :class:`riemgn.solvers.SolverResult`. The gain ratio is

    .. math::

        \rho_k = \frac{h(F(\theta_k)) - h(F(\theta_k + \delta_k))}
                      {m_k(0) - m_k(\delta_k)}, \qquad
        m_k(\delta) = h + \nabla h^\top J\delta
            + \tfrac12 (J\delta)^\top \nabla^2 h\, (J\delta),

    where :math:`h`, :math:`\nabla h`, :math:`\nabla^2 h` and
    :math:`J = J(\theta_k)` are taken at :math:`\theta_k` and
    :math:`\delta_k` is the trial step.

    Attributes
    ----------
    loss : ndarray, shape (n_iter,)
        :math:`h(F(\theta_k))`.
    gradient_norm : ndarray, shape (n_iter,)
        :math:`\|J^\top\nabla h\|_2` at :math:`\theta_k` (for
        :func:`riemgn.solvers.riemannian_gradient_descent`, pymanopt's
        Riemannian gradient norm).
    step_norm : ndarray, shape (n_iter,)
        :math:`\|\delta_k\|_2` of the trial step (in output space for
        :func:`riemgn.solvers.riemannian_gradient_descent`).
    damping : ndarray, shape (n_iter,)
        :math:`\lambda_k` (0 for Gauss-Newton, NaN when not applicable).
    gain_ratio : ndarray, shape (n_iter,)
        :math:`\rho_k`, actual over predicted reduction; :math:`-\infty` when
        the trial outputs were not finite or the model predicted no decrease,
        NaN when not applicable.
    accepted : ndarray of bool, shape (n_iter,)
        Whether the trial step was taken.

    Every array is copied (float64, or bool for ``accepted``), flattened
    and made read-only; ``len(history)`` is the number of rows.

    Raises
    ------
    ValueError
        If the arrays do not all have the same length.

    Examples
    --------
    >>> import numpy as np
    >>> history = SolverHistory(
    ...     loss=[1.0, 0.1], gradient_norm=[2.0, 0.5], step_norm=[0.3, 0.1],
    ...     damping=[0.0, 0.0], gain_ratio=[0.9, 1.0], accepted=[True, True],
    ... )
    >>> len(history), history.loss
    (2, array([1. , 0.1]))
    >>> history.accepted.flags.writeable
    False
    """

    loss: np.ndarray
    gradient_norm: np.ndarray
    step_norm: np.ndarray
    damping: np.ndarray
    gain_ratio: np.ndarray
    accepted: np.ndarray

    def __post_init__(self):
        for name in _HISTORY_FIELDS:
            value = np.array(getattr(self, name), dtype=np.float64).reshape(-1)
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        accepted = np.array(self.accepted, dtype=bool).reshape(-1)
        accepted.flags.writeable = False
        object.__setattr__(self, "accepted", accepted)
        lengths = {
            name: getattr(self, name).shape[0]
            for name in (*_HISTORY_FIELDS, "accepted")
        }
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"the history arrays must have equal lengths, got {lengths}"
            )

    def __len__(self) -> int:
        return int(self.loss.shape[0])

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by name (read-only views).

        Returns
        -------
        dict of str to ndarray, shape (n_iter,)
            ``loss``, ``gradient_norm``, ``step_norm``, ``damping``,
            ``gain_ratio`` and ``accepted``, in that order; for example to
            build a table or save with ``numpy.savez``.

        Examples
        --------
        >>> history = SolverHistory([1.0, 0.1], [2.0, 0.5], [0.3, 0.1], [0, 0], [0.9, 1], [1, 1])
        >>> rows = history.as_dict()
        >>> list(rows)
        ['loss', 'gradient_norm', 'step_norm', 'damping', 'gain_ratio', 'accepted']
        >>> rows["accepted"]
        array([ True,  True])
        """
        return {name: getattr(self, name) for name in (*_HISTORY_FIELDS, "accepted")}

    @classmethod
    def empty(cls) -> SolverHistory:
        """A history without rows.

        The default ``history`` of a :class:`riemgn.solvers.SolverResult`,
        and the history of an optimizer that logs nothing.

        Returns
        -------
        SolverHistory
            Six empty arrays.

        Examples
        --------
        >>> history = SolverHistory.empty()
        >>> len(history), history.loss.shape
        (0, (0,))
        """
        return cls(*([()] * 6))


@dataclass(frozen=True, eq=False)
class SolverResult:
    r"""The end point of a solver and how it got there.

    Attributes
    ----------
    params : ndarray, shape (n_params,)
        The final parameters :math:`\theta` (always finite: a step that
        blows up is not taken).
    outputs : ndarray, shape (n_outputs,)
        :math:`u = F(\theta)`.
    loss : float
        :math:`h(u)`.
    status : SolverStatus
        How the solver ended.
    message : str
        The status's entry of :data:`SOLVER_MESSAGES` and the specifics.
    n_iter : int
        The iterations (trial steps) taken, ``len(history)`` for the
        parameter-space solvers.
    n_value_evals, n_jacobian_evals : int
        The evaluations of :math:`F` and of :math:`J`; ``-1`` when unknown
        (pymanopt's optimizers do not report them all).
    history : SolverHistory
        Per-iteration diagnostics.
    method : str
        The solver and its variant, e.g. ``"levenberg_marquardt/nielsen/qr"``.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 2)
    >>> teacher = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((8, 2)))
    >>> result = gauss_newton(output_map, teacher + 0.1, SquaredLoss(output_map.value(teacher)))
    >>> result.success, result.status.value, result.method
    (True, 'converged_gtol', 'gauss_newton/qr')
    >>> bool(np.allclose(result.params, teacher)), result.n_iter == len(result.history)
    (True, True)
    """

    params: np.ndarray
    outputs: np.ndarray
    loss: float
    status: SolverStatus
    message: str
    n_iter: int
    n_value_evals: int
    n_jacobian_evals: int
    history: SolverHistory = field(default_factory=SolverHistory.empty)
    method: str = ""

    def __post_init__(self):
        for name in ("params", "outputs"):
            value = np.array(getattr(self, name), dtype=np.float64)
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        object.__setattr__(self, "status", SolverStatus(self.status))
        object.__setattr__(self, "loss", float(self.loss))

    @property
    def success(self) -> bool:
        """Whether the solver converged or its callback stopped it."""
        return self.status.success

    def __repr__(self) -> str:
        return (
            f"SolverResult(method={self.method!r}, status={self.status.value!r}, "
            f"loss={self.loss:.6g}, n_iter={self.n_iter}, "
            f"n_jacobian_evals={self.n_jacobian_evals})"
        )


class SolverError(RuntimeError):
    """A solver did not succeed and was asked to raise (``throw=True``).

    Its message is the result's ``message``.

    Parameters
    ----------
    result : SolverResult
        The unsuccessful result, kept as the attribute ``result``.

    Attributes
    ----------
    result : SolverResult
        The result it would have returned.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 2)
    >>> params0 = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((8, 2)))
    >>> loss = SquaredLoss(rng.standard_normal(8))
    >>> try:
    ...     gauss_newton(output_map, params0, loss, max_iter=1, throw=True)
    ... except SolverError as error:
    ...     print(error.result.status.value, "|", error)
    max_iter | not converged: the iteration budget is exhausted: max_iter = 1 iterations
    """

    def __init__(self, result: SolverResult):
        self.result = result
        super().__init__(result.message)


@dataclass(frozen=True)
class IterationInfo:
    r"""What a callback sees after each iteration.

    Attributes
    ----------
    iteration : int
        The number of iterations completed (1 after the first).
    params : ndarray, shape (n_params,)
        The current parameters (after the step if it was accepted).
    outputs : ndarray, shape (n_outputs,)
        :math:`F(\theta)`.
    loss : float
        :math:`h(F(\theta))`.
    damping : float
        The damping :math:`\lambda` of the trial step (0 for Gauss-Newton).
    step_norm : float
        :math:`\|\delta\|` of the trial step.
    accepted : bool
        Whether the trial step was taken.

    Examples
    --------
    A callback that records the losses and stops below a target:

    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 2)
    >>> teacher = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((8, 2)))
    >>> loss = SquaredLoss(output_map.value(teacher))
    >>> seen = []
    >>> def callback(info):
    ...     seen.append((info.iteration, info.accepted))
    ...     return info.loss < 1e-6
    >>> result = gauss_newton(output_map, teacher + 0.1, loss, callback=callback)
    >>> result.status.value, seen
    ('callback_stop', [(1, True), (2, True)])
    """

    iteration: int
    params: np.ndarray
    outputs: np.ndarray
    loss: float
    damping: float
    step_norm: float
    accepted: bool


# ----------------------------------------------------------------------
# Validation and bookkeeping shared by the solvers

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
    scaled = np.divide(gradient, root, out=np.zeros_like(gradient), where=root > 0)
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
    if not np.all(np.isfinite(outputs)):
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
    if not np.all(np.isfinite(params)):  # an overflowed step: F is not evaluated
        return None
    try:
        with np.errstate(**_QUIET):
            outputs = np.asarray(output_map.value(params), dtype=np.float64)
    except OverflowError:  # a model that refuses to overflow
        return None
    if outputs.shape != (n,):
        raise ValueError(
            f"the output map returned shape {outputs.shape}, expected ({n},)"
        )
    return outputs if np.all(np.isfinite(outputs)) else None


def _loss_at(loss, outputs: np.ndarray | None) -> float:
    """``h(outputs)``, or inf if the outputs or the loss are not finite."""
    if outputs is None:
        return math.inf
    try:
        with np.errstate(**_QUIET):
            value = float(loss.value(outputs))
    except OverflowError:
        return math.inf
    return value if math.isfinite(value) else math.inf


def _jacobian(output_map, params: np.ndarray, n: int, p: int) -> np.ndarray | None:
    try:
        with np.errstate(**_QUIET):
            J = np.asarray(output_map.jacobian(params), dtype=np.float64)
    except OverflowError:  # a model that refuses to overflow
        return None
    if J.shape != (n, p):
        raise ValueError(
            f"the output map's jacobian has shape {J.shape}, expected ({n}, {p})"
        )
    return J if np.all(np.isfinite(J)) else None


def _loss_gradient(loss, outputs: np.ndarray) -> np.ndarray | None:
    """``loss.gradient(outputs)``, or None if it overflows or is not finite."""
    try:
        with np.errstate(**_QUIET):
            gradient = np.asarray(loss.gradient(outputs), dtype=np.float64)
    except OverflowError:
        return None
    if gradient.shape != outputs.shape:
        raise ValueError(
            f"`loss.gradient` returned shape {gradient.shape}, expected {outputs.shape}"
        )
    return gradient if np.all(np.isfinite(gradient)) else None


def _gradient_norm(J: np.ndarray, gradient: np.ndarray) -> float:
    r""":math:`\|J^\top\nabla h\|_2`, ``inf`` (without a warning) if it overflows."""
    with np.errstate(**_QUIET):
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
        for name, value in (
            ("loss", self.loss),
            ("gradient_norm", gradient_norm),
            ("step_norm", step_norm),
            ("damping", damping),
            ("gain_ratio", gain_ratio),
            ("accepted", accepted),
        ):
            self.rows[name].append(value)

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


def _default_rank_rtol(n: int, p: int) -> float:
    return max(n, p) * _EPS


def _gtol_detail(gradient_norm: float, gtol: float) -> str:
    return f"|J^T grad h| = {gradient_norm:.3e} <= gtol = {gtol:.3e}"


def _ftol_detail(actual: float, loss_value: float, ftol: float) -> str:
    return (
        f"the loss changed by {actual:.3e} <= ftol * h = {ftol:.3e} * {loss_value:.6e}"
    )


def _xtol_detail(step_norm: float, params_norm: float, xtol: float) -> str:
    return (
        f"|step| = {step_norm:.3e} <= xtol * (xtol + |theta|) with xtol = "
        f"{xtol:.3e}, |theta| = {params_norm:.3e}"
    )


# ----------------------------------------------------------------------
# Gauss-Newton


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
    max_iter, tol = _check_options(
        max_iter, {"gtol": gtol, "ftol": ftol, "xtol": xtol}, callback, throw
    )
    if rank_rtol is None:
        rank_rtol = _default_rank_rtol(n, p)
    rank_rtol = check_positive_real("rank_rtol", rank_rtol)
    if rank_rtol >= 1:
        raise ValueError(f"`rank_rtol` must be < 1, got {rank_rtol}")
    method = "gauss_newton/qr" + ("/armijo" if line_search else "")
    run = _Run(method, params, outputs, value, callback, throw)
    with np.errstate(**_QUIET):
        return _gauss_newton_iterations(
            run,
            output_map,
            loss,
            n,
            p,
            step_size,
            line_search,
            max_iter,
            tol,
            rank_rtol,
        )


def _gauss_newton_iterations(
    run, output_map, loss, n, p, step_size, line_search, max_iter, tol, rank_rtol
) -> SolverResult:
    for _ in range(max_iter):
        gradient = _loss_gradient(loss, run.outputs)
        J = _jacobian(output_map, run.params, n, p)
        run.n_jacobian_evals += 1
        if J is None:
            return run.finish(SolverStatus.NON_FINITE, "J(theta) is not finite")
        gradient_norm = math.inf if gradient is None else _gradient_norm(J, gradient)
        if not math.isfinite(gradient_norm):
            return run.finish(
                SolverStatus.NON_FINITE, _non_finite_detail(gradient, gradient_norm)
            )
        if gradient_norm <= tol["gtol"]:
            return run.finish(
                SolverStatus.CONVERGED_GTOL, _gtol_detail(gradient_norm, tol["gtol"])
            )
        J_weighted, gradient_weighted = _weighted(loss, run.outputs, J, gradient)
        try:
            direction = -gauss_newton_direction(
                J_weighted, gradient_weighted, rank_rtol=rank_rtol
            )
        except RankDeficiencyError as error:
            return run.finish(
                SolverStatus.RANK_LOSS,
                str(error) + _rank_cause(output_map, run.params, rank_rtol),
            )
        except np.linalg.LinAlgError as error:
            return run.finish(SolverStatus.RANK_LOSS, f"LinAlgError: {error}")
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

        s = step_size
        for n_backtracks in range(MAX_BACKTRACKS + 1):
            trial = run.params + s * direction
            trial_outputs = _evaluate(output_map, trial, n)
            run.n_value_evals += 1
            trial_loss = _loss_at(loss, trial_outputs)
            if not line_search or trial_loss <= run.loss + ARMIJO_C1 * s * slope:
                break
            if n_backtracks < MAX_BACKTRACKS:
                s *= BACKTRACK_FACTOR
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
            if not line_search:
                return run.finish(
                    SolverStatus.NON_FINITE,
                    f"the step of size {s:g} from iteration {run.n_iter - 1} leads to "
                    "non-finite outputs or loss; try line_search=True or a smaller "
                    "step_size",
                )
            return run.finish(
                SolverStatus.LINE_SEARCH_FAILED,
                f"{MAX_BACKTRACKS} halvings of the step down to s = {s:.3e} gave "
                "no sufficient decrease (Armijo, c1 = 1e-4)",
            )
        old_loss, old_norm = run.loss, safe_norm(run.params)
        run.params, run.outputs, run.loss = trial, trial_outputs, trial_loss
        if run.notify(damping=0.0, step_norm=step_norm, accepted=True):
            return run.finish(
                SolverStatus.CALLBACK_STOP, f"after {run.n_iter} iterations"
            )
        if abs(actual) <= tol["ftol"] * old_loss:
            return run.finish(
                SolverStatus.CONVERGED_FTOL,
                _ftol_detail(abs(actual), old_loss, tol["ftol"]),
            )
        if step_norm <= tol["xtol"] * (tol["xtol"] + old_norm):
            return run.finish(
                SolverStatus.CONVERGED_XTOL,
                _xtol_detail(step_norm, old_norm, tol["xtol"]),
            )
    return run.finish(SolverStatus.MAX_ITER, f"max_iter = {max_iter} iterations")


# ----------------------------------------------------------------------
# Levenberg-Marquardt


class _RankLoss(Exception):
    """A zero damping met a singular system."""


class _Linearization:
    r"""The Jacobian at the current iterate, factorized once for all trial dampings.

    ``direction(lam)`` returns :math:`\eta = (J^\top J + \lambda I)^{-1}J^\top g`
    (the step is :math:`-\eta`).
    """

    def __init__(
        self, J: np.ndarray, gradient: np.ndarray, *, svd: bool, rank_rtol: float
    ):
        n, p = J.shape
        self.J = J
        self.gradient = gradient
        self.rank_rtol = rank_rtol
        self.kernel_form = p > n
        self._singular_values = None
        self._svd = None  # (singular values, Vt, U^T g) for the trust region
        if self.kernel_form:
            # The SVD form resolves lambda_min(K) = sigma_min^2 to eps * cond(J);
            # diagonalizing K = J J^T would square cond(J).
            self._kernel = kernel_factorization(J, solver="svd")
            self._singular_values = np.sqrt(self._kernel.kernel_eigenvalues)
            if svd:
                self._svd = (
                    self._singular_values,
                    self._kernel.Vt,
                    self._kernel.U.T @ gradient,
                )
        else:
            Q, R = scipy.linalg.qr(J, mode="economic", check_finite=False)
            self._R = R
            self._reduced_gradient = Q.T @ gradient  # Q^T g, shape (p,)
            if svd:
                # J = (Q U_R) S Vt from the SVD of the small triangle R.
                U_R, s, Vt = scipy.linalg.svd(
                    R, check_finite=False, lapack_driver="gesdd"
                )
                self._singular_values = s
                self._svd = (s, Vt, U_R.T @ self._reduced_gradient)

    @property
    def singular_values(self) -> np.ndarray:
        """The singular values of :math:`J`, decreasing, shape ``(min(n, p),)``."""
        if self._singular_values is None:
            self._singular_values = scipy.linalg.svdvals(self._R, check_finite=False)
        return self._singular_values

    @property
    def max_column_norm2(self) -> float:
        r""":math:`\max_j \|J_{:,j}\|^2 = \max \operatorname{diag}(J^\top J)`."""
        return float(np.max(np.einsum("ij,ij->j", self.J, self.J)))

    @property
    def svd(self):
        return self._svd

    def direction(self, lam: float) -> np.ndarray:
        if self._svd is not None:
            s, Vt, c = self._svd
            return Vt.T @ _svd_coefficients(s, c, lam)
        if lam == 0.0:
            self._check_rank()
        if self.kernel_form:
            return self._kernel.direction(self.gradient, lam)
        if lam == 0.0:
            return gauss_newton_direction(
                self._R, self._reduced_gradient, rank_rtol=self.rank_rtol
            )
        return stacked_lm_direction(self._R, self._reduced_gradient, lam)

    def _check_rank(self) -> None:
        s = self.singular_values
        ratio = 0.0 if s[0] == 0 else float(s[-1] / s[0])
        if not ratio > self.rank_rtol:
            rank = int(np.sum(s > self.rank_rtol * s[0]))
            n, p = self.J.shape
            raise _RankLoss(
                f"a zero damping needs J of full rank min(n, p) = {min(n, p)}, but "
                f"sigma_min/sigma_max = {ratio:.3e} <= rank_rtol = {self.rank_rtol:.3e} "
                f"(numerical rank {rank})"
            )


def _svd_coefficients(s: np.ndarray, c: np.ndarray, lam: float) -> np.ndarray:
    r""":math:`\sigma_i c_i/(\sigma_i^2 + \lambda)`, with 0 where the denominator is 0."""
    denominator = s**2 + lam
    return np.divide(s * c, denominator, out=np.zeros_like(s), where=denominator > 0)


def _trust_region_damping(
    s: np.ndarray, c: np.ndarray, radius: float, start: float = 0.0
) -> float:
    r"""The damping :math:`\lambda \ge 0` with :math:`\|\delta(\lambda)\| = \Delta` (to 0.1 %).

    Returns 0 when the Gauss-Newton step (the minimum-norm one if :math:`J`
    is rank-deficient) already lies in the trust region.
    """
    coefficients = _svd_coefficients(s, c, 0.0)
    if float(np.linalg.norm(coefficients)) <= radius:
        return 0.0
    lower, upper = 0.0, float(np.linalg.norm(s * c)) / radius
    lam = start if lower < start < upper else 0.0
    for _ in range(60):
        denominator = s**2 + lam
        w = np.divide(s * c, denominator, out=np.zeros_like(s), where=denominator > 0)
        q = float(np.linalg.norm(w))
        if abs(q - radius) <= _SECULAR_RTOL * radius:
            return lam
        if q > radius:
            lower = lam
        else:
            upper = lam
        dq = (
            -float(
                np.sum(
                    np.divide(
                        w**2, denominator, out=np.zeros_like(s), where=denominator > 0
                    )
                )
            )
            / q
        )
        # Newton on 1/q(lam) = 1/radius: lam += -(q / q') (q / radius - 1).
        new = lam - (q / dq) * (q / radius - 1.0) if dq < 0 else upper
        if not lower < new < upper:
            new = max(math.sqrt(lower * upper), 1e-3 * upper)
        lam = new
    return lam


class _Nielsen:
    name = "nielsen"
    needs_svd = False

    def __init__(self, initial_damping):
        self.lam = initial_damping
        self.nu = 2.0

    def new_jacobian(self, linearization, run, k):
        if self.lam is None:
            self.lam = NIELSEN_TAU * linearization.max_column_norm2

    def damping(self, linearization) -> float:
        return self.lam

    def update(self, gain_ratio, accepted, step_norm):
        if accepted:
            self.lam *= max(1.0 / 3.0, 1.0 - (2.0 * gain_ratio - 1.0) ** 3)
            self.nu = 2.0
        else:
            self.lam *= self.nu
            self.nu *= 2.0

    def exhausted(self) -> str | None:
        if not (math.isfinite(self.lam) and math.isfinite(self.nu)):
            return "the Nielsen damping overflowed after repeated rejected steps"
        return None


class _TrustRegion:
    name = "trust_region"
    needs_svd = True

    def __init__(self, initial_damping):
        self.initial_damping = initial_damping
        self.radius = None
        self.lam = 0.0

    def new_jacobian(self, linearization, run, k):
        if self.radius is None:
            if self.initial_damping is not None:
                s, _, c = linearization.svd
                self.radius = float(
                    np.linalg.norm(_svd_coefficients(s, c, self.initial_damping))
                )
            else:
                self.radius = float(np.linalg.norm(run.params)) or 1.0

    def damping(self, linearization) -> float:
        s, _, c = linearization.svd
        self.lam = _trust_region_damping(s, c, self.radius, self.lam)
        return self.lam

    def update(self, gain_ratio, accepted, step_norm):
        shrink_below, expand_above = TRUST_REGION_THRESHOLDS
        if gain_ratio < shrink_below:
            self.radius = 0.25 * step_norm
        elif gain_ratio > expand_above and step_norm >= 0.95 * self.radius:
            self.radius *= 2.0

    def exhausted(self) -> str | None:
        if not self.radius > 0:
            return "the trust region shrank to radius 0"
        return None


class _Schedule:
    name = "schedule"
    needs_svd = False

    def __init__(self, schedule):
        self.schedule = schedule
        self.lam = 0.0
        self.retries = 0
        self.restart = 0.0

    def new_jacobian(self, linearization, run, k):
        eigenvalues = linearization.singular_values**2
        if not np.all(np.isfinite(eigenvalues)):
            raise OverflowError(
                "the kernel eigenvalues sigma_i(J)^2 of the schedule's DampingState "
                "overflow float64"
            )
        state = DampingState(
            params=run.params,
            outputs=run.outputs,
            gradient=linearization.gradient,
            loss=run.loss,
            kernel_eigenvalues=eigenvalues,
        )
        self.lam = evaluate_damping(self.schedule, k, state)
        self.restart = NIELSEN_TAU * linearization.max_column_norm2
        self.retries = 0

    def damping(self, linearization) -> float:
        return self.lam

    def update(self, gain_ratio, accepted, step_norm):
        if not accepted:
            self.retries += 1
            self.lam = 2.0 * self.lam if self.lam > 0 else self.restart

    def exhausted(self) -> str | None:
        if self.retries > MAX_SCHEDULE_RETRIES or not math.isfinite(self.lam):
            return (
                f"{self.retries} doublings of the scheduled damping (up to "
                f"lambda = {self.lam:.3e}) gave no decrease"
            )
        return None


def _damping_rule(damping, initial_damping):
    if initial_damping is not None:
        initial_damping = check_positive_real("initial_damping", initial_damping)
    if isinstance(damping, str):
        if damping == "nielsen":
            return _Nielsen(initial_damping)
        if damping == "trust_region":
            return _TrustRegion(initial_damping)
        raise ValueError(
            f"`damping` must be one of {DAMPING_RULES}, a number >= 0 or a schedule "
            f"damping(k, state) -> float, got {describe(damping)}"
        )
    schedule = as_schedule(damping, "damping")
    if initial_damping is not None:
        raise ValueError(
            "`initial_damping` applies to damping='nielsen' or 'trust_region' only; "
            f"the schedule {schedule!r} sets the damping, got initial_damping = "
            f"{initial_damping}"
        )
    return _Schedule(schedule)


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
    form = "kernel" if p > n else "qr"
    run = _Run(
        f"levenberg_marquardt/{rule.name}/{form}",
        params,
        outputs,
        value,
        callback,
        throw,
    )
    with np.errstate(**_QUIET):
        return _levenberg_marquardt_iterations(
            run, rule, output_map, loss, n, p, max_iter, tol
        )


def _levenberg_marquardt_iterations(
    run, rule, output_map, loss, n, p, max_iter, tol
) -> SolverResult:
    rank_rtol = _default_rank_rtol(n, p)
    linearization = None
    n_accepted = 0

    for _ in range(max_iter):
        if linearization is None:
            gradient = _loss_gradient(loss, run.outputs)
            J = _jacobian(output_map, run.params, n, p)
            run.n_jacobian_evals += 1
            if J is None:
                return run.finish(SolverStatus.NON_FINITE, "J(theta) is not finite")
            gradient_norm = (
                math.inf if gradient is None else _gradient_norm(J, gradient)
            )
            if not math.isfinite(gradient_norm):
                return run.finish(
                    SolverStatus.NON_FINITE, _non_finite_detail(gradient, gradient_norm)
                )
            if gradient_norm <= tol["gtol"]:
                return run.finish(
                    SolverStatus.CONVERGED_GTOL,
                    _gtol_detail(gradient_norm, tol["gtol"]),
                )
            try:
                linearization = _Linearization(
                    *_weighted(loss, run.outputs, J, gradient),
                    svd=rule.needs_svd,
                    rank_rtol=rank_rtol,
                )
                rule.new_jacobian(linearization, run, n_accepted)
            except (_NonFiniteDamping, OverflowError) as error:
                return run.finish(SolverStatus.NON_FINITE, str(error))
            except np.linalg.LinAlgError as error:
                return run.finish(
                    SolverStatus.RANK_LOSS,
                    f"LinAlgError: {error}"
                    + _rank_cause(output_map, run.params, rank_rtol),
                )

        lam = rule.damping(linearization)
        try:
            step = -linearization.direction(lam)
        except (RankDeficiencyError, _RankLoss) as error:
            detail = str(error) + _rank_cause(output_map, run.params, rank_rtol)
            return run.finish(SolverStatus.RANK_LOSS, f"at lambda = {lam:g}: {detail}")
        except np.linalg.LinAlgError as error:
            return run.finish(
                SolverStatus.RANK_LOSS, f"at lambda = {lam:g}: LinAlgError: {error}"
            )
        step_norm = safe_norm(step)
        J_step = J @ step
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
        predicted = _predicted_reduction(loss, run.outputs, gradient, J_step)
        gain_ratio = _gain_ratio(actual, predicted)
        accepted = gain_ratio > 0
        run.record(
            gradient_norm=gradient_norm,
            step_norm=step_norm,
            damping=lam,
            gain_ratio=gain_ratio,
            accepted=accepted,
        )
        rule.update(gain_ratio, accepted, step_norm)
        old_loss, old_norm = run.loss, safe_norm(run.params)
        if accepted:
            run.params, run.outputs, run.loss = trial, trial_outputs, trial_loss
            linearization = None
            n_accepted += 1
        if run.notify(damping=lam, step_norm=step_norm, accepted=accepted):
            return run.finish(
                SolverStatus.CALLBACK_STOP, f"after {run.n_iter} iterations"
            )
        if accepted and actual < tol["ftol"] * old_loss and gain_ratio > 0.25:
            return run.finish(
                SolverStatus.CONVERGED_FTOL, _ftol_detail(actual, old_loss, tol["ftol"])
            )
        if step_norm <= tol["xtol"] * (tol["xtol"] + old_norm):
            return run.finish(
                SolverStatus.CONVERGED_XTOL,
                _xtol_detail(step_norm, old_norm, tol["xtol"]),
            )
        if not accepted:
            reason = rule.exhausted()
            if reason is not None:
                return run.finish(SolverStatus.LINE_SEARCH_FAILED, reason)
    return run.finish(SolverStatus.MAX_ITER, f"max_iter = {max_iter} iterations")


# ----------------------------------------------------------------------
# Riemannian gradient descent on the output manifold (pymanopt)


def _pymanopt_status(stopping_criterion: str) -> SolverStatus:
    text = (stopping_criterion or "").lower()
    if "min grad norm" in text:
        return SolverStatus.CONVERGED_GTOL
    if "min step_size" in text:
        return SolverStatus.CONVERGED_XTOL
    return SolverStatus.MAX_ITER  # max iterations, max time or max cost evaluations


def _pymanopt_history(log, final_point) -> SolverHistory:
    iterations = (log or {}).get("iterations")
    if not iterations or not iterations.get("cost"):
        return SolverHistory.empty()
    points = [np.asarray(point, dtype=np.float64) for point in iterations["point"]]
    points.append(np.asarray(final_point, dtype=np.float64))
    k = len(iterations["cost"])
    gradient_norm = iterations.get("gradient_norm", [math.nan] * k)
    return SolverHistory(
        loss=iterations["cost"],
        gradient_norm=gradient_norm,
        step_norm=np.linalg.norm(np.diff(np.stack(points), axis=0), axis=1),
        damping=np.full(k, math.nan),
        gain_ratio=np.full(k, math.nan),
        accepted=np.ones(k, dtype=bool),
    )


def _boundary_probe(manifold, problem, point: np.ndarray):
    """Whether ``point`` lies on the boundary of a safeguarded manifold's region.

    A step of output length sqrt(eps) x the manifold's scale along -grad h
    is retracted: near the boundary it moves theta by about that length x
    cond(J) / sigma_max and is cut; inside, it is not. Returns the manifold's
    record of the cut (or of an earlier cut from ``point``), or None.
    """
    try:
        gradient = np.asarray(problem.riemannian_gradient(point), dtype=np.float64)
        size = safe_norm(gradient)
        if size > 0 and math.isfinite(size):
            length = math.sqrt(_EPS) * max(safe_norm(point), manifold.typical_dist)
            manifold.retraction(point, -(length / size) * gradient)
    except DOMAIN_ERRORS + (ValueError,):
        pass  # a failure here is itself a cut, recorded below if at all
    return manifold.step_cut(point)


class _BestPoints:
    """The lowest-loss points a pymanopt optimizer evaluated, with valid charts.

    Wraps a problem's cost so that every point the optimizer evaluates is
    offered; keeps the ``keep`` best. :meth:`best` returns the best one whose
    chart exists (pymanopt may evaluate the cost at a point where the
    geometry then fails, e.g. a rank-deficient one).
    """

    def __init__(self, manifold, loss, start: np.ndarray, keep: int = 8):
        self._manifold, self._loss, self._keep = manifold, loss, keep
        self._start = start
        self._points: list[tuple[float, int, np.ndarray]] = []
        self.n_values = 0
        self.n_gradients = 0

    def value(self, point) -> float:
        try:
            value = float(self._loss.value(point))
        except OverflowError:
            return math.inf
        return value if math.isfinite(value) else math.inf

    def offer(self, point, value: float) -> None:
        self.n_values += 1
        if not math.isfinite(value):
            return
        entry = (value, self.n_values, np.array(point, dtype=np.float64))
        self._points.append(entry)
        self._points.sort(key=lambda item: item[:2])
        del self._points[self._keep :]

    def best(self) -> tuple[np.ndarray, float]:
        for value, _, point in self._points:
            try:
                self._manifold.projection(point, np.zeros_like(point))
            except DOMAIN_ERRORS + (ValueError,):
                continue  # the geometry fails there: not a usable iterate
            return point, value
        return self._start, self.value(self._start)

    def problem(self, problem) -> _TrackedProblem:
        return _TrackedProblem(problem, self)


class _TrackedProblem:
    """A pymanopt problem whose cost and gradient calls are counted and offered.

    pymanopt's optimizers use a problem only through ``manifold``, ``cost``,
    ``riemannian_gradient``, ``riemannian_hessian`` and ``preconditioner``;
    everything but the first two calls is passed through.
    """

    def __init__(self, problem, tracker: _BestPoints):
        self._problem, self._tracker = problem, tracker
        self.manifold = problem.manifold

    def cost(self, point):
        value = self._problem.cost(point)
        self._tracker.offer(point, float(value))
        return value

    def riemannian_gradient(self, point):
        self._tracker.n_gradients += 1
        return self._problem.riemannian_gradient(point)

    def __getattr__(self, name):
        return getattr(self._problem, name)


def riemannian_gradient_descent(
    manifold,
    loss,
    u0=None,
    *,
    optimizer="steepest_descent",
    max_iterations: int | None = None,
    min_gradient_norm: float | None = None,
    verbosity: int = 0,
    throw: bool = False,
) -> SolverResult:
    r"""Minimize a loss on an output manifold with one of pymanopt's optimizers.

    A thin wrapper: it builds ``loss.problem(manifold)``, runs the optimizer
    from ``u0`` and translates pymanopt's result into a :class:`SolverResult`.
    Steepest descent iterates

    .. math::

        u_{k+1} = R_{u_k}\bigl(-t_k \operatorname{grad} h(u_k)\bigr),
        \qquad \operatorname{grad} h(u) = \tfrac1c P_u \nabla h(u),

    where :math:`R` is the manifold's retraction, :math:`P_u` the projector
    onto :math:`T_uM`, :math:`c` the metric weight and :math:`t_k` pymanopt's
    line-search step. It treats :math:`M` only through the manifold
    interface, which makes it the intrinsic reference for
    :func:`riemgn.solvers.gauss_newton` (for ``SquaredLoss(y)``, one
    Gauss-Newton step of size 1 is one such step with the chart retraction
    and :math:`t = c`).

    Parameters
    ----------
    manifold : manifolds.OutputManifold
        The output manifold :math:`M`.
    loss : loss on outputs
        :math:`h`, with ``loss.n_outputs == manifold.ambient_dim`` and a
        ``problem(manifold)`` method returning a ``pymanopt.Problem``.
    u0 : ndarray, shape (n_outputs,), optional
        The start, a point of :math:`M`; default ``manifold.reference_point``.
    optimizer : {"steepest_descent", "conjugate_gradient", "trust_regions"} or pymanopt optimizer
        A name, or a configured ``pymanopt.optimizers.optimizer.Optimizer``
        (then ``max_iterations``, ``min_gradient_norm`` and ``verbosity`` must
        be left at their defaults).
    max_iterations : int, optional
        pymanopt's iteration budget; default 1000.
    min_gradient_norm : float, optional
        Stop when the Riemannian gradient norm falls below it; default 1e-8.
    verbosity : int, default 0
        pymanopt's verbosity.
    throw : bool, default False
        Raise :class:`riemgn.solvers.SolverError` instead of returning an
        unsuccessful result.

    Returns
    -------
    SolverResult
        ``params = manifold.lift(u)``, ``outputs = u``, where :math:`u` is the
        best point the optimizer reached: its final iterate, or a point at
        which it evaluated a lower loss (the message says so). Progress is
        never lost to an exception: every point pymanopt evaluates the cost
        at is offered to a record of the best ones, and when a domain error
        stops the optimizer (even trust regions, which keeps no log) the
        best of them whose geometry exists is returned.

        The status says why it stopped:

        * ``converged_gtol``: the gradient test; ``converged_xtol``: the
          step-size test; ``max_iter``: the iteration, time or
          cost-evaluation budget;
        * ``rank_loss``: :math:`J` lost rank (``NotAnImmersionError`` or a
          singular system), or, on a manifold built with
          ``safeguard=True``, the optimizer stopped against the boundary
          :math:`\kappa(J) = \kappa_{max}` of the safeguarded region;
        * ``left_region``: a chart left the ball :math:`B(\theta_0, \rho)`,
          or the optimizer stopped against the ball with ``safeguard=True``;
        * ``non_finite``: the model or the loss overflowed.

        On a safeguarded manifold, a run that ends other than by the
        gradient test is probed: a step of output length
        :math:`\sqrt{\varepsilon}` times the manifold's scale along
        :math:`-\operatorname{grad} h` is retracted from the returned point,
        and if it (or an earlier step from that point) is cut, the run
        stopped against the boundary, not at a critical point
        (:meth:`manifolds.OutputManifold.step_cut` holds the cut). Any other
        error propagates. The history comes from pymanopt's iteration log,
        one row per logged iterate (steepest descent and conjugate gradient
        log; trust regions does not, and its history is empty; a configured
        optimizer logs only if built with ``log_verbosity=1``).
        ``n_iter`` is pymanopt's iteration count, or after an exception the
        logged iterations (the gradient evaluations for an optimizer without
        a log). ``n_value_evals`` is pymanopt's ``cost_evaluations`` (-1 when
        not reported; the cost evaluations counted here after an exception)
        and ``n_jacobian_evals`` is -1 (the manifold's charts evaluate
        :math:`J`).

    Raises
    ------
    TypeError
        If ``manifold`` is not an :class:`~manifolds.OutputManifold` or
        ``optimizer`` is neither a known name nor a pymanopt optimizer.
    ValueError
        If the loss has another number of outputs than the manifold, ``u0``
        is not a finite point of the manifold (``manifolds.NotOnManifoldError``
        is a ``ValueError``), :math:`h(u_0)` is not finite, or an option is
        out of range or combined with a configured optimizer.
    SolverError
        With ``throw=True``, if the optimizer does not succeed.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import OutputManifold
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 1)
    >>> params0 = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((5, 2)))
    >>> manifold = OutputManifold(output_map, params0, rng=rng)
    >>> loss = SquaredLoss(output_map.value(params0 + 0.2))
    >>> result = riemannian_gradient_descent(manifold, loss, optimizer="trust_regions")
    >>> result.status.value, result.loss < 1e-16
    ('converged_gtol', True)
    """
    import pymanopt
    from pymanopt.optimizers.optimizer import Optimizer

    from manifolds import OutputManifold
    from manifolds.exceptions import (
        ManifoldError,
        NotAnImmersionError,
        OutsideBallError,
    )

    if not isinstance(manifold, OutputManifold):
        raise TypeError(
            f"`manifold` must be a manifolds.OutputManifold, got {describe(manifold)}"
        )
    n = manifold.ambient_dim
    check_loss(loss, n, where="the manifold", require=_LOSS_METHODS)
    if not isinstance(throw, bool):
        raise TypeError(f"`throw` must be a bool, got {describe(throw)}")
    if isinstance(optimizer, Optimizer):
        given = {
            "max_iterations": max_iterations,
            "min_gradient_norm": min_gradient_norm,
            "verbosity": None if verbosity == 0 else verbosity,
        }
        for name, value in given.items():
            if value is not None:
                raise ValueError(
                    f"`{name}` = {value!r} cannot be combined with a configured "
                    f"optimizer {type(optimizer).__name__}; set it on the optimizer"
                )
        name = type(optimizer).__name__
    else:
        classes = {
            "steepest_descent": pymanopt.optimizers.SteepestDescent,
            "conjugate_gradient": pymanopt.optimizers.ConjugateGradient,
            "trust_regions": pymanopt.optimizers.TrustRegions,
        }
        if not isinstance(optimizer, str) or optimizer not in classes:
            raise TypeError(
                f"`optimizer` must be one of {RIEMANNIAN_OPTIMIZERS} or a pymanopt "
                f"optimizer instance, got {describe(optimizer)}"
            )
        name = optimizer
        optimizer = classes[optimizer](
            max_iterations=check_positive_int(
                "max_iterations", 1000 if max_iterations is None else max_iterations
            ),
            min_gradient_norm=check_positive_real(
                "min_gradient_norm",
                1e-8 if min_gradient_norm is None else min_gradient_norm,
            ),
            verbosity=check_positive_int("verbosity", verbosity, minimum=0),
            log_verbosity=1,
        )
    if u0 is None:
        u0 = manifold.reference_point
    u0 = as_finite_vector("u0", u0, n)
    params0 = manifold.lift(u0)  # raises NotOnManifoldError if u0 is not on M
    try:
        value0 = float(loss.value(u0))
    except OverflowError as error:
        raise ValueError(f"the loss is not finite at `u0`: {error}") from None
    if not math.isfinite(value0):
        raise ValueError(f"the loss is not finite at `u0`, h(u0) = {value0}")
    method = f"riemannian_gradient_descent/{name}"
    tracker = _BestPoints(manifold, loss, u0)
    problem = tracker.problem(loss.problem(manifold))

    def finish(point, status, detail, *, iterations, evaluations, history):
        params = manifold.lift(point)
        value = tracker.value(point)
        if not (math.isfinite(value) and np.all(np.isfinite(params))):
            status, detail = (
                SolverStatus.NON_FINITE,
                (
                    f"the final iterate's loss or parameters are not finite ({detail}); "
                    "returning the start"
                ),
            )
            point, params, value, history = u0, params0, value0, SolverHistory.empty()
        message = SOLVER_MESSAGES[status] + (f": {detail}" if detail else "")
        result = SolverResult(
            params=params,
            outputs=point,
            loss=value,
            status=status,
            message=message,
            n_iter=iterations,
            n_value_evals=evaluations,
            n_jacobian_evals=-1,
            history=history,
            method=method,
        )
        if throw and not result.success:
            raise SolverError(result)
        return result

    try:
        with np.errstate(**_QUIET):
            outcome = optimizer.run(problem, initial_point=u0)
    except (*DOMAIN_ERRORS, ValueError) as error:
        # Only domain errors become a status: the manifold's own, a singular
        # system, an overflow, or a model that is not finite at a new chart
        # (NonFiniteError, a ValueError and an OverflowError). Any other
        # error is a bug: re-raised.
        if isinstance(error, OutsideBallError):
            status = SolverStatus.LEFT_REGION
        elif isinstance(error, (NotAnImmersionError, np.linalg.LinAlgError)):
            status = SolverStatus.RANK_LOSS
        elif isinstance(error, (ManifoldError, OverflowError)):
            status = SolverStatus.NON_FINITE
        else:
            raise
        log = getattr(optimizer, "_log", None)
        logged = ((log or {}).get("iterations") or {}).get("point") or []
        point, value = tracker.best()
        return finish(
            point,
            status,
            f"{error}; returning the best point evaluated (loss {value:.6g}, "
            f"start {value0:.6g})",
            iterations=len(logged) if logged else tracker.n_gradients,
            evaluations=tracker.n_values,
            history=_pymanopt_history(log, point) if logged else SolverHistory.empty(),
        )
    point = np.asarray(outcome.point, dtype=np.float64)
    status = _pymanopt_status(outcome.stopping_criterion)
    detail = f"pymanopt {name}: {outcome.stopping_criterion}"
    final = point
    best, best_value = tracker.best()
    if best_value < tracker.value(point):
        detail += (
            f"; returning a point it evaluated with a lower loss ({best_value:.6g} "
            f"< {tracker.value(point):.6g} at its final iterate)"
        )
        point = best
    cut = None
    if manifold.safeguard and status is not SolverStatus.CONVERGED_GTOL:
        cut = _boundary_probe(manifold, problem, point) or _boundary_probe(
            manifold, problem, final
        )
    if cut is not None:
        reason, what = cut
        status = {
            "ball": SolverStatus.LEFT_REGION,
            "rank": SolverStatus.RANK_LOSS,
        }.get(reason, SolverStatus.NON_FINITE)
        detail = (
            f"stopped against the boundary of the safeguarded region ({what}); {detail}"
        )
    return finish(
        point,
        status,
        detail,
        iterations=int(outcome.iterations),
        evaluations=-1
        if outcome.cost_evaluations is None
        else int(outcome.cost_evaluations),
        history=_pymanopt_history(outcome.log, np.asarray(outcome.point)),
    )

from riemgn.dynamics.solvers.optimum import InClassOptimum, optimal_in_class_risk  # noqa: E402

__all__ += ["InClassOptimum", "optimal_in_class_risk"]
