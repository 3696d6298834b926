r"""Geodesics of an output manifold, in chart coordinates.

A curve :math:`\gamma(t) = F(\theta(t))` on :math:`M` is a geodesic when its
acceleration is normal to :math:`M`. Since

.. math::

    \gamma'' = J\theta'' + D^2F[\theta', \theta'],

the tangential part vanishes exactly when :math:`J^\top J \theta'' =
-J^\top D^2F[\theta', \theta']`, that is

.. math::

    \theta'' = -J^+ D^2F(\theta)[\theta', \theta'], \qquad J^+ = R^{-1} Q^\top,

with :math:`J = QR` the thin QR factorization. The least-squares solve goes
through QR and never through :math:`J^\top J`, whose condition number is the
square of :math:`J`'s.

* :func:`solve_geodesic` integrates this initial value problem with
  ``scipy.integrate.solve_ivp`` (``DOP853``, tight tolerances). Its status is
  always checked: a failed integration, a rank loss or a chart that leaves
  the ball raises a clear error.
* :func:`shoot_geodesic` solves the boundary value problem
  :math:`\theta(0) = \theta_a, \theta(1) = \theta_b` by shooting on the
  initial velocity: a quasi-Newton (Broyden) iteration on the shooting map
  that starts from the identity Jacobian (exact for a flat chart) and falls
  back to a finite-difference Jacobian whenever the residual stops
  contracting fast. The initial guess is the chord corrected to second
  order, :math:`\theta'(0) = \Delta + \tfrac12 J^+ D^2F[\Delta, \Delta]` with
  :math:`\Delta = \theta_b - \theta_a`.

Examples start from ``np``, ``anp``, ``X``, ``output_map``, ``theta0``,
``manifold`` and ``u``: the model :math:`F(w) = \tanh(Xw)` and its output
manifold, built in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.integrate

from manifolds.exceptions import GeodesicError, NotAnImmersionError, OutsideBallError
from manifolds.linalg import (
    JacobianOperator,
    factorize,
    least_squares_solution,
    resolve_solver,
)
from manifolds.validation import (
    NonFiniteError,
    all_finite,
    as_finite_vector,
    check_output_map,
    check_positive_int,
    check_positive_real,
    check_rank_rtol,
    max_abs,
)
from manifolds.validation import norm as vector_norm

__all__ = [
    "GeodesicSolution",
    "geodesic_acceleration",
    "shoot_geodesic",
    "solve_geodesic",
]

_EPS = np.finfo(np.float64).eps


def geodesic_acceleration(
    output_map,
    params: np.ndarray,
    velocity: np.ndarray,
    *,
    rank_rtol: float | None = None,
) -> np.ndarray:
    r"""The chart acceleration of a geodesic, :math:`\theta'' = -J^+ D^2F(\theta)[\theta', \theta']`.

    The unique :math:`\theta''` that makes the output acceleration of
    :math:`F \circ \theta` normal (derived in :mod:`manifolds.geodesics`),
    with :math:`J^+` from the factorization of :mod:`manifolds.linalg`.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`.
    params : ndarray, shape (n_params,)
        The position :math:`\theta`.
    velocity : ndarray, shape (n_params,)
        The velocity :math:`\theta'`.
    rank_rtol : float, optional
        The guard on :math:`J^+`: the rank test of :mod:`manifolds.linalg`
        (a singular value at or below ``rank_rtol`` times the largest means
        rank loss). The default is ``max(n, p) * eps``.

    Returns
    -------
    ndarray, shape (n_params,)

    Raises
    ------
    ~manifolds.NotAnImmersionError
        If the guard fires, so that :math:`J^+` is not defined.
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`.
    ValueError
        If ``params`` or ``velocity`` has the wrong shape or is not finite,
        or ``rank_rtol`` is not in :math:`(0, 1)`.

    Notes
    -----
    The integrator in :func:`solve_geodesic` evaluates the same right-hand
    side without validating its inputs again.

    Examples
    --------
    The output acceleration :math:`J\theta'' + D^2F[\theta', \theta']` is
    normal: :math:`J` transposed annihilates it.

    >>> from manifolds.geodesics import geodesic_acceleration
    >>> theta, velocity = np.array([0.3, -0.2]), np.array([1.0, 0.5])
    >>> acceleration = geodesic_acceleration(output_map, theta, velocity)
    >>> gamma_dd = output_map.jvp(theta, acceleration) + output_map.second_derivative(
    ...     theta, velocity, velocity
    ... )
    >>> bool(np.allclose(output_map.vjp(theta, gamma_dd), 0.0))
    True
    """
    check_output_map(output_map)
    params = as_finite_vector("params", params, output_map.n_params)
    velocity = as_finite_vector("velocity", velocity, output_map.n_params)
    if rank_rtol is not None:
        rank_rtol = check_rank_rtol(rank_rtol)
    return _acceleration(output_map, params, velocity, rank_rtol)


def _acceleration(output_map, params, velocity, rank_rtol, solver="dense"):
    """The right-hand side of :func:`geodesic_acceleration`, unvalidated."""
    factorization = _guarded_factorization(output_map, params, rank_rtol, solver)
    curvature = output_map.second_derivative(params, velocity, velocity)
    return -factorization.pinv(curvature)


def _guarded_factorization(
    output_map, params: np.ndarray, rank_rtol: float | None, solver: str = "dense"
):
    """The factorization of J(params); NotAnImmersionError if J lost rank.

    Under ``solver == "krylov"`` the matrix-free factorization (J is not formed).
    """
    if solver == "krylov":
        factorization = factorize(
            JacobianOperator(output_map, params), rank_rtol=rank_rtol
        )
    else:
        with np.errstate(all="ignore"):
            J = output_map.jacobian(params)
        if not all_finite(J):
            raise _JacobianNotFinite(
                "the Jacobian J(theta) holds NaN or inf values on the geodesic: the "
                f"output map overflows float64 there (max |theta| = {max_abs(params):.3e})"
            )
        factorization = factorize(J, rank_rtol=rank_rtol, overwrite=True)
    info = factorization.rank_info()
    if info.rank < info.n_params:
        raise NotAnImmersionError(
            "the Jacobian lost rank along the geodesic: smallest singular value "
            f"{info.singular_values[-1]:.3e} <= tolerance {info.tolerance:.3e} "
            f"(largest {info.singular_values[0]:.3e})"
        )
    return factorization


def _second_order_start(
    output_map,
    params: np.ndarray,
    chord: np.ndarray,
    rank_rtol: float | None,
    solver: str = "dense",
) -> tuple[np.ndarray, np.ndarray]:
    r"""An initial velocity and sensitivity for shooting, both from second order.

    A geodesic starts as :math:`\theta(1) = \theta + \eta - \tfrac12 J^+
    D^2F[\eta, \eta] + O(\|\eta\|^3)`. So :math:`\eta = \Delta + \tfrac12 J^+
    D^2F[\Delta, \Delta]` hits :math:`\theta + \Delta` up to
    :math:`O(\|\Delta\|^3)`, and :math:`\partial\theta(1)/\partial\eta \approx
    I - J^+ D^2F[\eta, \cdot\,]` (one second derivative per parameter).
    """
    p = chord.shape[0]
    try:
        factorization = _guarded_factorization(output_map, params, rank_rtol, solver)
    except (NotAnImmersionError, _JacobianNotFinite):
        return chord.copy(), np.eye(p)

    try:
        with np.errstate(all="ignore"):
            velocity = chord + 0.5 * factorization.pinv(
                output_map.second_derivative(params, chord, chord)
            )
            mixed = np.column_stack(
                [output_map.second_derivative(params, velocity, e) for e in np.eye(p)]
            )
            if solver == "krylov":  # one iterative solve per column
                correction = np.column_stack(
                    [factorization.pinv(column) for column in mixed.T]
                )
            else:
                correction = factorization.pinv(mixed)
            sensitivity = np.eye(p) - correction
    except ValueError:  # a model that refuses to overflow
        return chord.copy(), np.eye(p)
    if not (all_finite(velocity) and all_finite(sensitivity)):
        return chord.copy(), np.eye(p)  # the second-order terms overflow
    return velocity, sensitivity


class _BudgetExhausted(Exception):
    """Raised inside the right-hand side when the evaluation budget is spent."""


class _NotFinite(Exception):
    """Raised inside the right-hand side when the acceleration is not finite."""


class _JacobianNotFinite(NonFiniteError):
    """The Jacobian overflows at a point of the geodesic."""


@dataclass(frozen=True)
class GeodesicSolution:
    """The end of a geodesic integrated in chart coordinates.

    Attributes
    ----------
    params : ndarray, shape (n_params,)
        :math:`\\theta(t_{end})`.
    velocity : ndarray, shape (n_params,)
        :math:`\\theta'(t_{end})`.
    n_steps : int
        Accepted steps of the integrator.

    Examples
    --------
    >>> from manifolds.geodesics import solve_geodesic
    >>> end = solve_geodesic(output_map, np.array([0.3, -0.2]), np.array([0.5, 0.2]))
    >>> end.params.shape, end.velocity.shape
    ((2,), (2,))
    >>> end.n_steps > 0
    True
    """

    params: np.ndarray
    velocity: np.ndarray
    n_steps: int


def solve_geodesic(
    output_map,
    params: np.ndarray,
    velocity: np.ndarray,
    *,
    t_end: float = 1.0,
    rtol: float = 1e-11,
    atol: float = 1e-12,
    center: np.ndarray | None = None,
    radius: float | None = None,
    rank_rtol: float | None = None,
    max_stretch: float = 1e4,
    max_evaluations: int = 20_000,
    solver: str = "dense",
) -> GeodesicSolution:
    r"""Integrate :math:`\theta'' = -J^+ D^2F[\theta', \theta']` from :math:`t = 0` to ``t_end``.

    The initial value problem :math:`\theta(0) = \theta_0` (``params``),
    :math:`\theta'(0) = v` (``velocity``) for the equation of
    :mod:`manifolds.geodesics`, integrated as a first-order system in the
    displacement :math:`\delta = \theta - \theta_0` and the velocity,
    :math:`(\delta, \theta')' = (\theta', -J^+ D^2F[\theta', \theta'])`, by
    ``scipy.integrate.solve_ivp`` (``DOP853``).

    The output curve :math:`F(\theta(t))` is then a geodesic of the output
    manifold, travelled at the constant speed :math:`\|J(\theta_0) v\|`.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`.
    params : ndarray, shape (n_params,)
        :math:`\theta(0)`.
    velocity : ndarray, shape (n_params,)
        :math:`\theta'(0)`.
    t_end : float, default 1.0
        The final time.
    rtol, atol : float
        Tolerances of ``solve_ivp`` on the displacement
        :math:`\theta(t) - \theta(0)` and the velocity; ``atol`` is relative
        to :math:`\|\theta'(0)\|`, so both are scale-free.
    center : ndarray, shape (n_params,), optional
        The centre of the ball :math:`B(\theta_0, \rho)` (not necessarily
        ``params``); used only with ``radius``.
    radius : float, optional
        The radius :math:`\rho` of the ball. The integration stops with an
        error when the chart leaves it. ``None`` (the default) sets no bound.
    rank_rtol : float, optional
        Passed to :func:`geodesic_acceleration`.
    max_stretch : float, default 1e4
        The geodesic's speed in output space, :math:`\|J\theta'\|`, is
        constant. When the parameter speed :math:`\|\theta'\|` grows by this
        factor, :math:`J` has lost that much conditioning along the way (for
        example, neurons saturating): the chart is degenerating and the
        integration stops with an error instead of grinding on.
    max_evaluations : int, default 20000
        The budget of right-hand-side evaluations.
    solver : {"dense", "krylov", "auto"}, default "dense"
        ``"krylov"`` solves with :math:`J^+` matrix-free
        (:class:`~manifolds.linalg.JacobianOperator`; :math:`J` is never
        formed); ``"auto"`` chooses with :func:`~manifolds.linalg.resolve_solver`.

    Returns
    -------
    GeodesicSolution

    Raises
    ------
    ~manifolds.OutsideBallError
        If the geodesic leaves the ball.
    ~manifolds.NotAnImmersionError
        If the Jacobian loses rank along the way.
    ~manifolds.GeodesicError
        If ``solve_ivp`` fails, the chart degenerates, the evaluation budget
        runs out, or a value is not finite.
    ValueError
        If an argument has the wrong shape or is not finite.
    TypeError
        If a tolerance or budget is not a number.

    Examples
    --------
    The output speed :math:`\|J(\theta)\theta'\|` of a geodesic is constant:

    >>> from manifolds.geodesics import solve_geodesic
    >>> theta0, velocity0 = np.array([0.3, -0.2]), np.array([0.5, 0.2])
    >>> end = solve_geodesic(output_map, theta0, velocity0)
    >>> speed0 = np.linalg.norm(output_map.jvp(theta0, velocity0))
    >>> speed1 = np.linalg.norm(output_map.jvp(end.params, end.velocity))
    >>> bool(np.isclose(speed0, speed1, rtol=1e-9))
    True
    """
    check_output_map(output_map)
    params = as_finite_vector("params", params, output_map.n_params)
    velocity = as_finite_vector("velocity", velocity, output_map.n_params)
    if rank_rtol is not None:
        rank_rtol = check_rank_rtol(rank_rtol)
    t_end = check_positive_real("t_end", t_end, allow_zero=True)
    rtol = check_positive_real("rtol", rtol)
    atol = check_positive_real("atol", atol)
    max_stretch = check_positive_real("max_stretch", max_stretch)
    max_evaluations = check_positive_int("max_evaluations", max_evaluations)
    solver = resolve_solver(solver, output_map.n_outputs, output_map.n_params)
    p = params.shape[0]
    speed = vector_norm(velocity)
    if speed == 0.0 or t_end == 0.0:
        return GeodesicSolution(params.copy(), velocity.copy(), 0)

    # The state is the displacement from ``params`` and the velocity, so that
    # the relative tolerance applies to the geodesic's own scale rather than
    # to |theta|, which would swamp a short geodesic.
    evaluations = 0

    def rhs(_t, state):
        nonlocal evaluations
        evaluations += 1
        if evaluations > max_evaluations:
            raise _BudgetExhausted
        try:
            acceleration = _acceleration(
                output_map, params + state[:p], state[p:], rank_rtol, solver
            )
        except _JacobianNotFinite:
            raise _NotFinite(_t) from None
        if not all_finite(acceleration):
            raise _NotFinite(_t)
        return np.concatenate([state[p:], acceleration])

    def degenerate(_t, state):
        return max_stretch * speed - np.linalg.norm(state[p:])

    degenerate.terminal = True
    degenerate.direction = -1
    events = [degenerate]
    if radius is not None:

        def leave_ball(_t, state):
            return radius - np.linalg.norm(params + state[:p] - center)

        leave_ball.terminal = True
        leave_ball.direction = -1
        events.append(leave_ball)

    try:
        with np.errstate(all="ignore"):  # a non-finite step is reported below
            solution = scipy.integrate.solve_ivp(
                rhs,
                (0.0, t_end),
                np.concatenate([np.zeros(p), velocity]),
                method="DOP853",
                rtol=rtol,
                atol=atol * speed,
                events=events,
            )
    except _NotFinite as stop:
        raise GeodesicError(
            f"the geodesic equation is not finite at t = {stop.args[0]:.4g} (of "
            f"{t_end:g}): the acceleration overflows float64 (initial parameter speed "
            f"|velocity| = {speed:.3e}, max |params| = {max_abs(params):.3e}); take a "
            "shorter tangent vector"
        ) from None
    except _BudgetExhausted:
        raise GeodesicError(
            f"the geodesic initial value problem used up its budget of "
            f"{max_evaluations} evaluations before t = {t_end:g}; the geodesic is "
            "too long or too stiff in this chart: take a shorter tangent vector"
        ) from None
    _check_status(solution, t_end, max_stretch, radius)
    end = solution.y[:, -1]
    if not np.all(np.isfinite(end)):
        raise GeodesicError(
            "the geodesic initial value problem produced non-finite values"
        )
    return GeodesicSolution(params + end[:p], end[p:].copy(), int(solution.t.size - 1))


def _check_status(solution, t_end: float, max_stretch: float, radius) -> None:
    """Raise the error that a stopped or failed ``solve_ivp`` solution means."""
    if solution.status == 1 and solution.t_events[0].size:
        raise GeodesicError(
            f"the chart degenerates along the geodesic: at t = "
            f"{float(solution.t_events[0][0]):.4g} (of {t_end:g}) the parameter speed "
            f"has grown {max_stretch:g}-fold while the output speed is constant, so "
            "J lost that much conditioning (F is close to not being an immersion "
            "there); take a shorter tangent vector or set a `radius`"
        )
    if solution.status == 1:
        t_exit = float(solution.t_events[1][0])
        raise OutsideBallError(
            f"the geodesic leaves the ball of radius {radius:g} around the "
            f"reference parameters at t = {t_exit:.4g} (of {t_end:g}); take a "
            "shorter tangent vector or a larger `radius`"
        )
    if solution.status != 0:
        raise GeodesicError(
            f"the geodesic initial value problem failed: {solution.message}"
        )


def shoot_geodesic(
    output_map,
    params_a: np.ndarray,
    params_b: np.ndarray,
    *,
    rtol: float = 1e-11,
    atol: float = 1e-12,
    center: np.ndarray | None = None,
    radius: float | None = None,
    rank_rtol: float | None = None,
    max_iter: int = 50,
    solver: str = "dense",
) -> np.ndarray:
    r"""The initial velocity of the geodesic from :math:`\theta_a` to :math:`\theta_b` at time 1.

    Solves the boundary value problem

    .. math::

        \theta'' = -J^+ D^2F(\theta)[\theta', \theta'], \qquad
        \theta(0) = \theta_a, \quad \theta(1) = \theta_b,

    by shooting: a root of :math:`S(v) = \theta_v(1) - \theta_b`, where
    :math:`\theta_v` solves the initial value problem with
    :math:`\theta_v'(0) = v` (:func:`solve_geodesic`). The iteration starts
    from the chord corrected to second order,
    :math:`v_0 = \Delta + \tfrac12 J^+ D^2F[\Delta, \Delta]` with
    :math:`\Delta = \theta_b - \theta_a` and :math:`J^+ = R^{-1}Q^\top` at
    :math:`\theta_a`, and takes quasi-Newton (Broyden) steps, with a
    finite-difference Jacobian of :math:`S` when they stop contracting.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`.
    params_a, params_b : ndarray, shape (n_params,)
        The endpoints in chart coordinates.
    rtol, atol : float
        Tolerances of the inner initial value problems. The shooting residual
        :math:`\|\theta(1) - \theta_b\|` must fall below
        ``100 * (rtol + atol) * |params_b - params_a|``.
    center : ndarray, shape (n_params,), optional
        The centre of the ball the geodesic must stay in; used only with
        ``radius``.
    radius : float, optional
        The radius of that ball; ``None`` (the default) sets no bound.
    rank_rtol : float, optional
        Passed to :func:`geodesic_acceleration`.
    max_iter : int, default 50
        The number of quasi-Newton iterations.
    solver : {"dense", "krylov", "auto"}, default "dense"
        Passed to :func:`solve_geodesic`.

    Returns
    -------
    ndarray, shape (n_params,)
        :math:`\theta'(0)`.

    Raises
    ------
    ~manifolds.GeodesicError
        If the shooting does not converge.
    ValueError
        If an argument has the wrong shape or is not finite.
    TypeError
        If a tolerance or ``max_iter`` is not a number.

    Examples
    --------
    The geodesic that starts with the returned velocity ends at
    :math:`\theta_b`:

    >>> from manifolds.geodesics import shoot_geodesic, solve_geodesic
    >>> theta_a, theta_b = np.array([0.3, -0.2]), np.array([0.6, 0.1])
    >>> velocity = shoot_geodesic(output_map, theta_a, theta_b)
    >>> end = solve_geodesic(output_map, theta_a, velocity)
    >>> bool(np.allclose(end.params, theta_b, atol=1e-8))
    True
    """
    check_output_map(output_map)
    params_a = as_finite_vector("params_a", params_a, output_map.n_params)
    params_b = as_finite_vector("params_b", params_b, output_map.n_params)
    if rank_rtol is not None:
        rank_rtol = check_rank_rtol(rank_rtol)
    rtol = check_positive_real("rtol", rtol)
    atol = check_positive_real("atol", atol)
    max_iter = check_positive_int("max_iter", max_iter)
    solver = resolve_solver(solver, output_map.n_outputs, output_map.n_params)
    p = params_a.shape[0]
    with np.errstate(over="ignore"):
        chord = params_b - params_a
    if not all_finite(chord):
        raise GeodesicError(
            "shooting for the geodesic failed: |theta_b - theta_a| overflows float64 "
            f"(max |params_a| = {max_abs(params_a):.3e}, max |params_b| = "
            f"{max_abs(params_b):.3e}); the points are too far apart"
        )
    scale = vector_norm(chord)
    if scale == 0.0:
        return np.zeros(p)

    def shoot(velocity, tolerance):
        end = solve_geodesic(
            output_map,
            params_a,
            velocity,
            rtol=tolerance,
            atol=tolerance * atol / rtol,
            center=center,
            radius=radius,
            rank_rtol=rank_rtol,
            solver=solver,
        )
        return end.params - params_b

    # The iteration first converges with loose integration tolerances (cheap
    # steps while far from the solution) and then refines with the requested
    # ones, keeping the velocity and the sensitivity matrix.
    velocity, sensitivity = _second_order_start(
        output_map, params_a, chord, rank_rtol, solver
    )
    iterations = 0
    for tolerance in sorted({max(rtol, 1e-8), rtol}, reverse=True):
        target = 100.0 * (tolerance + tolerance * atol / rtol) * scale
        residual, norm = _try_shot(shoot, velocity, tolerance)
        if residual is None:
            break
        velocity, sensitivity, norm, iterations = _broyden(
            shoot,
            velocity,
            sensitivity,
            residual,
            norm,
            tolerance=tolerance,
            target=target,
            scale=scale,
            iterations=iterations,
            max_iter=max_iter,
        )
        if norm > target:
            break
    else:
        return velocity
    if residual is None:
        raise GeodesicError(
            "shooting for the geodesic failed: even the straight-line initial "
            f"velocity (|theta_b - theta_a| = {scale:.3e}) leaves the region where "
            "the chart is valid; the points are too far apart for a geodesic in "
            "one chart"
        )
    raise GeodesicError(
        f"shooting for the geodesic did not converge in {iterations} iterations: "
        f"|theta(1) - theta_b| = {norm:.3e} > {target:.3e} (|theta_b - theta_a| = "
        f"{scale:.3e}); the points may be too far apart for a minimizing geodesic "
        "in one chart"
    )


def _try_shot(shoot, velocity, tolerance):
    """The shooting residual and its norm; ``(None, inf)`` if the shot fails."""
    if not all_finite(velocity):
        return None, np.inf
    try:
        residual = shoot(velocity, tolerance)
    except (OutsideBallError, GeodesicError, NotAnImmersionError):
        return None, np.inf
    return residual, vector_norm(residual)


def _jacobian_of_shot(shoot, velocity, residual, tolerance):
    """The forward-difference Jacobian of the shooting map (p integrations)."""
    p = velocity.shape[0]
    step = np.sqrt(max(tolerance, _EPS)) * max(1.0, vector_norm(velocity))
    columns = np.empty((p, p))
    for k in range(p):
        trial = velocity.copy()
        trial[k] += step
        columns[:, k] = (shoot(trial, tolerance) - residual) / step
    return columns


def _broyden(
    shoot,
    velocity,
    sensitivity,
    residual,
    norm,
    *,
    tolerance,
    target,
    scale,
    iterations,
    max_iter,
):
    """Quasi-Newton steps on the shooting map until its residual is below ``target``.

    :math:`d\theta(1)/d\theta'(0)` is the identity on a flat chart: the
    iteration starts from ``sensitivity`` and refines it by Broyden updates,
    falling back to a finite-difference Jacobian (``p`` extra integrations)
    when the iteration stops contracting.
    """
    exact = False
    while norm > target and iterations < max_iter:
        iterations += 1
        step = -least_squares_solution(sensitivity, residual)
        # A trust region: no trial velocity strays far beyond the chord.
        limit = max(vector_norm(velocity), scale)
        step_norm = vector_norm(step)
        if step_norm > limit:
            step *= limit / step_norm
        for _halving in range(8 if exact else 1):
            trial_residual, trial_norm = _try_shot(shoot, velocity + step, tolerance)
            if trial_norm < norm:
                break
            step = 0.5 * step
        if trial_norm < norm:
            change = trial_residual - residual
            sensitivity += np.outer(change - sensitivity @ step, step) / (step @ step)
            contraction = trial_norm / norm
            velocity, residual, norm = velocity + step, trial_residual, trial_norm
            exact = False
            if contraction > 0.9 and norm > target:
                sensitivity = _jacobian_of_shot(shoot, velocity, residual, tolerance)
                exact = True
        elif exact:
            break  # a fresh Jacobian and a damped step make no progress
        else:
            sensitivity = _jacobian_of_shot(shoot, velocity, residual, tolerance)
            exact = True
    return velocity, sensitivity, norm, iterations
