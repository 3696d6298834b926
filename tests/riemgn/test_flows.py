"""Parameter-space flows: rates, kernel form, events, results and validation."""

import tracemalloc

import numpy as np
import pytest
from problems import (
    NaNBeyond,
    gram_condition,
    kernel_mode_target,
    overparameterized_with_lambda_min,
    slow_teacher_target,
    teacher_target,
    two_layer,
    two_layer_with_condition,
)

from riemgn.flows import (
    Constant,
    FlowStatus,
    KernelTied,
    ResidualProportional,
    Trajectory,
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
)
from riemgn.losses import LogisticLoss, SquaredLoss
from riemgn.networks import TwoLayerNetwork
from riemgn.theory import fit_exponential_rate

CONDITIONS = [10.0**e for e in range(1, 9)]


def _conditioned(target):
    # cond(G0) in [target, 1.44 target]: the sweep covers 1e1 .. 1e8.
    return two_layer_with_condition(
        1.2 * target, n=40, d=2, width=2, tolerance=1.2, seed=0, build_manifold=False
    )


# ----------------------------------------------------------------------
# Claim: GN's rate is 2 whatever cond(G0); GD's rate follows lambda_min(G0)


@pytest.mark.parametrize("target", CONDITIONS)
def test_gauss_newton_rate_is_two_whatever_the_conditioning(target):
    problem = _conditioned(target)
    condition = gram_condition(problem.output_map, problem.params0)
    assert target <= condition <= 1.44 * target
    for y in (teacher_target(problem, 0.1, seed=1), slow_teacher_target(problem, 0.1)):
        trajectory = gauss_newton_flow(
            problem.output_map,
            problem.params0,
            SquaredLoss(y),
            (0.0, 15.0),
            t_eval=np.linspace(0.0, 15.0, 151),
        )
        assert trajectory.status is FlowStatus.T_END, trajectory.message
        fit = fit_exponential_rate(trajectory.times, trajectory.losses)  # h* = 0
        print(f"cond(G0) = {condition:.2e}: GN rate {fit.rate:.6f}")
        assert fit.reliable
        assert abs(fit.rate - 2.0) <= 0.1 * 2.0


def test_gradient_flow_rate_follows_lambda_min():
    lambda_mins, rates = [], []
    for target in CONDITIONS:
        problem = _conditioned(target)
        s = np.linalg.svd(
            problem.output_map.jacobian(problem.params0), compute_uv=False
        )
        lambda_min = s[-1] ** 2
        # The teacher along G0's flattest direction: the residual sits in the
        # slowest mode, so the fitted rate is 2 lambda_min from the start.
        y = slow_teacher_target(problem, 0.1)
        t_end = 12.0 / lambda_min
        trajectory = gradient_flow(
            problem.output_map,
            problem.params0,
            SquaredLoss(y),
            (0.0, t_end),
            t_eval=np.linspace(0.0, t_end, 201),
        )
        assert trajectory.status is FlowStatus.T_END, trajectory.message
        fit = fit_exponential_rate(trajectory.times, trajectory.losses)
        assert fit.reliable
        lambda_mins.append(lambda_min)
        rates.append(fit.rate)
        print(f"lambda_min(G0) = {lambda_min:.3e}: GD rate {fit.rate:.3e}")
    slope = np.polyfit(np.log(lambda_mins), np.log(rates), 1)[0]
    print(f"log-log slope of the GD rate against lambda_min(G0): {slope:.4f}")
    assert abs(slope - 1.0) <= 0.2
    # The rates span the seven decades of lambda_min, unlike GN's.
    assert max(rates) / min(rates) > 1e6


# ----------------------------------------------------------------------
# Claim: kernel-tied LM is robust to ill-conditioned kernels


LAMBDA_MINS = [10.0**-e for e in range(1, 9)]


def _lm_rate(problem, y, damping, t_end, **options):
    trajectory = levenberg_marquardt_flow(
        problem.output_map,
        problem.params0,
        SquaredLoss(y),
        (0.0, t_end),
        damping=damping,
        t_eval=np.linspace(0.0, t_end, 201),
        rtol=1e-12,
        atol=1e-14,
        **options,
    )
    # A run may come to rest (ftol) after the fit window, before t_end.
    assert trajectory.success, trajectory.message
    residual = np.linalg.norm(trajectory.outputs - y, axis=1)
    return fit_exponential_rate(
        trajectory.times, residual, window=(1e-1, 1e-6)
    ), trajectory


@pytest.mark.parametrize("lambda_min", LAMBDA_MINS)
@pytest.mark.parametrize("epsilon", [1.0, 0.1])
def test_kernel_tied_lm_rate_ignores_lambda_min(lambda_min, epsilon):
    problem = overparameterized_with_lambda_min(lambda_min)
    s = np.linalg.svd(problem.output_map.jacobian(problem.params0), compute_uv=False)
    assert problem.output_map.n_params > problem.output_map.n_outputs
    assert lambda_min / 1.5 <= s[-1] ** 2 <= 1.5 * lambda_min
    # The residual along K0's flattest eigenvector: the slowest mode.
    y = kernel_mode_target(problem, 0.01 * s[-1])
    predicted = 1.0 / (1.0 + epsilon)
    fit, trajectory = _lm_rate(problem, y, KernelTied(epsilon), 20.0 / predicted)
    print(f"lambda_min(K0) = {s[-1] ** 2:.2e}, eps = {epsilon}: rate {fit.rate:.5f}")
    assert trajectory.method == "levenberg_marquardt/kernel/DOP853"
    assert fit.reliable
    assert abs(fit.rate - predicted) <= 0.2 * predicted
    np.testing.assert_allclose(
        trajectory.extras["damping"],
        epsilon * trajectory.extras["lambda_min"],
        rtol=1e-12,
    )


@pytest.mark.parametrize("lambda_min", LAMBDA_MINS[::3])
def test_kernel_tied_lm_rate_is_a_lower_bound_for_any_target(lambda_min):
    problem = overparameterized_with_lambda_min(lambda_min)
    y = teacher_target(problem, 0.1, seed=1)
    fit, _ = _lm_rate(problem, y, KernelTied(1.0), 40.0)
    assert fit.rate >= 0.95 * 0.5


@pytest.mark.parametrize("lambda_min", LAMBDA_MINS[:4])
def test_constant_damping_rate_degrades_as_predicted(lambda_min):
    problem = overparameterized_with_lambda_min(lambda_min)
    s = np.linalg.svd(problem.output_map.jacobian(problem.params0), compute_uv=False)
    y = kernel_mode_target(problem, 0.01 * s[-1])
    damping = Constant(1e-2)
    predicted = damping.predicted_rate(s[-1] ** 2)
    fit, _ = _lm_rate(problem, y, damping, 20.0 / predicted)
    print(
        f"lambda_min(K0) = {s[-1] ** 2:.2e}: rate {fit.rate:.4e}, predicted {predicted:.4e}"
    )
    assert fit.reliable
    assert abs(fit.rate - predicted) <= 0.2 * predicted


def test_constant_damping_stalls_where_kernel_tied_does_not():
    problem = overparameterized_with_lambda_min(1e-7)
    s = np.linalg.svd(problem.output_map.jacobian(problem.params0), compute_uv=False)
    y = kernel_mode_target(problem, 0.01 * s[-1])
    reductions = {}
    for damping in (Constant(1e-2), KernelTied(1.0)):
        trajectory = levenberg_marquardt_flow(
            problem.output_map,
            problem.params0,
            SquaredLoss(y),
            (0.0, 20.0),
            damping=damping,
        )
        residual = np.linalg.norm(trajectory.outputs - y, axis=1)
        reductions[repr(damping)] = residual[-1] / residual[0]
    # Predicted: exp(-20 * 1e-5) ~ 1 for the constant, exp(-10) for the tied.
    assert reductions["Constant(0.01)"] > 0.99
    assert reductions["KernelTied(1.0)"] < 2 * np.exp(-10.0)


def test_kernel_form_never_allocates_a_p_by_p_array():
    rng = np.random.default_rng(0)
    n, d, width = 20, 1000, 200
    network = TwoLayerNetwork(d, width)
    params0 = network.init_params(rng, "standard")
    output_map = network.output_map(rng.standard_normal((n, d)) / np.sqrt(d))
    p = output_map.n_params
    assert p == 200_000
    y = output_map.value(params0) + 0.1 * rng.standard_normal(n)
    tracemalloc.start()
    try:
        trajectory = levenberg_marquardt_flow(
            output_map,
            params0,
            SquaredLoss(y),
            (0.0, 0.5),
            damping=KernelTied(1.0),
            method="RK23",
            rtol=1e-4,
            atol=1e-8,
            t_eval=[0.5],
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert trajectory.status is FlowStatus.T_END
    # J itself is n*p*8 = 32 MB; a (p, p) array would be 320 GB.
    print(
        f"peak traced memory {peak / 1e6:.1f} MB for n*p*8 = {n * p * 8 / 1e6:.1f} MB"
    )
    assert peak < 10 * n * p * 8
    residual = np.linalg.norm(trajectory.outputs - y, axis=1)
    assert residual[-1] < residual[0]


def test_kernel_solvers_agree():
    problem = overparameterized_with_lambda_min(1e-4)
    y = teacher_target(problem, 0.1, seed=1)
    runs = [
        levenberg_marquardt_flow(
            problem.output_map,
            problem.params0,
            SquaredLoss(y),
            (0.0, 2.0),
            damping=KernelTied(0.5),
            kernel_solver=solver,
            t_eval=[1.0, 2.0],
        )
        for solver in ("eigh", "svd")
    ]
    np.testing.assert_allclose(runs[0].outputs, runs[1].outputs, rtol=0, atol=1e-8)


def test_underparameterized_lm_uses_the_stacked_system_and_tends_to_gn():
    problem = two_layer(30, 3, 2, seed=3, build_manifold=False)
    y = teacher_target(problem, 0.2, seed=2)
    loss = SquaredLoss(y)
    args = (problem.output_map, problem.params0, loss, (0.0, 3.0))
    t_eval = np.linspace(0.0, 3.0, 7)
    lm = levenberg_marquardt_flow(*args, damping=1e-12, t_eval=t_eval)
    gn = gauss_newton_flow(*args, t_eval=t_eval)
    assert lm.method == "levenberg_marquardt/stacked_qr/DOP853"
    np.testing.assert_allclose(lm.outputs, gn.outputs, atol=1e-8)
    residual = levenberg_marquardt_flow(
        *args, damping=ResidualProportional(0.5, power=1.0), t_eval=t_eval
    )
    assert np.all(np.diff(residual.losses) < 0)
    assert residual.losses[-1] < 1e-2 * residual.losses[0]
    np.testing.assert_allclose(
        residual.extras["damping"],
        0.5 * np.linalg.norm(residual.outputs - y, axis=1),
        rtol=1e-10,
    )


# ----------------------------------------------------------------------
# Events


def _blow_up_problem():
    # Small alpha, standard init, targets far out of reach of |f| <= alpha sqrt(m).
    problem = two_layer(30, 3, 2, alpha=0.05, seed=0, build_manifold=False)
    y = np.random.default_rng(1).standard_normal(30)
    return problem, SquaredLoss(y)


@pytest.mark.parametrize("radius", [5.0, None])
def test_blow_up_ends_with_an_event_and_finite_arrays(radius):
    problem, loss = _blow_up_problem()
    trajectory = gauss_newton_flow(
        problem.output_map, problem.params0, loss, (0.0, 50.0), radius=radius
    )
    for array in (
        trajectory.times,
        trajectory.params,
        trajectory.outputs,
        trajectory.losses,
    ):
        assert np.all(np.isfinite(array))
    assert trajectory.final_time < 1.0
    assert not trajectory.success
    if radius is not None:
        assert trajectory.status is FlowStatus.LEFT_REGION
        assert "radius = 5" in trajectory.message
        distance = np.linalg.norm(trajectory.params - problem.params0, axis=1)
        assert distance.max() == pytest.approx(5.0, rel=1e-8)
    else:
        assert trajectory.status is FlowStatus.BLOW_UP
        assert "|theta'| reached" in trajectory.message


def test_rank_loss_event():
    # A one-neuron net whose neuron saturates: J loses rank before the flow ends.
    problem, loss = _blow_up_problem()
    trajectory = gauss_newton_flow(
        problem.output_map,
        problem.params0,
        loss,
        (0.0, 50.0),
        rank_rtol=1e-3,
        blow_up=1e8,
    )
    assert trajectory.status is FlowStatus.RANK_LOSS, trajectory.message
    assert "sigma_min/sigma_max of J fell to 2.000e-03" in trajectory.message
    s = np.linalg.svd(
        problem.output_map.jacobian(trajectory.params[-1]), compute_uv=False
    )
    assert s[-1] / s[0] == pytest.approx(2e-3, rel=1e-6)


def test_gradient_flow_leaves_the_region_with_finite_arrays():
    problem, loss = _blow_up_problem()
    trajectory = gradient_flow(
        problem.output_map, problem.params0, loss, (0.0, 1e4), radius=1.0
    )
    assert trajectory.status is FlowStatus.LEFT_REGION
    assert np.all(np.isfinite(trajectory.params))


def test_gtol_stops_a_converged_flow():
    problem = two_layer(30, 3, 2, seed=3, build_manifold=False)
    loss = SquaredLoss(teacher_target(problem, 0.2, seed=2))
    trajectory = gauss_newton_flow(
        problem.output_map, problem.params0, loss, (0.0, 100.0), gtol=1e-6
    )
    assert trajectory.status is FlowStatus.CONVERGED
    assert trajectory.success
    assert trajectory.final_time < 100.0
    assert "gtol" in trajectory.message


# ----------------------------------------------------------------------
# Results


def test_trajectory_round_trips_through_npz_without_pickle(tmp_path):
    problem = overparameterized_with_lambda_min(1e-2)
    loss = SquaredLoss(teacher_target(problem, 0.1))
    trajectory = levenberg_marquardt_flow(
        problem.output_map, problem.params0, loss, (0.0, 1.0), damping=KernelTied(1.0)
    )
    path = tmp_path / "run.npz"
    trajectory.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)
    loaded = Trajectory.load(path)
    for name in ("times", "outputs", "losses", "params"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(trajectory, name))
    assert loaded.status is trajectory.status
    assert loaded.message == trajectory.message
    assert loaded.method == trajectory.method
    assert loaded.n_jacobian_evals == trajectory.n_jacobian_evals > 0
    assert loaded.n_linear_solves == trajectory.n_linear_solves > 0
    assert set(loaded.extras) == {"damping", "lambda_min"}
    np.testing.assert_array_equal(
        loaded.extras["damping"], trajectory.extras["damping"]
    )


def test_load_rejects_a_file_that_is_not_a_trajectory(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved Trajectory"):
        Trajectory.load(path)


def test_t_eval_and_counts():
    problem = two_layer(30, 3, 2, seed=3, build_manifold=False)
    loss = SquaredLoss(teacher_target(problem, 0.2, seed=2))
    t_eval = np.linspace(0.5, 2.0, 4)
    trajectory = gauss_newton_flow(
        problem.output_map, problem.params0, loss, (0.0, 2.0), t_eval=t_eval
    )
    np.testing.assert_array_equal(trajectory.times, np.r_[0.0, t_eval])
    np.testing.assert_allclose(
        trajectory.outputs, [problem.output_map.value(p) for p in trajectory.params]
    )
    np.testing.assert_allclose(
        trajectory.losses, [loss.value(u) for u in trajectory.outputs]
    )
    assert trajectory.n_value_evals > 10
    assert trajectory.n_jacobian_evals > 10
    assert trajectory.n_linear_solves > 10
    assert trajectory.params.flags.writeable is False


def test_normal_equations_lose_the_digits_qr_keeps():
    # At cond(G0) = 1e12 the normal equations' velocity is noise in its last
    # ~12 digits: the adaptive solver shrinks its steps to chase it and runs
    # out of budget, where QR needs under a hundred steps.
    problem = two_layer_with_condition(
        1e12, n=40, d=2, width=2, seed=0, build_manifold=False
    )
    loss = SquaredLoss(teacher_target(problem, 0.1, seed=1))
    args = (problem.output_map, problem.params0, loss, (0.0, 0.5))
    reference = gauss_newton_flow(*args, solver="lstsq", t_eval=[0.5])
    qr = gauss_newton_flow(*args, solver="qr", t_eval=[0.5], max_steps=200)
    normal = gauss_newton_flow(
        *args, solver="normal_equations", t_eval=[0.5], max_steps=200
    )
    assert qr.status is FlowStatus.T_END
    assert np.linalg.norm(qr.outputs[-1] - reference.outputs[-1]) < 1e-12
    assert normal.status is FlowStatus.SOLVER_FAILED
    assert "max_steps = 200" in normal.message
    assert normal.final_time < 0.5


def test_logistic_loss_flows():
    problem = two_layer(30, 3, 2, seed=3, build_manifold=False)
    labels = np.sign(np.random.default_rng(4).standard_normal(30))
    trajectory = gauss_newton_flow(
        problem.output_map, problem.params0, LogisticLoss(labels), (0.0, 2.0)
    )
    assert np.all(np.diff(trajectory.losses) <= 1e-12)


# ----------------------------------------------------------------------
# Validation


@pytest.fixture
def small():
    problem = two_layer(20, 3, 2, seed=0, build_manifold=False)
    return problem, SquaredLoss(problem.output_map.value(problem.params0) + 0.1)


FLOWS = [
    lambda *a, **k: gauss_newton_flow(*a, **k),
    lambda *a, **k: levenberg_marquardt_flow(*a, damping=0.1, **k),
    lambda *a, **k: gradient_flow(*a, **k),
]


@pytest.mark.parametrize("flow", FLOWS)
def test_reversed_t_span_is_rejected(small, flow):
    problem, loss = small
    with pytest.raises(
        ValueError, match=r"`t_span` must be increasing .*got \(1.0, 0.0\)"
    ):
        flow(problem.output_map, problem.params0, loss, (1.0, 0.0))


@pytest.mark.parametrize("flow", FLOWS)
def test_non_finite_params0_is_rejected(small, flow):
    problem, loss = small
    params0 = problem.params0.copy()
    params0[2] = np.nan
    with pytest.raises(ValueError, match="`params0` must be finite"):
        flow(problem.output_map, params0, loss, (0.0, 1.0))


@pytest.mark.parametrize("flow", FLOWS)
def test_loss_with_wrong_shape_targets_is_rejected(small, flow):
    problem, _ = small
    with pytest.raises(ValueError, match=r"`y` have shape \(7,\).*n_outputs = 20"):
        flow(problem.output_map, problem.params0, SquaredLoss(np.zeros(7)), (0.0, 1.0))


@pytest.mark.parametrize("damping", [-1.0, Constant, KernelTied, ResidualProportional])
def test_negative_damping_is_rejected(small, damping):
    problem, loss = small
    if damping == -1.0:
        with pytest.raises(ValueError, match=r"`damping` must be >= 0, got -1.0"):
            levenberg_marquardt_flow(
                problem.output_map, problem.params0, loss, (0.0, 1.0), damping=-1.0
            )
    else:
        with pytest.raises(ValueError, match="must be"):
            damping(-0.5)


def test_a_schedule_returning_a_negative_damping_is_reported(small):
    problem, loss = small
    with pytest.raises(ValueError, match=r"returned -1.0 at t = 0.*finite and >= 0"):
        levenberg_marquardt_flow(
            problem.output_map,
            problem.params0,
            loss,
            (0.0, 1.0),
            damping=lambda t, state: -1.0,
        )


def test_other_bad_arguments(small):
    problem, loss = small
    args = (problem.output_map, problem.params0, loss, (0.0, 1.0))
    with pytest.raises(ValueError, match="`solver` must be one of"):
        gauss_newton_flow(*args, solver="inv")
    with pytest.raises(ValueError, match="`method` must be one of"):
        gauss_newton_flow(*args, method="Euler")
    with pytest.raises(ValueError, match="`t_eval` must be strictly increasing"):
        gauss_newton_flow(*args, t_eval=[0.5, 0.2])
    with pytest.raises(ValueError, match="`t_span` must be finite"):
        gauss_newton_flow(problem.output_map, problem.params0, loss, (0.0, np.inf))
    with pytest.raises(ValueError, match="`rtol` must be > 0"):
        gauss_newton_flow(*args, rtol=0.0)
    with pytest.raises(TypeError, match="`damping` must be a number"):
        levenberg_marquardt_flow(*args, damping="nielsen")
    with pytest.raises(ValueError, match="`kernel_solver` must be one of"):
        levenberg_marquardt_flow(*args, damping=0.1, kernel_solver="inv")
    with pytest.raises(TypeError, match="`output_map` must implement"):
        gauss_newton_flow(np.eye(3), problem.params0, loss, (0.0, 1.0))


def test_gauss_newton_refuses_an_overparameterized_map():
    problem = overparameterized_with_lambda_min(1e-2)
    loss = SquaredLoss(problem.output_map.value(problem.params0))
    with pytest.raises(ValueError, match="needs p <= n.*levenberg_marquardt_flow"):
        gauss_newton_flow(problem.output_map, problem.params0, loss, (0.0, 1.0))


def test_gauss_newton_cannot_start_where_j_is_rank_deficient():
    problem = two_layer(20, 3, 2, scheme="symmetric", seed=0, build_manifold=False)
    loss = SquaredLoss(np.ones(20))
    with pytest.raises(ValueError, match="cannot start at `params0`.*rank"):
        gauss_newton_flow(problem.output_map, problem.params0, loss, (0.0, 1.0))


def test_gradient_flow_refuses_a_dense_jacobian_for_large_p():
    rng = np.random.default_rng(0)
    network = TwoLayerNetwork(100, 50)  # p = 5000
    params0 = network.init_params(rng, "standard")
    output_map = network.output_map(rng.standard_normal((8, 100)) / 10.0)
    loss = SquaredLoss(output_map.value(params0) + 0.1)
    with pytest.raises(
        ValueError, match=r"dense \(5000, 5000\) Jacobian.*method='RK45'"
    ):
        gradient_flow(output_map, params0, loss, (0.0, 1.0))
    trajectory = gradient_flow(output_map, params0, loss, (0.0, 1.0), method="RK45")
    assert trajectory.status is FlowStatus.T_END
    assert trajectory.losses[-1] < trajectory.losses[0]


def test_undamped_kernel_form_is_the_pseudo_inverse_flow():
    # lambda = 0 in the kernel form: u' = -K K^+ grad h = -grad h, so the
    # residual of a squared loss decays exactly like exp(-t).
    problem = overparameterized_with_lambda_min(1e-2)
    y = teacher_target(problem, 0.1, seed=1)
    trajectory = levenberg_marquardt_flow(
        problem.output_map,
        problem.params0,
        SquaredLoss(y),
        (0.0, 2.0),
        damping=Constant(0.0),
        t_eval=[1.0, 2.0],
    )
    residual = np.linalg.norm(trajectory.outputs - y, axis=1)
    np.testing.assert_allclose(
        residual / residual[0], np.exp(-trajectory.times), rtol=1e-7
    )


# ----------------------------------------------------------------------
# Regressions found in review


def test_lm_kernel_form_refuses_implicit_methods(small):
    problem = overparameterized_with_lambda_min(1e-2)
    loss = SquaredLoss(problem.output_map.value(problem.params0))
    with pytest.raises(ValueError, match=r"dense \(100, 100\) Jacobian.*never builds"):
        levenberg_marquardt_flow(
            problem.output_map,
            problem.params0,
            loss,
            (0.0, 1.0),
            damping=KernelTied(1.0),
            method="BDF",
        )


@pytest.mark.parametrize("damping", [Constant(0.0), KernelTied(1.0)])
@pytest.mark.parametrize("n", [20, 8])  # p = 12: stacked QR, then kernel form
def test_lm_at_a_rank_deficient_start_fails_clearly(damping, n):
    problem = two_layer(n, 3, 4, scheme="symmetric", seed=0, build_manifold=False)
    loss = SquaredLoss(np.ones(n))
    with pytest.raises(ValueError, match="cannot start.*numerically singular"):
        levenberg_marquardt_flow(
            problem.output_map, problem.params0, loss, (0.0, 1.0), damping=damping
        )
    # A damping that regularizes the singular kernel is fine.
    trajectory = levenberg_marquardt_flow(
        problem.output_map, problem.params0, loss, (0.0, 1.0), damping=Constant(0.1)
    )
    assert trajectory.status is FlowStatus.T_END


def test_gn_blow_up_message_reports_the_conditioning_of_j():
    problem, loss = _blow_up_problem()
    trajectory = gauss_newton_flow(
        problem.output_map, problem.params0, loss, (0.0, 50.0)
    )
    assert trajectory.status is FlowStatus.BLOW_UP
    assert "sigma_min/sigma_max of J is" in trajectory.message


def test_gn_refuses_to_start_at_the_rank_threshold():
    problem = two_layer(30, 3, 2, seed=3, build_manifold=False)
    s = np.linalg.svd(problem.output_map.jacobian(problem.params0), compute_uv=False)
    loss = SquaredLoss(teacher_target(problem, 0.2, seed=2))
    with pytest.raises(ValueError, match="cannot start at `params0`: sigma_min/sigma"):
        gauss_newton_flow(
            problem.output_map,
            problem.params0,
            loss,
            (0.0, 1.0),
            rank_rtol=0.7 * s[-1] / s[0],
        )


def test_t_eval_ends_the_integration_and_breakdowns_keep_the_last_state():
    problem = two_layer(30, 3, 2, seed=3, build_manifold=False)
    loss = SquaredLoss(teacher_target(problem, 0.2, seed=2))
    short = gauss_newton_flow(
        problem.output_map, problem.params0, loss, (0.0, 1000.0), t_eval=[1.0]
    )
    np.testing.assert_array_equal(short.times, [0.0, 1.0])
    assert short.n_value_evals < 200  # it stopped at t = 1, not at 1000

    X = np.random.default_rng(4).standard_normal((6, 2))
    loss = SquaredLoss(X @ np.array([2.0, 0.0]))
    trajectory = gauss_newton_flow(
        NaNBeyond(X), np.zeros(2), loss, (0.0, 5.0), t_eval=[5.0]
    )
    assert trajectory.status is FlowStatus.BLOW_UP
    assert len(trajectory) == 2  # t0 and the last accepted state
    assert 0.0 < trajectory.times[-1] < 5.0
    assert np.all(np.isfinite(trajectory.outputs))


def test_load_accepts_the_path_given_to_save(tmp_path):
    t = np.linspace(0.0, 1.0, 3)
    trajectory = Trajectory(t, np.c_[t, t], t, None, "t_end", "done")
    trajectory.save(tmp_path / "run")
    loaded = Trajectory.load(tmp_path / "run")
    assert loaded.params is None and loaded.message == "done"
