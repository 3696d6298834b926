r"""A Rosenbrock-W method for scipy's step-by-step interface, with a caller's solver.

The gradient flow of a network with many parameters is stiff, and scipy's
implicit solvers (``Radau``, ``BDF``) factor a dense :math:`n \times n`
Jacobian. :class:`RosenbrockW` is linearly implicit instead: each step
solves four linear systems with the one matrix :math:`I - \gamma h A`, and
the caller supplies the solves (``w_solver``), e.g. matrix-free through a
Woodbury identity for a frozen Gauss-Newton :math:`A \approx -J_0^\T J_0`.

The method
----------
ROS34PW2 of Rang and Angermann [1]_: four stages, order 3,
an embedded solution of order 2 for the error estimate, L-stable and
stiffly accurate, with :math:`\gamma = 0.4358665215084590`. A step of size
:math:`h` from :math:`(t_0, y_0)` solves, for :math:`i = 1, \dots, 4`,

.. math::

    (I - \gamma h A)\, k_i = h f\Bigl(t_0 + \alpha_i h,\
        y_0 + \sum_{j<i} \alpha_{ij} k_j\Bigr)
        + h A \sum_{j<i} \gamma_{ij} k_j,
    \qquad y_1 = y_0 + \sum_i b_i k_i,\quad
    \hat y_1 = y_0 + \sum_i \hat b_i k_i,

with :math:`\alpha_i = \sum_j \alpha_{ij}`. The implementation uses the
equivalent variables :math:`u_i = \sum_{j \le i} \gamma_{ij} k_j`
(:math:`\gamma_{ii} = \gamma`; Hairer and Wanner [2]_, Sec. IV.7), in which
a stage needs only the solve and no product with :math:`A`:

.. math::

    (I - \gamma h A)\, u_i = \gamma h\, f\Bigl(t_0 + \alpha_i h,\
        y_0 + \sum_{j<i} a_{ij} u_j\Bigr) + \gamma \sum_{j<i} c_{ij} u_j,

where :math:`a = \alpha\Gamma^{-1}`, :math:`c = \gamma^{-1} I - \Gamma^{-1}`
and the weights are :math:`b\,\Gamma^{-1}` and :math:`\hat b\,\Gamma^{-1}`.
The module computes these from the paper's coefficients, which it keeps as
the named constants ``GAMMA``, ``ALPHA``, ``GAMMA_OFFDIAG``, ``B`` and
``B_HAT`` (16 digits, as published).

The W-property
--------------
The order conditions of a W-method hold for *any* matrix :math:`A`
(Steihaug and Wolfbrandt; [2]_, Sec. IV.7): :math:`A` enters only the
stability and the error constants, never the order. A frozen, low-rank or
otherwise approximate Jacobian therefore keeps order 3 (and the embedded
order 2); :math:`A = 0` even turns the method into an explicit Runge-Kutta
method of order 3. Stiff stability needs :math:`A` to capture the stiff
part of :math:`\partial f / \partial y`.

Non-autonomous problems get no :math:`\gamma_i h^2 \partial f/\partial t`
term. This is not an approximation of order: written for the autonomous
system :math:`(y, t)' = (f(t, y), 1)`, the method without the term is the
same W-method with the matrix :math:`\bigl(\begin{smallmatrix} A & 0 \\ 0 & 0
\end{smallmatrix}\bigr)`, so order 3 holds for non-autonomous :math:`f`
too. Only a stiff time dependence (a stiff forcing) is then treated less
well than with the exact time derivative.

Error control and dense output
------------------------------
The step size is controlled as in scipy's own solvers: the error
:math:`y_1 - \hat y_1` is measured in the RMS norm of
``err / (atol + rtol * max(|y_0|, |y_1|))``, a step with norm :math:`< 1`
is accepted, and the next step is :math:`h` times
``SAFETY * norm ** (-1 / 3)`` (the embedded order is 2) clipped to
``[MIN_FACTOR, MAX_FACTOR]``; after a rejection in the same step it does
not grow. A non-finite stage, error estimate or :math:`f(t_1, y_1)`
rejects the step and shrinks it by ``MIN_FACTOR``; a step below ten
spacings of :math:`t` fails the solver, the scipy way. :math:`f(t_1, y_1)`
is the next step's first stage, so an accepted step costs four new
evaluations of :math:`f` and a rejected one three.

The dense output is the cubic Hermite interpolant of
:math:`(y_0, f(t_0, y_0), y_1, f(t_1, y_1))`, of local error
:math:`O(h^4)`, the order of the step's own local error.

References
----------
.. [1] J. Rang and L. Angermann, "New Rosenbrock W-methods of order 3 for
   partial differential algebraic equations of index 1", BIT Numerical
   Mathematics 45 (2005), 761-787.
.. [2] E. Hairer and G. Wanner, *Solving Ordinary Differential Equations
   II*, 2nd ed., Springer (1996), Sec. IV.7.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.integrate import DenseOutput, OdeSolver

__all__ = ["RosenbrockW"]

#: The diagonal coefficient :math:`\gamma` of ROS34PW2 (Rang and Angermann 2005).
GAMMA = 0.4358665215084590
#: :math:`\alpha_{ij}`, strictly lower triangular (Rang and Angermann 2005).
ALPHA = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],
        [0.87173304301691801, 0.0, 0.0, 0.0],
        [0.84457060015369423, -0.11299064236484185, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ]
)
#: :math:`\gamma_{ij}` for :math:`j < i` (the diagonal is ``GAMMA``).
GAMMA_OFFDIAG = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],
        [-0.87173304301691801, 0.0, 0.0, 0.0],
        [-0.90338057013044082, 0.054180672388095326, 0.0, 0.0],
        [0.24212380706095346, -1.2232505839045147, 0.54526025533510214, 0.0],
    ]
)
#: The weights :math:`b_i` of the order-3 solution.
B = np.array(
    [0.24212380706095346, -1.2232505839045147, 1.5452602553351020, 0.4358665215084590]
)
#: The weights :math:`\hat b_i` of the embedded order-2 solution.
B_HAT = np.array([0.37810903145819369, -0.096042292212423178, 0.5, 0.2179332607542295])
#: The order of the embedded solution; the step factor is ``norm ** (-1 / (q + 1))``.
ERROR_ORDER = 2
SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 5.0

# The coefficients in the variables u_i = sum_{j <= i} gamma_ij k_j.
_GAMMA_INV = scipy.linalg.solve_triangular(
    GAMMA_OFFDIAG + GAMMA * np.eye(4), np.eye(4), lower=True
)
_STAGE = ALPHA @ _GAMMA_INV  # a_ij, strictly lower triangular
_COUPLING = np.tril(-_GAMMA_INV, -1)  # c_ij (the strict part of -Gamma^-1)
_NODES = ALPHA.sum(axis=1)  # alpha_i
_WEIGHTS = B @ _GAMMA_INV
_ERROR_WEIGHTS = (B - B_HAT) @ _GAMMA_INV
_EPS = np.finfo(np.float64).eps

WSolver = Callable[[float, np.ndarray, float], Callable[[np.ndarray], np.ndarray]]


def _finite(x: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(x)))


def _rosenbrock_step(fun, t, y, f, h, apply):
    r"""One ROS34PW2 step: ``(y_new, y_new - y_hat)``, or ``None`` if not finite.

    ``f = fun(t, y)`` is the first stage; ``apply(v)`` returns
    :math:`(I - \gamma h A)^{-1} v`. Three new evaluations of ``fun``.
    """
    n = y.size
    u = np.zeros((4, n))
    for i in range(4):
        if i == 0:
            f_i = f
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                y_i = y + _STAGE[i, :i] @ u[:i]
            if not _finite(y_i):
                return None
            f_i = fun(t + _NODES[i] * h, y_i)
            if not _finite(f_i):
                return None
        with np.errstate(over="ignore", invalid="ignore"):
            rhs = GAMMA * h * f_i + GAMMA * (_COUPLING[i, :i] @ u[:i])
        if not _finite(rhs):
            return None
        u_i = np.asarray(apply(rhs), dtype=np.float64)
        if u_i.shape != (n,):
            raise ValueError(f"the W-solve returned shape {u_i.shape}, expected ({n},)")
        if not _finite(u_i):
            return None
        u[i] = u_i
    with np.errstate(over="ignore", invalid="ignore"):
        y_new = y + _WEIGHTS @ u
        error = _ERROR_WEIGHTS @ u
    if not (_finite(y_new) and _finite(error)):
        return None
    return y_new, error


def _rms(x: np.ndarray) -> float:
    return float(np.linalg.norm(x) / np.sqrt(x.size))


def _lu_w_solver(matrix: np.ndarray) -> Callable[[float], Callable]:
    """``c -> apply``, with ``apply(v) = (I - c A)^{-1} v`` from a dense LU of ``A``."""
    if not _finite(matrix):
        raise ValueError("the Jacobian is not finite")
    identity = np.eye(matrix.shape[0])

    def solve_for(c: float):
        factors = scipy.linalg.lu_factor(identity - c * matrix)
        return lambda v: scipy.linalg.lu_solve(factors, v)

    return solve_for


def _dense_matrix(matrix, n: int) -> np.ndarray:
    if scipy.sparse.issparse(matrix):
        matrix = matrix.toarray()
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (n, n):
        raise ValueError(f"`jac` has shape {matrix.shape}, expected ({n}, {n})")
    return matrix


def _check_tolerances(rtol, atol, n: int):
    rtol = np.asarray(rtol, dtype=np.float64)
    atol = np.asarray(atol, dtype=np.float64)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol.ndim > 1 or (tol.ndim == 1 and tol.shape != (n,)):
            raise ValueError(f"`{name}` must be a scalar or have shape ({n},)")
        if np.any(tol < 0) or not _finite(tol):
            raise ValueError(f"`{name}` must be finite and non-negative")
    if np.any(rtol < 100 * _EPS):
        warnings.warn(
            "At least one element of `rtol` is too small. "
            f"Setting `rtol = np.maximum(rtol, {100 * _EPS})`.",
            stacklevel=3,
        )
        rtol = np.maximum(rtol, 100 * _EPS)
    return rtol, atol


def _initial_step(fun, t0, y0, f0, t_bound, max_step, rtol, atol, direction):
    """A first step after Hairer, Norsett and Wanner (I, Sec. II.4), as in scipy."""
    interval = abs(t_bound - t0)
    if y0.size == 0 or interval == 0:
        return interval
    scale = atol + np.abs(y0) * rtol
    d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, interval)
    with np.errstate(over="ignore", invalid="ignore"):
        y1 = y0 + h0 * direction * f0
    f1 = fun(t0 + h0 * direction, y1)
    with np.errstate(over="ignore", invalid="ignore"):
        d2 = _rms((f1 - f0) / scale) / h0
    if not np.isfinite(d2):
        h1 = h0
    elif d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1 / (ERROR_ORDER + 1))
    return min(100 * h0, h1, interval, max_step)


class CubicHermiteOutput(DenseOutput):
    """The cubic Hermite interpolant of a step from its ends' values and slopes."""

    def __init__(self, t_old, t, y_old, f_old, y, f):
        super().__init__(t_old, t)
        self.h = t - t_old
        self.y_old, self.f_old, self.y, self.f = y_old, f_old, y, f

    def _call_impl(self, t):
        x = (np.asarray(t, dtype=np.float64) - self.t_old) / self.h
        x2, x3 = x * x, x * x * x
        weights = (
            2 * x3 - 3 * x2 + 1,  # y_old
            (x3 - 2 * x2 + x) * self.h,  # f_old
            3 * x2 - 2 * x3,  # y
            (x3 - x2) * self.h,  # f
        )
        values = (self.y_old, self.f_old, self.y, self.f)
        if x.ndim == 0:
            return sum(w * v for w, v in zip(weights, values, strict=True))
        return sum(np.outer(v, w) for w, v in zip(weights, values, strict=True))


class RosenbrockW(OdeSolver):
    r"""The Rosenbrock-W method ROS34PW2 (order 3(2), L-stable) as an ``OdeSolver``.

    Each step solves four linear systems with :math:`I - \gamma h A` for
    some matrix :math:`A`, which need not be the Jacobian: the method keeps
    its order for any :math:`A` (see the module's notes). Pass it to
    ``scipy.integrate.solve_ivp`` as ``method=RosenbrockW`` or step it
    directly.

    Parameters
    ----------
    fun : callable
        The right-hand side ``fun(t, y)``, returning shape ``(n,)`` (or
        ``(n, k)`` for ``y`` of shape ``(n, k)`` when ``vectorized``).
        Exceptions it raises propagate unchanged.
    t0 : float
        The initial time.
    y0 : array_like, shape (n,)
        The initial state, real and finite.
    t_bound : float
        The end of the integration; it also sets the direction.
    rtol, atol : float or array_like, shape (n,), default 1e-3 and 1e-6
        The relative and absolute tolerances of the local error.
    max_step : float, default inf
        The largest allowed step size.
    first_step : float or None, default None
        The initial step size; ``None`` chooses one from ``fun`` (one extra
        evaluation).
    w_solver : callable or None, default None
        ``w_solver(t, y, c)`` returns a callable ``apply(v)`` that returns
        :math:`(I - cA)^{-1} v` for an approximation :math:`A` of
        :math:`\partial f/\partial y` near ``(t, y)``, with
        :math:`c = \gamma h` (negative when integrating backwards). Called
        once per attempted step; ``apply`` serves that step's four stages.
        Exceptions it raises propagate unchanged.
    jac : callable, array_like, sparse matrix or None, default None
        Instead of ``w_solver``: :math:`A` as a constant ``(n, n)`` matrix
        or as ``jac(t, y)``, evaluated once per step; the solves use a
        dense LU of :math:`I - cA` (``scipy.linalg.lu_factor``). With
        neither, :math:`A` is a forward-difference Jacobian (``n``
        evaluations of ``fun`` per step; for small problems only;
        non-finite quotients become zero).
    tstops : array_like, shape (k,), optional
        Times the steps land on exactly and never step over (the samples of
        a run): the state there is a step's own, not the dense output's.
        For a stiff problem the cubic Hermite interpolant between two long
        steps is not to be trusted (it weighs :math:`h f`, whose stiff
        components the method damps but ``f`` does not).
    vectorized : bool, default False
        Whether ``fun`` accepts states of shape ``(n, k)``.
    **extraneous
        Ignored, with a warning (as scipy's solvers do).

    Attributes
    ----------
    n : int
        The number of equations.
    status : str
        ``"running"``, ``"finished"`` or ``"failed"``.
    t, y, f : float, ndarray, ndarray
        The current time, state and ``fun(t, y)``.
    t_old : float or None
        The previous time, ``None`` before the first step.
    step_size : float or None
        The size of the last successful step.
    nfev, njev, nlu : int
        The evaluations of ``fun`` (including those of the first-step
        choice and of finite-difference Jacobians), of the Jacobian
        (``jac`` or finite differences; ``0`` with ``w_solver`` or a
        constant ``jac``) and the calls of ``w_solver`` (one per attempted
        step).

    Raises
    ------
    ValueError
        If both ``w_solver`` and ``jac`` are given, ``jac`` has the wrong
        shape or is not finite, a tolerance is negative or misshapen,
        ``max_step`` is not positive, ``first_step`` is not in
        ``(0, |t_bound - t0|]``, or an ``apply`` returns the wrong shape.

    Examples
    --------
    A stiff scalar problem with a Jacobian, through ``solve_ivp``:

    >>> import numpy as np
    >>> from scipy.integrate import solve_ivp
    >>> lam = -1000.0
    >>> def fun(t, y):
    ...     return lam * (y - np.cos(t))
    >>> sol = solve_ivp(fun, (0.0, 2.0), [0.0], method=RosenbrockW,
    ...                 jac=[[lam]], rtol=1e-6, atol=1e-9)
    >>> exact = (lam**2 * np.cos(2.0) - lam * np.sin(2.0)) / (lam**2 + 1)
    >>> sol.status, bool(abs(sol.y[0, -1] - exact) < 1e-6)
    (0, True)

    A diagonal system solved matrix-free by a ``w_solver``:

    >>> rates = np.array([-1.0, -1e6])
    >>> def w_solver(t, y, c):
    ...     return lambda v: v / (1.0 - c * rates)
    >>> solver = RosenbrockW(lambda t, y: rates * y, 0.0, [1.0, 1.0], 1.0,
    ...                      w_solver=w_solver, rtol=1e-6, atol=1e-9)
    >>> while solver.status == "running":
    ...     _ = solver.step()
    >>> solver.status, bool(np.allclose(solver.y, [np.exp(-1.0), 0.0], atol=1e-6))
    ('finished', True)
    >>> solver.nlu >= solver.njev == 0
    True
    """

    TOO_SMALL_STEP = "Required step size is less than spacing between numbers."

    def __init__(
        self,
        fun,
        t0,
        y0,
        t_bound,
        *,
        rtol=1e-3,
        atol=1e-6,
        max_step=np.inf,
        first_step=None,
        w_solver: WSolver | None = None,
        jac=None,
        tstops=None,
        vectorized=False,
        **extraneous,
    ):
        if extraneous:
            warnings.warn(
                "The following arguments have no effect for a chosen solver: "
                + ", ".join(f"`{name}`" for name in extraneous),
                stacklevel=2,
            )
        super().__init__(fun, t0, y0, t_bound, vectorized, support_complex=False)
        if w_solver is not None and jac is not None:
            raise ValueError("give `w_solver` or `jac`, not both")
        if not max_step > 0:
            raise ValueError("`max_step` must be positive")
        self.max_step = float(max_step)
        self.rtol, self.atol = _check_tolerances(rtol, atol, self.n)
        self._user_w_solver = w_solver
        constant = not (jac is None or callable(jac))
        self._jac = _dense_matrix(jac, self.n) if constant else jac
        self._constant_solve = _lu_w_solver(self._jac) if constant else None
        self.f = self.fun(self.t, self.y)
        if first_step is None:
            self.h_abs = _initial_step(
                self.fun, self.t, self.y, self.f, self.t_bound, self.max_step,
                self.rtol, self.atol, self.direction,
            )  # fmt: skip
        else:
            if not 0 < first_step <= abs(t_bound - t0):
                raise ValueError("`first_step` must be in (0, |t_bound - t0|]")
            self.h_abs = float(first_step)
        self.y_old = self.f_old = None
        stops = np.asarray([] if tstops is None else tstops, dtype=np.float64)
        if stops.ndim != 1 or not np.all(np.isfinite(stops)):
            raise ValueError("`tstops` must be a 1-D array of finite times")
        stops = np.sort(stops)
        self._stops = list(stops if self.direction > 0 else stops[::-1])

    def _next_stop(self, t: float, min_step: float):
        """The first stop more than ``min_step`` beyond ``t``, or None."""
        while self._stops and self.direction * (self._stops[0] - t) <= min_step:
            self._stops.pop(0)
        return self._stops[0] if self._stops else None

    def _fd_jacobian(self, t: float, y: np.ndarray, f: np.ndarray) -> np.ndarray:
        """A forward-difference Jacobian; non-finite quotients become zero."""
        delta = np.sqrt(_EPS) * np.maximum(1.0, np.abs(y))
        delta = (y + delta) - y
        columns = y[:, None] + np.diag(delta)
        self.nfev += self.n
        with np.errstate(over="ignore", invalid="ignore"):
            jacobian = (self.fun_vectorized(t, columns) - f[:, None]) / delta
        return np.where(np.isfinite(jacobian), jacobian, 0.0)

    def _solver_at(self, t: float, y: np.ndarray, f: np.ndarray):
        """``c -> apply`` for the steps from ``(t, y)``; evaluates any Jacobian once."""
        if self._user_w_solver is not None:
            w_solver = self._user_w_solver
            return lambda c: w_solver(t, y, c)
        if self._constant_solve is not None:
            return self._constant_solve
        self.njev += 1
        if self._jac is None:
            return _lu_w_solver(self._fd_jacobian(t, y, f))
        return _lu_w_solver(_dense_matrix(self._jac(t, y), self.n))

    def _error_norm(self, y: np.ndarray, y_new: np.ndarray, error: np.ndarray):
        scale = self.atol + self.rtol * np.maximum(np.abs(y), np.abs(y_new))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            norm = _rms(error / scale)
        return norm if np.isfinite(norm) else np.inf

    def _step_impl(self):
        t, y, f = self.t, self.y, self.f
        min_step = 10 * np.abs(np.nextafter(t, self.direction * np.inf) - t)
        h_abs = min(max(self.h_abs, min_step), self.max_step)
        solve_for = self._solver_at(t, y, f)
        exponent = -1.0 / (ERROR_ORDER + 1)
        rejected, stop = False, self._next_stop(t, min_step)
        while True:
            if h_abs < min_step:
                return False, self.TOO_SMALL_STEP
            wanted = h_abs
            t_new = t + h_abs * self.direction
            if self.direction * (t_new - self.t_bound) > 0:
                t_new = self.t_bound
            clipped = stop is not None and self.direction * (t_new - stop) > 0
            if clipped:  # land on the stop exactly
                t_new = stop
            h = t_new - t
            h_abs = abs(h)
            self.nlu += 1
            result = _rosenbrock_step(self.fun, t, y, f, h, solve_for(GAMMA * h))
            norm = np.inf if result is None else self._error_norm(y, *result)
            if norm < 1:
                f_new = self.fun(t_new, result[0])
                if _finite(f_new):
                    break
                norm = np.inf
            factor = MIN_FACTOR if norm == np.inf else SAFETY * norm**exponent
            h_abs *= max(MIN_FACTOR, factor)
            rejected = True
        factor = MAX_FACTOR if norm == 0 else min(MAX_FACTOR, SAFETY * norm**exponent)
        self.h_abs = h_abs * (min(1.0, factor) if rejected else factor)
        if clipped and not rejected:  # a stop, not the error, cut the step
            self.h_abs = max(self.h_abs, wanted)
        self.y_old, self.f_old = y, f
        self.t, self.y, self.f = t_new, result[0], f_new
        return True, None

    def _dense_output_impl(self):
        return CubicHermiteOutput(
            self.t_old, self.t, self.y_old, self.f_old, self.y, self.f
        )
