r"""C6: Gauss-Newton beats first-order methods when the problem is ill-conditioned.

Claim (THEORY.md §4, C6). Gauss-Newton (GN) steps along the Riemannian
gradient on the output manifold, so the number of iterations it needs does
not grow with :math:`\operatorname{cond}(G)`, :math:`G = J^\top J`. Gradient
descent (GD) in parameter space contracts the slowest mode of the residual by
:math:`1 - s\lambda_{\min}(G)` per step with a stable step
:math:`s \le 1/\lambda_{\max}(G)`: it needs a number of iterations of order
:math:`\operatorname{cond}(G)`.

Experiment
----------
For each target condition number :math:`\kappa` in ``log10_conditions`` and
each of ``seeds`` replicates (``quick``: :math:`\kappa = 10^2, 10^{2.5},
10^3, 10^4, 10^5` and 1 replicate; ``full``: 8 targets from :math:`10^2` to
:math:`10^9` and 5 replicates), a two-layer tanh teacher-student problem
(:math:`n = 40`, :math:`d = 2`, 2 neurons) with
:math:`\operatorname{cond}(G_0)` within a factor 1.2 of :math:`\kappa` (as in
:mod:`riemgn.verify.c2_conditioning`, with the teacher along :math:`G_0`'s
flattest direction, the hardest target for GD), the squared loss
:math:`h(u) = \tfrac12\|u - y\|^2`, and :math:`h^*` from
:func:`~riemgn.solvers.optimal_in_class_risk`. Both methods start at
:math:`\theta_0` and stop at the first iterate whose excess risk is at most
``target`` :math:`= 10^{-8}` times the initial one:

- GN: :func:`riemgn.solvers.gauss_newton` with Armijo backtracking
  (``line_search=True``), :math:`\theta \leftarrow \theta - sJ^+\nabla h`,
  within ``gn_budget`` :math:`= 100` iterations;
- GD: :func:`riemgn.solvers.gradient_descent`,
  :math:`\theta \leftarrow \theta - sJ^\top\nabla h` with
  :math:`s = 1/\|J(\theta_0)\|_2^2 = 1/\lambda_{\max}(G_0)`, halved (and
  kept) whenever Armijo's condition fails, so the loss decreases
  monotonically. A run that exhausts ``gd_budget`` iterations (30 000 in
  ``quick``, 100 000 in ``full``) is *not reached*: its count is censored, a
  lower bound.

Iterations and wall time are recorded (wall time is reported, not a
criterion: it is noisy).

``scale`` (``riemgn verify --preset scale``) runs the quick sweep's first
four conditions at :math:`n = 4000`, :math:`d = 250`, 4 neurons
(:math:`p = 1000`) with the inputs divided by :math:`\sqrt d`
(``input_scale``): with unit-variance entries
:math:`\langle w, x\rangle \sim N(0, d)` saturates tanh at the standard
initialization and :math:`\operatorname{cond}(G_0)` starts above
:math:`10^4`; scaled, it starts near :math:`10^2`. Gradient descent takes
one vector-Jacobian product per iteration, never the :math:`n \times p`
Jacobian.

Criterion
---------
The claim passes when all of these hold:

- every GN run reaches the target within 20 iterations, and the log-log
  slope of GN's iterations against :math:`\operatorname{cond}(G_0)` is at
  most 0.1: bounded;
- the log-log slope of GD's iterations against :math:`\operatorname{cond}(G_0)`,
  fitted on the runs that reached the target, is at least 0.8;
- at the largest :math:`\operatorname{cond}(G_0)` where GD reached the
  target, the ratio of GD's iterations to GN's (over the runs that reached
  it) is at least 1000 (the headline check). It is measured, not
  censored: at larger conditions GD runs out of budget, and the ratio there,
  a lower bound set by the budget, is reported but not checked.

The claim is inconclusive if fewer than 3 distinct conditions have a GD run
that reached the target (no slope can be fitted), or if GN ended without
reaching the target for a reason other than its budget (rank loss,
non-finite values).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from manifolds.linalg import singular_value_decomposition
from riemgn.dynamics.solvers import (
    SolverStatus,
    gauss_newton,
    gradient_descent,
    optimal_in_class_risk,
)
from riemgn.losses import SquaredLoss
from riemgn.verify._common import (
    CONDITION_TOLERANCE,
    MAX_DRAWS,
    gram_conditioned_problem,
    log_slope,
    new_figure,
    run_seed,
    typed_config,
)
from riemgn.verify._core import Check, Claim, Task, Verdict
from riemgn.verify._style import SYMBOLS, color, finish, legend, sci

__all__ = ["CLAIM"]

CLAIM_ID = "C6"

#: GN must reach the target within this many iterations at every cond(G0).
GN_MAX_ITERATIONS = 20
#: The largest log-log slope of GN's iterations against cond(G0).
GN_MAX_SLOPE = 0.1
#: The smallest log-log slope of GD's iterations against cond(G0).
GD_MIN_SLOPE = 0.8
#: The smallest ratio of GD's to GN's iterations at the largest cond(G0).
MIN_RATIO = 1000.0

METHODS = ("gauss_newton", "gradient_descent")
#: The GD record keeps the excess at this many log-spaced iterations.
_HISTORY_POINTS = 150
_MIN_GD_CONDITIONS = 3
_KEY = "GD/GN iterations at the largest cond(G0) GD reached"
_PLOT_FLOOR = 1e-16


def _preset(log10_conditions, seeds, gd_budget):
    return {
        "log10_conditions": log10_conditions,
        "seeds": seeds,
        "n": 40,
        "d": 2,
        "width": 2,
        "input_scale": 1.0,
        "distance": 0.1,
        "target": 1e-8,
        "gd_budget": gd_budget,
        "gn_budget": 100,
        "second_order": "gauss_newton",
    }


# n = 4000, p = m d = 1000 (the "auto" solver is dense). The inputs are
# divided by sqrt(d): with unit-variance entries <w, x> ~ N(0, d) saturates
# tanh and no draw reaches cond(G0) below ~3e3 (d = 100, m = 10); scaled,
# cond(G0) starts near 1e2 (d = 250, m = 4). GD reaches the target at 1e2,
# 1e2.5 and 1e3 (about 9 cond(G0) iterations) and runs out of its budget
# at 1e4, as in the quick preset, whose criteria it keeps.
_SCALE = {
    **_preset([2.0, 2.5, 3.0, 4.0], 1, 30_000),
    "n": 4000,
    "d": 250,
    "width": 4,
    "input_scale": 1.0 / math.sqrt(250),
}

PRESETS = {
    "quick": _preset([2.0, 2.5, 3.0, 4.0, 5.0], 1, 30_000),
    "full": _preset([2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 7.0, 9.0], 5, 100_000),
    "scale": _SCALE,
}


@dataclass(frozen=True)
class Config:
    """C6's configuration: a preset of ``PRESETS`` with the user's overrides."""

    log10_conditions: Sequence[float]
    seeds: int
    n: int
    d: int
    width: int
    input_scale: float
    distance: float
    target: float
    gd_budget: int
    gn_budget: int
    second_order: str


@dataclass(frozen=True)
class Arm:
    """One method's run to the target excess.

    ``iterations`` is ``None`` if the target was not reached; ``excess`` is
    the relative excess at the iterations ``at``.
    """

    iterations: int | None
    at: np.ndarray
    excess: np.ndarray
    final_excess: float
    status: str
    seconds: float
    halvings: int = 0


@dataclass(frozen=True)
class RunResult:
    """One problem: GN and GD from the same start to the same target."""

    condition: float
    condition_target: float
    lambda_min: float
    lambda_max: float
    draws: int
    h_star: float
    h_star_consistent: bool
    gd_budget: int
    gn: Arm
    gd: Arm


def _descend(output_map, params0, y, *, h_star, target, max_iter) -> dict:
    r"""Gradient descent to a target excess: :func:`riemgn.solvers.gradient_descent`.

    The library's solver on :math:`\tfrac12\|F(\theta) - y\|^2` with its
    default step :math:`1/\|J(\theta_0)\|_2^2` halved by Armijo's test (and
    kept halved), stopped at the first iterate with :math:`h_k - h^* \le`
    ``target`` :math:`(h_0 - h^*)` or after ``max_iter`` iterations.

    Returns
    -------
    dict
        ``iterations`` (``None`` if the target was not reached), ``excess``
        (the relative excess at log-spaced iterations ``at``, and at the
        last), ``final_excess``, ``halvings`` and ``status``.
    """
    loss = SquaredLoss(y)
    initial = loss.value(output_map.value(params0)) - h_star
    result = gradient_descent(
        output_map,
        params0,
        loss,
        max_iter=max_iter,
        gtol=0.0,
        ftol=0.0,
        xtol=0.0,
        callback=lambda info: (info.loss - h_star) / initial <= target,
    )
    excess = (np.append(result.history.loss, result.loss) - h_star) / initial
    last = result.n_iter
    record = np.unique(np.geomspace(1, max_iter + 1, _HISTORY_POINTS).astype(int) - 1)
    at = record[record <= last]
    if at.size == 0 or at[-1] != last:
        at = np.append(at, last)
    reached = result.status is SolverStatus.CALLBACK_STOP
    return {
        "iterations": last if reached else None,
        "at": at.astype(float),
        "excess": excess[at],
        "final_excess": float(excess[-1]),
        "halvings": result.n_value_evals - 1 - last,
        "status": "reached" if reached else result.status.value,
    }


def _second_order(name, output_map, params0, y, *, h_star, target, max_iter):
    """The GN arm: the library's Gauss-Newton (or, altered, gradient descent)."""
    if name == "gradient_descent":
        return _descend(
            output_map, params0, y, h_star=h_star, target=target, max_iter=max_iter
        )
    loss = SquaredLoss(y)
    initial = loss.value(output_map.value(params0)) - h_star
    result = gauss_newton(
        output_map,
        params0,
        loss,
        line_search=True,
        max_iter=max_iter,
        gtol=0.0,
        ftol=0.0,
        xtol=0.0,
        callback=lambda info: info.loss - h_star <= target * initial,
    )
    losses = np.append(result.history.loss, result.loss)
    excess = (losses - h_star) / initial
    reached = np.flatnonzero(excess <= target)
    return {
        "iterations": int(reached[0]) if reached.size else None,
        "at": np.arange(excess.size, dtype=float),
        "excess": excess,
        "final_excess": float(excess[-1]),
        "status": result.status.value,
        "message": result.message,
    }


def _timed(method, *args, **kwargs) -> Arm:
    """Run ``method`` (a dict-returning run to the target) and time it."""
    start = time.perf_counter()
    run = method(*args, **kwargs)
    return Arm(
        iterations=run["iterations"],
        at=run["at"],
        excess=run["excess"],
        final_excess=run["final_excess"],
        status=run.get("status", ""),
        seconds=time.perf_counter() - start,
        halvings=run.get("halvings", 0),
    )


def run_condition(*, config: Config, entropy, condition_target) -> RunResult:
    """One problem: iterations and wall time of GN and GD to the target excess."""
    problem, condition, draws = gram_conditioned_problem(
        condition_target,
        config.n,
        config.d,
        config.width,
        entropy=entropy,
        tolerance=CONDITION_TOLERANCE,
        max_draws=MAX_DRAWS,
        input_scale=config.input_scale,
    )
    F, params0 = problem.output_map, problem.params0
    _, s, Vt = singular_value_decomposition(F.jacobian(params0))
    y = F.value(params0 + config.distance * Vt[-1])
    optimum = optimal_in_class_risk(F, params0, SquaredLoss(y))
    options = {"h_star": optimum.risk, "target": config.target}
    gn = _timed(
        _second_order,
        config.second_order,
        F,
        params0,
        y,
        max_iter=config.gn_budget,
        **options,
    )
    gd = _timed(_descend, F, params0, y, max_iter=config.gd_budget, **options)
    return RunResult(
        condition=condition,
        condition_target=float(condition_target),
        lambda_min=float(s[-1] ** 2),
        lambda_max=float(s[0] ** 2),
        draws=draws,
        h_star=optimum.risk,
        h_star_consistent=optimum.consistent,
        gd_budget=config.gd_budget,
        gn=gn,
        gd=gd,
    )


def tasks(config, *, data="synthetic", seed=0):
    """One task per (replicate, condition)."""
    config = typed_config(Config, config)
    if config.second_order not in METHODS:
        raise ValueError(
            f"second_order must be one of {METHODS}, got {config.second_order!r}"
        )
    return [
        Task(
            f"seed {replicate}, cond(G0) ~ 1e{exponent:g}",
            run_condition,
            {
                "config": config,
                "entropy": run_seed(seed, CLAIM_ID, replicate, k),
                "condition_target": 10.0**exponent,
            },
        )
        for replicate in range(config.seeds)
        for k, exponent in enumerate(config.log10_conditions)
    ]


def _gd_counts(results) -> np.ndarray:
    """GD's iterations to the target; its budget where it did not reach it."""
    return np.array(
        [
            r.gd.iterations if r.gd.iterations is not None else r.gd_budget
            for r in results
        ],
        dtype=float,
    )


def _metrics(config: Config, results) -> dict:
    """The per-run numbers of the report."""
    gn_seconds = np.array([r.gn.seconds for r in results])
    gd_seconds = np.array([r.gd.seconds for r in results])
    return {
        "conditions": [r.condition for r in results],
        "gn_iterations": [r.gn.iterations for r in results],
        "gd_iterations": [r.gd.iterations for r in results],
        "gd_reached": [r.gd.iterations is not None for r in results],
        "gd_budget": config.gd_budget,
        "gn_status": [r.gn.status for r in results],
        "gn_seconds": gn_seconds.tolist(),
        "gd_seconds": gd_seconds.tolist(),
        "wall_time_ratio_gd_over_gn": (gd_seconds / gn_seconds).tolist(),
        "gd_step_halvings": [r.gd.halvings for r in results],
        "h_star": [r.h_star for r in results],
        "h_star_consistent": [r.h_star_consistent for r in results],
        "target_relative_excess": config.target,
    }


def _undecidable(config: Config, results, conditions, gd_reached) -> str | None:
    """Why the runs cannot decide the claim, or ``None``."""
    failed = [
        r.gn.status
        for r in results
        if r.gn.iterations is None and r.gn.status not in ("max_iter",)
    ]
    if failed:
        return (
            f"{len(failed)} GN run(s) stopped before the target without exhausting "
            f"their budget (statuses {sorted(set(failed))}); the comparison needs "
            "runs that end by reaching the target or by their budget"
        )
    reached_conditions = {round(math.log10(c), 1) for c in conditions[gd_reached]}
    if len(reached_conditions) < _MIN_GD_CONDITIONS:
        return (
            f"GD reached the target at only {len(reached_conditions)} distinct "
            f"cond(G0) value(s) within its budget of {config.gd_budget} "
            f"iterations; its slope needs at least {_MIN_GD_CONDITIONS}: raise "
            "gd_budget or add smaller conditions"
        )
    return None


def _checks(metrics) -> list[Check]:
    return [
        Check.above(
            _KEY,
            metrics["ratio_where_gd_reached"],
            MIN_RATIO,
            "GD's over GN's iterations at the largest cond(G0) where GD reached "
            "the target, over the runs that reached it (measured, not censored)",
        ),
        Check.below(
            "GN iterations (max)",
            metrics["gn_max_iterations"],
            GN_MAX_ITERATIONS,
            "every GN run reaches the target within this many iterations",
        ),
        Check.below(
            "GN iterations vs cond(G0) log-log slope",
            metrics["gn_slope"],
            GN_MAX_SLOPE,
            "GN's iteration count does not grow with cond(G0)",
        ),
        Check.above(
            "GD iterations vs cond(G0) log-log slope",
            metrics["gd_slope"],
            GD_MIN_SLOPE,
            "fitted on the GD runs that reached the target",
        ),
    ]


def evaluate(config, results) -> Verdict:
    """The checks of the module docstring."""
    config = typed_config(Config, config)
    conditions = np.array([r.condition for r in results])
    gd_reached = np.array([r.gd.iterations is not None for r in results])
    gd_counts = _gd_counts(results)
    metrics = _metrics(config, results)
    reason = _undecidable(config, results, conditions, gd_reached)
    if reason is not None:
        return Verdict.inconclusive(reason, metrics)
    gn_counts = np.array(
        [r.gn.iterations if r.gn.iterations is not None else math.inf for r in results],
        dtype=float,
    )
    # GN may reach the target at iteration 0 only if y = F(theta0); count >= 1.
    gn_slope = log_slope(conditions, np.maximum(gn_counts, 1.0))
    gd_slope = log_slope(conditions[gd_reached], gd_counts[gd_reached])
    # The headline is measured, not censored: the runs at the largest target
    # cond(G0) (within a factor 2 of it) where GD reached the target.
    hardest = conditions[gd_reached].max()
    top = gd_reached & (np.log10(hardest / conditions) <= 0.3)
    ratio = float(np.min(gd_counts[top] / gn_counts[top]))
    # At the largest cond(G0) overall GD may have run out of budget: a lower
    # bound set by the budget, reported but not checked.
    everywhere = np.log10(conditions.max() / conditions) <= 0.3
    metrics.update(
        gn_slope=gn_slope,
        gd_slope=gd_slope,
        ratio_where_gd_reached=ratio,
        condition_where_gd_reached=float(hardest),
        ratio_at_largest_condition=float(
            np.min(gd_counts[everywhere] / gn_counts[everywhere])
        ),
        ratio_at_largest_condition_is_lower_bound=bool(np.any(~gd_reached[everywhere])),
        largest_condition=float(conditions.max()),
    )
    checks = _checks({**metrics, "gn_max_iterations": float(np.max(gn_counts))})
    gd_seconds = np.array(metrics["gd_seconds"])
    median_ratio = float(np.median(gd_seconds / np.array(metrics["gn_seconds"])))
    notes = [
        f"median wall-time ratio GD/GN: {median_ratio:.3g} "
        "(censored GD runs stopped at their budget)",
        f"GD runs not reaching the target within {config.gd_budget} iterations: "
        f"{int(np.sum(~gd_reached))} of {len(results)}",
    ]
    return Verdict(checks, metrics, key=_KEY, notes=notes)


def figure(config, results, verdict):
    """Left: iterations to the target against cond(G0); right: the hardest problem."""
    config = typed_config(Config, config)
    fig, (left, right) = new_figure(2)
    conditions = np.array([r.condition for r in results])
    gn = np.array(
        [r.gn.iterations if r.gn.iterations is not None else np.nan for r in results],
        dtype=float,
    )
    reached = np.array([r.gd.iterations is not None for r in results])
    gd = _gd_counts(results)
    left.loglog(conditions, np.maximum(gn, 1.0), "o", label="Gauss-Newton")
    left.loglog(
        conditions[reached],
        gd[reached],
        "s",
        color=color(1),
        label="gradient descent",
    )
    if np.any(~reached):
        left.loglog(
            conditions[~reached],
            gd[~reached],
            "^",
            mfc="none",
            color=color(1),
            ms=9,
            label="GD not reached (≥ budget)",
        )
        left.axhline(config.gd_budget, color="grey", lw=0.8, ls=":", label="GD budget")
    left.set_xlabel(SYMBOLS["cond_G0"])
    left.set_ylabel(f"iterations to relative excess {sci(config.target, 0)}")
    slope = verdict.metrics.get("gd_slope", math.nan)
    left.set_title(f"Iterations to the target (GD slope {slope:.2f})")
    legend(left)

    hardest = results[int(np.argmax(conditions))]
    for arm, style, label in (
        (hardest.gn, "o-", "Gauss-Newton"),
        (hardest.gd, "-", "gradient descent"),
    ):
        # Round-off (an excess <= 0 once h* is reached) is drawn at the floor.
        right.loglog(
            arm.at + 1, np.maximum(arm.excess, _PLOT_FLOOR), style, ms=4, label=label
        )
    right.axhline(config.target, color="grey", lw=0.8, ls=":", label="target")
    right.set_xlabel(r"iteration $k + 1$")
    right.set_ylabel(r"relative excess risk $(h_k - h^*)\,/\,(h_0 - h^*)$")
    right.set_title(f"Hardest problem, {SYMBOLS['cond_G0']} = {sci(hardest.condition)}")
    legend(right)
    return finish(
        fig,
        CLAIM_ID,
        f"Gauss-Newton against gradient descent as {SYMBOLS['cond_G0']} grows",
        verdict.status.value,
    )


#: The claim C6 (GN against gradient descent), for ``riemgn verify``.
#:
#: Its ``statement`` and ``criterion`` are the text of the report; the module
#: documentation above describes the experiment.
CLAIM = Claim(
    id=CLAIM_ID,
    title="GN beats first-order methods when ill-conditioned",
    statement=(
        "Gauss-Newton reaches a target excess risk in a number of iterations "
        "that does not grow with cond(G0), while gradient descent's grows like "
        "cond(G0): GN pays off on ill-conditioned problems."
    ),
    criterion=(
        f"Iterations to a relative excess risk of {PRESETS['quick']['target']:g}: "
        f"every GN run within {GN_MAX_ITERATIONS} iterations and GN's log-log "
        f"slope against cond(G0) <= {GN_MAX_SLOPE:g}; GD's log-log slope (runs "
        f"that reached the target) >= {GD_MIN_SLOPE:g}; GD/GN iterations at the "
        f"largest cond(G0) where GD reached the target >= {MIN_RATIO:g} (beyond "
        "it GD runs out of budget: that censored ratio is reported, not checked). "
        "Wall-time ratios are reported, not checked."
    ),
    presets=PRESETS,
    tasks=tasks,
    evaluate=evaluate,
    figure=figure,
    config_type=Config,
    data=("synthetic",),
    unsupported={
        "diabetes": (
            "the GD iteration count of order cond(G0) is measured over cond(G0) "
            "targets reached by bisecting a synthetic input conditioning, with "
            "gradient descent run to a fixed tolerance; the column-scaled real "
            "inputs that C2 uses are not wired into this experiment (open)"
        ),
        "digits": (
            "GD's iteration count of order cond(G) is a statement about a loss "
            "strongly convex in the outputs; the digits task (3 against 8, "
            "labels +-1) uses the logistic loss"
        ),
        "breast_cancer": (
            "GD's iteration count of order cond(G) is a statement about a loss "
            "strongly convex in the outputs; the breast cancer task uses the "
            "logistic loss"
        ),
    },
    expected_seconds={"quick": 8.0, "full": 160.0},
)
