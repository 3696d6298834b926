"""The GN flow is the Riemannian gradient flow: pointwise and along trajectories."""

import numpy as np
import pytest
from problems import gram_condition, two_layer, two_layer_with_condition

from riemgn.equivalence import compare_trajectories, velocity_residual
from riemgn.flows import (
    FlowStatus,
    Trajectory,
    gauss_newton_flow,
    riemannian_gradient_flow,
)
from riemgn.losses import LogisticLoss, SquaredLoss


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
@pytest.mark.parametrize("target", [1e2, 1e6, 1.4e10])
def test_velocity_residual_at_random_points(activation, target):
    problem = two_layer_with_condition(
        target, n=40, d=2, width=2, tolerance=1.4, seed=0, activation=activation
    )
    condition = gram_condition(problem.output_map, problem.params0)
    assert target / 1.4 <= condition <= 1.4 * target
    manifold = problem.manifold
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(5):
        u = manifold.random_point(rng=rng)
        y = rng.standard_normal(manifold.ambient_dim)
        for loss in (SquaredLoss(y), LogisticLoss(np.where(y > 0, 1.0, -1.0))):
            worst = max(worst, velocity_residual(manifold, loss, u))
    print(
        f"{activation}, cond(G0) = {condition:.2e}: worst velocity residual {worst:.2e}"
    )
    assert worst <= 1e-10


def test_velocity_residual_sees_a_wrong_metric_weight():
    # The residual is a real check: a manifold whose gradient carries 1/c
    # while the GN velocity assumes another weight fails it.
    problem = two_layer(30, 3, 2, seed=1, metric_weight=0.5)
    manifold = problem.manifold
    u = manifold.point(problem.params0)
    loss = SquaredLoss(np.zeros(30))
    assert velocity_residual(manifold, loss, u) < 1e-12

    class Skewed(type(manifold)):
        def euclidean_to_riemannian_gradient(self, point, euclidean_gradient):
            return super().euclidean_to_riemannian_gradient(
                point, 1.01 * euclidean_gradient
            )

    skewed = Skewed(problem.output_map, problem.params0, metric_weight=0.5)
    assert velocity_residual(
        skewed, loss, skewed.point(problem.params0)
    ) == pytest.approx(0.01 / 1.01, rel=1e-8)


def test_velocity_residual_rejects_a_mismatched_loss():
    problem = two_layer(30, 3, 2, seed=1)
    u = problem.manifold.point(problem.params0)
    with pytest.raises(ValueError, match="n_outputs = 4"):
        velocity_residual(problem.manifold, SquaredLoss(np.zeros(4)), u)


# ----------------------------------------------------------------------
# Trajectories: GN flow against the intrinsic flow, at each scheme's order

NOMINAL_ORDERS = {"euler": 1.0, "heun": 2.0, "rk4": 4.0}
STEPS = {
    "euler": [0.1, 0.05, 0.025, 0.0125],
    "heun": [0.1, 0.05, 0.025, 0.0125],
    "rk4": [0.1, 0.05, 0.025, 0.0125],
}


@pytest.fixture(scope="module")
def curved_problem():
    problem = two_layer(20, 3, 2, seed=5)
    rng = np.random.default_rng(11)
    # A non-realizable target near F(theta0): the flow bends along M.
    y = problem.output_map.value(problem.params0) + 0.5 * rng.standard_normal(20)
    return problem, SquaredLoss(y)


@pytest.mark.parametrize("scheme", ["euler", "heun", "rk4"])
def test_gn_flow_and_intrinsic_flow_agree_at_the_schemes_order(curved_problem, scheme):
    problem, loss = curved_problem
    manifold = problem.manifold
    u0 = manifold.point(problem.params0)
    t_span = (0.0, 1.0)
    errors = []
    for step in STEPS[scheme]:
        intrinsic = riemannian_gradient_flow(
            manifold, loss, u0, t_span, step=step, scheme=scheme
        )
        assert intrinsic.status is FlowStatus.T_END, intrinsic.message
        gauss_newton = gauss_newton_flow(
            problem.output_map,
            problem.params0,
            loss,
            t_span,
            t_eval=intrinsic.times[1:],
            rtol=1e-13,
            atol=1e-14,
        )
        comparison = compare_trajectories(gauss_newton, intrinsic)
        assert not comparison.interpolated
        assert comparison.times.size == intrinsic.times.size
        errors.append(comparison.sup_deviation)
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    fitted = np.polyfit(np.log(STEPS[scheme]), np.log(errors), 1)[0]
    print(
        f"{scheme}: sup errors {np.array2string(np.array(errors), precision=3)}, "
        f"successive orders {np.array2string(orders, precision=3)}, fitted {fitted:.3f}"
    )
    assert abs(fitted - NOMINAL_ORDERS[scheme]) <= 0.2
    assert errors[-1] > 1e3 * 1e-13  # far above the GN reference's own error


def test_the_intrinsic_flow_does_not_use_the_gauss_newton_formula(
    curved_problem, monkeypatch
):
    import manifolds.linalg
    import riemgn.dynamics.flows.parameter

    def forbidden(*args, **kwargs):
        raise AssertionError("the intrinsic flow called the parameter-space GN formula")

    monkeypatch.setattr(manifolds.linalg, "gauss_newton_direction", forbidden)
    # raising=False: the parameter flows may call the core through another name.
    monkeypatch.setattr(
        riemgn.dynamics.flows.parameter,
        "gauss_newton_direction",
        forbidden,
        raising=False,
    )
    problem, loss = curved_problem
    u0 = problem.manifold.point(problem.params0)
    trajectory = riemannian_gradient_flow(
        problem.manifold, loss, u0, (0.0, 0.5), step=0.1, scheme="rk4"
    )
    assert trajectory.status is FlowStatus.T_END


# ----------------------------------------------------------------------
# compare_trajectories


def _trajectory(times, outputs):
    times = np.asarray(times, dtype=float)
    return Trajectory(times, outputs, np.zeros(times.size), None, "t_end", "")


def test_compare_on_shared_times_and_by_interpolation():
    t = np.linspace(0.0, 1.0, 41)
    a = _trajectory(t, np.c_[np.sin(t), np.cos(t)])
    b = _trajectory(t[::2], np.c_[np.sin(t[::2]), np.cos(t[::2]) + t[::2] ** 2])
    shared = compare_trajectories(a, b)
    assert shared.times.size == 21
    assert shared.sup_deviation == pytest.approx(1.0)
    assert shared.time_of_sup == 1.0
    grid = np.linspace(0.1, 0.9, 9)
    interpolated = compare_trajectories(a, b, times=grid)
    assert interpolated.interpolated
    np.testing.assert_allclose(interpolated.deviations, grid**2, atol=1e-6)


def test_compare_rejects_disjoint_grids_and_mismatched_outputs():
    a = _trajectory([0.0, 0.3, 0.6], np.zeros((3, 2)))
    b = _trajectory([0.1, 0.4, 0.7], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="share 0 sample time"):
        compare_trajectories(a, b)
    c = _trajectory([0.0, 0.3, 0.6], np.zeros((3, 5)))
    with pytest.raises(ValueError, match="different numbers of outputs: 2 and 5"):
        compare_trajectories(a, c)
    with pytest.raises(ValueError, match="inside both trajectories' ranges"):
        compare_trajectories(a, a, times=[0.5, 2.0])
    with pytest.raises(TypeError, match="must be a Trajectory"):
        compare_trajectories(a, np.zeros(3))
