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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.optimize

from riemgn.dynamics.flows.trajectory import FLOW_MESSAGES, FlowStatus

__all__ = ["METHODS", "Event", "FlowBreakdown", "IntegrationResult", "integrate"]

METHODS = {
    "RK23": scipy.integrate.RK23,
    "RK45": scipy.integrate.RK45,
    "DOP853": scipy.integrate.DOP853,
    "Radau": scipy.integrate.Radau,
    "BDF": scipy.integrate.BDF,
    "LSODA": scipy.integrate.LSODA,
}
IMPLICIT_METHODS = ("Radau", "BDF", "LSODA")


class FlowBreakdown(Exception):
    """Raised by a right-hand side that cannot be evaluated; ends the run."""

    def __init__(self, status: FlowStatus, message: str):
        self.status = FlowStatus(status)
        super().__init__(message)


@dataclass(frozen=True)
class Event:
    """A terminal event: ``function(t, y) > 0`` inside; crossing zero ends the run.

    ``describe(t, y)`` returns the message's specifics at the event.
    """

    status: FlowStatus
    function: Callable[[float, np.ndarray], float]
    describe: Callable[[float, np.ndarray], str]


@dataclass(frozen=True)
class IntegrationResult:
    times: np.ndarray
    states: np.ndarray
    status: FlowStatus
    message: str
    n_steps: int


def _locate(event: Event, interpolant, t_old: float, t_new: float) -> float:
    def g(t):
        return event.function(t, interpolant(t))

    g_old = g(t_old)
    if not g_old > 0:  # already outside at the step's start (cannot happen often)
        return t_old
    return scipy.optimize.brentq(g, t_old, t_new, xtol=1e-14 * max(1.0, abs(t_new)))


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
    events: tuple[Event, ...] = (),
    max_steps: int = 100_000,
    converged: Callable[[float, np.ndarray], str | None] | None = None,
) -> IntegrationResult:
    """Integrate ``y' = fun(t, y)`` over ``t_span``, stopping at events and breakdowns.

    ``t_eval`` selects the recorded times after ``t0`` (``None``: every
    accepted step); ``t0`` is always the first sample.
    ``converged(t, y)`` is checked after each accepted step; a non-``None``
    return is the message of a ``converged`` stop.
    """
    t0, t1 = float(t_span[0]), float(t_span[1])
    options = {"rtol": rtol, "atol": atol}
    if method in IMPLICIT_METHODS and jac is not None:
        options["jac"] = jac
    # The first sample is always t0; t_eval adds the later ones, and the
    # integration ends at the last of them.
    times, states = [t0], [np.array(y0, dtype=np.float64)]
    pending = None if t_eval is None else [float(t) for t in t_eval if t > t0]
    if pending:
        t1 = min(t1, pending[-1])

    def finish(status, message, n_steps, *, last_state=False):
        # On a breakdown or a failure, keep the last accepted state too.
        if last_state and t_stop > times[-1]:
            times.append(t_stop)
            states.append(np.array(y_stop))
        return IntegrationResult(
            np.array(times), np.array(states), FlowStatus(status), message, n_steps
        )

    t_stop, y_stop = t0, np.array(y0, dtype=np.float64)
    try:
        solver = METHODS[method](fun, t0, np.array(y0, dtype=np.float64), t1, **options)
    except FlowBreakdown as breakdown:
        return finish(
            breakdown.status,
            f"{FLOW_MESSAGES[breakdown.status]} at t = {t0:.6g}: {breakdown}",
            0,
        )
    n_steps = 0
    while True:
        if n_steps >= max_steps:
            return finish(
                FlowStatus.SOLVER_FAILED,
                f"{FLOW_MESSAGES[FlowStatus.SOLVER_FAILED]}: the step budget "
                f"max_steps = {max_steps} ran out at t = {t_stop:.6g} of {t1:.6g}",
                n_steps,
                last_state=True,
            )
        try:
            step_message = solver.step()
        except FlowBreakdown as breakdown:
            return finish(
                breakdown.status,
                f"{FLOW_MESSAGES[breakdown.status]} during the step from t = "
                f"{t_stop:.6g}: {breakdown}",
                n_steps,
                last_state=True,
            )
        if solver.status == "failed":
            return finish(
                FlowStatus.SOLVER_FAILED,
                f"{FLOW_MESSAGES[FlowStatus.SOLVER_FAILED]} at t = {solver.t:.6g}: "
                f"{step_message}",
                n_steps,
                last_state=True,
            )
        n_steps += 1
        t_old, t_new = solver.t_old, solver.t
        interpolant = None

        def dense():
            nonlocal interpolant
            if interpolant is None:
                interpolant = solver.dense_output()
            return interpolant

        # Terminal events, earliest first.
        fired = None
        try:
            for event in events:
                if not event.function(t_new, solver.y) > 0:
                    t_event = _locate(event, dense(), t_old, t_new)
                    if fired is None or t_event < fired[0]:
                        fired = (t_event, event)
        except FlowBreakdown as breakdown:
            return finish(
                breakdown.status,
                f"{FLOW_MESSAGES[breakdown.status]} near t = {t_new:.6g}: {breakdown}",
                n_steps,
                last_state=True,
            )
        t_end = t_new if fired is None else fired[0]
        y_end = solver.y if fired is None else dense()(t_end)
        # Record the samples of this step.
        if pending is None:
            if t_end > times[-1]:
                times.append(t_end)
                states.append(np.array(y_end))
        else:
            while pending and pending[0] <= t_end:
                t = pending.pop(0)
                times.append(t)
                states.append(np.array(solver.y if t == t_new else dense()(t)))
            if fired is not None and (not times or times[-1] < t_end):
                times.append(t_end)
                states.append(np.array(y_end))
        t_stop, y_stop = t_end, np.array(y_end)
        if fired is not None:
            t_event, event = fired
            return finish(
                event.status,
                f"{FLOW_MESSAGES[event.status]} at t = {t_event:.6g}: "
                f"{event.describe(t_event, y_end)}",
                n_steps,
            )
        if converged is not None:
            try:
                reason = converged(t_new, solver.y)
            except FlowBreakdown as breakdown:
                reason, status = str(breakdown), breakdown.status
                return finish(
                    status,
                    f"{FLOW_MESSAGES[status]}: {reason}",
                    n_steps,
                    last_state=True,
                )
            if reason is not None:
                if pending is not None and (not times or times[-1] < t_new):
                    times.append(t_new)
                    states.append(np.array(solver.y))
                return finish(
                    FlowStatus.CONVERGED,
                    f"{FLOW_MESSAGES[FlowStatus.CONVERGED]} at t = {t_new:.6g}: "
                    f"{reason}",
                    n_steps,
                )
        if solver.status == "finished":
            return finish(
                FlowStatus.T_END,
                f"{FLOW_MESSAGES[FlowStatus.T_END]} (t = {t1:.6g}) after {n_steps} "
                "steps",
                n_steps,
            )
