"""Flows on the reference kernel: LM reuses one eigendecomposition, the gradient flow is stiff.

At ``n >= REFERENCE_KERNEL_N`` the matrix-free kernel form of the
Levenberg-Marquardt flow solves with CG preconditioned by the kernel's
eigendecomposition at a reference point (``manifolds._reference``), and the
gradient flow's Rosenbrock-W method (``method="ROS34PW2"``) solves its linear
systems through the same kernel. Here the threshold is lowered so that both
run at sizes where the dense flows run too, and must agree with them.
"""

from __future__ import annotations

import numpy as np
import pytest

import riemgn.dynamics.flows._dynamics as dynamics
from manifolds.linalg import smallest_kernel_eigenpair
from riemgn import SquaredLoss, TwoLayerNetwork
from riemgn.damping import Constant, KernelTied
from riemgn.data import near_duplicate_inputs
from riemgn.dynamics.flows._dynamics import Counter, LevenbergMarquardt
from riemgn.flows import (
    FlowStatus,
    gauss_newton_flow,
    gradient_flow,
    levenberg_marquardt_flow,
)
from riemgn.theory import fit_exponential_rate


class WithoutClosedForm:
    """The output map without ``neural_tangent_kernel``: K comes from products."""

    def __init__(self, output_map):
        self._map = output_map
        self.n_outputs, self.n_params = output_map.n_outputs, output_map.n_params

    def __getattr__(self, name):
        if name == "neural_tangent_kernel":
            raise AttributeError(name)
        return getattr(self._map, name)


def _hard_problem(eta, n=12, d=10, width=20, seed=0):
    """C5's problem: a near-duplicate sample, the residual along K0's flattest mode."""
    rng = np.random.default_rng(seed)
    X = near_duplicate_inputs(n, d, eta, rng) / np.sqrt(d)
    network = TwoLayerNetwork(d, width)
    theta0 = network.init_params(rng, "standard")
    F = network.output_map(X)
    lambda_min, u_min = smallest_kernel_eigenpair(F.neural_tangent_kernel(theta0))
    y = F.value(theta0) + 0.01 * np.sqrt(lambda_min) * u_min
    return F, theta0, SquaredLoss(y), lambda_min


def _residuals(trajectory, loss):
    """|u_t - y| along a trajectory (the squared loss's gradient is u - y)."""
    return np.array([np.linalg.norm(loss.gradient(u)) for u in trajectory.outputs])


def _relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


@pytest.fixture
def referenced(monkeypatch):
    """The reference kernel from n = 1 on."""
    monkeypatch.setattr(dynamics, "REFERENCE_KERNEL_N", 1)


@pytest.mark.parametrize("damping", [KernelTied(1.0), Constant(1e-2)])
@pytest.mark.parametrize("closed_form", [True, False])
def test_lm_on_the_reference_kernel_agrees_with_the_dense_flow(
    referenced, damping, closed_form
):
    F, theta0, loss, lambda_min = _hard_problem(1e-3)
    assert lambda_min < 1e-6  # cond(K0) > 1e5
    t_eval = np.linspace(0.5, 10.0, 20)
    runs = {}
    for solver in ("dense", "krylov"):
        output_map = F if closed_form or solver == "dense" else WithoutClosedForm(F)
        runs[solver] = levenberg_marquardt_flow(
            output_map,
            theta0,
            loss,
            (0.0, 10.0),
            damping=damping,
            t_eval=t_eval,
            solver=solver,
        )
    dense, krylov = runs["dense"], runs["krylov"]
    assert krylov.method == "levenberg_marquardt/kernel_reference/DOP853"
    assert dense.status == krylov.status == FlowStatus.T_END
    assert _relative(dense.outputs, krylov.outputs) < 1e-8
    assert np.allclose(
        dense.extras["lambda_min"], krylov.extras["lambda_min"], rtol=1e-8
    )
    # The residual u_t - y itself (of order 1e-5 |u|) agrees along the decay.
    r_dense, r_krylov = (_residuals(run, loss) for run in (dense, krylov))
    assert np.max(np.abs(r_dense - r_krylov)) < 1e-4 * r_dense[0]


def test_lm_kernel_tied_rate_on_the_reference_kernel(referenced):
    F, theta0, loss, _ = _hard_problem(1e-4)
    t_eval = np.linspace(0.0, 30.0, 151)[1:]
    trajectory = levenberg_marquardt_flow(
        F, theta0, loss, (0.0, 30.0), damping=KernelTied(1.0), t_eval=t_eval
    )
    r = _residuals(trajectory, loss)
    fit = fit_exponential_rate(trajectory.times, r, window=(1e-1, 1e-5))
    assert fit.rate == pytest.approx(0.5, rel=2e-3)


def test_a_slow_solve_moves_the_reference(referenced, monkeypatch):
    monkeypatch.setattr(dynamics, "REFERENCE_REFRESH_ITERATIONS", 0)
    F, theta0, loss, _ = _hard_problem(1e-2)
    counter = Counter(F)
    flow = LevenbergMarquardt(
        counter,
        loss,
        theta0,
        schedule=KernelTied(1.0),
        kernel_solver="eigh",
        rank_rtol=1e-13,
        solver="krylov",
    )
    first = flow.evaluate(0.0, theta0)
    second = flow.evaluate(0.1, theta0 + 0.01 * first.velocity)
    assert flow.n_references == 2
    assert np.isfinite(second.lambda_min)
    dense = levenberg_marquardt_flow(
        F, theta0, loss, (0.0, 2.0), damping=KernelTied(1.0), t_eval=[1.0, 2.0]
    )
    krylov = levenberg_marquardt_flow(
        F,
        theta0,
        loss,
        (0.0, 2.0),
        damping=KernelTied(1.0),
        t_eval=[1.0, 2.0],
        solver="krylov",
    )
    assert _relative(dense.outputs, krylov.outputs) < 1e-8


def test_the_reference_kernel_is_used_from_its_threshold_on():
    assert dynamics.REFERENCE_KERNEL_N == 1000
    rng = np.random.default_rng(0)
    for n, form in ((999, "kernel_krylov"), (1000, "kernel_reference")):
        network = TwoLayerNetwork(3, n)  # p = 3 n > n
        theta0 = network.init_params(rng, "standard")
        F = network.output_map(rng.standard_normal((n, 3)))
        flow = LevenbergMarquardt(
            Counter(F),
            SquaredLoss(np.zeros(n)),
            theta0,
            schedule=KernelTied(1.0),
            kernel_solver="eigh",
            rank_rtol=1e-13,
            solver="krylov",
        )
        assert flow.name == "levenberg_marquardt/" + form


@pytest.mark.parametrize("flow", [gauss_newton_flow, levenberg_marquardt_flow])
def test_the_rosenbrock_method_is_the_gradient_flows_only(flow):
    F, theta0, loss, _ = _hard_problem(1e-1, n=30, d=2, width=3)
    options = {"damping": 1.0} if flow is levenberg_marquardt_flow else {}
    with pytest.raises(ValueError, match="ROS34PW2.*gradient flow's only"):
        flow(F, theta0, loss, (0.0, 1.0), method="ROS34PW2", **options)


def _rate(trajectory, loss, window=(1e-1, 1e-5)):
    return fit_exponential_rate(
        trajectory.times, _residuals(trajectory, loss), window=window
    ).rate


@pytest.mark.parametrize("eta", [1e-2, 1e-4])
def test_the_rosenbrock_gradient_flow_agrees_with_bdf(eta):
    F, theta0, loss, lambda_min = _hard_problem(eta)
    horizon = 20.0 / lambda_min
    t_eval = np.linspace(0.0, horizon, 101)[1:]
    runs = {
        method: gradient_flow(
            F, theta0, loss, (0.0, horizon), t_eval=t_eval, method=method
        )
        for method in ("BDF", "ROS34PW2")
    }
    bdf, rosenbrock = runs["BDF"], runs["ROS34PW2"]
    assert bdf.status == rosenbrock.status == FlowStatus.T_END
    assert _rate(rosenbrock, loss) == pytest.approx(_rate(bdf, loss), rel=2e-3)
    assert _rate(rosenbrock, loss) == pytest.approx(lambda_min, rel=1e-2)
    r_bdf, r_rosenbrock = _residuals(bdf, loss), _residuals(rosenbrock, loss)
    assert np.max(np.abs(r_bdf - r_rosenbrock)) < 1e-4 * r_bdf[0]


def test_the_rosenbrock_gradient_flow_runs_where_bdf_is_refused():
    F, theta0, loss, lambda_min = _hard_problem(1e-3, n=20, d=50, width=100)
    assert F.n_params == 5000 > 4000
    horizon = 20.0 / lambda_min
    with pytest.raises(ValueError, match="explicit method"):
        gradient_flow(F, theta0, loss, (0.0, horizon), method="BDF")
    trajectory = gradient_flow(
        F,
        theta0,
        loss,
        (0.0, horizon),
        t_eval=np.linspace(0.0, horizon, 51)[1:],
        method="ROS34PW2",
    )
    assert trajectory.status == FlowStatus.T_END
    assert _rate(trajectory, loss, (1e-1, 1e-4)) == pytest.approx(lambda_min, rel=1e-2)


def test_a_failed_w_solve_takes_a_new_reference_and_the_flow_goes_on(monkeypatch):
    import manifolds._reference as reference

    F, theta0, loss, lambda_min = _hard_problem(1e-2)
    horizon = 20.0 / lambda_min
    t_eval = np.linspace(0.0, horizon, 41)[1:]
    expected = gradient_flow(
        F, theta0, loss, (0.0, horizon), t_eval=t_eval, method="ROS34PW2"
    )
    # One CG iteration is exact only at the reference itself: every other
    # state fails, takes a new reference and solves there.
    monkeypatch.setattr(reference, "REFERENCE_MAXITER", 1)
    counts = []
    original = dynamics.GradientFlow._reference_at

    def counted(self, params):
        counts.append(1)
        return original(self, params)

    monkeypatch.setattr(dynamics.GradientFlow, "_reference_at", counted)
    trajectory = gradient_flow(
        F, theta0, loss, (0.0, horizon), t_eval=t_eval, method="ROS34PW2"
    )
    assert trajectory.status == FlowStatus.T_END
    assert len(counts) > 10
    assert _relative(expected.outputs, trajectory.outputs) < 1e-8


class BreakingKernel(WithoutClosedForm):
    """The closed-form kernel once, then NaN."""

    def __init__(self, output_map):
        super().__init__(output_map)
        self.calls = 0

    def neural_tangent_kernel(self, params):
        self.calls += 1
        K = self._map.neural_tangent_kernel(params)
        return K if self.calls == 1 else np.full_like(K, np.nan)


def test_a_kernel_that_is_not_finite_is_a_blow_up_status(referenced, monkeypatch):
    monkeypatch.setattr(dynamics, "REFERENCE_REFRESH_ITERATIONS", 0)
    F, theta0, loss, _ = _hard_problem(1e-2)
    trajectory = levenberg_marquardt_flow(
        BreakingKernel(F),
        theta0,
        loss,
        (0.0, 5.0),
        damping=KernelTied(1.0),
        solver="krylov",
    )
    assert trajectory.status == FlowStatus.BLOW_UP
    assert "kernel K(theta) is not finite" in trajectory.message
