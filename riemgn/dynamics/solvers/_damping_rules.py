"""The damping rules of Levenberg-Marquardt: Nielsen's, the trust region, a schedule.

Each rule is told of every new Jacobian (``new_jacobian``), gives the damping
of the next trial step (``damping``), learns whether it was accepted
(``update``) and says when to give up (``exhausted``).
"""

from __future__ import annotations

import math

import numpy as np

from manifolds.validation import check_positive_real, describe
from riemgn.dynamics.damping import DampingState, as_schedule, evaluate_damping
from riemgn.dynamics.solvers._lm_subproblem import (
    _svd_coefficients,
    _trust_region_damping,
)

#: Nielsen's :math:`\tau`: :math:`\lambda_0 = \tau \max_j \|J_{:,j}\|^2`.
NIELSEN_TAU = 1e-3
#: Trust-region radius update: shrink when :math:`\rho` is below the first,
#: expand when it is above the second (and the step reached the boundary).
TRUST_REGION_THRESHOLDS = (0.25, 0.75)
#: The largest number of consecutive rejected steps for a damping schedule.
MAX_SCHEDULE_RETRIES = 60

DAMPING_RULES = ("nielsen", "trust_region")


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
                s, _, c = linearization.svd_factors
                self.radius = float(
                    np.linalg.norm(_svd_coefficients(s, c, self.initial_damping))
                )
            else:
                self.radius = float(np.linalg.norm(run.params)) or 1.0

    def damping(self, linearization) -> float:
        s, _, c = linearization.svd_factors
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
