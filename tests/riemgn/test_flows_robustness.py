"""Robustness of the flows, the discrete solvers and their results (issue 12).

Every value a flow records is finite or the flow says why not; a converged
flow stops on its own; only domain errors become a status; tolerances that
float64 cannot meet, wrong objects and lax scalars are refused up front;
trajectory files are validated; extreme but finite inputs give a finite
result or a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

from manifolds import ManifoldError, OutputManifold
from riemgn import SquaredLoss, TwoLayerNetwork
from riemgn.damping import Constant, DampingState, KernelTied, ResidualProportional
from riemgn.equivalence import velocity_residual
from riemgn.flows import (
    FlowStatus,
    Trajectory,
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
    riemannian_gradient_flow,
)
from riemgn.solvers import (
    gauss_newton,
    levenberg_marquardt,
    riemannian_gradient_descent,
)


def _problem(*, alpha=1.0, width=2, n=8, y_scale=1.0, params_scale=1.0, seed=0):
    """A small two-layer problem: (output map, params0, loss)."""
    rng = np.random.default_rng(seed)
    network = TwoLayerNetwork(2, width, alpha=alpha)
    theta = network.init_params(rng, "standard")
    F = network.output_map(rng.normal(size=(n, 2)))
    y = F.value(theta + 0.1 * rng.normal(size=theta.size)) if alpha == 1.0 else None
    if y is None or y_scale != 1.0:
        y = y_scale * rng.normal(size=n)
    return F, params_scale * theta, SquaredLoss(y)


@pytest.fixture(scope="module")
def small():
    return _problem()


def _intrinsic(F, params0, loss, t_span=(0.0, 0.5), **options):
    manifold = OutputManifold(F, params0)
    return riemannian_gradient_flow(
        manifold, loss, manifold.point(params0), t_span, **options
    )


PARAMETER_FLOWS = {
    "gauss_newton": lambda F, p, loss, t_span, **kw: gauss_newton_flow(
        F, p, loss, t_span, **kw
    ),
    "levenberg_marquardt": lambda F, p, loss, t_span, **kw: levenberg_marquardt_flow(
        F, p, loss, t_span, damping=KernelTied(1.0), **kw
    ),
    "gradient": lambda F, p, loss, t_span, **kw: gradient_flow(
        F, p, loss, t_span, **kw
    ),
}


def _assert_finite_trajectory(trajectory):
    arrays = {
        "times": trajectory.times,
        "outputs": trajectory.outputs,
        "losses": trajectory.losses,
        "params": trajectory.params,
        **trajectory.extras,
    }
    for name, value in arrays.items():
        if value is not None:
            assert np.all(np.isfinite(value)), (name, trajectory.message)
    assert len(trajectory) >= 1
    if not trajectory.success:
        assert trajectory.message


# ----------------------------------------------------------------------
# Case 1: non-finite values are refused at the start or end the run


@pytest.mark.parametrize("flow", list(PARAMETER_FLOWS))
def test_an_overflowing_loss_at_the_start_is_refused(flow):
    # alpha = 1e200: |F| ~ 1e199 and h = |F - y|^2 / 2 ~ 1e398 overflows.
    F, params0, loss = _problem(alpha=1e200)
    with pytest.raises(ValueError, match="`params0`.*overflows float64"):
        PARAMETER_FLOWS[flow](F, params0, loss, (0.0, 1.0))


class _LossOverflowingNearY(SquaredLoss):
    """A squared loss that returns inf (without raising) once u is near y."""

    def __init__(self, y, radius):
        super().__init__(y)
        self.radius = radius

    def value(self, u):
        value = super().value(u)
        return value if value > self.radius else float("inf")


@pytest.mark.parametrize("flow", [*PARAMETER_FLOWS, "intrinsic"])
def test_a_loss_that_stops_being_finite_ends_the_run_with_blow_up(small, flow):
    # Before the fix the parameter flows recorded the inf losses and ended t_end.
    F, params0, loss = small
    bad = _LossOverflowingNearY(loss.y, radius=0.5 * loss.value(F.value(params0)))
    if flow == "intrinsic":
        trajectory = _intrinsic(F, params0, bad, (0.0, 1.0), step=0.1)
    else:
        trajectory = PARAMETER_FLOWS[flow](F, params0, bad, (0.0, 1.0))
    assert trajectory.status is FlowStatus.BLOW_UP, trajectory.message
    assert "not finite" in trajectory.message
    _assert_finite_trajectory(trajectory)


# ----------------------------------------------------------------------
# Case 2: a converged flow stops; an unreachable horizon is refused at once


@pytest.mark.parametrize("flow", list(PARAMETER_FLOWS))
def test_a_converged_flow_stops_over_a_huge_horizon(small, flow):
    F, params0, loss = small
    # Before the fix the integrator stepped at its stability limit until the
    # step budget ran out (158 s for t1 = 1e6 with the default budget); that
    # would end with status max_steps here.
    trajectory = PARAMETER_FLOWS[flow](F, params0, loss, (0.0, 1e300), max_steps=3000)
    assert trajectory.status is FlowStatus.CONVERGED, trajectory.message
    assert "ftol" in trajectory.message
    assert trajectory.losses[-1] < 1e-16 * trajectory.losses[0]
    _assert_finite_trajectory(trajectory)


def test_the_intrinsic_adaptive_flow_stops_over_a_huge_horizon(small):
    F, params0, loss = small
    trajectory = _intrinsic(
        F, params0, loss, (0.0, 1e300), step="adaptive", max_steps=3000
    )
    assert trajectory.status is FlowStatus.CONVERGED, trajectory.message
    assert trajectory.losses[-1] < 1e-10 * trajectory.losses[0]


def test_the_rest_test_does_not_cut_a_moving_flow_short(small):
    # With and without the default ftol, the samples agree up to the stop,
    # and the stop comes only once the loss has reached its floor.
    F, params0, loss = small
    t_eval = np.linspace(0.0, 200.0, 401)[1:]
    resting = gauss_newton_flow(F, params0, loss, (0.0, 200.0), t_eval=t_eval)
    running = gauss_newton_flow(
        F, params0, loss, (0.0, 200.0), t_eval=t_eval, ftol=None
    )
    assert running.status is FlowStatus.T_END
    assert resting.status is FlowStatus.CONVERGED
    k = len(resting) - 1  # the stop is recorded at its own time
    np.testing.assert_array_equal(resting.outputs[:k], running.outputs[:k])
    # It stopped at the noise floor of the integration (rtol = 1e-10 on theta),
    # where the loss only wanders: the run to t_end gains nothing real.
    initial = resting.losses[0]
    assert resting.losses.min() <= 1e-16 * initial
    assert running.losses[k:].max() <= 1e-15 * initial
    assert running.losses[k:].min() >= 1e-3 * resting.losses.min()


def test_an_unreachable_fixed_step_grid_is_refused_at_once(small):
    F, params0, loss = small
    # Refused before any step: the errors come from the argument checks.
    with pytest.raises(ValueError, match="`step` = 0.001 needs 10000000000000 steps"):
        _intrinsic(F, params0, loss, (0.0, 1e10), step=1e-3)
    # t + step == t near the end of the span: the grid would not advance.
    with pytest.raises(ValueError, match="`step` = 0.1 is below 16 x the spacing"):
        _intrinsic(F, params0, loss, (0.0, 1e300), step=0.1)
    with pytest.raises(ValueError, match="`step` = 1 is below 16 x the spacing"):
        _intrinsic(F, params0, loss, (1e16, 1e16 + 64.0), step=1.0)


# ----------------------------------------------------------------------
# Case 3: only domain errors become a status


class _GradientShapeBugLater(SquaredLoss):
    """A loss whose gradient gets the wrong shape after a few calls (a bug)."""

    def __init__(self, y, good_calls=4):
        super().__init__(y)
        self.calls, self.good_calls = 0, good_calls

    def gradient(self, u):
        self.calls += 1
        g = super().gradient(u)
        return g if self.calls <= self.good_calls else g[:-1]


@pytest.mark.parametrize("flow", [*PARAMETER_FLOWS, "fixed", "adaptive"])
def test_a_bug_in_the_loss_propagates(small, flow):
    F, params0, loss = small
    bad = _GradientShapeBugLater(loss.y)
    with pytest.raises(ValueError, match=r"shape \(7,\).*\(8,\)"):
        if flow in PARAMETER_FLOWS:
            PARAMETER_FLOWS[flow](F, params0, bad, (0.0, 1.0))
        else:
            _intrinsic(F, params0, bad, step=0.1 if flow == "fixed" else "adaptive")


@pytest.mark.parametrize(
    "error", [ValueError("my bug"), AttributeError("no such field")]
)
def test_a_bug_in_a_damping_schedule_propagates(small, error):
    F, params0, loss = small

    def schedule(t, state):
        if t > 0:
            raise error
        return 0.1

    with pytest.raises(type(error), match=str(error)):
        levenberg_marquardt_flow(F, params0, loss, (0.0, 1.0), damping=schedule)


def test_a_non_finite_damping_is_a_blow_up(small):
    F, params0, loss = small
    trajectory = levenberg_marquardt_flow(
        F,
        params0,
        loss,
        (0.0, 1.0),
        damping=lambda t, state: 0.1 if t == 0 else float("inf"),
    )
    assert trajectory.status is FlowStatus.BLOW_UP
    assert "returned inf" in trajectory.message
    _assert_finite_trajectory(trajectory)


def test_a_bug_in_a_discrete_schedule_propagates(small):
    F, params0, loss = small

    def schedule(k, state):
        if k > 0:
            raise ValueError("my bug")
        return 0.1

    with pytest.raises(ValueError, match="my bug"):
        levenberg_marquardt(F, params0, loss, damping=schedule)


# ----------------------------------------------------------------------
# Case 4: tolerances float64 cannot meet


@pytest.mark.parametrize("rtol", [1e-300, 1e-15])
@pytest.mark.parametrize("flow", [*PARAMETER_FLOWS, "adaptive"])
def test_an_unattainable_rtol_is_refused(small, flow, rtol):
    F, params0, loss = small
    with pytest.raises(ValueError, match=rf"`rtol` = {rtol:g} cannot be met.*2.22e-14"):
        if flow == "adaptive":
            _intrinsic(F, params0, loss, step="adaptive", rtol=rtol, atol=1e-300)
        else:
            PARAMETER_FLOWS[flow](F, params0, loss, (0.0, 1.0), rtol=rtol)


def test_a_step_size_underflow_is_reported(small):
    F, params0, loss = small
    trajectory = _intrinsic(
        F, params0, loss, (1e15, 1e15 + 1.0), step="adaptive", first_step=1e-20
    )
    assert trajectory.status is FlowStatus.SOLVER_FAILED
    assert "step size underflow at t = 1e+15" in trajectory.message
    _assert_finite_trajectory(trajectory)


# ----------------------------------------------------------------------
# Case 5: trajectory files and the constructor share one schema check


def _saved(tmp_path):
    t = np.linspace(0.0, 1.0, 3)
    trajectory = Trajectory(
        t, np.c_[t, 2 * t], t**2, np.c_[t], "t_end", "done", extras={"damping": t}
    )
    path = tmp_path / "run.npz"
    trajectory.save(path)
    with np.load(path, allow_pickle=False) as data:
        return path, dict(data)


BAD_FILES = {
    "text": (
        lambda path, arrays: path.write_text("not a trajectory\n"),
        "readable .npz",
    ),
    "npy": (
        lambda path, arrays: np.save(path.with_suffix(".npy"), np.arange(3.0)),
        ".npy",
    ),
    "empty": (lambda path, arrays: path.write_bytes(b""), "readable .npz"),
    "truncated": (
        lambda path, arrays: path.write_bytes(
            path.with_name("run.npz").read_bytes()[:200]
        ),
        "readable .npz",
    ),
    "nan": (
        lambda path, arrays: np.savez(path, **dict(arrays, losses=np.full(3, np.nan))),
        "`losses` holds 3 non-finite",
    ),
    "zero-length": (
        lambda path, arrays: np.savez(
            path,
            **{k: (v[:0] if v.ndim else v) for k, v in arrays.items()},
        ),
        "`times` is empty",
    ),
    "extras": (
        lambda path, arrays: np.savez(path, **dict(arrays, extra__damping=np.ones(7))),
        r"`extras\['damping'\]` has 7 samples",
    ),
    "bool": (
        lambda path, arrays: np.savez(
            path, **dict(arrays, outputs=np.ones((3, 2), bool))
        ),
        "`outputs` must hold real numbers, got dtype bool",
    ),
    "status": (
        lambda path, arrays: np.savez(path, **dict(arrays, status=np.array("done?"))),
        "`status` must be one of",
    ),
    "unknown": (
        lambda path, arrays: np.savez(path, **dict(arrays, surprise=np.ones(3))),
        r"unexpected field\(s\) \['surprise'\]",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_trajectory_file_raises_one_clear_error(tmp_path, kind):
    from riemgn.flows import TrajectoryFormatError

    _, arrays = _saved(tmp_path)
    write, match = BAD_FILES[kind]
    path = tmp_path / f"{kind}.npz"
    write(path, arrays)
    if kind == "npy":
        path = path.with_suffix(".npy")
    with pytest.raises(TrajectoryFormatError, match=match) as caught:
        Trajectory.load(path)
    assert path.name in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_the_constructor_validates_like_load():
    from riemgn.flows import TrajectoryFormatError

    t = np.linspace(0.0, 1.0, 3)
    good = {
        "times": t,
        "outputs": np.c_[t],
        "losses": t,
        "params": None,
        "status": "t_end",
        "message": "",
    }
    for change, match in [
        (
            {"times": t[:0], "outputs": np.zeros((0, 1)), "losses": t[:0]},
            "`times` is empty",
        ),
        ({"losses": [0.0, np.inf, 1.0]}, "`losses` holds 1 non-finite"),
        ({"times": [0.0, 0.5, 0.5]}, "`times` must be strictly increasing"),
        ({"outputs": np.c_[t].astype(str)}, "`outputs` must hold real numbers"),
        ({"status": "finished"}, "`status` must be one of"),
        ({"message": 3}, "`message` must be a str"),
    ]:
        with pytest.raises(TrajectoryFormatError, match=match):
            Trajectory(**{**good, **change})
    with pytest.raises(TrajectoryFormatError, match="`n_value_evals`"):
        Trajectory(**good, n_value_evals=True)
    assert "samples=3" in repr(Trajectory(**good))


def test_load_rejects_a_path_that_is_not_one():
    with pytest.raises(TypeError, match="`path` must be a str or os.PathLike"):
        Trajectory.load(3.5)


# ----------------------------------------------------------------------
# Case 6: wrong objects


@pytest.mark.parametrize(
    "schedule", [Constant(1.0), KernelTied(1.0), ResidualProportional(1.0)]
)
@pytest.mark.parametrize("state", ["x", None, 3])
def test_a_damping_rule_needs_a_damping_state(schedule, state):
    with pytest.raises(
        TypeError, match="`state` must be a riemgn.damping.DampingState"
    ):
        schedule(0.0, state)


def test_a_damping_state_without_the_gradient_is_named():
    state = DampingState(None, None, None, 0.0, np.array([1.0]))
    with pytest.raises(TypeError, match="`state.gradient` is None"):
        ResidualProportional(1.0)(0.0, state)


@pytest.mark.parametrize("bad", ["x", 3, None, object()])
def test_wrong_objects_are_named(small, bad):
    F, params0, loss = small
    manifold = OutputManifold(F, params0)
    calls = {
        "output_map": [
            lambda: gauss_newton_flow(bad, params0, loss, (0.0, 1.0)),
            lambda: levenberg_marquardt_flow(
                bad, params0, loss, (0.0, 1.0), damping=1.0
            ),
            lambda: gradient_flow(bad, params0, loss, (0.0, 1.0)),
            lambda: gauss_newton(bad, params0, loss),
            lambda: levenberg_marquardt(bad, params0, loss),
        ],
        "loss": [
            lambda: gauss_newton_flow(F, params0, bad, (0.0, 1.0)),
            lambda: riemannian_gradient_flow(
                manifold, bad, manifold.point(params0), (0.0, 1.0), step=0.1
            ),
            lambda: gauss_newton(F, params0, bad),
            lambda: velocity_residual(manifold, bad, manifold.point(params0)),
        ],
        "manifold": [
            lambda: riemannian_gradient_flow(
                bad, loss, F.value(params0), (0.0, 1.0), step=0.1
            ),
            lambda: velocity_residual(bad, loss, F.value(params0)),
        ],
    }
    for argument, functions in calls.items():
        for call in functions:
            with pytest.raises(TypeError, match=f"`{argument}`"):
                call()


# ----------------------------------------------------------------------
# Case 7: lax scalars


@pytest.mark.parametrize(
    "t_span", [("0", "1"), (0, True), (None, 1.0), (0.0, np.True_), (-1e308, 1e308)]
)
@pytest.mark.parametrize("flow", [*PARAMETER_FLOWS, "intrinsic"])
def test_t_span_entries_must_be_numbers(small, flow, t_span):
    F, params0, loss = small
    with pytest.raises(ValueError, match="`t_span`"):
        if flow == "intrinsic":
            _intrinsic(F, params0, loss, t_span, step=0.1)
        else:
            PARAMETER_FLOWS[flow](F, params0, loss, t_span)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("t_eval", [True, False]),
        ("t_eval", ["0.5"]),
        ("rtol", True),
        ("rtol", "1e-6"),
        ("atol", True),
        ("gtol", True),
        ("ftol", "0"),
        ("ftol", False),
        ("max_steps", True),
        ("max_steps", "10"),
        ("radius", True),
    ],
)
def test_scalar_options_must_be_numbers(small, option, value):
    F, params0, loss = small
    with pytest.raises((TypeError, ValueError), match=f"`{option}`"):
        gauss_newton_flow(F, params0, loss, (0.0, 1.0), **{option: value})


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("step", True),
        ("max_steps", True),
        ("gtol", "1"),
        ("ftol", True),
        ("rtol", True),
    ],
)
def test_intrinsic_scalar_options_must_be_numbers(small, option, value):
    F, params0, loss = small
    step = "adaptive" if option == "rtol" else 0.1
    options = {"step": step, option: value}
    with pytest.raises((TypeError, ValueError), match=f"`{option}`"):
        _intrinsic(F, params0, loss, **options)


def test_evaluate_damping_needs_a_real_time():
    from riemgn.damping import evaluate_damping

    state = DampingState(None, None, None, 0.0, np.array([1.0]))
    for t in ("1.0", True, float("nan")):
        with pytest.raises((TypeError, ValueError), match="`t`"):
            evaluate_damping(Constant(1.0), t, state)
    with pytest.raises(TypeError, match="`schedule`"):
        evaluate_damping("x", 0.0, state)


# ----------------------------------------------------------------------
# Case 8: extreme but finite inputs


EXTREMES = {
    "y*1e300": {"y_scale": 1e300},
    "y*1e-300": {"y_scale": 1e-300},
    "params0*1e300": {"params_scale": 1e300},
    "params0*1e-300": {"params_scale": 1e-300},
    "alpha=1e300": {"alpha": 1e300},
    "alpha=1e200": {"alpha": 1e200},
    "alpha=1e-300": {"alpha": 1e-300},
}
RUNS = {
    **{
        name: (lambda F, p, loss, flow=flow: flow(F, p, loss, (0.0, 0.5)))
        for name, flow in PARAMETER_FLOWS.items()
    },
    "intrinsic_rk4": lambda F, p, loss: _intrinsic(F, p, loss, step=0.1),
    "intrinsic_adaptive": lambda F, p, loss: _intrinsic(F, p, loss, step="adaptive"),
    "solver_gauss_newton": lambda F, p, loss: gauss_newton(F, p, loss, max_iter=20),
    "solver_levenberg_marquardt": lambda F, p, loss: levenberg_marquardt(
        F, p, loss, max_iter=20
    ),
    "solver_levenberg_marquardt_schedule": lambda F, p, loss: levenberg_marquardt(
        F, p, loss, damping=ResidualProportional(1.0), max_iter=20
    ),
    "solver_riemannian_gradient_descent": lambda F, p, loss: (
        riemannian_gradient_descent(OutputManifold(F, p), loss, max_iterations=20)
    ),
}
ARGUMENT_NAMES = ("params0", "u0", "y", "loss", "alpha")


@pytest.mark.parametrize("extreme", list(EXTREMES))
def test_extreme_finite_inputs_give_a_finite_result_or_a_clear_error(extreme):
    F, params0, loss = _problem(**EXTREMES[extreme])
    for name, run in RUNS.items():
        try:
            result = run(F, params0, loss)
        except ManifoldError as error:  # the manifold refuses the start
            assert str(error), name
            continue
        except (ValueError, TypeError) as error:
            assert any(f"`{arg}`" in str(error) for arg in ARGUMENT_NAMES), (
                name,
                error,
            )
            continue
        if isinstance(result, Trajectory):
            _assert_finite_trajectory(result)
            continue
        # A SolverResult: its iterate and its history are finite.
        for field in ("params", "outputs", "loss"):
            assert np.all(np.isfinite(getattr(result, field))), (name, field)
        history = result.history
        for field in ("loss", "gradient_norm", "step_norm"):
            assert np.all(np.isfinite(getattr(history, field))), (name, field)
        if name != "solver_riemannian_gradient_descent":  # NaN: not applicable there
            assert np.all(np.isfinite(history.damping)), name
            assert not np.any(np.isnan(history.gain_ratio)), name  # -inf: rejected
        if not result.success:
            assert result.message, name
