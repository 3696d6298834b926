"""The intrinsic Riemannian gradient flow: convergence orders, events and validation.

The reference trajectory is the parameter-space ODE theta' = -J^+ grad h,
solved here with DOP853 at tight tolerances; by the GN equivalence (THEORY
section 3) its image F(theta(t)) is the Riemannian gradient flow on M, so the
sup over the grid of |F(theta(t_k)) - u_k| is the intrinsic scheme's global
error. Run with ``-s`` to see the fitted orders.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
import scipy.integrate
from problems import CountingMap, NaNBeyond, two_layer
from pymanopt.manifolds import Sphere

import manifolds.linalg
import riemgn.dynamics.flows.parameter
import riemgn.flows
from manifolds import AutogradOutputMap, NotOnManifoldError, OutputManifold
from riemgn.dynamics.flows.intrinsic import riemannian_gradient_flow
from riemgn.dynamics.flows.trajectory import FlowStatus
from riemgn.losses import SquaredLoss

STEPS = 0.1 / 2.0 ** np.arange(4)  # 0.1 -> 0.0125: three halvings
ORDERS = {"euler": 1, "heun": 2, "rk4": 4}


class Setup:
    """The curved test problem, on a manifold with the given retraction."""

    def __init__(self, kind: str):
        problem = two_layer(
            n=20, d=3, width=2, alpha=1.0, activation="tanh", seed=0, retraction=kind
        )
        self.problem = problem
        self.manifold = problem.manifold
        self.F = problem.output_map
        self.u0 = self.manifold.point(problem.params0)
        rng = np.random.default_rng(1)
        # n = 20 > p = 6: a random target is not realizable.
        self.loss = SquaredLoss(self.u0 + 0.5 * rng.standard_normal(self.u0.size))

    def flow(self, **options):
        return riemannian_gradient_flow(
            self.manifold, self.loss, self.u0, (0.0, 1.0), **options
        )


@pytest.fixture(scope="module")
def setups():
    return {kind: Setup(kind) for kind in ("chart", "second_order")}


@pytest.fixture(scope="module")
def reference(setups):
    """The Gauss-Newton ODE in parameter space, solved tightly, as a dense solution."""
    setup = setups["chart"]
    F, loss = setup.F, setup.loss

    def velocity(t, theta):
        J = F.jacobian(theta)
        return -np.linalg.lstsq(J, loss.gradient(F.value(theta)), rcond=None)[0]

    solution = scipy.integrate.solve_ivp(
        velocity,
        (0.0, 1.0),
        setup.problem.params0,
        method="DOP853",
        rtol=1e-13,
        atol=1e-14,
        dense_output=True,
    )
    assert solution.status == 0, solution.message
    return solution


def global_error(setup, reference, trajectory) -> float:
    assert trajectory.status is FlowStatus.T_END, trajectory.message
    assert trajectory.times[-1] == 1.0
    return max(
        float(np.linalg.norm(setup.F.value(reference.sol(t)) - u))
        for t, u in zip(trajectory.times, trajectory.outputs, strict=True)
    )


def fitted_order(setup, reference, scheme) -> tuple[float, list[float]]:
    errors = [
        global_error(setup, reference, setup.flow(step=float(h), scheme=scheme))
        for h in STEPS
    ]
    slope = np.polyfit(np.log(STEPS), np.log(errors), 1)[0]
    return float(slope), errors


def report(label, order, errors):
    pairs = ", ".join(f"h={h:g}: {e:.2e}" for h, e in zip(STEPS, errors, strict=True))
    print(f"\n{label}: fitted order {order:.3f} ({pairs})")


@pytest.mark.parametrize("kind", ["chart", "second_order"])
@pytest.mark.parametrize("scheme", list(ORDERS))
def test_each_scheme_reaches_its_classical_order(setups, reference, kind, scheme):
    setup = setups[kind]
    order, errors = fitted_order(setup, reference, scheme)
    report(f"{scheme}/{kind}", order, errors)
    assert abs(order - ORDERS[scheme]) < 0.2


@pytest.mark.parametrize("kind", ["chart", "second_order"])
@pytest.mark.parametrize("scheme", ["heun", "rk4"])
def test_projection_transport_loses_the_order(
    setups, reference, monkeypatch, kind, scheme
):
    # Carry the stages back by projection instead of the inverse differential.
    setup = setups[kind]
    manifold = setup.manifold
    monkeypatch.setattr(
        manifold,
        "retraction_differential_inverse",
        lambda point, tangent_vector, vector: manifold.projection(point, vector),
    )
    order, errors = fitted_order(setup, reference, scheme)
    report(f"{scheme}/{kind} with projection transport", order, errors)
    if kind == "chart":  # a first-order retraction: order 1
        assert abs(order - 1) < 0.2
    else:  # a second-order retraction: at most order 2
        assert order < 2.2


def test_trajectory_grid_lift_and_counts_are_honest():
    problem = two_layer(n=20, d=3, width=2, seed=0, build_manifold=False)
    counting = CountingMap(problem.output_map)
    manifold = OutputManifold(counting, problem.params0)
    u0 = manifold.point(problem.params0)
    loss = SquaredLoss(u0 + np.random.default_rng(2).standard_normal(u0.size))
    before = dict(counting.counts)
    trajectory = riemannian_gradient_flow(
        manifold, loss, u0, (0.0, 1.0), step=0.3, scheme="rk4"
    )
    assert trajectory.method == "riemannian/rk4/chart"
    assert trajectory.success and trajectory.status is FlowStatus.T_END
    # The last step is shortened to hit t1 exactly.
    np.testing.assert_allclose(trajectory.times, [0.0, 0.3, 0.6, 0.9, 1.0], atol=1e-15)
    assert trajectory.times[-1] == 1.0
    for theta, u, h in zip(
        trajectory.params, trajectory.outputs, trajectory.losses, strict=True
    ):
        assert np.array_equal(problem.output_map.value(theta), u)
        assert h == loss.value(u)
    assert np.all(np.diff(trajectory.losses) < 0)
    gradient = manifold.euclidean_to_riemannian_gradient(
        trajectory.final_outputs, loss.gradient(trajectory.final_outputs)
    )
    assert trajectory.extras["gradient_norm"][-1] == pytest.approx(
        np.linalg.norm(gradient), rel=1e-12
    )
    used = {name: counting.counts[name] - before[name] for name in counting.counts}
    # 4 steps x (3 inner stages + 1 final) retractions, and 3 inverse
    # differentials per step, each one evaluation of F.
    assert used["value"] == trajectory.n_value_evals == 4 * 4 + 4 * 3
    assert used["jacobian"] <= trajectory.n_jacobian_evals == 1 + 4 * 4
    assert used["jvp"] == used["vjp"] == used["weighted_hessian_vector"] == 0


def test_the_flow_never_calls_gauss_newton(setups, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the intrinsic flow called a Gauss-Newton routine")

    for module, name in [
        (riemgn.flows, "gauss_newton_flow"),
        (riemgn.dynamics.flows.parameter, "gauss_newton_flow"),
        (riemgn.dynamics.flows.parameter, "gauss_newton_direction"),
        (manifolds.linalg, "gauss_newton_direction"),
        (manifolds.linalg, "stacked_lm_direction"),
    ]:
        monkeypatch.setattr(module, name, forbidden, raising=False)
    trajectory = setups["chart"].flow(step=0.1, scheme="rk4")
    assert trajectory.status is FlowStatus.T_END


def test_adaptive_step_controls_the_error_in_output_space(setups, reference):
    setup = setups["chart"]
    errors, sizes = [], []
    for rtol in (1e-4, 1e-6):
        trajectory = setup.flow(step="adaptive", rtol=rtol, atol=1e-3 * rtol)
        assert trajectory.method == "riemannian/heun-euler/chart"
        errors.append(global_error(setup, reference, trajectory))
        sizes.append(len(trajectory))
    print(f"\nadaptive heun-euler: rtol 1e-4, 1e-6 -> errors {errors}, samples {sizes}")
    assert errors[0] < 1e-3 and errors[1] < 1e-5
    # The global error follows the tolerance (a factor 100 here).
    assert 20 < errors[0] / errors[1] < 500


def test_gtol_stops_with_converged(setups):
    setup = setups["chart"]
    trajectory = riemannian_gradient_flow(
        setup.manifold, setup.loss, setup.u0, (0.0, 100.0), step=0.2, gtol=1e-6
    )
    assert trajectory.status is FlowStatus.CONVERGED and trajectory.success
    assert trajectory.extras["gradient_norm"][-1] <= 1e-6
    assert np.all(trajectory.extras["gradient_norm"][:-1] > 1e-6)
    assert trajectory.final_time < 100.0
    assert "gtol" in trajectory.message


def test_leaving_the_ball_stops_with_left_region():
    problem = two_layer(n=20, d=3, width=2, seed=0, radius=0.5)
    manifold = problem.manifold
    u0 = manifold.point(problem.params0)
    loss = SquaredLoss(u0 + 3.0 * np.random.default_rng(3).standard_normal(u0.size))
    trajectory = riemannian_gradient_flow(manifold, loss, u0, (0.0, 1.0), step=0.01)
    assert trajectory.status is FlowStatus.LEFT_REGION and not trajectory.success
    assert 0.0 < trajectory.final_time < 1.0
    for name in ("times", "outputs", "losses", "params"):
        assert np.all(np.isfinite(getattr(trajectory, name)))
    distances = np.linalg.norm(trajectory.params - problem.params0, axis=1)
    assert np.all(distances <= 0.5) and len(trajectory) > 2
    assert "left" in trajectory.message and "radius" in trajectory.message
    assert f"t = {trajectory.final_time:.6g}" in trajectory.message


def test_rank_loss_stops_with_rank_loss():
    # F(a, b) = (a, b^2, b^3) stops being an immersion at b = 0, and the
    # target pulls b there; rank_rtol = 0.1 flags it at sigma ratio 0.1.
    output_map = AutogradOutputMap(
        lambda w: anp.stack([w[0], w[1] ** 2, w[1] ** 3]), n_params=2
    )
    manifold = OutputManifold(output_map, np.array([0.0, 1.0]), rank_rtol=0.1)
    u0 = manifold.point(np.array([0.0, 1.0]))
    loss = SquaredLoss(np.array([0.0, -1.0, -1.0]))
    trajectory = riemannian_gradient_flow(manifold, loss, u0, (0.0, 5.0), step=0.005)
    assert trajectory.status is FlowStatus.RANK_LOSS
    assert np.all(np.isfinite(trajectory.outputs))
    assert "rank" in trajectory.message and "NotAnImmersionError" in trajectory.message


def test_non_finite_output_map_stops_with_blow_up():
    X = np.random.default_rng(4).standard_normal((6, 2))
    manifold = OutputManifold(NaNBeyond(X), np.zeros(2))
    u0 = manifold.point(np.zeros(2))
    loss = SquaredLoss(X @ np.array([2.0, 0.0]))
    trajectory = riemannian_gradient_flow(manifold, loss, u0, (0.0, 5.0), step=0.1)
    assert trajectory.status is FlowStatus.BLOW_UP
    assert np.all(np.isfinite(trajectory.outputs)) and np.all(
        trajectory.params[:, 0] <= 0.5
    )
    assert "not finite" in trajectory.message


def test_any_manifold_with_the_interface_works_with_euler():
    # pymanopt's sphere has a retraction and a gradient but no inverse differential.
    manifold = Sphere(3)
    y = np.array([3.0, 0.0, 4.0])
    u0 = np.array([0.0, 1.0, 0.0])
    trajectory = riemannian_gradient_flow(
        manifold, SquaredLoss(y), u0, (0.0, 20.0), step=0.05, scheme="euler"
    )
    assert trajectory.params is None
    np.testing.assert_allclose(trajectory.final_outputs, y / 5.0, atol=1e-8)
    with pytest.raises(TypeError, match="retraction_differential_inverse"):
        riemannian_gradient_flow(
            manifold, SquaredLoss(y), u0, (0.0, 1.0), step=0.1, scheme="heun"
        )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"t_span": (1.0, 0.0)}, r"`t_span` must be increasing .*\(1\.0, 0\.0\)"),
        ({"t_span": (0.0, np.inf)}, "`t_span` must be finite"),
        ({"t_span": 1.0}, "`t_span` must be a pair"),
        ({"step": 0.0}, "`step` must be > 0, got 0.0"),
        ({"step": -0.1}, "`step` must be > 0"),
        ({"step": "fast"}, "`step` must be a positive number or 'adaptive'"),
        ({"scheme": "rk45"}, "`scheme` must be one of .*'rk45'"),
        ({"step": "adaptive", "scheme": "rk4"}, "Heun-Euler"),
        ({"rtol": 1e-6}, "`rtol` only applies with step='adaptive'"),
        ({"step": 1e-6}, "`step` = 1e-06 needs 1000000 steps.*max_steps"),
        ({"gtol": -1.0}, "`gtol` must be > 0"),
        ({"u0": np.zeros(19)}, r"`u0` must have shape \(20,\)"),
        ({"loss": SquaredLoss(np.zeros(5))}, "n_outputs = 5"),
    ],
)
def test_bad_arguments_raise_naming_them(setups, options, match):
    setup = setups["chart"]
    arguments = {
        "manifold": setup.manifold,
        "loss": setup.loss,
        "u0": setup.u0,
        "t_span": (0.0, 1.0),
        "step": 0.1,
    }
    arguments.update(options)
    with pytest.raises(ValueError, match=match):
        riemannian_gradient_flow(**arguments)


def test_u0_off_the_manifold_raises(setups):
    setup = setups["chart"]
    off = setup.u0 + 1e-2 * np.random.default_rng(5).standard_normal(setup.u0.size)
    with pytest.raises(NotOnManifoldError, match="`u0` is not on the manifold"):
        riemannian_gradient_flow(setup.manifold, setup.loss, off, (0.0, 1.0), step=0.1)


def test_adaptive_event_retries_are_counted_per_step():
    # A linear map, a ball of radius 1 and an optimum at |theta*| = 0.999: the
    # exact path stays inside, but loose-tolerance trial steps overshoot the
    # ball again and again near the end. Each overshoot is retried with a
    # shorter step; only a step that cannot be shortened enough is an event.
    from manifolds import AutogradOutputMap

    X = np.random.default_rng(0).standard_normal((8, 2))
    output_map = AutogradOutputMap(lambda w: anp.dot(X, w), n_params=2)
    manifold = OutputManifold(output_map, np.zeros(2), radius=1.0)
    loss = SquaredLoss(X @ np.array([0.999, 0.0]))
    trajectory = riemannian_gradient_flow(
        manifold,
        loss,
        manifold.point(np.zeros(2)),
        (0.0, 40.0),
        step="adaptive",
        rtol=1e-2,
        atol=1e-5,
    )
    # It ends at t1 or, at rest to its loose tolerances, before (ftol = 0).
    assert trajectory.success, trajectory.message
    assert np.linalg.norm(trajectory.params, axis=1).max() < 1.0
