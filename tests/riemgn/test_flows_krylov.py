"""The one switch ``solver="dense" | "krylov" | "auto"`` through the flows and solvers.

The matrix-free path must agree with the dense one where both run (THEORY §3,
issue 16): whole Gauss-Newton flows at 1e-8 relative for cond(J) up to 1e6,
Levenberg-Marquardt flows and the discrete solvers; a Krylov solve that misses
its tolerance is a status, never an exception, and J is never formed.
"""

from __future__ import annotations

import numpy as np
import pytest

from manifolds import linalg
from riemgn import SquaredLoss, TwoLayerNetwork
from riemgn.damping import Constant, KernelTied
from riemgn.flows import (
    FlowStatus,
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
)
from riemgn.losses import LogisticLoss
from riemgn.solvers import SolverStatus, gauss_newton, levenberg_marquardt


class ConditionedMap:
    r""":math:`F(\theta) = A\tanh(\theta)` with a prescribed cond(A); J is never formed.

    :math:`J = A\,\mathrm{diag}(\mathrm{sech}^2\theta)`, so near
    :math:`\theta = 0` its condition number is that of :math:`A`.
    """

    def __init__(self, n, p, cond, seed):
        rng = np.random.default_rng(seed)
        U = np.linalg.qr(rng.standard_normal((n, p)))[0]
        V = np.linalg.qr(rng.standard_normal((p, p)))[0]
        self.A = (U * np.geomspace(1.0, 1.0 / cond, p)) @ V.T
        self.n_outputs, self.n_params = n, p
        self.dense_jacobians = 0

    def value(self, params):
        return self.A @ np.tanh(params)

    def _d1(self, params):
        return 1.0 / np.cosh(params) ** 2

    def jacobian(self, params):
        self.dense_jacobians += 1
        return self.A * self._d1(params)

    def jvp(self, params, vector):
        return self.A @ (self._d1(params) * vector)

    def vjp(self, params, cotangent):
        return self._d1(params) * (self.A.T @ cotangent)

    def second_derivative(self, params, vector_a, vector_b):
        d2 = -2.0 * np.tanh(params) * self._d1(params)
        return self.A @ (d2 * vector_a * vector_b)

    def weighted_hessian_vector(self, params, weights, vector):
        d2 = -2.0 * np.tanh(params) * self._d1(params)
        return (self.A.T @ weights) * d2 * vector


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


@pytest.mark.parametrize("cond", [1e2, 1e4, 1e6])
def test_whole_gauss_newton_flows_agree(cond):
    F = ConditionedMap(160, 40, cond, seed=1)
    rng = np.random.default_rng(2)
    theta0 = 0.1 * rng.standard_normal(40)
    # A target on the manifold, near theta0 in every direction of theta.
    loss = SquaredLoss(F.value(theta0 + 0.05 * rng.standard_normal(40)))
    t_eval = np.linspace(0.5, 3.0, 6)
    options = dict(t_eval=t_eval, rtol=1e-10, atol=1e-12, rank_rtol=1e-9)
    dense = gauss_newton_flow(F, theta0, loss, (0.0, 3.0), solver="dense", **options)
    jacobians = F.dense_jacobians
    krylov = gauss_newton_flow(F, theta0, loss, (0.0, 3.0), solver="krylov", **options)
    assert F.dense_jacobians == jacobians  # the matrix-free flow never formed J
    assert dense.status == krylov.status == FlowStatus.T_END
    assert dense.outputs.shape == krylov.outputs.shape
    assert relative(dense.outputs, krylov.outputs) < 1e-8
    assert relative(dense.params, krylov.params) < 1e-8
    assert krylov.method.startswith("gauss_newton/krylov")


def test_auto_is_dense_below_the_budget_and_bit_identical():
    network = TwoLayerNetwork(3, 4)
    rng = np.random.default_rng(3)
    theta0 = network.init_params(rng, "standard")
    F = network.output_map(rng.standard_normal((30, 3)))
    loss = SquaredLoss(F.value(theta0 + 0.1 * rng.standard_normal(12)))
    auto = gauss_newton_flow(F, theta0, loss, (0.0, 2.0))
    qr = gauss_newton_flow(F, theta0, loss, (0.0, 2.0), solver="qr")
    assert auto.method == qr.method
    assert np.array_equal(auto.outputs, qr.outputs)


def test_auto_goes_matrix_free_above_the_budget(monkeypatch):
    F = ConditionedMap(120, 30, 1e2, seed=4)
    rng = np.random.default_rng(5)
    theta0 = 0.1 * rng.standard_normal(30)
    loss = SquaredLoss(F.value(theta0) + 0.01)
    monkeypatch.setattr(linalg, "DENSE_BUDGET", 8 * 120 * 30 - 1)
    trajectory = gauss_newton_flow(F, theta0, loss, (0.0, 1.0))
    assert trajectory.method.startswith("gauss_newton/krylov")
    assert F.dense_jacobians == 0


def test_levenberg_marquardt_flows_agree_in_both_forms():
    rng = np.random.default_rng(6)
    # p <= n, a constant damping (the step itself is compared, not an estimate).
    F = ConditionedMap(200, 40, 1e4, seed=7)
    theta0 = 0.1 * rng.standard_normal(40)
    loss = SquaredLoss(F.value(theta0 + 0.05 * rng.standard_normal(40)))
    t_eval = np.linspace(0.5, 3.0, 6)
    runs = [
        levenberg_marquardt_flow(
            F,
            theta0,
            loss,
            (0.0, 3.0),
            damping=Constant(1e-3),
            t_eval=t_eval,
            solver=solver,
        )
        for solver in ("dense", "krylov")
    ]
    assert runs[0].status == runs[1].status == FlowStatus.T_END
    assert relative(runs[0].outputs, runs[1].outputs) < 1e-8
    # p > n, the kernel form with the closed-form kernel of the network.
    network = TwoLayerNetwork(4, 12)
    theta0 = network.init_params(rng, "standard")
    F = network.output_map(rng.standard_normal((20, 4)))
    loss = SquaredLoss(F.value(theta0) + 0.1)
    runs = [
        levenberg_marquardt_flow(
            F,
            theta0,
            loss,
            (0.0, 3.0),
            damping=KernelTied(1.0),
            t_eval=t_eval,
            solver=solver,
        )
        for solver in ("dense", "krylov")
    ]
    assert runs[1].method.startswith("levenberg_marquardt/kernel_krylov")
    assert relative(runs[0].outputs, runs[1].outputs) < 1e-8


def test_gradient_flow_matrix_free_agrees_and_refuses_implicit_methods():
    F = ConditionedMap(100, 20, 10.0, seed=8)
    rng = np.random.default_rng(9)
    theta0 = 0.1 * rng.standard_normal(20)
    loss = SquaredLoss(F.value(theta0) + 0.01)
    t_eval = np.linspace(0.5, 2.0, 4)
    runs = [
        gradient_flow(
            F, theta0, loss, (0.0, 2.0), method="RK45", t_eval=t_eval, solver=solver
        )
        for solver in ("dense", "krylov")
    ]
    assert relative(runs[0].outputs, runs[1].outputs) < 1e-12
    with pytest.raises(ValueError, match="'krylov' never forms"):
        gradient_flow(F, theta0, loss, (0.0, 1.0), method="BDF", solver="krylov")


@pytest.mark.parametrize("flow", ["gn", "lm", "gradient"])
@pytest.mark.parametrize("bad", ["sparse", None, 3])
def test_a_bad_solver_is_named(flow, bad):
    F = ConditionedMap(20, 5, 10.0, seed=10)
    theta0 = np.zeros(5)
    loss = SquaredLoss(np.ones(20))
    run = {
        "gn": lambda: gauss_newton_flow(F, theta0, loss, (0, 1), solver=bad),
        "lm": lambda: levenberg_marquardt_flow(
            F, theta0, loss, (0, 1), damping=1.0, solver=bad
        ),
        "gradient": lambda: gradient_flow(F, theta0, loss, (0, 1), solver=bad),
    }[flow]
    with pytest.raises(ValueError, match="`solver` must be one of"):
        run()


def test_a_missed_krylov_tolerance_is_a_status(monkeypatch):
    F = ConditionedMap(120, 30, 1e4, seed=11)
    rng = np.random.default_rng(12)
    theta0 = 0.1 * rng.standard_normal(30)
    loss = SquaredLoss(F.value(theta0) + 0.01)
    original = linalg.factorize

    def starved(J, **options):  # two iterations cannot reach 1e-12
        if isinstance(J, linalg.JacobianOperator):
            options["maxiter"] = 2
        return original(J, **options)

    import riemgn.dynamics.flows._dynamics as dynamics
    import riemgn.dynamics.solvers._gauss_newton as solver_module

    monkeypatch.setattr(dynamics, "factorize", starved)
    monkeypatch.setattr(solver_module, "factorize", starved)
    with pytest.raises(ValueError, match="cannot be evaluated|start"):
        # At the start a failed solve is the caller's problem, as for the dense flow.
        gauss_newton_flow(F, theta0, loss, (0.0, 1.0), solver="krylov")
    result = gauss_newton(F, theta0, loss, solver="krylov")
    assert result.status == SolverStatus.LINEAR_SOLVE_FAILED
    assert "tolerance" in result.message

    calls = []

    def starved_later(J, **options):  # the start succeeds, a later solve misses
        calls.append(1)
        if isinstance(J, linalg.JacobianOperator) and len(calls) > 5:
            options["maxiter"] = 2
        return original(J, **options)

    monkeypatch.setattr(dynamics, "factorize", starved_later)
    trajectory = gauss_newton_flow(F, theta0, loss, (0.0, 1.0), solver="krylov")
    assert trajectory.status == FlowStatus.SOLVER_FAILED
    assert "KrylovConvergenceError" in trajectory.message
    assert np.all(np.isfinite(trajectory.outputs))


def test_discrete_solvers_agree():
    F = ConditionedMap(200, 40, 1e3, seed=13)
    rng = np.random.default_rng(14)
    theta0 = 0.1 * rng.standard_normal(40)
    target = F.value(theta0 + 0.05 * rng.standard_normal(40))
    loss = SquaredLoss(target)
    dense = gauss_newton(F, theta0, loss, max_iter=6, solver="dense")
    krylov = gauss_newton(F, theta0, loss, max_iter=6, solver="krylov")
    assert relative(dense.params, krylov.params) < 1e-8
    assert krylov.method.startswith("gauss_newton/krylov")
    lm = [
        # The same first damping: matrix-free, Nielsen's default start is
        # tau sigma_max^2 (estimated), not tau max_j |J_j|^2.
        levenberg_marquardt(
            F,
            theta0,
            loss,
            damping="nielsen",
            initial_damping=1e-3,
            max_iter=4,
            solver=s,
        )
        for s in ("dense", "krylov")
    ]
    assert lm[0].n_iter == lm[1].n_iter
    assert relative(lm[0].params, lm[1].params) < 1e-8
    with pytest.raises(ValueError, match="trust_region"):
        levenberg_marquardt(F, theta0, loss, solver="krylov")
    # A weighted loss: the rows of J are scaled matrix-free.
    labels = np.where(target > 0, 1.0, -1.0)
    a = gauss_newton(F, theta0, LogisticLoss(labels), max_iter=3, solver="dense")
    b = gauss_newton(F, theta0, LogisticLoss(labels), max_iter=3, solver="krylov")
    assert relative(a.params, b.params) < 1e-8
