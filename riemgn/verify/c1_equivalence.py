r"""C1: the Gauss-Newton flow is the Riemannian gradient flow on the output manifold.

THEORY §3: in the underparameterized regime the GN flow
:math:`\theta' = -\tfrac1c J^+\nabla h(F(\theta))` moves the outputs
:math:`u = F(\theta)` along :math:`u' = -\tfrac1c P_u\nabla h(u) =
-\operatorname{grad} h(u)`, the Riemannian gradient flow of :math:`h` on
:math:`M = F(B(\theta_0, \rho))`. The experiment checks this twice.

**Pointwise.** At random points :math:`u` of several manifolds whose Gram
matrices :math:`G_0 = J(\theta_0)^\top J(\theta_0)` span many decades of
condition number (inputs :math:`X` with ``input_conditions`` as condition
numbers; ``cond(G0)`` is measured and its span reported), and for a squared
and a logistic loss, :func:`~riemgn.equivalence.velocity_residual` measures

.. math::

    r(u) = \frac{\|J\theta'_{GN} + \operatorname{grad} h(u)\|}
                {\|\operatorname{grad} h(u)\|},

with :math:`\theta'_{GN}` from the flow's own QR routine and the gradient
from the manifold. Both sides are rounded: a backward-stable least-squares
solve perturbs the range of :math:`J` by about :math:`\varepsilon\kappa(J)`,
which moves the projection of :math:`\nabla h` by that much relative to
:math:`\|\nabla h\|`. So the residual is compared with its round-off scale
at the chart :math:`\theta(u)` of the point,

.. math::

    s(u) = \varepsilon\,\kappa\big(J(\theta(u))\big)\,
           \frac{\|\nabla h(u)\|}{\|P_u\nabla h(u)\|},

and the criterion is :math:`\max_u r(u)/s(u) \le` ``roundoff_factor``.
A fixed bound would not do: at random points of the ball
:math:`\kappa(J)` reaches :math:`10^7` when :math:`\operatorname{cond}(G_0)`
is :math:`10^8`, and :math:`r` then reaches :math:`10^{-9}` with an exact
identity. The experiment is inconclusive if ``roundoff_factor`` times some
:math:`s(u)` exceeds ``max_resolution``: the check could not see a relative
error that large.

**Along trajectories.** The GN flow, solved in parameter space by DOP853 at
tight tolerances (``reference_rtol``), is compared with the *intrinsic*
flow :func:`~riemgn.flows.riemannian_gradient_flow`, which only uses the
manifold's projection, retraction and inverse retraction differential, run
with a fixed step :math:`h` by the Euler, Heun and classical Runge-Kutta
schemes. If the two flows are the same, the deviation

.. math::

    E(h) = \sup_{t_k} \|F(\theta_{GN}(t_k)) - u_k\|

is the intrinsic scheme's global error and shrinks like :math:`h^q`, with
:math:`q` = 1, 2, 4. The fitted log-log slope of :math:`E` against the
steps must lie within ``order_tolerance`` of :math:`q` for every scheme. If
the flows differed, :math:`E` would stall at the size of the difference and
the slopes would fall towards 0.

The GN reference has its own error; the experiment measures it (the
deviation between the reference and a run with tolerances ``floor_ratio``
times looser, an over-estimate) and requires every measured :math:`E` to
exceed it ``floor_margin`` times, so that the slopes are the schemes' and
not the reference's.

The comparison needs a flow that stays on :math:`M = F(B(\theta_0, \rho))`
up to ``t_end``, with :math:`\rho` = ``radius``: a problem whose GN flow
leaves the ball, loses rank or blows up earlier is replaced by the next draw
(at most ``max_draws``; the replaced ones are reported). Flows that travel
far are heading for a rank-deficient point (two neurons aligning), where
the manifold's curvature grows and every step is pre-asymptotic. On the
diabetes data there is no ball (``radius`` is ``None``): the real targets
lie far from the manifold and the flow travels far, at full rank.

**Data.** ``synthetic``: a two-layer tanh network (``width`` neurons) on
conditioned Gaussian inputs; the trajectory target is a teacher near the
start plus noise, so the residual does not vanish and the flow bends along
:math:`M`. ``diabetes``: the scikit-learn diabetes features (442 x 10) with
their real standardized targets (a non-zero residual case); the pointwise
problems scale its feature columns to set :math:`\operatorname{cond}(G_0)`.
``breast_cancer``: the scikit-learn breast cancer features (569 x 30) and
their :math:`\pm 1` diagnosis labels, treated the same way (the squared loss
fits the labels, the logistic loss classifies them). ``digits``: the
scikit-learn images of the digits 3 and 8 (357 x 54 non-blank pixels) and
their :math:`\pm 1` labels, treated the same way with a one-neuron network
(with two, the GN flow on the digits loses rank, blows up or stiffens before
``t_end``; :func:`riemgn.data.digits`).

**Sizes.** ``quick``: one problem; pointwise on :math:`n = 40` samples in
:math:`d = 2` dimensions, 2 neurons, 5 points per manifold, input condition
numbers :math:`1, 10, \dots, 10^4` (the measured span of
:math:`\operatorname{cond}(G_0)` is reported); trajectories on :math:`n = 20`,
:math:`d = 3` up to ``t_end`` :math:`= 1` with steps
:math:`h = 0.1, 0.05, 0.025, 0.0125`. ``full``: 5 independent problems, 9
input condition numbers from 1 to :math:`10^4` and 10 points per manifold.
On the real data: 3 points per manifold (10 in ``full``) and the steps
:math:`h = 0.05, 0.025, 0.0125, 0.00625`; ``full`` on ``breast_cancer``:
input condition numbers from 1 to :math:`10^5` (11) and the steps
:math:`h = 0.0125, 0.00625, 0.003125`. On ``digits`` (both presets): width 1
and the steps :math:`h = 0.006, 0.004, 0.002` (the flows move fast at first:
in one of the ``full`` problems RK4 needs :math:`h \le 0.004` to be in its
asymptotic range, and in another its error at :math:`h = 0.0015625` is only
8 times the reference's).

**Criterion.** The claim passes when all of these hold (the numbers are the
same in both presets unless stated):

- pointwise, the headline check: :math:`\max_u r(u)/s(u) \le 10` over every
  point, both losses and every manifold;
- the measured :math:`\operatorname{cond}(G_0)` of each problem's pointwise
  sweep spans at least 5 decades (6 with the ``full`` preset on synthetic
  data);
- along trajectories, the fitted order of each scheme is within 0.3 of its
  nominal order: :math:`q = 1 \pm 0.3` (Euler), :math:`2 \pm 0.3` (Heun),
  :math:`4 \pm 0.3` (RK4), in the worst problem;
- every deviation :math:`E(h)` is at least 10 times the GN reference's own
  error.

It is inconclusive if the pointwise check's resolution
:math:`10\max_u s(u)` exceeds :math:`10^{-6}`, or if the GN reference or an
intrinsic flow ends before ``t_end``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import NullFormatter

from manifolds import OutputManifold
from riemgn.dynamics.equivalence import compare_trajectories, velocity_residual
from riemgn.dynamics.flows import gauss_newton_flow, riemannian_gradient_flow
from riemgn.dynamics.flows.intrinsic import SCHEMES
from riemgn.losses import LogisticLoss, SquaredLoss
from riemgn.verify._common import (
    REAL_DATA,
    data_words,
    gram_condition,
    largest,
    log_slope,
    new_figure,
    run_rng,
    run_seed,
    typed_config,
)
from riemgn.verify._core import Check, Claim, Task, Verdict
from riemgn.verify._style import MARKERS, SYMBOLS, color, finish, legend
from riemgn.verify._style import SCHEMES as SCHEME_NAMES

__all__ = ["CLAIM"]

CLAIM_ID = "C1"
_ROUNDOFF_FACTOR = 10.0
_MAX_RESOLUTION = 1e-6
_ORDER_TOLERANCE = 0.3
_FLOOR_MARGIN = 10.0
_MIN_DECADES = 5.0
_MIN_DECADES_FULL = 6.0
_DIABETES_STEPS = [0.05, 0.025, 0.0125, 0.00625]
_DIGITS_WIDTH = 1
_DIGITS_STEPS = [0.006, 0.004, 0.002]

#: The sizes and targets of the synthetic problems. The diabetes data fix
#: n and d (all 442 samples, 10 features) and bring their own targets, so
#: these settings do not apply to them and are not in their configuration.
_SYNTHETIC = {
    "n": 40,
    "d": 2,
    "trajectory_n": 20,
    "trajectory_d": 3,
    "distance": 0.5,
    "noise": 0.3,
}

_QUICK = {
    "input_conditions": [1.0, 1e1, 1e2, 1e3, 1e4],
    "width": 2,
    "n_points": 5,
    "roundoff_factor": _ROUNDOFF_FACTOR,
    "max_resolution": _MAX_RESOLUTION,
    "min_decades": _MIN_DECADES,
    "t_end": 1.0,
    "schemes": ["euler", "heun", "rk4"],
    "steps": [0.1, 0.05, 0.025, 0.0125],
    "order_tolerance": _ORDER_TOLERANCE,
    "reference_rtol": 1e-13,
    "floor_ratio": 10.0,
    "floor_margin": _FLOOR_MARGIN,
    "radius": 1.5,
    "max_draws": 5,
    "figure_scheme": "rk4",
    "n_problems": 1,
    "data": {
        "synthetic": _SYNTHETIC,
        # The real targets make the flow stiffer: h = 0.1 is pre-asymptotic for RK4.
        "diabetes": {"n_points": 3, "steps": _DIABETES_STEPS, "radius": None},
        "breast_cancer": {"n_points": 3, "steps": _DIABETES_STEPS, "radius": None},
        # One neuron: with two, the GN flow on the digits loses rank, blows up
        # or stiffens before t_end (see riemgn.data.digits). Its flows move
        # fast at first: h >= 0.008 is pre-asymptotic for RK4 in one of the full
        # problems, and h = 0.0015625 is within 10x the reference's error in
        # another; so the steps 0.006, 0.004, 0.002 (multiples of the finest,
        # so that the reference's grid holds every scheme's).
        "digits": {
            "n_points": 3,
            "steps": _DIGITS_STEPS,
            "radius": None,
            "width": _DIGITS_WIDTH,
        },
    },
}

_REAL_FULL = {
    "n_points": 10,
    "min_decades": _MIN_DECADES,
    "steps": _DIABETES_STEPS,
    "radius": None,
}

_FULL = {
    **_QUICK,
    "input_conditions": [float(c) for c in np.geomspace(1.0, 1e4, 9)],
    "n_points": 10,
    "n_problems": 5,
    "min_decades": _MIN_DECADES_FULL,
    "data": {
        "synthetic": _SYNTHETIC,
        "diabetes": _REAL_FULL,
        # Five problems on the breast cancer features: cond(G0) starts near
        # 1e6 (so a wider input sweep for 5 decades), and one of the five flows
        # is stiffer: h = 0.05 is pre-asymptotic for RK4 and h = 0.0015625
        # reaches the reference's floor, so three smaller steps.
        "breast_cancer": {
            **_REAL_FULL,
            "input_conditions": [float(c) for c in np.geomspace(1.0, 1e5, 11)],
            "steps": [0.0125, 0.00625, 0.003125],
        },
        "digits": {**_REAL_FULL, "steps": _DIGITS_STEPS, "width": _DIGITS_WIDTH},
    },
}


# n = 4000 and p = m d = 1000 (8 n p = 32 MB: the "auto" solver is dense):
# three input conditions (cond(G0) still spans >= _MIN_DECADES decades, the
# quick criterion), two points each, and a short trajectory (t_end = 0.1,
# three steps per scheme) at the same size. The criteria are the quick ones.
_SCALE = {
    **_QUICK,
    "input_conditions": [1.0, 1e2, 1e4],
    "width": 100,
    "n_points": 2,
    "t_end": 0.1,
    "steps": [0.05, 0.025, 0.0125],
    "max_draws": 2,
    "data": {
        "synthetic": {
            **_SYNTHETIC,
            "n": 4000,
            "d": 10,
            "trajectory_n": 4000,
            "trajectory_d": 10,
        }
    },
}


@dataclass(frozen=True)
class Config:
    """C1's configuration: a preset with the user's overrides.

    The synthetic sizes and targets (``n`` … ``noise``) are ``None`` on the
    diabetes data, which fix them.
    """

    input_conditions: Sequence[float]
    width: int
    n_points: int
    roundoff_factor: float
    max_resolution: float
    min_decades: float
    t_end: float
    schemes: Sequence[str]
    steps: Sequence[float]
    order_tolerance: float
    reference_rtol: float
    floor_ratio: float
    floor_margin: float
    radius: float | None
    max_draws: int
    figure_scheme: str
    n_problems: int
    n: int | None = None
    d: int | None = None
    trajectory_n: int | None = None
    trajectory_d: int | None = None
    distance: float | None = None
    noise: float | None = None


@dataclass(frozen=True)
class PointwiseResult:
    """The worst velocity residuals at random points of one conditioned manifold.

    ``residual``, ``ratio`` and ``scale`` map each loss name to the largest
    :math:`r(u)`, :math:`r(u)/s(u)` and :math:`s(u)` (module docstring).
    """

    condition: float
    data: str
    inputs_shape: tuple[int, int]
    residual: Mapping[str, float]
    ratio: Mapping[str, float]
    scale: Mapping[str, float]


@dataclass(frozen=True)
class SchemeErrors:
    """One intrinsic scheme against the GN reference, per step."""

    scheme: str
    steps: list[float]
    errors: list[float]
    times: list[np.ndarray]
    deviations: list[np.ndarray]
    statuses: list[str]


@dataclass(frozen=True)
class TrajectoryResult:
    """The trajectory comparison of one problem."""

    schemes: tuple[SchemeErrors, ...]
    floor: float
    reference_status: str
    redrawn: list[str]
    condition: float


def _real_data(data):
    from riemgn.verify._common import load_data

    return load_data(data)


LOSSES = ("squared", "logistic")


def _losses(y: np.ndarray):
    """A squared loss on ``y`` and a logistic loss on its signs."""
    return {
        "squared": SquaredLoss(y),
        "logistic": LogisticLoss(np.where(y >= 0, 1.0, -1.0)),
    }


def pointwise_residuals(
    *, config: Config, input_condition, data, entropy
) -> PointwiseResult:
    """The worst velocity residual at random points of one conditioned manifold.

    The inputs have condition number ``input_condition``: synthetic inputs
    from :func:`~riemgn.data.conditioned_inputs`, or the diabetes features
    with their columns scaled by ``geomspace(1, 1 / input_condition, 10)``.
    Over ``config.n_points`` random points of the manifold, per loss: the
    largest :func:`~riemgn.equivalence.velocity_residual` :math:`r(u)`, the
    largest :math:`r(u)/s(u)` (the residual in units of its round-off scale,
    module docstring) and the largest :math:`s(u)`.
    """
    from riemgn.data import teacher_student

    rng = run_rng(entropy)
    if data in REAL_DATA:
        X, y_real = _real_data(data)
        n, d = X.shape
        X = X * np.geomspace(1.0, 1.0 / input_condition, d)
        problem = teacher_student(n, d, config.width, rng=rng, X=X)
    else:
        n, d = config.n, config.d
        problem = teacher_student(n, d, config.width, cond=input_condition, rng=rng)
    condition = gram_condition(problem.output_map, problem.params0)
    manifold = OutputManifold(problem.output_map, problem.params0, rng=rng)
    eps = np.finfo(np.float64).eps
    values = {kind: {name: [] for name in LOSSES} for kind in _KINDS}
    for _ in range(config.n_points):
        u = manifold.random_point(rng=rng)
        kappa = manifold.rank_info(manifold.lift(u)).condition_number
        y = y_real if data in REAL_DATA else rng.standard_normal(n)
        for name, loss in _losses(y).items():
            residual = velocity_residual(manifold, loss, u)
            gradient = loss.gradient(u)
            tangent = np.linalg.norm(manifold.projection(u, gradient))
            scale = eps * kappa * np.linalg.norm(gradient) / tangent
            for kind, value in zip(
                _KINDS, (residual, residual / scale, scale), strict=True
            ):
                values[kind][name].append(float(value))
    # largest, unlike max, keeps a NaN: a missing measurement never passes.
    return PointwiseResult(
        condition=float(condition),
        data=data,
        inputs_shape=tuple(int(k) for k in problem.X.shape),
        **{
            kind: {name: largest(v) for name, v in by_loss.items()}
            for kind, by_loss in values.items()
        },
    )


_KINDS = ("residual", "ratio", "scale")


def _trajectory_problem(config: Config, data, entropy):
    """(output map, theta0, loss) of the trajectory comparison."""
    from riemgn.data import teacher_student

    rng = run_rng(entropy)
    if data in REAL_DATA:
        X, y = _real_data(data)
        problem = teacher_student(*X.shape, config.width, rng=rng, X=X, distance=0.0)
    else:
        problem = teacher_student(
            config.trajectory_n,
            config.trajectory_d,
            config.width,
            rng=rng,
            distance=config.distance,
            noise=config.noise,
        )
        y = problem.y
    return problem.output_map, problem.params0, SquaredLoss(y)


def _scheme_errors(manifold, loss, u0, tight, scheme, config: Config):
    """The intrinsic flow of ``scheme`` at every step, against the reference."""
    errors, times, deviations, statuses = [], [], [], []
    for step in config.steps:
        intrinsic = riemannian_gradient_flow(
            manifold, loss, u0, (0.0, config.t_end), step=float(step), scheme=scheme
        )
        statuses.append(intrinsic.status.value)
        comparison = compare_trajectories(tight, intrinsic)
        errors.append(comparison.sup_deviation)
        times.append(comparison.times)
        deviations.append(np.asarray(comparison.deviations))
    return SchemeErrors(
        scheme=scheme,
        steps=[float(s) for s in config.steps],
        errors=errors,
        times=times,
        deviations=deviations,
        statuses=statuses,
    )


def trajectory_errors(*, config: Config, data, entropy) -> TrajectoryResult:
    r"""The sup deviation between the GN flow and the intrinsic flow, per scheme and step.

    The GN flow (DOP853, ``rtol = reference_rtol``, ``atol`` 10 times smaller)
    is sampled once on the grid of the finest step, which holds every coarser
    grid; a second GN run with tolerances ``floor_ratio`` times looser
    measures the reference's own error (``floor``, an over-estimate). Then
    for each scheme and step the intrinsic flow runs on ``[0, t_end]`` and is
    compared with the reference at its own sample times.

    The claim is about flows on :math:`M = F(B(\theta_0, \rho))`,
    ``rho = radius``: a problem whose GN flow leaves the ball before ``t_end``
    (or loses rank or blows up, for example when two neurons align) is
    replaced by the next draw, at most ``max_draws`` times; the replaced
    draws are listed in ``redrawn`` (how each one's GN flow ended).
    """
    t_end = config.t_end
    finest = min(config.steps)
    grid = finest * np.arange(1, int(round(t_end / finest)) + 1)
    grid[-1] = t_end

    def reference(output_map, params0, loss, rtol):
        return gauss_newton_flow(
            output_map,
            params0,
            loss,
            (0.0, t_end),
            t_eval=grid,
            rtol=rtol,
            atol=0.1 * rtol,
            radius=config.radius,
        )

    ended = []
    for draw in range(config.max_draws):
        output_map, params0, loss = _trajectory_problem(config, data, (*entropy, draw))
        tight = reference(output_map, params0, loss, config.reference_rtol)
        if tight.status.value == "t_end":
            break
        ended.append(f"{tight.status.value} at t = {tight.final_time:.3g}")
    else:  # no draw stays on M up to t_end: nothing to compare
        return TrajectoryResult(
            schemes=(),
            floor=float("nan"),
            reference_status=tight.status.value,
            redrawn=ended,
            condition=gram_condition(output_map, params0),
        )
    manifold = OutputManifold(output_map, params0)
    u0 = manifold.point(params0)
    floor = compare_trajectories(
        tight,
        reference(
            output_map, params0, loss, config.floor_ratio * config.reference_rtol
        ),
    )
    return TrajectoryResult(
        schemes=tuple(
            _scheme_errors(manifold, loss, u0, tight, scheme, config)
            for scheme in config.schemes
        ),
        floor=floor.sup_deviation,
        reference_status=tight.status.value,
        redrawn=ended,
        condition=gram_condition(output_map, params0),
    )


def _tasks(config, *, data, seed):
    config = typed_config(Config, config)
    tasks = []
    for k in range(config.n_problems):
        for j, condition in enumerate(config.input_conditions):
            tasks.append(
                Task(
                    f"problem {k} pointwise cond(X)={condition:.0e}",
                    pointwise_residuals,
                    {
                        "config": config,
                        "input_condition": float(condition),
                        "data": data,
                        "entropy": run_seed(seed, CLAIM_ID, 0, k, j),
                    },
                )
            )
        tasks.append(
            Task(
                f"problem {k} trajectories",
                trajectory_errors,
                {
                    "config": config,
                    "data": data,
                    "entropy": run_seed(seed, CLAIM_ID, 1, k),
                },
            )
        )
    return tasks


def _split(results):
    """(pointwise results, trajectory comparisons: one per problem)."""
    pointwise = [r for r in results if isinstance(r, PointwiseResult)]
    comparisons = [r for r in results if isinstance(r, TrajectoryResult)]
    return pointwise, comparisons


def _fitted_order(steps, errors) -> float:
    """The log-log slope of the errors; NaN if any error is zero or not finite."""
    errors = np.asarray(errors, float)
    if np.any(errors <= 0) or not np.all(np.isfinite(errors)):
        return float("nan")
    return log_slope(steps, errors)


def _data_notes(pointwise) -> list[str]:
    """How the runs used the real data (none for synthetic data)."""
    if not pointwise or pointwise[0].data not in REAL_DATA:
        return []
    n, d = pointwise[0].inputs_shape
    name, target = data_words(pointwise[0].data)
    return [
        f"data: the standardized {name} features and {target}, all {n} samples "
        f"and {d} features. Pointwise: for each input condition c the feature "
        f"columns are multiplied by geomspace(1, 1/c, {d}); the squared loss fits "
        f"the {target}, the logistic loss its sign (+1 where it is >= 0, "
        "else -1). Trajectories: the features, unscaled, and the "
        f"squared loss on the {target}, from a standard random "
        "initialization (no teacher, no added noise)."
    ]


def _pointwise_checks(config: Config, pointwise, metrics) -> list[Check]:
    """The velocity identity and the span of cond(G0); records their metrics."""
    if not pointwise:
        return []
    metrics["max_velocity_residual"] = largest(
        [r.residual[name] for r in pointwise for name in LOSSES]
    )
    worst = largest([r.ratio[name] for r in pointwise for name in LOSSES])
    metrics["max_roundoff_ratio"] = worst
    metrics["resolution"] = config.roundoff_factor * largest(
        [r.scale[name] for r in pointwise for name in LOSSES]
    )
    count = len(config.input_conditions)
    decades = min(
        float(np.log10(max(c) / min(c)))
        for c in (
            metrics["conditions"][k : k + count]
            for k in range(0, len(pointwise), count)
        )
    )
    metrics["condition_decades"] = decades
    return [
        Check.below(
            "velocity residual / round-off scale (max)",
            worst,
            config.roundoff_factor,
            "worst r(u) / s(u), r = |J theta'_GN + grad h| / |grad h| and "
            "s = eps cond(J(theta(u))) |grad_E h| / |P grad_E h|, over points, "
            "losses and cond(G0)",
        ),
        Check.above(
            "cond(G0) decades spanned (min)",
            decades,
            config.min_decades,
            "decades of cond(G0) spanned by each problem's pointwise sweep "
            "(the smallest span)",
        ),
    ]


def _unresolved(config: Config, comparisons, resolution) -> list[str]:
    """Why the experiment cannot decide: runs that ended early, a coarse check."""
    bad = []
    for k, comparison in enumerate(comparisons):
        if comparison.reference_status != "t_end":
            bad.append(
                f"problem {k}: the GN reference ended by "
                f"{comparison.reference_status} before t_end"
            )
        for result in comparison.schemes:
            bad += [
                f"problem {k}: the {result.scheme} flow at h = {step:g} ended by "
                f"{status} before t_end"
                for step, status in zip(result.steps, result.statuses, strict=True)
                if status != "t_end"
            ]
    if resolution is not None and resolution > config.max_resolution:
        bad.append(
            f"the pointwise check cannot see a relative velocity error below "
            f"{resolution:.1e} (round-off factor x largest round-off scale), above "
            f"{config.max_resolution:g}"
        )
    return bad


def _order_checks(config: Config, comparisons, metrics) -> list[Check]:
    """Each scheme's fitted order and the margin over the reference's error."""
    checks = []
    for scheme in config.schemes if comparisons else []:
        nominal = float(SCHEMES[scheme].order)
        orders = [
            _fitted_order(r.steps, r.errors)
            for c in comparisons
            for r in c.schemes
            if r.scheme == scheme
        ]
        metrics[f"{scheme}_orders"] = orders
        worst = max(
            orders, key=lambda q: abs(q - nominal) if np.isfinite(q) else np.inf
        )
        metrics[f"{scheme}_order"] = worst
        checks.append(
            Check.within(
                f"{scheme} order (worst)",
                worst,
                target=nominal,
                tolerance=config.order_tolerance,
                description="log-log slope of sup_t |F(theta_t) - u_t| against the "
                f"step, {scheme} scheme (worst problem)",
            )
        )
    if comparisons:
        margin = min(
            min(min(r.errors) for r in c.schemes) / c.floor for c in comparisons
        )
        metrics["floor_margin"] = margin
        checks.append(
            Check.above(
                "deviation / reference error (min)",
                margin,
                config.floor_margin,
                "smallest deviation / the GN reference's own error (over-estimated "
                "by a run with looser tolerances)",
            )
        )
    return checks


def _evaluate(config, results) -> Verdict:
    config = typed_config(Config, config)
    pointwise, comparisons = _split(results)
    notes = _data_notes(pointwise)
    metrics = {"conditions": [r.condition for r in pointwise]}
    for name in LOSSES:
        metrics[f"residual_{name}"] = [r.residual[name] for r in pointwise]
        metrics[f"roundoff_ratio_{name}"] = [r.ratio[name] for r in pointwise]
    checks = _pointwise_checks(config, pointwise, metrics)
    if comparisons:
        metrics["steps"] = list(config.steps)
        metrics["reference_floor"] = [c.floor for c in comparisons]
        metrics["trajectory_condition"] = [c.condition for c in comparisons]
        metrics["trajectory_redrawn"] = [c.redrawn for c in comparisons]
    for comparison in comparisons:
        for result in comparison.schemes:
            metrics.setdefault(f"{result.scheme}_errors", []).append(result.errors)
    bad = _unresolved(config, comparisons, metrics.get("resolution"))
    if bad:
        return Verdict.inconclusive(
            "; ".join(bad),
            metrics,
            checks=checks,
            notes=notes,
        )
    checks += _order_checks(config, comparisons, metrics)
    if not checks:
        return Verdict.inconclusive(
            "no measurements were configured", metrics, notes=notes
        )
    # The headline is the pointwise identity itself; the orders back it up.
    return Verdict(checks, metrics, checks[0].name, notes=notes)


def _figure(config, results, verdict):
    config = typed_config(Config, config)
    pointwise, comparisons = _split(results)
    comparisons = [c for c in comparisons if c.schemes]  # skip the empty ones
    figure, (left, middle, right) = new_figure(3, width=5.0)
    trajectories = comparisons[0].schemes if comparisons else []
    shown = next(
        (r for r in trajectories if r.scheme == config.figure_scheme),
        trajectories[0] if trajectories else None,
    )
    if shown is not None:
        for step, times, deviation in zip(
            shown.steps, shown.times, shown.deviations, strict=True
        ):
            positive = deviation > 0
            left.semilogy(times[positive], deviation[positive], label=f"$h = {step:g}$")
        legend(left)
        name = SCHEME_NAMES.get(shown.scheme, shown.scheme)
        left.set_title(f"Deviation along the flow ({name}, first problem)")
    left.set_xlabel(SYMBOLS["time"])
    left.set_ylabel(r"$\|F(\theta_t) - u_t\|$")
    _order_panel(middle, config, comparisons)
    if pointwise:
        conditions = [r.condition for r in pointwise]
        for name, marker in zip(LOSSES, MARKERS, strict=False):
            values = np.maximum([r.ratio[name] for r in pointwise], 1e-6)
            right.loglog(conditions, values, marker, label=f"{name} loss")
        right.axhline(config.roundoff_factor, color="k", ls="--", label="bound")
        legend(right)
    right.set_xlabel(SYMBOLS["cond_G0"])
    right.set_ylabel(r"largest $r(u)\,/\,s(u)$ (residual / round-off scale)")
    right.set_title("Pointwise velocity residual")
    return finish(
        figure,
        CLAIM_ID,
        r"The GN flow is the Riemannian gradient flow on $\mathcal{M}$",
        verdict.status.value,
    )


def _order_panel(middle, config: Config, comparisons):
    """The global error against the step, per scheme and problem, with the fits."""
    for index, scheme in enumerate(config.schemes if comparisons else []):
        colour, marker = color(index), MARKERS[index % len(MARKERS)]
        orders = []
        for comparison in comparisons:
            result = next(r for r in comparison.schemes if r.scheme == scheme)
            steps, errors = np.asarray(result.steps), np.asarray(result.errors)
            middle.loglog(steps, errors, marker, color=colour)
            order = _fitted_order(steps, errors)
            orders.append(order)
            if np.isfinite(order):
                intercept = np.mean(np.log(errors) - order * np.log(steps))
                middle.loglog(
                    steps, np.exp(intercept) * steps**order, "-", color=colour, lw=1
                )
        text = ", ".join(f"{q:.2f}" for q in orders)
        name = SCHEME_NAMES.get(scheme, scheme)
        middle.plot(
            [], [], "-", marker=marker, color=colour, label=f"{name}: order {text}"
        )
    if comparisons:
        floor = max(c.floor for c in comparisons)
        middle.axhline(floor, color="gray", ls=":", lw=1.5, label="GN reference error")
        legend(middle)
    middle.set_xlabel(SYMBOLS["step"])
    middle.set_ylabel(r"$\sup_t \|F(\theta_t) - u_t\|$")
    middle.set_title("Global error against the step")
    if comparisons:
        steps = list(config.steps)
        middle.set_xticks(steps, [f"{step:g}" for step in steps])
    middle.xaxis.set_minor_formatter(NullFormatter())


#: The claim C1 (GN flow = Riemannian gradient flow on M), for ``riemgn verify``.
#:
#: Its ``statement`` and ``criterion`` are the text of the report; the module
#: documentation above describes the experiment.
CLAIM = Claim(
    id=CLAIM_ID,
    title="GN flow is the Riemannian gradient flow on M",
    statement=(
        "The Gauss-Newton flow theta' = -J^+ grad h in parameter space moves the "
        "outputs u = F(theta) along the Riemannian gradient flow u' = -grad h(u) "
        "of the output manifold M, pointwise and along whole trajectories."
    ),
    criterion=(
        f"max velocity residual r = |J theta'_GN + grad h| / |grad h| <= "
        f"{_ROUNDOFF_FACTOR:g} s, its round-off scale s = eps cond(J(theta(u))) "
        "|grad_E h| / |P grad_E h|, at random points of manifolds whose cond(G0) "
        "spans >= "
        f"{_MIN_DECADES:g} decades (full synthetic: {_MIN_DECADES_FULL:g}), for squared and "
        f"logistic losses; sup_t |F(theta_t) - u_t| between the GN flow "
        f"and the intrinsic flow shrinks with the step at the scheme's order: fitted "
        f"log-log slope within {_ORDER_TOLERANCE:g} of 1 (Euler), 2 (Heun), 4 (RK4); "
        f"every deviation >= {_FLOOR_MARGIN:g} times the GN reference's own error."
    ),
    presets={"quick": _QUICK, "full": _FULL, "scale": _SCALE},
    tasks=_tasks,
    evaluate=_evaluate,
    figure=_figure,
    config_type=Config,
    data=("synthetic", "diabetes", "breast_cancer", "digits"),
    expected_seconds={"quick": 4.0, "full": 25.0},  # diabetes: 8 and 50; digits: 5, 29
)
