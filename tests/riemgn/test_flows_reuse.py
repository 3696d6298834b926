"""Flows that reuse work: one factorization per Jacobian, charts shared across stages.

Counts, not timings: a flow that refactorizes, or takes an SVD where a
certificate decides, fails here; and the reuse changes no result, bit for bit.
"""

import math

import numpy as np
import pytest
from problems import CountingMap, teacher_target, two_layer

import riemgn.dynamics.flows._dynamics as dynamics_module
import riemgn.dynamics.flows.parameter as parameter_module
from manifolds import OutputManifold
from manifolds.linalg import JacobianFactorization, factorize, gauss_newton_direction
from riemgn.dynamics.flows._dynamics import (
    Evaluation,
    GaussNewton,
    _certified_ratio,
)
from riemgn.flows import (
    FlowStatus,
    KernelTied,
    gauss_newton_flow,
    levenberg_marquardt_flow,
    riemannian_gradient_flow,
)
from riemgn.losses import SquaredLoss


class _Recomputing(GaussNewton):
    """The field before the reuse: the exact ratio at every evaluation, no factors kept."""

    def _evaluate(self, t, params):
        u, g, value = self._outputs_and_gradient(params)
        J = self.counter.jacobian(params)
        self.counter.n_solves += 1
        eta, ratio = gauss_newton_direction(
            J, g, solver=self.solver, rank_rtol=self.rank_rtol, return_sigma_ratio=True
        )
        velocity = -eta / self.metric_weight
        return Evaluation(
            velocity, u, float(np.linalg.norm(J @ velocity)), value, sigma_ratio=ratio
        )


class _Counts:
    """Counts factorizations in the flows and exact ratios (SVDs of R) anywhere."""

    def __init__(self, monkeypatch):
        self.factorizations = 0
        self.exact_ratios = 0

        def counting_factorization(*args, **kwargs):
            self.factorizations += 1
            return JacobianFactorization(*args, **kwargs)

        ratio = JacobianFactorization.sigma_ratio

        def counting_ratio(factorization):
            self.exact_ratios += 1
            return ratio.fget(factorization)

        monkeypatch.setattr(
            dynamics_module, "JacobianFactorization", counting_factorization
        )
        monkeypatch.setattr(
            JacobianFactorization, "sigma_ratio", property(counting_ratio)
        )


def _smooth_problem():
    problem = two_layer(40, 3, 2, seed=3, build_manifold=False)
    return problem, SquaredLoss(teacher_target(problem, 0.3, seed=2))


def _blow_up_problem():
    # A neuron that saturates: J loses rank, then the velocity blows up.
    problem = two_layer(30, 3, 2, alpha=0.05, seed=0, build_manifold=False)
    return problem, SquaredLoss(np.random.default_rng(1).standard_normal(30))


def _assert_same(a, b):
    assert a.status is b.status and a.message == b.message
    for name in ("times", "params", "outputs", "losses"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.n_value_evals, a.n_jacobian_evals, a.n_linear_solves) == (
        b.n_value_evals,
        b.n_jacobian_evals,
        b.n_linear_solves,
    )


# ----------------------------------------------------------------------
# The Gauss-Newton flow: one factorization per Jacobian evaluation


@pytest.mark.parametrize("method", ["DOP853", "RK45"])
def test_gn_flow_factorizes_once_per_jacobian_and_takes_no_svd(monkeypatch, method):
    problem, loss = _smooth_problem()
    counted = CountingMap(problem.output_map)
    counts = _Counts(monkeypatch)
    trajectory = gauss_newton_flow(
        counted,
        problem.params0,
        loss,
        (0.0, 3.0),
        t_eval=np.linspace(0.0, 3.0, 7),
        method=method,
    )
    assert trajectory.status is FlowStatus.T_END, trajectory.message
    assert counted.counts["jacobian"] == trajectory.n_jacobian_evals
    # One factorization per J, none for the rank event at the accepted states.
    assert counts.factorizations == trajectory.n_jacobian_evals
    # The rank event's sign is certified at every accepted state, far from
    # the threshold: no exact ratio (no SVD of R) anywhere in the run.
    assert counts.exact_ratios == 0


def test_rank_event_takes_exact_values_only_to_locate_the_crossing(monkeypatch):
    problem, loss = _blow_up_problem()
    counted = CountingMap(problem.output_map)
    counts = _Counts(monkeypatch)
    trajectory = gauss_newton_flow(
        counted,
        problem.params0,
        loss,
        (0.0, 50.0),
        rank_rtol=1e-3,
        blow_up=1e8,
        rtol=1e-8,
    )
    assert trajectory.status is FlowStatus.RANK_LOSS, trajectory.message
    assert counts.factorizations == trajectory.n_jacobian_evals
    # Root finding evaluates fresh states (a J and an exact ratio each), and
    # the certificate stops deciding only near the threshold: far fewer
    # exact ratios than Jacobians.
    assert 0 < counts.exact_ratios < trajectory.n_jacobian_evals / 2


@pytest.mark.parametrize(
    "case",
    [
        ("smooth", "DOP853", {"t_eval": np.linspace(0.0, 3.0, 7)}),
        ("smooth", "RK45", {}),
        ("smooth", "Radau", {"t_eval": [0.5, 1.0]}),
        ("blow_up", "DOP853", {"rank_rtol": 1e-3, "blow_up": 1e8, "rtol": 1e-8}),
        ("blow_up", "DOP853", {"rtol": 1e-8}),
        ("blow_up", "RK45", {"rank_rtol": 1e-3, "blow_up": 1e8, "t_eval": [40.0]}),
    ],
    ids=lambda case: f"{case[0]}-{case[1]}-{sorted(case[2])}",
)
def test_reuse_changes_no_result_bit_for_bit(monkeypatch, case):
    name, method, options = case
    problem, loss = _smooth_problem() if name == "smooth" else _blow_up_problem()
    t_span = (0.0, 3.0) if name == "smooth" else (0.0, 50.0)
    args = (problem.output_map, problem.params0, loss, t_span)
    reusing = gauss_newton_flow(*args, method=method, **options)
    monkeypatch.setattr(parameter_module, "GaussNewton", _Recomputing)
    recomputing = gauss_newton_flow(*args, method=method, **options)
    _assert_same(reusing, recomputing)
    if name == "blow_up":
        assert reusing.status is not FlowStatus.T_END


def test_reuse_within_a_tight_factor_budget_changes_no_result(monkeypatch):
    # Factors dropped for all but the newest evaluation: the same run.
    problem, loss = _blow_up_problem()
    args = (problem.output_map, problem.params0, loss, (0.0, 50.0))
    options = {"rank_rtol": 1e-3, "blow_up": 1e8, "t_eval": [10.0, 40.0], "rtol": 1e-8}
    reusing = gauss_newton_flow(*args, **options)
    monkeypatch.setattr(dynamics_module, "FACTORS_BUDGET", 0)
    _assert_same(gauss_newton_flow(*args, **options), reusing)


def test_velocity_is_the_gauss_newton_direction_bit_for_bit():
    problem, loss = _smooth_problem()
    field = GaussNewton(
        dynamics_module.Counter(problem.output_map),
        loss,
        problem.params0,
        solver="qr",
        rank_rtol=1e-8,
        metric_weight=0.5,
    )
    theta = problem.params0 + 0.01
    J = problem.output_map.jacobian(theta)
    g = loss.gradient(problem.output_map.value(theta))
    expected = -gauss_newton_direction(J, g, rank_rtol=1e-8) / 0.5
    np.testing.assert_array_equal(field(0.0, theta), expected)
    exact = math.log(factorize(J).sigma_ratio / 1e-4)
    assert field.rank_margin(theta, 1e-4, exact=True) == exact
    assert 0 < field.rank_margin(theta, 1e-4) <= exact


# ----------------------------------------------------------------------
# Levenberg-Marquardt (p <= n): one factorization per point at large sizes


@pytest.mark.parametrize("damping", [1e-3, KernelTied(1.0)])
def test_factored_lm_agrees_with_the_stacked_system(monkeypatch, damping):
    problem, loss = _smooth_problem()
    n, p = problem.output_map.n_outputs, problem.output_map.n_params
    assert n * p * p < dynamics_module.FACTORED_LM_WORK  # verify's sizes: stacked
    args = (problem.output_map, problem.params0, loss, (0.0, 3.0))
    options = {"damping": damping, "t_eval": np.linspace(0.0, 3.0, 7)}
    stacked = levenberg_marquardt_flow(*args, **options)
    counted = CountingMap(problem.output_map)
    counts = _Counts(monkeypatch)
    monkeypatch.setattr(dynamics_module, "FACTORED_LM_WORK", 0)
    factored = levenberg_marquardt_flow(counted, *args[1:], **options)
    assert factored.status is stacked.status is FlowStatus.T_END
    assert counts.factorizations == counted.counts["jacobian"]
    assert counts.factorizations == factored.n_jacobian_evals
    scale = np.max(np.abs(stacked.outputs))
    np.testing.assert_allclose(
        factored.outputs, stacked.outputs, rtol=0, atol=1e-8 * scale
    )
    np.testing.assert_allclose(
        factored.extras["lambda_min"], stacked.extras["lambda_min"], rtol=1e-10
    )


# ----------------------------------------------------------------------
# The certificate of the rank event


def _with_singular_values(s, n, seed):
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((n, s.size)))[0]
    V = np.linalg.qr(rng.standard_normal((s.size, s.size)))[0]
    return (U * s) @ V.T


@pytest.mark.parametrize("log_condition", [0, 2, 4, 6, 8, 10, 12, 14])
@pytest.mark.parametrize("p", [1, 5, 40])
def test_the_certified_ratio_is_below_the_exact_ratio(log_condition, p):
    s = np.logspace(0.0, -log_condition, p) if p > 1 else np.ones(1)
    J = _with_singular_values(s * 1e-3, 3 * p, seed=p + log_condition)
    margin = 1e-8
    factorization = factorize(J, rank_rtol=1e-15)
    exact = factorization.sigma_ratio
    bound = _certified_ratio(factorization, margin)
    assert 0.0 <= bound <= exact
    if log_condition <= 4:  # far from the margin: the bound decides the sign
        assert bound > margin


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_the_certified_ratio_survives_extreme_scales(scale):
    J = _with_singular_values(np.array([1.0, 0.5, 0.25]), 6, seed=1) * scale
    factorization = factorize(J)
    bound = _certified_ratio(factorization, 1e-8)
    assert 1e-8 < bound <= factorization.sigma_ratio


def test_the_certified_ratio_of_a_singular_factor_is_zero():
    factorization = factorize(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]))
    assert _certified_ratio(factorization, 1e-8) == 0.0


# ----------------------------------------------------------------------
# The intrinsic schemes share charts across stages and steps


@pytest.mark.parametrize(("scheme", "stages"), [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_intrinsic_fixed_step_factorizes_once_per_new_point(scheme, stages):
    problem = two_layer(30, 3, 2, seed=5, build_manifold=False)
    counted = CountingMap(problem.output_map)
    manifold = OutputManifold(counted, problem.params0)
    loss = SquaredLoss(teacher_target(problem, 0.3, seed=2))
    u0 = manifold.point(problem.params0)
    start = counted.counts["jacobian"]
    assert start == 1  # the reference chart, shared by the start of the flow
    trajectory = riemannian_gradient_flow(
        manifold, loss, u0, (0.0, 1.0), step=0.1, scheme=scheme
    )
    n_steps = len(trajectory) - 1
    assert trajectory.status is FlowStatus.T_END and n_steps == 10
    # Stage 1 is at the step's start, whose chart the step before built; every
    # other stage point and the step's end are new points: one J and one
    # factorization each, never two.
    assert counted.counts["jacobian"] - start == stages * n_steps


def test_intrinsic_adaptive_step_factorizes_once_per_new_point():
    problem = two_layer(30, 3, 2, seed=5, build_manifold=False)
    counted = CountingMap(problem.output_map)
    manifold = OutputManifold(counted, problem.params0)
    loss = SquaredLoss(teacher_target(problem, 0.3, seed=2))
    trajectory = riemannian_gradient_flow(
        manifold, loss, manifold.point(problem.params0), (0.0, 1.0), step="adaptive"
    )
    assert trajectory.status is FlowStatus.T_END
    # Each trial step factorizes at its Euler point, each accepted step at its
    # end: the flow's own count of gradients at new points.
    assert counted.counts["jacobian"] - 1 == trajectory.n_jacobian_evals - 1
