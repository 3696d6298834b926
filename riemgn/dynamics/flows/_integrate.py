r"""A step-by-step driver for scipy's ODE solvers, with terminal events and breakdowns.

``scipy.integrate.solve_ivp`` loses the whole solution when the
right-hand side raises, and its events cannot report *why* a flow stopped.
This driver steps a ``scipy.integrate.OdeSolver`` itself:

* after each accepted step it evaluates the terminal events, each a function
  ``g(t, y)`` that is positive inside the admissible region; a sign change is
  located with ``scipy.optimize.brentq`` on the step's dense output, and
  the run ends at the located state;
* a right-hand side that cannot be evaluated raises :class:`FlowBreakdown`
  with a status, and the run ends at the last accepted state;
* a failed step (``solver.status == "failed"``) ends the run with
  ``solver_failed`` and scipy's message.

The returned states are therefore always finite.

:class:`RestTest` (with ``REST_STEPS`` and ``REST_MOTION``) is the test for
a flow at rest, shared by the parameter-space flows, which run on this
driver, and the intrinsic flow of :mod:`riemgn.dynamics.flows.intrinsic`,
which steps on the manifold with its own Runge-Kutta loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.optimize

from manifolds.exceptions import (
    KrylovConvergenceError,
    NotAnImmersionError,
    OutsideBallError,
)
from riemgn._checks import first_non_finite
from riemgn.dynamics.flows._rosenbrock import RosenbrockW
from riemgn.dynamics.flows.trajectory import FLOW_MESSAGES, FlowStatus

__all__ = [
    "METHODS",
    "REST_MOTION",
    "REST_STEPS",
    "Event",
    "FlowBreakdown",
    "IntegrationResult",
    "RestTest",
    "W_METHODS",
    "finite_record",
    "integrate",
    "status_of",
]

METHODS = {
    "RK23": scipy.integrate.RK23,
    "RK45": scipy.integrate.RK45,
    "DOP853": scipy.integrate.DOP853,
    "Radau": scipy.integrate.Radau,
    "BDF": scipy.integrate.BDF,
    "LSODA": scipy.integrate.LSODA,
    "ROS34PW2": RosenbrockW,
}
IMPLICIT_METHODS = ("Radau", "BDF", "LSODA")
#: The linearly implicit (Rosenbrock-W) methods: they take a ``w_solver``.
W_METHODS = ("ROS34PW2",)


class FlowBreakdown(Exception):
    """Raised by a right-hand side that cannot be evaluated; ends the run."""

    def __init__(self, status: FlowStatus, message: str):
        self.status = FlowStatus(status)
        super().__init__(message)


@dataclass(frozen=True)
class Event:
    """A terminal event: ``function(t, y) > 0`` inside; crossing zero ends the run.

    ``describe(t, y)`` returns the message's specifics at the event. The
    driver uses only the sign of ``function`` at the accepted states; root
    finding needs its values, and takes them from ``exact`` when given (a
    ``function`` that returns a cheaper value of the same sign, such as a
    certified bound, then changes nothing in a run).
    """

    status: FlowStatus
    function: Callable[[float, np.ndarray], float]
    describe: Callable[[float, np.ndarray], str]
    exact: Callable[[float, np.ndarray], float] | None = None


@dataclass(frozen=True)
class IntegrationResult:
    times: np.ndarray
    states: np.ndarray
    status: FlowStatus
    message: str
    n_steps: int


def status_of(error: BaseException, *, solver_errors: tuple = ()) -> FlowStatus:
    """The status of a domain error raised by a flow's dynamics or its manifold.

    Leaving the ball is ``left_region`` and :class:`~manifolds.NotAnImmersionError`
    is ``rank_loss``; then ``solver_errors`` (the caller's own solver
    failures) and a Krylov solve that misses its tolerance
    (:class:`~manifolds.exceptions.KrylovConvergenceError`) are
    ``solver_failed``; any other ``LinAlgError`` (a
    factorization of :math:`J`) is ``rank_loss``, and the rest (an overflow,
    a non-finite value, another failure of the geometry) ``blow_up``.
    """
    if isinstance(error, OutsideBallError):
        return FlowStatus.LEFT_REGION
    if isinstance(error, NotAnImmersionError):
        return FlowStatus.RANK_LOSS
    if isinstance(error, solver_errors + (KrylovConvergenceError,)):
        return FlowStatus.SOLVER_FAILED
    if isinstance(error, np.linalg.LinAlgError):
        return FlowStatus.RANK_LOSS
    return FlowStatus.BLOW_UP


def finite_record(arrays: dict, keep: int, status: FlowStatus, message: str):
    """``(keep, status, message)`` of a record cut before its first non-finite sample.

    ``arrays`` maps names to arrays (or ``None``) whose first axis is the
    sample, ``"times"`` among them; only the first ``keep`` samples count.
    Every flow checks each value as it records it, so this only guards the
    rule that a trajectory is finite: a non-finite sample ends the record
    with ``blow_up``.
    """
    bad = first_non_finite(
        {
            name: None if values is None else values[:keep]
            for name, values in arrays.items()
        }
    )
    if bad is None:
        return keep, status, message
    status = FlowStatus.BLOW_UP
    return (
        max(bad[0], 1),
        status,
        f"{FLOW_MESSAGES[status]}: the recorded `{bad[1]}` is not finite at "
        f"t = {arrays['times'][bad[0]]:.6g}",
    )


#: The number of consecutive steps over which a flow must be at rest (the
#: loss setting no new low by more than ``ftol`` times itself, the state
#: moving by at most ``REST_MOTION`` times the step's resolution) to stop
#: with ``converged``; see the notes on convergence in
#: :mod:`riemgn.dynamics.flows.parameter`.
REST_STEPS = 5
#: How far, in units of the step's resolution (for an adaptive step the
#: integrator's error tolerance, e.g. the RMS of
#: :math:`\Delta\theta_i / (atol + rtol\,|\theta_i|)`, scipy's error norm), the
#: state may move in one step of a flow at rest. At the noise floor of an
#: explicit Runge-Kutta method it moves about 1.6 of them per step.
REST_MOTION = 10.0


class RestTest:
    """The test for a flow at rest, shared by the parameter-space and intrinsic flows.

    A step is *calm* when the loss set no new low (by more than ``ftol``
    times the best loss so far), the caller's own condition ``steady``
    holds, and the state moved by at most ``REST_MOTION`` times the step's
    resolution. The flow is at rest after ``REST_STEPS`` calm steps in a
    row, unless the end of the run is less than one step away (it then
    finishes with ``t_end``).
    """

    def __init__(self, ftol: float, t_end: float, loss0: float):
        self.ftol, self.t_end = ftol, t_end
        self.best_loss = loss0
        self.calm_steps = 0

    def at_rest(
        self, t: float, step: float, loss: float, motion: float, steady: bool = True
    ) -> bool:
        """Count the step that ended at ``t`` (of length ``step``); ``True`` once at rest."""
        best = self.best_loss
        new_low = loss < best - self.ftol * abs(best)
        calm = not new_low and steady and motion <= REST_MOTION
        self.calm_steps = self.calm_steps + 1 if calm else 0
        self.best_loss = min(best, loss)
        return self.calm_steps >= REST_STEPS and self.t_end - t > step


def _locate(event: Event, interpolant, t_old: float, t_new: float) -> float:
    function = event.function if event.exact is None else event.exact

    def g(t):
        return function(t, interpolant(t))

    g_old = g(t_old)
    if not g_old > 0:  # already outside at the step's start (cannot happen often)
        return t_old
    return scipy.optimize.brentq(g, t_old, t_new, xtol=1e-14 * max(1.0, abs(t_new)))


class _Samples:
    """The recorded times and states of a run: ``t0``, then ``t_eval``'s or every step's."""

    def __init__(self, t0: float, y0: np.ndarray, t_eval):
        self.times, self.states = [t0], [np.array(y0, dtype=np.float64)]
        self.pending = None if t_eval is None else [float(t) for t in t_eval if t > t0]

    def add(self, t: float, y: np.ndarray) -> None:
        self.times.append(t)
        self.states.append(np.array(y))

    def record_step(self, t_new, y_new, t_end, y_end, dense, fired) -> None:
        """The samples of an accepted step that ends at ``t_end`` (an event's time, or ``t_new``)."""
        if self.pending is None:
            if t_end > self.times[-1]:
                self.add(t_end, y_end)
            return
        while self.pending and self.pending[0] <= t_end:
            t = self.pending.pop(0)
            self.add(t, y_new if t == t_new else dense()(t))
        if fired and (not self.times or self.times[-1] < t_end):
            self.add(t_end, y_end)

    def result(self, status, message, n_steps) -> IntegrationResult:
        return IntegrationResult(
            np.array(self.times),
            np.array(self.states),
            FlowStatus(status),
            message,
            n_steps,
        )


def _first_event(events, t_old, t_new, y_new, dense):
    """The earliest terminal event in the step, as ``(t_event, event)``, or ``None``.

    Every sign at ``y_new`` is taken before any root finding: the dense
    output evaluates new states, which may push ``y_new``'s cached work out.
    """
    fired = None
    crossed = [event for event in events if not event.function(t_new, y_new) > 0]
    for event in crossed:
        t_event = _locate(event, dense(), t_old, t_new)
        if fired is None or t_event < fired[0]:
            fired = (t_event, event)
    return fired


def _breakdown(breakdown: FlowBreakdown, where: str) -> tuple[FlowStatus, str]:
    return breakdown.status, f"{FLOW_MESSAGES[breakdown.status]}{where}: {breakdown}"


def integrate(
    fun,
    y0: np.ndarray,
    t_span: tuple[float, float],
    *,
    method: str,
    rtol: float,
    atol: float,
    t_eval: np.ndarray | None = None,
    jac=None,
    w_solver=None,
    events: tuple[Event, ...] = (),
    max_steps: int = 100_000,
    converged: Callable[[float, np.ndarray], str | None] | None = None,
) -> IntegrationResult:
    """Integrate ``y' = fun(t, y)`` over ``t_span``, stopping at events and breakdowns.

    ``t_eval`` selects the recorded times after ``t0`` (``None``: every
    accepted step); ``t0`` is always the first sample.
    ``converged(t, y)`` is checked after each accepted step; a non-``None``
    return is the message of a ``converged`` stop. ``jac`` goes to the
    implicit methods and ``w_solver`` to the Rosenbrock-W ones, which also
    step onto the ``t_eval`` times (``tstops``).
    """
    t0, t1 = float(t_span[0]), float(t_span[1])
    options = {"rtol": rtol, "atol": atol}
    if method in IMPLICIT_METHODS and jac is not None:
        options["jac"] = jac
    if method in W_METHODS and w_solver is not None:
        options["w_solver"] = w_solver
    # The first sample is always t0; t_eval adds the later ones, and the
    # integration ends at the last of them.
    samples = _Samples(t0, y0, t_eval)
    if samples.pending:
        t1 = min(t1, samples.pending[-1])
        if method in W_METHODS:  # samples from steps, not from the interpolant
            options["tstops"] = list(samples.pending)
    t_stop, y_stop = t0, np.array(y0, dtype=np.float64)

    def stop(status, message, n_steps):
        # On a breakdown or a failure, keep the last accepted state too.
        if t_stop > samples.times[-1]:
            samples.add(t_stop, y_stop)
        return samples.result(status, message, n_steps)

    try:
        solver = METHODS[method](fun, t0, np.array(y0, dtype=np.float64), t1, **options)
    except FlowBreakdown as breakdown:
        return samples.result(*_breakdown(breakdown, f" at t = {t0:.6g}"), 0)
    n_steps = 0
    while True:
        if n_steps >= max_steps:
            return stop(
                FlowStatus.SOLVER_FAILED,
                f"{FLOW_MESSAGES[FlowStatus.SOLVER_FAILED]}: the step budget "
                f"max_steps = {max_steps} ran out at t = {t_stop:.6g} of {t1:.6g}",
                n_steps,
            )
        try:
            step_message = solver.step()
        except FlowBreakdown as breakdown:
            where = f" during the step from t = {t_stop:.6g}"
            return stop(*_breakdown(breakdown, where), n_steps)
        if solver.status == "failed":
            return stop(
                FlowStatus.SOLVER_FAILED,
                f"{FLOW_MESSAGES[FlowStatus.SOLVER_FAILED]} at t = {solver.t:.6g}: "
                f"{step_message}",
                n_steps,
            )
        n_steps += 1
        t_old, t_new = solver.t_old, solver.t
        interpolant = None

        def dense():
            nonlocal interpolant
            if interpolant is None:
                interpolant = solver.dense_output()
            return interpolant

        try:
            fired = _first_event(events, t_old, t_new, solver.y, dense)
        except FlowBreakdown as breakdown:
            return stop(*_breakdown(breakdown, f" near t = {t_new:.6g}"), n_steps)
        t_end = t_new if fired is None else fired[0]
        y_end = solver.y if fired is None else dense()(t_end)
        samples.record_step(t_new, solver.y, t_end, y_end, dense, fired is not None)
        t_stop, y_stop = t_end, np.array(y_end)
        if fired is not None:
            t_event, event = fired
            return samples.result(
                event.status,
                f"{FLOW_MESSAGES[event.status]} at t = {t_event:.6g}: "
                f"{event.describe(t_event, y_end)}",
                n_steps,
            )
        if converged is not None:
            try:
                reason = converged(t_new, solver.y)
            except FlowBreakdown as breakdown:
                return stop(*_breakdown(breakdown, ""), n_steps)
            if reason is not None:
                if samples.pending is not None and samples.times[-1] < t_new:
                    samples.add(t_new, solver.y)
                return samples.result(
                    FlowStatus.CONVERGED,
                    f"{FLOW_MESSAGES[FlowStatus.CONVERGED]} at t = {t_new:.6g}: "
                    f"{reason}",
                    n_steps,
                )
        if solver.status == "finished":
            return samples.result(
                FlowStatus.T_END,
                f"{FLOW_MESSAGES[FlowStatus.T_END]} (t = {t1:.6g}) after {n_steps} "
                "steps",
                n_steps,
            )
