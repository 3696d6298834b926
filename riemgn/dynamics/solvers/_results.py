"""The solvers' status, result, history and callback records, and their messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SOLVER_MESSAGES",
    "IterationInfo",
    "SolverError",
    "SolverHistory",
    "SolverResult",
    "SolverStatus",
]


class SolverStatus(str, enum.Enum):
    """How a solver ended.

    The three ``CONVERGED_*`` members (the ``gtol``, ``ftol`` and ``xtol``
    tests) and ``CALLBACK_STOP`` are successes; ``MAX_ITER``, ``RANK_LOSS``,
    ``NON_FINITE``, ``LINE_SEARCH_FAILED``, ``LEFT_REGION`` and
    ``LINEAR_SOLVE_FAILED`` (a Krylov solve that missed its tolerance) are not. Each
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
    LINEAR_SOLVE_FAILED = "linear_solve_failed"

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
    SolverStatus.LINEAR_SOLVE_FAILED: "the matrix-free (Krylov) solve of the step did not reach its tolerance",
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
        :func:`riemgn.solvers.riemannian_optimize`, pymanopt's
        Riemannian gradient norm).
    step_norm : ndarray, shape (n_iter,)
        :math:`\|\delta_k\|_2` of the trial step (in output space for
        :func:`riemgn.solvers.riemannian_optimize`).
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
    >>> from riemgn.solvers import gauss_newton
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
    >>> from riemgn.solvers import gauss_newton
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
    >>> from riemgn.solvers import gauss_newton
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
