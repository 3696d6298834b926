r"""Parameter-space flows: Gauss-Newton, Levenberg-Marquardt and gradient flow.

Each flow integrates an ODE for the parameters :math:`\theta` and records the
outputs :math:`u = F(\theta)` and the loss :math:`h(u)` along the way:

.. math::

    \text{GN:}\quad \theta' = -\tfrac1c J^+ \nabla h, \qquad
    \text{LM:}\quad \theta' = -J^\top (K + \lambda_t I)^{-1} \nabla h, \qquad
    \text{GD:}\quad \theta' = -J^\top \nabla h,

where :math:`J = DF(\theta)`, :math:`K = JJ^\top`, :math:`\nabla h` is
evaluated at :math:`u = F(\theta)` and :math:`c` is the metric weight. In
output space they read :math:`u' = -\tfrac1c P_u\nabla h = -\operatorname{grad}
h(u)`, :math:`u' = -K(K+\lambda_t I)^{-1}\nabla h` and :math:`u' = -K\nabla h`.

Developer notes
---------------
*Linear algebra.* See ``manifolds.linalg``: QR or LAPACK least squares for
:math:`J^+`, the stacked QR of :math:`[J; \sqrt\lambda I]` for LM when
:math:`p \le n` and the kernel form through the thin SVD of :math:`J` when
:math:`p > n`, so that no :math:`p \times p` array exists in the
overparameterized regime.

*Events.* Every flow stops, with finite arrays, when the parameters leave
:math:`B(\theta_0, \rho)` (``left_region``, if ``radius`` is given), when
:math:`\|\theta - \theta_0\|` or :math:`\|\theta'\|` exceeds ``blow_up`` times
its scale (``blow_up``), when :math:`F` stops being finite (``blow_up``) and,
for Gauss-Newton, when :math:`\sigma_{min}(J)/\sigma_{max}(J)` falls to
``rank_rtol`` (``rank_loss``): :math:`J^+` does not exist beyond it, and the
velocity grows without bound as it is approached.

*Convergence at rest.* Along each flow the loss is a Lyapunov function:
:math:`\tfrac{d}{dt}h(u) = -\nabla h^\top u'` is :math:`-\tfrac1c\|P_u\nabla
h\|^2`, :math:`-\nabla h^\top K(K+\lambda_t I)^{-1}\nabla h` and
:math:`-\|J^\top\nabla h\|^2 \le 0` for GN, LM and GD. An accepted step that
does not decrease it therefore shows that the decrease it should bring,
:math:`|\dot h|\,\Delta t`, is below the error of the computation: the
integrator's local error (``rtol``, ``atol``) in :math:`\theta`, or the
rounding of :math:`h` itself (relative :math:`\epsilon`). From there on the
steps only stir the state within that error while the step size stays at the
stability limit, so a long ``t_span`` would cost :math:`(t_1 - t_0)/\Delta t`
steps for nothing. The loss alone is not enough to tell: near a minimum
with :math:`h^* > 0` it stops changing in float64 once the distance to the
minimum is about :math:`\sqrt{\epsilon}`, while :math:`\theta` still moves.
So the flow is *at rest* after a step that neither decreased the loss (by
more than ``ftol`` :math:`h`, 0 by default) nor moved :math:`\theta` by more
than ``REST_MOTION = 10`` of the integrator's error tolerances (in scipy's
error norm, the RMS of :math:`\Delta\theta_i/(atol + rtol|\theta_i|)`); at
the noise floor an explicit Runge-Kutta method moves the state by about 1.6
tolerances per step, for any ``rtol``. The default ``ftol = 0`` stops the
flow with ``converged`` after ``REST_STEPS = 5`` consecutive steps at rest.
Five, not one: at the noise floor about half the steps fail to decrease the
loss, so five in a row come within some 60 steps, while a single step whose
error happens to outweigh its decrease must not end a run that still moves.
When the end of the run is less than one step away the flow finishes with
``t_end`` instead. The output-speed test ``gtol`` is an
alternative, in the units of :math:`u'`.

*Caching.* Adaptive solvers evaluate the right-hand side at the same state
more than once (FSAL stages, event checks); the last few evaluations are
cached by the bytes of :math:`\theta`. Gauss-Newton keeps the factorization
of :math:`J` with them, so that its rank event at an accepted state costs no
new Jacobian, factorization or SVD (see ``riemgn/dynamics/flows/_dynamics.py``).
"""

from __future__ import annotations

import math

import numpy as np

from manifolds.linalg import GN_SOLVERS, KERNEL_SOLVERS, SOLVERS, resolve_solver
from manifolds.validation import (
    as_finite_array,
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    describe,
)
from riemgn._checks import (
    DOMAIN_ERRORS,
    check_loss,
    check_output_map,
    check_rtol,
    check_t_span,
    safe_norm,
)
from riemgn._checks import QUIET as _QUIET
from riemgn.dynamics.damping import as_schedule
from riemgn.dynamics.flows._dynamics import (
    Counter,
    Dynamics,
    GaussNewton,
    GradientFlow,
    LevenbergMarquardt,
    krylov_tolerance,
    w_tolerance,
)
from riemgn.dynamics.flows._integrate import (
    IMPLICIT_METHODS,
    METHODS,
    REST_MOTION,
    REST_STEPS,
    W_METHODS,
    Event,
    FlowBreakdown,
    RestTest,
    finite_record,
    integrate,
)
from riemgn.dynamics.flows.trajectory import FLOW_MESSAGES, FlowStatus, Trajectory

__all__ = [
    "gauss_newton_flow",
    "gradient_flow",
    "levenberg_marquardt_flow",
]

# The largest p for which an implicit method may build the dense (p, p)
# Jacobian of the gradient flow's right-hand side.
MAX_DENSE_PARAMS = 4000


# ----------------------------------------------------------------------
# Validation


def _validate_common(output_map, params0, loss, t_span, t_eval, rtol, atol, method):
    check_output_map(output_map)
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    params0 = as_finite_vector("params0", params0, p).copy()
    check_loss(loss, n)
    t0, t1 = check_t_span(t_span)
    if t_eval is not None:
        t_eval = as_finite_array("t_eval", t_eval, ndim=1)
        if t_eval.size and (
            np.any(np.diff(t_eval) <= 0) or t_eval[0] < t0 or t_eval[-1] > t1
        ):
            raise ValueError(
                f"`t_eval` must be strictly increasing and inside t_span = ({t0:g}, "
                f"{t1:g}), got values from {t_eval[0]:g} to {t_eval[-1]:g}"
            )
    check_rtol("rtol", rtol)
    check_positive_real("atol", atol)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"`method` must be one of {tuple(METHODS)}, got {describe(method)}"
        )
    return params0, (t0, t1), t_eval


def _start(counter, loss, params0):
    try:
        with np.errstate(**_QUIET):
            u0 = np.asarray(counter.map.value(params0), dtype=np.float64)
    except DOMAIN_ERRORS as error:
        raise ValueError(
            "the outputs F(params0) are not finite at the initial point `params0`: "
            f"{error}"
        ) from None
    if u0.shape != (counter.map.n_outputs,):
        raise ValueError(
            f"the output map has the wrong shape at `params0`: F(params0) has shape "
            f"{u0.shape}, expected ({counter.map.n_outputs},)"
        )
    if not np.all(np.isfinite(u0)):
        raise ValueError(
            "the outputs F(params0) are not finite at the initial point "
            f"({int(np.sum(~np.isfinite(u0)))} NaN or inf value(s)); choose another "
            "`params0`"
        )
    counter.n_value += 1
    return u0


# ----------------------------------------------------------------------
# The driver shared by the three flows


def _check_run_options(radius, blow_up, gtol, ftol, max_steps):
    if radius is not None:
        radius = check_positive_real("radius", radius)
    blow_up = check_positive_real("blow_up", blow_up)
    if blow_up <= 1:
        raise ValueError(f"`blow_up` must be > 1, got {blow_up}")
    if gtol is not None:
        gtol = check_positive_real("gtol", gtol)
    if ftol is not None:
        ftol = check_positive_real("ftol", ftol, allow_zero=True)
    return radius, blow_up, gtol, ftol, check_positive_int("max_steps", max_steps)


def _rest_message(ftol: float, loss: float) -> str:
    return (
        f"in {REST_STEPS} consecutive accepted steps the loss (now h = {loss:.6e}) "
        f"set no new low by more than ftol = {ftol:g} times itself and theta moved "
        f"by at most {REST_MOTION:g} error tolerances: the flow is at rest to the "
        "resolution of the integration (rtol, atol) and of float64"
    )


def _motion(old: np.ndarray, new: np.ndarray, rtol: float, atol: float) -> float:
    """The step's motion in the integrator's error norm (RMS of the scaled change)."""
    with np.errstate(**_QUIET):
        scale = atol + rtol * np.maximum(np.abs(old), np.abs(new))
        change = (new - old) / scale
    return safe_norm(change) / math.sqrt(change.size)


def _events(dynamics, params0, t0, initial, radius, blow_up, rank_event):
    """The terminal events (region, distance, speed, rank), checked at the start."""
    distance_scale = blow_up * max(1.0, safe_norm(params0))
    speed_scale = blow_up * max(1.0, safe_norm(initial.velocity))
    if not (math.isfinite(distance_scale) and math.isfinite(speed_scale)):
        raise ValueError(
            "the flow cannot start at `params0`: blow_up x max(1, |params0|) = "
            f"{distance_scale:.3e} or blow_up x max(1, |theta'(0)|) = "
            f"{speed_scale:.3e} exceeds the float64 range; rescale the problem"
        )
    events = []
    if radius is not None:
        events.append(
            Event(
                FlowStatus.LEFT_REGION,
                lambda t, y: radius - safe_norm(y - params0),
                lambda t, y: f"|theta - theta0| reached radius = {radius:.6g}",
            )
        )
    events.append(
        Event(
            FlowStatus.BLOW_UP,
            lambda t, y: distance_scale - safe_norm(y - params0),
            lambda t, y: (
                f"|theta - theta0| reached {distance_scale:.3e} (blow_up = {blow_up:g} "
                "x max(1, |theta0|))"
            ),
        )
    )
    events.append(
        Event(
            FlowStatus.BLOW_UP,
            lambda t, y: speed_scale - safe_norm(dynamics(t, y)),
            lambda t, y: (
                f"|theta'| reached {speed_scale:.3e} (blow_up = {blow_up:g} x "
                "max(1, |theta'(0)|))" + dynamics.blow_up_detail(y)
            ),
        )
    )
    if rank_event is not None:
        events.append(rank_event)
    for event in events:
        if not event.function(t0, params0) > 0:
            raise ValueError(
                f"the flow cannot start at `params0`: {event.describe(t0, params0)}"
            )
    return tuple(events)


def _convergence_test(dynamics, params0, t0, t_last, initial, gtol, ftol, tolerances):
    """``converged(t, y)`` for :func:`integrate`: the output-speed and rest tests."""
    rest = None if ftol is None else RestTest(ftol, t_last, initial.loss)
    previous = {"state": params0, "t": t0}

    def converged(t, y):
        evaluation = dynamics.evaluate(t, y)
        if gtol is not None and evaluation.output_speed <= gtol:
            return f"|u'| = {evaluation.output_speed:.3e} <= gtol = {gtol:.3e}"
        if rest is not None:
            motion = _motion(previous["state"], y, *tolerances)
            step = t - previous["t"]
            previous.update(state=np.array(y), t=t)
            # At rest within a step of the end, the run finishes instead: the
            # stop would save nothing, and t_end says more.
            if rest.at_rest(t, step, evaluation.loss, motion):
                return _rest_message(ftol, evaluation.loss)
        return None

    return converged


def _sample(dynamics, t, theta, extras):
    """The outputs, the loss and the ``extras`` at a recorded state."""
    if extras:
        evaluation = dynamics.evaluate(t, theta)
        values = [getattr(evaluation, name) for name in extras]
        return evaluation.outputs, evaluation.loss, values
    outputs = dynamics.counter.value(theta)
    with np.errstate(**_QUIET):
        loss = dynamics.loss.value(outputs)
    if not math.isfinite(loss):
        raise FlowBreakdown(FlowStatus.BLOW_UP, f"the loss h(u) = {loss} is not finite")
    return outputs, loss, []


def _record(dynamics, result, initial, extras):
    """Evaluate the recorded states; a sample that cannot be evaluated ends the record."""
    params = result.states
    outputs = np.empty((params.shape[0], dynamics.counter.map.n_outputs))
    losses = np.empty(params.shape[0])
    recorded = {name: np.empty(params.shape[0]) for name in extras}
    keep = params.shape[0]
    status, message = result.status, result.message
    for k, theta in enumerate(params):
        try:
            outputs[k], losses[k], values = _sample(
                dynamics, result.times[k], theta, extras
            )
            for name, value in zip(extras, values, strict=True):
                recorded[name][k] = value
        except (FlowBreakdown, *DOMAIN_ERRORS) as error:
            keep = k  # the located event state itself may be unusable
            if status.success or k == 0:
                status = getattr(error, "status", FlowStatus.BLOW_UP)
                message = (
                    f"{FLOW_MESSAGES[status]} at t = {result.times[k]:.6g}: "
                    f"the sample cannot be evaluated: {error}"
                )
            break
    if keep == 0:
        # Only a model or loss that changed its mind gets here: the start was
        # evaluated above. Record that evaluation, the one the run began from.
        keep = 1
        outputs[0], losses[0] = initial.outputs, initial.loss
        for name in extras:
            recorded[name][0] = getattr(initial, name)
    return (
        {
            "times": result.times,
            "params": params,
            "outputs": outputs,
            "losses": losses,
            **recorded,
        },
        keep,
        status,
        message,
    )


def _trajectory(dynamics, method, arrays, keep, status, message, extras):
    """The :class:`Trajectory` of the first ``keep`` samples, all of them finite."""
    keep, status, message = finite_record(arrays, keep, status, message)
    counter = dynamics.counter
    return Trajectory(
        times=arrays["times"][:keep],
        outputs=arrays["outputs"][:keep],
        losses=arrays["losses"][:keep],
        params=arrays["params"][:keep],
        status=status,
        message=message,
        n_value_evals=counter.n_value,
        n_jacobian_evals=counter.n_jacobian,
        n_linear_solves=counter.n_solves,
        method=f"{dynamics.name}/{method}",
        extras={name: arrays[name][:keep] for name in extras},
    )


def _run(
    dynamics: Dynamics,
    params0,
    t_span,
    *,
    t_eval,
    rtol,
    atol,
    method,
    radius,
    blow_up,
    gtol,
    ftol,
    max_steps,
    jac=None,
    rank_event=None,
    extras=(),
) -> Trajectory:
    radius, blow_up, gtol, ftol, max_steps = _check_run_options(
        radius, blow_up, gtol, ftol, max_steps
    )
    w_solver = getattr(dynamics, "w_solver", None) if method in W_METHODS else None
    if method in W_METHODS and w_solver is None:
        raise ValueError(
            f"`method` = {method!r} (a Rosenbrock-W method) is the gradient flow's "
            "only (riemgn.flows.gradient_flow); pass an explicit method such as "
            "'DOP853'"
        )
    _start(dynamics.counter, dynamics.loss, params0)
    try:
        initial = dynamics.evaluate(t_span[0], params0)
    except FlowBreakdown as breakdown:
        raise ValueError(f"the flow cannot start at `params0`: {breakdown}") from None
    events = _events(dynamics, params0, t_span[0], initial, radius, blow_up, rank_event)
    t_last = t_span[1] if t_eval is None or not len(t_eval) else float(t_eval[-1])
    converged = _convergence_test(
        dynamics, params0, t_span[0], t_last, initial, gtol, ftol, (rtol, atol)
    )
    with np.errstate(**_QUIET):  # non-finite states are detected and reported
        result = integrate(
            dynamics,
            params0,
            t_span,
            method=method,
            rtol=rtol,
            atol=atol,
            t_eval=t_eval,
            jac=jac,
            w_solver=w_solver,
            events=events,
            max_steps=max_steps,
            converged=converged,
        )
    arrays, keep, status, message = _record(dynamics, result, initial, extras)
    return _trajectory(dynamics, method, arrays, keep, status, message, extras)


# ----------------------------------------------------------------------
# Public flows


def gauss_newton_flow(
    output_map,
    params0,
    loss,
    t_span,
    *,
    t_eval=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "DOP853",
    solver: str = "auto",
    metric_weight: float = 1.0,
    rank_rtol: float = 1e-8,
    radius: float | None = None,
    blow_up: float = 1e3,
    gtol: float | None = None,
    ftol: float | None = 0.0,
    max_steps: int = 100_000,
) -> Trajectory:
    r"""The Gauss-Newton gradient flow :math:`\theta' = -\tfrac1c J^+ \nabla h(F(\theta))`.

    In output space it is the Riemannian gradient flow of :math:`h` on the
    output manifold, :math:`u' = -\tfrac1c P_u \nabla h(u) = -\operatorname{grad} h(u)`.

    .. math::

        \theta'(t) = -\frac1c\, J(\theta)^+\, \nabla h\big(F(\theta)\big),
        \qquad J^+ = R^{-1}Q^\top,

    where :math:`J = QR` is the thin QR factorization of the ``(n, p)``
    Jacobian (:math:`p \le n`), :math:`\nabla h` the loss gradient and
    :math:`c` the metric weight.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F` (a :class:`manifolds.OutputMap`; underparameterized:
        :math:`J` of full column rank).
    params0 : ndarray, shape (n_params,)
        The initial parameters :math:`\theta_0`.
    loss : loss on outputs
        E.g. :class:`riemgn.losses.SquaredLoss`, with ``n_outputs`` equal to
        the map's.
    t_span : tuple of float
        ``(t0, t1)`` with ``t0 < t1``.
    t_eval : ndarray, shape (k,), optional
        The recorded times after ``t0`` (strictly increasing, inside
        ``t_span``); by default every accepted step. ``t0`` is always the
        first sample, the integration ends at ``t_eval[-1]``, and a run that
        ends early also records its last state (the event's, or the last
        accepted one).
    rtol, atol : float
        The ODE solver's tolerances on :math:`\theta`; ``rtol`` must be at
        least :math:`100\epsilon \approx 2.2 \times 10^{-14}`, the smallest
        relative tolerance float64 can meet.
    method : str, default "DOP853"
        A ``scipy.integrate.solve_ivp`` method name.
    solver : {"auto", "dense", "krylov", "qr", "lstsq", "normal_equations"}, default "auto"
        How :math:`J^+\nabla h` is computed. ``"dense"`` (= ``"qr"``)
        factorizes :math:`J` (:func:`manifolds.linalg.factorize`);
        ``"krylov"`` never forms :math:`J`: preconditioned LSMR with
        products of :math:`J` (``jvp``, ``vjp``), whose rank event is
        decided on the estimated singular values of a sketch of :math:`J`;
        ``"auto"`` is dense while :math:`8np` bytes fit
        :data:`manifolds.linalg.DENSE_BUDGET`, matrix-free above
        (:func:`manifolds.linalg.resolve_solver`). ``"lstsq"`` is LAPACK's
        SVD least squares and ``"normal_equations"`` the practitioner's
        :math:`(J^\top J)^{-1}J^\top \nabla h`, which squares the condition
        number and is kept only to compare against. The Krylov solves run
        to ``1e-4 rtol`` (within :math:`[10^{-14}, 10^{-12}]`), so that the
        integrator's error estimate does not see where their iteration
        counts change; one that misses it ends the flow with
        ``solver_failed``.
    metric_weight : float, default 1.0
        The weight :math:`c` of the output metric. To compare with the
        Riemannian gradient flow on an :class:`~manifolds.OutputManifold`,
        pass the manifold's ``metric_weight``.
    rank_rtol : float, default 1e-8
        The flow stops with ``rank_loss`` when :math:`\sigma_{min}(J) \le`
        ``rank_rtol`` :math:`\sigma_{max}(J)`.
    radius : float, optional
        Stop with ``left_region`` when :math:`\|\theta - \theta_0\|` reaches it.
    blow_up : float, default 1e3
        Stop with ``blow_up`` when :math:`\|\theta - \theta_0\| \ge`
        ``blow_up`` :math:`\max(1, \|\theta_0\|)` or :math:`\|\theta'\| \ge`
        ``blow_up`` :math:`\max(1, \|\theta'(0)\|)`.
    gtol : float, optional
        Stop with ``converged`` when the output speed :math:`\|u'\| = \|J\theta'\|`
        is at most ``gtol``.
    ftol : float or None, default 0.0
        Stop with ``converged`` when the flow is at rest: in each of
        ``REST_STEPS = 5`` consecutive accepted steps the loss decreased by
        at most ``ftol`` :math:`h` *and* :math:`\theta` moved by at most
        ``REST_MOTION = 10`` error tolerances (the RMS of
        :math:`\Delta\theta_i/(atol + rtol|\theta_i|)`). With the default 0
        the loss must not decrease at all: the test fires only once the flow
        no longer changes at the resolution of the integration (see the
        module notes). ``None`` disables the test and runs to ``t1``.
    max_steps : int, default 100000
        The budget of accepted steps (``solver_failed`` beyond it).

    Returns
    -------
    Trajectory
        With ``params``, ``outputs``, ``losses``, the status and the counts.
        Every recorded value is finite: a run whose state, outputs, loss or
        velocity stops being finite (an overflow included) ends at the last
        finite state with ``blow_up`` and a message that says what and where.

    Raises
    ------
    ValueError
        For a reversed or non-finite ``t_span`` (or one with a bool, string or
        ``None`` entry), a non-finite ``params0``, a loss whose ``y`` does not
        match the outputs, an unknown ``method`` or ``solver``, an option out
        of range (``rtol`` below :math:`100\epsilon` included),
        ``n_params > n_outputs``, or a start where the flow cannot be
        evaluated: :math:`F(\theta_0)`, the loss (which may overflow) or the
        velocity not finite, or :math:`J(\theta_0)` rank-deficient. An error
        raised by the map or the loss that is not a domain error (a wrong
        shape, a ``TypeError``) propagates unchanged, at the start or later.
    TypeError
        If ``output_map`` does not implement :class:`manifolds.OutputMap`,
        ``loss`` is not a loss on outputs, or an option is not a number.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2))
    >>> network = TwoLayerNetwork(2, 3)
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(X)
    >>> y = F.value(theta0 + 0.1 * rng.normal(size=6))
    >>> trajectory = gauss_newton_flow(F, theta0, SquaredLoss(y), (0.0, 5.0))
    >>> trajectory.status.value
    't_end'
    >>> bool(trajectory.losses[-1] < 1e-4 * trajectory.losses[0])
    True
    """
    params0, t_span, t_eval = _validate_common(
        output_map, params0, loss, t_span, t_eval, rtol, atol, method
    )
    if not isinstance(solver, str) or solver not in SOLVERS + GN_SOLVERS:
        raise ValueError(
            f"`solver` must be one of {SOLVERS + GN_SOLVERS}, got {describe(solver)}"
        )
    metric_weight = check_positive_real("metric_weight", metric_weight)
    rank_rtol = check_positive_real("rank_rtol", rank_rtol)
    if rank_rtol >= 1:
        raise ValueError(f"`rank_rtol` must be < 1, got {rank_rtol}")
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    if p > n:
        raise ValueError(
            f"the Gauss-Newton flow needs p <= n, got n_params = {p} > n_outputs = "
            f"{n}: J^+ J is not the identity for an overparameterized map; use "
            "levenberg_marquardt_flow (kernel form) instead"
        )
    if solver in SOLVERS:
        solver = {"dense": "qr", "krylov": "krylov"}[resolve_solver(solver, n, p)]
    dynamics = GaussNewton(
        Counter(output_map),
        loss,
        params0,
        solver=solver,
        rank_rtol=rank_rtol,
        metric_weight=metric_weight,
        krylov_tol=krylov_tolerance(rtol),
    )
    # Stop a little before the threshold at which the velocity stops existing.
    margin = 2.0 * rank_rtol
    rank_event = Event(
        FlowStatus.RANK_LOSS,
        lambda t, y: dynamics.rank_margin(y, margin),
        lambda t, y: (
            f"sigma_min/sigma_max of J fell to {margin:.3e} (2 x rank_rtol = "
            f"{rank_rtol:.3e}); J^+ does not exist beyond this point"
        ),
        exact=lambda t, y: dynamics.rank_margin(y, margin, exact=True),
    )
    return _run(
        dynamics,
        params0,
        t_span,
        t_eval=t_eval,
        rtol=rtol,
        atol=atol,
        method=method,
        radius=radius,
        blow_up=blow_up,
        gtol=gtol,
        ftol=ftol,
        max_steps=max_steps,
        rank_event=rank_event,
    )


def levenberg_marquardt_flow(
    output_map,
    params0,
    loss,
    t_span,
    *,
    damping,
    t_eval=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "DOP853",
    kernel_solver: str = "eigh",
    solver: str = "auto",
    rank_rtol: float = 1e-13,
    radius: float | None = None,
    blow_up: float = 1e3,
    gtol: float | None = None,
    ftol: float | None = 0.0,
    max_steps: int = 100_000,
) -> Trajectory:
    r"""The Levenberg-Marquardt flow :math:`\theta' = -J^\top(K + \lambda_t I)^{-1}\nabla h`.

    .. math::

        \theta' = -(J^\top J + \lambda_t I)^{-1} J^\top \nabla h
                = -J^\top (K + \lambda_t I)^{-1} \nabla h, \qquad
        u' = -K (K + \lambda_t I)^{-1} \nabla h,

    where :math:`K = JJ^\top` is the empirical neural tangent kernel and
    :math:`\lambda_t = \text{damping}(t, \text{state})`.

    When :math:`p \le n` the direction is the least-squares solution of the
    stacked system :math:`[J; \sqrt{\lambda_t} I]`, by QR. When :math:`p > n`
    it is the kernel form: with :math:`K = U\Lambda U^\top`,
    :math:`\theta' = -J^\top U(\Lambda+\lambda_t)^{-1}U^\top\nabla h`, using
    the map's closed-form ``neural_tangent_kernel`` when it has one. Only
    ``(n, n)`` and ``(n, p)`` arrays are allocated, never a ``(p, p)`` one.
    The implicit methods (``"BDF"``, ``"Radau"``, ``"LSODA"``) estimate a
    dense ``(p, p)`` Jacobian of the right-hand side, so they are refused in
    the kernel form (:math:`p > n`).

    For the squared loss the slowest output-space rate is
    :math:`\lambda_{min}(K_t)/(\lambda_{min}(K_t) + \lambda_t)`: at least
    :math:`1/(1+\varepsilon)` with
    :class:`~riemgn.damping.KernelTied` (``epsilon``), however
    ill-conditioned :math:`K` is (THEORY §3).

    Parameters
    ----------
    output_map, params0, loss, t_span, t_eval, rtol, atol, method, radius, blow_up, gtol, ftol, max_steps
        As in :func:`riemgn.flows.gauss_newton_flow`; ``params0`` is an
        ndarray of shape ``(n_params,)`` and ``t_eval`` of shape ``(k,)``.
    damping : float or schedule
        A number :math:`\lambda \ge 0` (a :class:`~riemgn.damping.Constant`),
        a schedule such as :class:`~riemgn.damping.KernelTied` or
        :class:`~riemgn.damping.ResidualProportional`, or any callable
        ``damping(t, state) -> float`` with ``state`` a
        :class:`~riemgn.damping.DampingState`.
    kernel_solver : {"eigh", "svd"}, default "eigh"
        For :math:`p > n`: diagonalize :math:`K` (fast; resolves
        :math:`\lambda_{min}(K)` down to about :math:`10^{-13}\lambda_{max}`),
        or take the thin SVD of :math:`J` (resolves :math:`\sigma_{min}(J)` to
        relative accuracy :math:`\epsilon\operatorname{cond}(J)`, a few times
        slower).
    solver : {"auto", "dense", "krylov"}, default "auto"
        ``"dense"`` forms :math:`J` (the stacked QR, or the kernel form with
        ``kernel_solver``); ``"krylov"`` never forms it: for :math:`p \le n`
        LSMR on :math:`[J; \sqrt{\lambda_t} I]`, for :math:`p > n` the map's
        closed-form kernel when it has one (exact eigenvalues, :math:`J^\top`
        by vjp), else preconditioned CG with kernel products and only the
        largest and smallest kernel eigenvalues, estimated (so a damping
        schedule sees those two). From ``n_outputs >= 1000`` the kernel form
        diagonalizes the kernel only once, at a reference point, and
        preconditions CG and the :math:`\lambda_{min}` iteration with it at
        every other point (:class:`manifolds.linalg.ReferenceKernel`; method
        ``levenberg_marquardt/kernel_reference``). ``"auto"`` is dense while :math:`8np`
        bytes fit :data:`manifolds.linalg.DENSE_BUDGET`.
    rank_rtol : float, default 1e-13
        The flow stops with ``rank_loss`` when :math:`\lambda_{min}(K) \le`
        ``rank_rtol`` :math:`\lambda_{max}(K)` (eigenvalues of :math:`G` when
        :math:`p \le n`) while :math:`\lambda_t` is below the same threshold:
        :math:`K + \lambda_t I` is then numerically singular. A larger damping
        regularizes a singular kernel, and the flow goes on.

    Returns
    -------
    Trajectory
        With ``extras["damping"]`` and ``extras["lambda_min"]``
        (:math:`\lambda_{min}(K_t)`, or of :math:`G_t` when :math:`p \le n`)
        at each sample.

    Raises
    ------
    ValueError
        As :func:`riemgn.flows.gauss_newton_flow` (except for
        ``n_params > n_outputs``, which is allowed here), for a negative
        damping, an unknown ``kernel_solver``, or an implicit ``method`` with
        ``n_params > n_outputs``.
    TypeError
        If ``damping`` is neither a number nor a callable, or as
        :func:`riemgn.flows.gauss_newton_flow`.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> from riemgn.dynamics.damping import KernelTied
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5, 4))
    >>> network = TwoLayerNetwork(4, 8)   # p = 32 > n = 5
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(X)
    >>> y = F.value(theta0) + 0.1
    >>> trajectory = levenberg_marquardt_flow(
    ...     F, theta0, SquaredLoss(y), (0.0, 10.0), damping=KernelTied(1.0))
    >>> trajectory.method
    'levenberg_marquardt/kernel/DOP853'
    >>> bool(np.linalg.norm(trajectory.outputs[-1] - y) < 1e-2)
    True
    """
    params0, t_span, t_eval = _validate_common(
        output_map, params0, loss, t_span, t_eval, rtol, atol, method
    )
    schedule = as_schedule(damping)
    rank_rtol = check_positive_real("rank_rtol", rank_rtol)
    if rank_rtol >= 1:
        raise ValueError(f"`rank_rtol` must be < 1, got {rank_rtol}")
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    if p > n and method in IMPLICIT_METHODS:
        raise ValueError(
            f"`method` = {method!r} would estimate a dense ({p}, {p}) Jacobian of the "
            f"right-hand side, but the kernel form (n_params = {p} > n_outputs = {n}) "
            "never builds a p x p array; pass an explicit method such as 'DOP853'"
        )
    if kernel_solver not in KERNEL_SOLVERS:
        raise ValueError(
            f"`kernel_solver` must be one of {KERNEL_SOLVERS}, got {describe(kernel_solver)}"
        )
    dynamics = LevenbergMarquardt(
        Counter(output_map),
        loss,
        params0,
        schedule=schedule,
        kernel_solver=kernel_solver,
        rank_rtol=rank_rtol,
        solver=resolve_solver(solver, n, p),
        krylov_tol=krylov_tolerance(rtol),
    )
    return _run(
        dynamics,
        params0,
        t_span,
        t_eval=t_eval,
        rtol=rtol,
        atol=atol,
        method=method,
        radius=radius,
        blow_up=blow_up,
        gtol=gtol,
        ftol=ftol,
        max_steps=max_steps,
        extras=("damping", "lambda_min"),
    )


def gradient_flow(
    output_map,
    params0,
    loss,
    t_span,
    *,
    t_eval=None,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    method: str = "BDF",
    solver: str = "auto",
    radius: float | None = None,
    blow_up: float = 1e3,
    gtol: float | None = None,
    ftol: float | None = 0.0,
    max_steps: int = 100_000,
) -> Trajectory:
    r"""The gradient flow :math:`\theta' = -J^\top \nabla h(F(\theta))`.

    .. math::

        \theta' = -J^\top \nabla h, \qquad u' = -K\nabla h, \qquad
        \frac{\partial \theta'}{\partial \theta}
            = -\big(J^\top \nabla^2 h\, J + H_{\nabla h}\big),

    where :math:`K = JJ^\top` and :math:`H_\nu = \sum_j \nu_j \nabla^2 F_j`.

    The default solver is the implicit ``"BDF"``, because the gradient flow
    is stiff exactly when it is interesting: its rates are the eigenvalues of
    :math:`G = J^\top J`, which span :math:`\operatorname{cond}(G)`. An
    explicit method must keep its step below about :math:`2/\lambda_{max}`
    for stability while the slow modes need a time of order
    :math:`1/\lambda_{min}`, i.e. :math:`\operatorname{cond}(G)` steps; BDF's
    steps grow once the fast modes have decayed. The implicit methods are
    given the analytic Jacobian above, a dense ``(p, p)`` matrix built from
    :math:`p` Hessian-vector products, so they are refused for
    ``p > 4000``: pass an explicit ``method`` (e.g. ``"RK45"``) there.

    Parameters
    ----------
    output_map, params0, loss, t_span, t_eval, radius, blow_up, gtol, ftol, max_steps
        As in :func:`riemgn.flows.gauss_newton_flow`; ``params0`` is an
        ndarray of shape ``(n_params,)`` and ``t_eval`` of shape ``(k,)``.
    rtol, atol : float
        The ODE solver's tolerances on :math:`\theta`; ``rtol`` must be at
        least :math:`100\epsilon \approx 2.2 \times 10^{-14}`, the smallest
        relative tolerance float64 can meet.
    method : str, default "BDF"
        A ``scipy.integrate.solve_ivp`` method name, or ``"ROS34PW2"``: the
        Rosenbrock-W method of Rang and Angermann (order 3, L-stable), for
        any ``n_params``. Its four linear systems per step,
        :math:`(I + \gamma h J^\top J)k = r` with the Gauss-Newton part of the
        Jacobian at the step's state, are solved through the kernel,
        :math:`r - J^\top(K + I/\gamma h)^{-1}Jr`, by CG preconditioned with
        the eigendecomposition of a reference kernel
        (:class:`manifolds.linalg.ReferenceKernel`), and its steps land on
        the ``t_eval`` times.
    solver : {"auto", "dense", "krylov"}, default "auto"
        ``"krylov"`` takes :math:`J^\top\nabla h` and :math:`\|J\theta'\|`
        from ``vjp`` and ``jvp`` and never forms :math:`J` (then the implicit
        methods, which need :math:`J`, are refused); ``"auto"`` is dense
        while :math:`8np` bytes fit :data:`manifolds.linalg.DENSE_BUDGET`.

    Returns
    -------
    Trajectory
        With ``params``, ``outputs``, ``losses``, the status and the counts.

    Raises
    ------
    ValueError
        As :func:`riemgn.flows.gauss_newton_flow` (except for
        ``n_params > n_outputs``, which is allowed here), and for an implicit
        method with ``n_params > 4000``.
    TypeError
        If ``loss`` has no ``hessian_vector`` (which the implicit methods'
        Jacobian needs; it is required whatever the ``method``), or as
        :func:`riemgn.flows.gauss_newton_flow`.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2))
    >>> network = TwoLayerNetwork(2, 3)
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(X)
    >>> y = F.value(theta0 + 0.1 * rng.normal(size=6))
    >>> trajectory = gradient_flow(F, theta0, SquaredLoss(y), (0.0, 10.0))
    >>> bool(trajectory.losses[-1] < trajectory.losses[0])
    True
    """
    params0, t_span, t_eval = _validate_common(
        output_map, params0, loss, t_span, t_eval, rtol, atol, method
    )
    p = int(output_map.n_params)
    if method in IMPLICIT_METHODS and p > MAX_DENSE_PARAMS:
        raise ValueError(
            f"method={method!r} needs the dense ({p}, {p}) Jacobian of the right-hand "
            f"side, too large for n_params = {p} > {MAX_DENSE_PARAMS}; pass an "
            "explicit method such as method='RK45'"
        )
    if not callable(getattr(loss, "hessian_vector", None)):
        raise TypeError(
            "`loss` must provide hessian_vector(u, v) for the implicit solver"
        )
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    solver = resolve_solver(solver, n, p)
    if solver == "krylov" and method in IMPLICIT_METHODS:
        raise ValueError(
            f"`method` = {method!r} needs the dense Jacobian J, which `solver` = "
            "'krylov' never forms; pass an explicit method such as 'RK45'"
        )
    dynamics = GradientFlow(
        Counter(output_map),
        loss,
        params0,
        solver=solver,
        krylov_tol=w_tolerance(rtol),
    )
    return _run(
        dynamics,
        params0,
        t_span,
        t_eval=t_eval,
        rtol=rtol,
        atol=atol,
        method=method,
        radius=radius,
        blow_up=blow_up,
        gtol=gtol,
        ftol=ftol,
        max_steps=max_steps,
        jac=dynamics.jacobian if method in IMPLICIT_METHODS else None,
    )
