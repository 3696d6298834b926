r"""The right-hand sides of the parameter-space flows, with their evaluation cache.

A :class:`Dynamics` evaluates :math:`\theta' = v(\theta)` and what the
events need (the outputs, the loss, :math:`\|u'\|`, the damping); a
:class:`Counter` counts the evaluations of :math:`F` and :math:`J`. The
Levenberg-Marquardt and gradient-flow fields live here; the Gauss-Newton one
next to :func:`riemgn.flows.gauss_newton_flow`. The formulas and the notes
on caching are in :mod:`riemgn.dynamics.flows.parameter`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from manifolds.linalg import kernel_factorization, singular_values, stacked_lm_direction
from riemgn._checks import DOMAIN_ERRORS, safe_norm
from riemgn._checks import QUIET as _QUIET
from riemgn.dynamics.damping import DampingState, _NonFiniteDamping, evaluate_damping
from riemgn.dynamics.flows._integrate import FlowBreakdown, status_of
from riemgn.dynamics.flows.trajectory import FlowStatus


def domain_call(what: str, function, *args):
    """``function(*args)``; a domain error (an overflow, say) becomes a FlowBreakdown."""
    try:
        return function(*args)
    except DOMAIN_ERRORS as error:
        raise FlowBreakdown(
            status_of(error), f"{what}: {type(error).__name__}: {error}"
        ) from None


class Counter:
    """Counts evaluations of F and J on an output map."""

    def __init__(self, output_map):
        self.map = output_map
        self.n_value = 0
        self.n_jacobian = 0
        self.n_solves = 0

    def value(self, params):
        self.n_value += 1
        with np.errstate(**_QUIET):
            value = np.asarray(
                domain_call("F(theta)", self.map.value, params), dtype=np.float64
            )
        n = self.map.n_outputs
        if value.shape != (n,):
            raise ValueError(
                f"`output_map.value` returned shape {value.shape}, expected ({n},)"
            )
        if not np.all(np.isfinite(value)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                f"F(theta) is not finite at |theta| = {safe_norm(params):.3e}",
            )
        return value

    def jacobian(self, params):
        self.n_jacobian += 1
        with np.errstate(**_QUIET):
            J = np.asarray(
                domain_call("J(theta)", self.map.jacobian, params), dtype=np.float64
            )
        shape = (self.map.n_outputs, self.map.n_params)
        if J.shape != shape:
            raise ValueError(
                f"`output_map.jacobian` returned shape {J.shape}, expected {shape}"
            )
        if not np.all(np.isfinite(J)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                f"J(theta) is not finite at |theta| = {safe_norm(params):.3e}",
            )
        return J


@dataclass
class Evaluation:
    """The right-hand side at one state, with what the events need."""

    velocity: np.ndarray  # theta'
    outputs: np.ndarray  # u
    output_speed: float  # |J theta'|
    loss: float
    sigma_ratio: float = math.nan  # sigma_min / sigma_max of J, when computed
    damping: float = math.nan
    lambda_min: float = math.nan


class Dynamics:
    """A parameter-space velocity field with an evaluation cache."""

    name = ""

    def __init__(self, counter: Counter, loss, params0: np.ndarray):
        self.counter = counter
        self.loss = loss
        self.params0 = params0
        self._cache: OrderedDict[bytes, Evaluation] = OrderedDict()

    def evaluate(self, t: float, params: np.ndarray) -> Evaluation:
        params = np.asarray(params, dtype=np.float64)
        key = params.tobytes()
        evaluation = self._cache.get(key)
        if evaluation is None:
            if not np.all(np.isfinite(params)):
                raise FlowBreakdown(FlowStatus.BLOW_UP, "theta is no longer finite")
            try:
                with np.errstate(**_QUIET):
                    evaluation = self._evaluate(t, params)
            except DOMAIN_ERRORS as error:
                raise FlowBreakdown(
                    status_of(error), f"{type(error).__name__}: {error}"
                ) from None
            if not (
                np.all(np.isfinite(evaluation.velocity))
                and math.isfinite(evaluation.output_speed)
            ):
                raise FlowBreakdown(
                    FlowStatus.BLOW_UP,
                    f"the velocity theta' is not finite at t = {t:.6g}",
                )
            self._cache[key] = evaluation
            if len(self._cache) > 16:
                self._cache.popitem(last=False)
        return evaluation

    def __call__(self, t, params):
        return self.evaluate(t, params).velocity

    def blow_up_detail(self, params) -> str:
        """What a blow-up message adds about the state (nothing by default)."""
        return ""

    def _evaluate(self, t: float, params: np.ndarray) -> Evaluation:
        raise NotImplementedError

    def _outputs_and_gradient(self, params):
        u = self.counter.value(params)
        g = np.asarray(self.loss.gradient(u), dtype=np.float64)
        if g.shape != u.shape:
            raise ValueError(
                f"`loss.gradient` returned shape {g.shape}, expected {u.shape}"
            )
        value = float(self.loss.value(u))
        if not (np.all(np.isfinite(g)) and math.isfinite(value)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                f"the loss h(u) = {value:.3e} or its gradient is not finite at "
                f"|u| = {safe_norm(u):.3e}",
            )
        return u, g, value


class LevenbergMarquardt(Dynamics):
    def __init__(self, counter, loss, params0, *, schedule, kernel_solver, rank_rtol):
        super().__init__(counter, loss, params0)
        self.schedule = schedule
        self.rank_rtol = rank_rtol
        self.kernel_solver = kernel_solver
        closed_form = getattr(counter.map, "neural_tangent_kernel", None)
        self.closed_form = closed_form if callable(closed_form) else None
        n, p = counter.map.n_outputs, counter.map.n_params
        self.kernel_form = p > n
        self.name = "levenberg_marquardt/" + (
            "kernel" if self.kernel_form else "stacked_qr"
        )

    def _evaluate(self, t, params):
        u, g, value = self._outputs_and_gradient(params)
        J = self.counter.jacobian(params)
        self.counter.n_solves += 1
        if self.kernel_form:
            kernel = None
            if self.kernel_solver == "eigh" and self.closed_form is not None:
                kernel = np.asarray(self.closed_form(params), dtype=np.float64)
            factorization = kernel_factorization(
                J, kernel=kernel, solver=self.kernel_solver
            )
            eigenvalues = factorization.kernel_eigenvalues
        else:
            eigenvalues = singular_values(J) ** 2
        if not np.all(np.isfinite(eigenvalues)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                "the kernel eigenvalues sigma_i(J)^2 overflow: "
                f"max |J_ij| = {float(np.max(np.abs(J))):.3e}",
            )
        state = DampingState(params, u, g, value, eigenvalues)
        try:
            lam = evaluate_damping(self.schedule, t, state)
        except _NonFiniteDamping as error:  # a bad schedule's errors propagate
            raise FlowBreakdown(FlowStatus.BLOW_UP, str(error)) from None
        tolerance = self.rank_rtol * eigenvalues[0]
        if eigenvalues[-1] <= tolerance and lam <= tolerance:
            ratio = eigenvalues[-1] / eigenvalues[0] if eigenvalues[0] > 0 else 0.0
            raise FlowBreakdown(
                FlowStatus.RANK_LOSS,
                f"lambda_min/lambda_max of the kernel = "
                f"{ratio:.3e} <= rank_rtol = "
                f"{self.rank_rtol:.3e} and the damping {lam:.3e} is too small to "
                "regularize it: the system K + lambda I is numerically singular",
            )
        try:
            if self.kernel_form:
                velocity = -factorization.direction(g, lam)
            else:
                velocity = -stacked_lm_direction(J, g, lam)
        except np.linalg.LinAlgError as error:
            raise FlowBreakdown(FlowStatus.RANK_LOSS, str(error)) from None
        return Evaluation(
            velocity,
            u,
            safe_norm(J @ velocity),
            value,
            damping=lam,
            lambda_min=float(eigenvalues[-1]),
        )


class GradientFlow(Dynamics):
    name = "gradient"

    def _evaluate(self, t, params):
        u, g, value = self._outputs_and_gradient(params)
        J = self.counter.jacobian(params)
        velocity = -(J.T @ g)
        return Evaluation(velocity, u, safe_norm(J @ velocity), value)

    def jacobian(self, t, params):
        r"""The Jacobian :math:`-(J^\top \nabla^2 h\, J + H_{\nabla h})` of :math:`-J^\top\nabla h`."""
        try:
            with np.errstate(**_QUIET):
                jacobian = self._jacobian(params)
        except DOMAIN_ERRORS as error:
            raise FlowBreakdown(
                status_of(error), f"{type(error).__name__}: {error}"
            ) from None
        if not np.all(np.isfinite(jacobian)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                "the Jacobian of the right-hand side is not finite at |theta| = "
                f"{safe_norm(params):.3e}",
            )
        return jacobian

    def _jacobian(self, params):
        params = np.asarray(params, dtype=np.float64)
        u = self.counter.value(params)
        g = self.loss.gradient(u)
        J = self.counter.jacobian(params)
        p = params.size
        curvature = np.empty((p, p))
        for k in range(p):
            e = np.zeros(p)
            e[k] = 1.0
            curvature[:, k] = self.counter.map.weighted_hessian_vector(params, g, e)
        loss_curvature = np.column_stack(
            [self.loss.hessian_vector(u, J[:, k]) for k in range(p)]
        )
        return -(J.T @ loss_curvature + curvature)
