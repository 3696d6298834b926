"""Gauss-Newton and Levenberg-Marquardt solvers, and the pymanopt wrapper.

The references are ``scipy.optimize.least_squares`` (the optimum and its
Jacobian count), the explicit formula ``(J^T J + lam I)^{-1} J^T g`` on small
problems, and the chart retraction of the output manifold.
"""

from __future__ import annotations

import time
import tracemalloc

import autograd.numpy as anp
import numpy as np
import pymanopt
import pytest
import scipy.linalg
import scipy.optimize
from problems import CountingMap, two_layer
from sklearn.datasets import load_diabetes
from threadpoolctl import threadpool_limits

from manifolds import AutogradOutputMap
from riemgn.damping import Constant, KernelTied, ResidualProportional
from riemgn.losses import SquaredLoss
from riemgn.networks import TwoLayerNetwork
from riemgn.solvers import (
    SOLVER_MESSAGES,
    IterationInfo,
    SolverError,
    SolverResult,
    SolverStatus,
    gauss_newton,
    gradient_descent,
    levenberg_marquardt,
    riemannian_gradient_descent,
    riemannian_optimize,
)

# The defaults of our solvers, passed to scipy too so both stop by the same
# rules (ftol and xtol mean the same in both; our gtol bounds the 2-norm of
# the gradient, scipy's the inf-norm, so ours is the stricter).
TOLERANCES = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-10}


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    # Every matrix here is small; on a shared machine a threaded BLAS only
    # adds contention (it made single solves 100x slower).
    with threadpool_limits(limits=1):
        yield


def scipy_reference(output_map, params0, y, **tolerances):
    return scipy.optimize.least_squares(
        lambda theta: output_map.value(theta) - y,
        params0,
        jac=output_map.jacobian,
        method="trf",
        **tolerances,
    )


def half_squared_norm(residual):
    return 0.5 * float(residual @ residual)


# ----------------------------------------------------------------------
# Levenberg-Marquardt against scipy on the diabetes data


@pytest.fixture(scope="module")
def diabetes():
    """A width-3 tanh network (p = 30 < n = 442) on the standardized diabetes data.

    The loss has several local minima. Seed 7 is a start from which scipy's
    trf, Nielsen's rule and our trust region all reach the same one; from
    other seeds the large first steps of the methods often pick different
    basins, and comparing Jacobian counts then compares different problems.
    """
    data = load_diabetes()
    X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    y = (data.target - data.target.mean()) / data.target.std()
    network = TwoLayerNetwork(10, 3, activation="tanh")
    params0 = network.init_params(np.random.default_rng(7), "standard")
    output_map = network.output_map(X)
    reference = scipy_reference(output_map, params0, y, **TOLERANCES)
    assert reference.success
    return output_map, params0, y, reference


@pytest.mark.parametrize("damping", ["nielsen", "trust_region"])
def test_levenberg_marquardt_reaches_the_scipy_optimum_on_diabetes(diabetes, damping):
    output_map, params0, y, reference = diabetes
    h_scipy = half_squared_norm(reference.fun)
    result = levenberg_marquardt(output_map, params0, SquaredLoss(y), damping=damping)
    print(
        f"\ndiabetes, {damping}: loss {result.loss:.12g} in {result.n_jacobian_evals} "
        f"Jacobians; scipy trf: loss {h_scipy:.12g} in {reference.njev} Jacobians"
    )
    assert result.success, result.message
    assert result.method == f"levenberg_marquardt/{damping}/qr"
    # The same optimum, or a better point if scipy stopped early.
    assert result.loss <= h_scipy * (1 + 1e-6)
    assert abs(result.loss - h_scipy) <= 1e-6 * h_scipy
    assert np.linalg.norm(result.params - reference.x) <= 1e-3 * np.linalg.norm(
        reference.x
    )


def test_default_lm_needs_no_more_jacobians_than_scipy_trf(diabetes):
    # The default damping is the trust region: Nielsen's rule reaches the same
    # optimum (above) but needs about 1.8x the Jacobians here (146 vs 79):
    # near this large-residual optimum the gain ratio hovers near 0.5, the
    # rule's fixed point, so lambda stays far above sigma_min(J)^2 and damps
    # the slow directions. benchmarks/solvers.py measures both over seeds.
    output_map, params0, y, reference = diabetes
    result = levenberg_marquardt(output_map, params0, SquaredLoss(y))
    assert result.method == "levenberg_marquardt/trust_region/qr"
    print(f"\nJacobians: ours {result.n_jacobian_evals}, scipy trf {reference.njev}")
    assert result.n_jacobian_evals <= reference.njev


# ----------------------------------------------------------------------
# Gauss-Newton


@pytest.fixture
def realizable():
    """Teacher-student: y = F(teacher), the student starts nearby."""
    problem = two_layer(n=40, d=3, width=3, seed=3, build_manifold=False)
    y = problem.output_map.value(problem.params0)
    rng = np.random.default_rng(4)
    start = problem.params0 + 0.3 * rng.standard_normal(problem.params0.size)
    return problem.output_map, start, y


@pytest.mark.parametrize("line_search", [False, True])
def test_gauss_newton_converges_quadratically_to_zero_residual(realizable, line_search):
    output_map, start, y = realizable
    result = gauss_newton(
        output_map, start, SquaredLoss(y), line_search=line_search, gtol=1e-14
    )
    assert result.success, result.message
    residuals = np.sqrt(2 * np.append(result.history.loss, result.loss))
    assert residuals[-1] <= 1e-13 * residuals[0]
    # Order of convergence from consecutive residuals above round-off.
    e = residuals[residuals > 1e-12]
    orders = np.log(e[2:] / e[1:-1]) / np.log(e[1:-1] / e[:-2])
    assert orders[-1] >= 1.8
    assert np.all(np.diff(e[1:] / e[:-1]) < 0)  # superlinear: ratios fall
    assert np.all(result.history.accepted)
    assert result.n_iter <= 8


def test_one_gauss_newton_step_is_a_riemannian_gradient_step():
    """F(theta - J^+ grad h) = R_u(-grad h(u)) with the chart retraction."""
    problem = two_layer(n=30, d=3, width=2, seed=21)
    manifold = problem.manifold
    y = np.random.default_rng(5).standard_normal(30)
    loss = SquaredLoss(y)
    u = manifold.point(problem.params0)
    riemannian = manifold.retraction(
        u, -manifold.euclidean_to_riemannian_gradient(u, loss.gradient(u))
    )
    step = gauss_newton(problem.output_map, problem.params0, loss, max_iter=1)
    assert step.status is SolverStatus.MAX_ITER
    assert np.allclose(step.outputs, riemannian, rtol=0, atol=1e-12 * np.linalg.norm(u))


def test_gauss_newton_reports_rank_loss_at_a_symmetric_initialization():
    problem = two_layer(
        n=20, d=3, width=4, scheme="symmetric", seed=0, build_manifold=False
    )
    loss = SquaredLoss(np.random.default_rng(1).standard_normal(20))
    result = gauss_newton(problem.output_map, problem.params0, loss)
    assert result.status is SolverStatus.RANK_LOSS
    assert not result.success
    assert "rank" in result.message and "symmetric initialization" in result.message
    with pytest.raises(SolverError, match="rank_rtol") as error:
        gauss_newton(problem.output_map, problem.params0, loss, throw=True)
    assert error.value.result.status is SolverStatus.RANK_LOSS


def test_gauss_newton_stops_on_blow_up_and_the_line_search_rescues_it():
    # exp(Xw) from w = 0 to targets as large as e^20: the first full
    # Gauss-Newton step overflows.
    X = np.random.default_rng(2).standard_normal((12, 2))
    output_map = AutogradOutputMap(lambda w: anp.exp(X @ w), n_params=2)
    loss = SquaredLoss(np.exp(X @ np.array([5.0, -4.0])))
    params0 = np.zeros(2)
    blown = gauss_newton(output_map, params0, loss)
    assert blown.status is SolverStatus.NON_FINITE
    assert np.array_equal(blown.params, params0)
    assert blown.history.accepted.tolist() == [False]
    assert "line_search=True" in blown.message
    rescued = gauss_newton(output_map, params0, loss, line_search=True)
    assert rescued.success, rescued.message
    assert rescued.loss <= 1e-20
    assert rescued.n_value_evals > rescued.n_iter + 1  # it backtracked


def test_gauss_newton_rejects_an_overparameterized_map():
    problem = two_layer(n=5, d=3, width=4, seed=0, build_manifold=False)
    with pytest.raises(ValueError, match="n_params = 12 > n_outputs = 5"):
        gauss_newton(problem.output_map, problem.params0, SquaredLoss(np.zeros(5)))


# ----------------------------------------------------------------------
# Levenberg-Marquardt: the step, the kernel form, the dampings


def explicit_step(J, g, lam):
    """-(J^T J + lam I)^{-1} J^T g, formed explicitly (small p only)."""
    p = J.shape[1]
    return -scipy.linalg.solve(J.T @ J + lam * np.eye(p), J.T @ g, assume_a="pos")


class RecordingMap(CountingMap):
    """Record the parameters of every evaluation of F."""

    def __init__(self, output_map):
        super().__init__(output_map)
        self.evaluated = []

    def value(self, params):
        self.evaluated.append(np.array(params))
        return super().value(params)


@pytest.mark.parametrize(
    "shape", [(30, 3, 2), (6, 5, 4)], ids=["p<n (QR)", "p>n (kernel)"]
)
@pytest.mark.parametrize("damping", ["nielsen", "trust_region", 0.3])
def test_the_first_step_solves_the_damped_normal_equations(shape, damping):
    n, d, width = shape
    problem = two_layer(n=n, d=d, width=width, seed=8, build_manifold=False)
    loss = SquaredLoss(np.random.default_rng(9).standard_normal(n))
    output_map, params0 = RecordingMap(problem.output_map), problem.params0
    result = levenberg_marquardt(output_map, params0, loss, damping=damping, max_iter=1)
    start, trial = output_map.evaluated
    assert np.array_equal(start, params0)
    J = problem.output_map.jacobian(params0)
    g = loss.gradient(problem.output_map.value(params0))
    expected = explicit_step(J, g, result.history.damping[0])
    assert np.allclose(trial - params0, expected, rtol=1e-9, atol=1e-12)
    assert result.history.step_norm[0] == pytest.approx(
        np.linalg.norm(expected), rel=1e-9
    )


@pytest.fixture(scope="module")
def overparameterized():
    """p = 100 > n = 10: the targets can be fitted exactly."""
    problem = two_layer(n=10, d=5, width=20, seed=2, build_manifold=False)
    y = 0.5 * np.random.default_rng(3).standard_normal(10)
    return problem.output_map, problem.params0, y


@pytest.mark.parametrize("damping", ["nielsen", "trust_region", KernelTied(1.0)])
def test_levenberg_marquardt_fits_an_overparameterized_network_in_kernel_form(
    overparameterized, damping
):
    output_map, params0, y = overparameterized
    counting = CountingMap(output_map)
    result = levenberg_marquardt(counting, params0, SquaredLoss(y), damping=damping)
    assert result.success, result.message
    assert result.method.endswith("/kernel")
    assert result.loss <= 1e-18
    assert counting.counts["jacobian"] == result.n_jacobian_evals
    assert counting.counts["value"] == result.n_value_evals == result.n_iter + 1


def test_levenberg_marquardt_never_allocates_a_p_by_p_array():
    n, d, width = 20, 1000, 200
    rng = np.random.default_rng(0)
    network = TwoLayerNetwork(d, width)
    params0 = network.init_params(rng)
    output_map = network.output_map(rng.standard_normal((n, d)) / np.sqrt(d))
    loss = SquaredLoss(rng.standard_normal(n))
    p = params0.size
    assert p == 200_000
    start = time.perf_counter()
    tracemalloc.start()
    try:
        result = levenberg_marquardt(output_map, params0, loss, max_iter=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    print(
        f"\np = {p}, n = {n}: peak {peak / 1e6:.1f} MB = {peak / (8 * n * p):.2f} "
        f"n*p*8 bytes (p*p*8 = {8 * p * p / 1e9:.0f} GB), {elapsed:.1f} s"
    )
    assert result.method.endswith("/kernel")
    assert result.loss < 1e-3 * loss.value(output_map.value(params0))
    assert peak < 10 * n * p * 8  # a (p, p) array would be 1e4 times more


@pytest.fixture(scope="module")
def noisy():
    """Not realizable: the optimum has a non-zero residual."""
    problem = two_layer(n=30, d=3, width=2, seed=21, build_manifold=False)
    rng = np.random.default_rng(22)
    teacher = problem.params0 + 0.3 * rng.standard_normal(problem.params0.size)
    y = problem.output_map.value(teacher) + 0.05 * rng.standard_normal(30)
    reference = scipy_reference(
        problem.output_map, problem.params0, y, ftol=1e-15, xtol=1e-15, gtol=1e-15
    )
    h_star = half_squared_norm(reference.fun)
    assert h_star > 1e-3
    return problem.output_map, problem.params0, y, h_star


@pytest.mark.parametrize(
    "damping",
    [
        "nielsen",
        "trust_region",
        1e-2,
        Constant(1e-2),
        KernelTied(0.5),
        ResidualProportional(0.1),
        lambda k, state: 1e-2 / (k + 1),
    ],
    ids=[
        "nielsen",
        "trust_region",
        "float",
        "Constant",
        "KernelTied",
        "Residual",
        "callable",
    ],
)
def test_every_damping_reaches_the_least_squares_optimum(noisy, damping):
    output_map, params0, y, h_star = noisy
    result = levenberg_marquardt(output_map, params0, SquaredLoss(y), damping=damping)
    assert result.success, result.message
    assert abs(result.loss - h_star) <= 1e-9 * h_star
    assert np.all(np.diff(result.history.loss) <= 0)  # only decreases are taken


def test_a_schedule_sees_the_iteration_and_the_kernel_spectrum(noisy):
    output_map, params0, y, _ = noisy
    seen = []

    def schedule(k, state):
        seen.append((k, state.kernel_eigenvalues.copy(), state.lambda_min))
        return 10.0  # large: every step is accepted

    result = levenberg_marquardt(
        output_map, params0, SquaredLoss(y), damping=schedule, max_iter=3
    )
    assert [k for k, _, _ in seen] == [0, 1, 2]
    eigenvalues = scipy.linalg.svdvals(output_map.jacobian(params0)) ** 2
    assert np.allclose(seen[0][1], eigenvalues, rtol=1e-10)
    assert seen[0][2] == pytest.approx(eigenvalues[-1], rel=1e-10)
    assert np.all(result.history.damping == 10.0)


@pytest.mark.parametrize("damping", [Constant(1e-8), Constant(0.0)])
def test_a_rejected_scheduled_step_doubles_the_damping(damping):
    # Random targets: a large residual, where nearly undamped steps overshoot.
    problem = two_layer(n=30, d=3, width=2, seed=21, build_manifold=False)
    loss = SquaredLoss(np.random.default_rng(3).standard_normal(30))
    result = levenberg_marquardt(
        problem.output_map, problem.params0, loss, damping=damping, max_iter=40
    )
    history = result.history
    rejected = np.flatnonzero(~history.accepted[:-1])
    assert rejected.size > 10
    for k in rejected:
        if history.damping[k] > 0:
            assert history.damping[k + 1] == 2 * history.damping[k]
        else:  # restarts at tau * max diag(J^T J)
            J = problem.output_map.jacobian(problem.params0)
            assert history.damping[k + 1] > 0
            if k == 0:
                assert history.damping[1] == pytest.approx(
                    1e-3 * np.max(np.sum(J**2, axis=0))
                )
    accepted = history.damping[1:][history.accepted[:-1]]
    assert np.all(accepted == damping.value)  # a new Jacobian restarts the schedule


# ----------------------------------------------------------------------
# Riemannian gradient descent with pymanopt


@pytest.fixture
def on_manifold(noisy):
    output_map, params0, y, h_star = noisy
    problem = two_layer(n=30, d=3, width=2, seed=21)
    assert np.array_equal(problem.params0, params0)
    return problem.manifold, SquaredLoss(y), problem.manifold.point(params0), h_star


def test_riemannian_trust_regions_reach_the_least_squares_optimum(on_manifold):
    manifold, loss, u0, h_star = on_manifold
    result = riemannian_gradient_descent(
        manifold, loss, u0, optimizer="trust_regions", min_gradient_norm=1e-12
    )
    assert result.status is SolverStatus.CONVERGED_GTOL, result.message
    assert abs(result.loss - h_star) <= 1e-8 * h_star
    assert np.allclose(
        manifold.output_map.value(result.params), result.outputs, atol=1e-10
    )
    assert result.n_jacobian_evals == -1
    assert len(result.history) == 0  # pymanopt's trust regions keep no log


def test_riemannian_steepest_descent_keeps_a_history(on_manifold):
    manifold, loss, u0, h_star = on_manifold
    result = riemannian_gradient_descent(manifold, loss, u0, min_gradient_norm=1e-9)
    assert result.success, result.message
    assert abs(result.loss - h_star) <= 1e-8 * h_star
    history = result.history
    assert 0 < len(history) <= result.n_iter + 1
    assert history.loss[0] == pytest.approx(loss.value(u0))
    assert np.all(np.diff(history.loss) <= 0)
    assert result.method == "riemannian_gradient_descent/steepest_descent"


def test_riemannian_optimize_is_riemannian_gradient_descent_renamed(on_manifold):
    manifold, loss, u0, _ = on_manifold
    new = riemannian_optimize(manifold, loss, u0, optimizer="conjugate_gradient")
    old = riemannian_gradient_descent(
        manifold, loss, u0, optimizer="conjugate_gradient"
    )
    assert new.method == "riemannian_optimize/conjugate_gradient"
    assert old.method == "riemannian_gradient_descent/conjugate_gradient"
    assert np.array_equal(new.outputs, old.outputs) and new.loss == old.loss
    assert np.array_equal(new.history.loss, old.history.loss)
    assert new.status is old.status and new.n_iter == old.n_iter


def test_riemannian_gradient_descent_maps_the_iteration_budget(on_manifold):
    manifold, loss, u0, _ = on_manifold
    optimizer = pymanopt.optimizers.SteepestDescent(verbosity=0, max_iterations=2)
    result = riemannian_gradient_descent(manifold, loss, u0, optimizer=optimizer)
    assert result.status is SolverStatus.MAX_ITER and not result.success
    assert "max iterations" in result.message
    with pytest.raises(SolverError, match="iteration budget"):
        riemannian_gradient_descent(manifold, loss, u0, max_iterations=2, throw=True)


# ----------------------------------------------------------------------
# Callbacks, histories, results


@pytest.mark.parametrize(
    "solver", ["gauss_newton", "nielsen", "trust_region", "schedule"]
)
def test_the_callback_sees_every_iteration_and_can_stop(noisy, solver):
    output_map, params0, y, _ = noisy
    loss = SquaredLoss(y)

    def run(**options):
        if solver == "gauss_newton":
            return gauss_newton(output_map, params0, loss, line_search=True, **options)
        damping = KernelTied(1.0) if solver == "schedule" else solver
        return levenberg_marquardt(
            output_map, params0, loss, damping=damping, **options
        )

    infos = []
    result = run(callback=infos.append)
    assert len(infos) == result.n_iter == len(result.history)
    assert [info.iteration for info in infos] == list(range(1, result.n_iter + 1))
    assert isinstance(infos[-1], IterationInfo)
    assert np.array_equal(infos[-1].params, result.params)
    assert infos[-1].loss == result.loss

    stopped = run(callback=lambda info: info.iteration == 3)
    assert stopped.status is SolverStatus.CALLBACK_STOP and stopped.success
    assert stopped.n_iter == len(stopped.history) == 3


@pytest.mark.parametrize("damping", ["nielsen", "trust_region", KernelTied(1.0)])
def test_histories_are_consistent(noisy, damping):
    output_map, params0, y, _ = noisy
    result = levenberg_marquardt(output_map, params0, SquaredLoss(y), damping=damping)
    history = result.history
    arrays = history.as_dict()
    assert set(arrays) == {
        "loss",
        "gradient_norm",
        "step_norm",
        "damping",
        "gain_ratio",
        "accepted",
    }
    assert {a.shape for a in arrays.values()} == {(result.n_iter,)}
    assert history.accepted.dtype == bool
    assert np.array_equal(history.accepted, history.gain_ratio > 0)
    accepted = int(history.accepted.sum())
    assert result.n_jacobian_evals in (accepted, accepted + 1)
    assert result.n_value_evals == result.n_iter + 1
    # The loss of row k + 1 is the loss after step k if accepted.
    for k in range(result.n_iter - 1):
        if not history.accepted[k]:
            assert history.loss[k + 1] == history.loss[k]
    with pytest.raises(ValueError, match="read-only"):
        history.loss[0] = 0.0


def test_results_are_frozen_and_messages_come_from_one_table(noisy):
    output_map, params0, y, _ = noisy
    result = gauss_newton(output_map, params0, SquaredLoss(y), max_iter=2)
    assert isinstance(result, SolverResult)
    assert result.status is SolverStatus.MAX_ITER and not result.success
    assert result.message.startswith(SOLVER_MESSAGES[SolverStatus.MAX_ITER])
    assert set(SOLVER_MESSAGES) == set(SolverStatus)
    with pytest.raises(AttributeError):
        result.loss = 0.0
    with pytest.raises(ValueError, match="read-only"):
        result.params[0] = 0.0
    with pytest.raises(SolverError, match="iteration budget") as error:
        gauss_newton(output_map, params0, SquaredLoss(y), max_iter=2, throw=True)
    assert isinstance(error.value, RuntimeError)
    assert error.value.result.n_iter == 2


# ----------------------------------------------------------------------
# Validation at the boundary


@pytest.fixture
def small():
    problem = two_layer(n=30, d=3, width=2, seed=0, build_manifold=False)
    y = np.random.default_rng(1).standard_normal(30)
    return problem.output_map, problem.params0, y


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"damping": -1.0}, ValueError, r"`damping` must be >= 0, got -1.0"),
        (
            {"damping": "marquardt"},
            ValueError,
            r"`damping` must be one of .*'marquardt'",
        ),
        ({"damping": [0.1]}, TypeError, r"`damping` must be a number"),
        (
            {"initial_damping": -2.0},
            ValueError,
            r"`initial_damping` must be > 0, got -2.0",
        ),
        (
            {"damping": 0.1, "initial_damping": 1.0},
            ValueError,
            r"`initial_damping` applies",
        ),
        ({"max_iter": 0}, ValueError, r"`max_iter` must be >= 1, got 0"),
        ({"max_iter": 2.5}, TypeError, r"`max_iter` must be an integer, got 2.5"),
        ({"ftol": -1e-3}, ValueError, r"`ftol` must be >= 0"),
        ({"callback": 3}, TypeError, r"`callback` must be callable"),
        ({"throw": "yes"}, TypeError, r"`throw` must be a bool"),
    ],
)
def test_levenberg_marquardt_rejects_bad_options(small, options, error, match):
    output_map, params0, y = small
    with pytest.raises(error, match=match):
        levenberg_marquardt(output_map, params0, SquaredLoss(y), **options)


@pytest.mark.parametrize("solver", [gauss_newton, levenberg_marquardt])
def test_solvers_reject_bad_problems(small, solver):
    output_map, params0, y = small
    with pytest.raises(
        ValueError, match=r"`y` have shape \(29,\)\) but .* n_outputs = 30"
    ):
        solver(output_map, params0, SquaredLoss(y[:-1]))
    bad = params0.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match=r"`params0` must be finite"):
        solver(output_map, bad, SquaredLoss(y))
    with pytest.raises(
        ValueError, match=r"`params0` must have shape \(6,\), got shape \(5,\)"
    ):
        solver(output_map, params0[:-1], SquaredLoss(y))
    with pytest.raises(TypeError, match="`loss` must be a loss on outputs"):
        solver(output_map, params0, y)
    with pytest.raises(TypeError, match="`output_map` must implement"):
        solver(lambda theta: theta, params0, SquaredLoss(y))


def test_solvers_reject_a_start_where_the_model_is_not_finite():
    X = np.array([[1.0], [2.0], [800.0]])
    output_map = AutogradOutputMap(lambda w: anp.exp(X @ w), n_params=1)
    with pytest.raises(ValueError, match=r"F\(params0\) are not finite"):
        levenberg_marquardt(output_map, np.ones(1), SquaredLoss(np.zeros(3)))


def test_gauss_newton_rejects_bad_options(small):
    output_map, params0, y = small
    loss = SquaredLoss(y)
    with pytest.raises(ValueError, match=r"`step_size` must be > 0, got 0.0"):
        gauss_newton(output_map, params0, loss, step_size=0.0)
    with pytest.raises(TypeError, match="`line_search` must be a bool"):
        gauss_newton(output_map, params0, loss, line_search=1)
    with pytest.raises(ValueError, match=r"`rank_rtol` must be > 0"):
        gauss_newton(output_map, params0, loss, rank_rtol=-1.0)


def test_riemannian_gradient_descent_rejects_bad_input(on_manifold):
    manifold, loss, u0, _ = on_manifold
    with pytest.raises(
        TypeError, match="`manifold` must be a manifolds.OutputManifold"
    ):
        riemannian_gradient_descent("sphere", loss)
    with pytest.raises(
        ValueError, match=r"`y` have shape \(29,\)\) but .* n_outputs = 30"
    ):
        riemannian_gradient_descent(manifold, SquaredLoss(np.zeros(29)))
    with pytest.raises(TypeError, match=r"`optimizer` must be one of .*'newton'"):
        riemannian_gradient_descent(manifold, loss, optimizer="newton")
    with pytest.raises(ValueError, match="`max_iterations` = 5 cannot be combined"):
        riemannian_gradient_descent(
            manifold,
            loss,
            optimizer=pymanopt.optimizers.TrustRegions(verbosity=0),
            max_iterations=5,
        )
    with pytest.raises(ValueError, match="`u0` must have shape"):
        riemannian_gradient_descent(manifold, loss, u0[:-1])
    with pytest.raises(
        ValueError, match="not on the manifold|not on the output manifold"
    ):
        riemannian_gradient_descent(manifold, loss, u0 + 1.0)


def test_a_mean_squared_loss_takes_the_same_steps(realizable):
    # The Gauss-Newton model uses the loss's curvature: h = |u - y|^2 / (2n)
    # gives the same steps as h = |u - y|^2 / 2, not steps n times shorter.
    output_map, start, y = realizable
    for solve in (gauss_newton, levenberg_marquardt):
        summed = solve(output_map, start, SquaredLoss(y))
        mean = solve(output_map, start, SquaredLoss(y, mean=True))
        assert mean.success, mean.message
        assert mean.n_iter == summed.n_iter
        np.testing.assert_allclose(mean.params, summed.params, atol=1e-10)


# ----------------------------------------------------------------------
# Gradient descent


def hand_written_gradient_descent(output_map, params0, y, *, target, max_iter):
    """The loop riemgn.verify.c6_first_order wrote by hand (h* = 0).

    The gradient J^T (u - y) is the map's vjp, as in the solver, which never
    forms J after theta_0.
    """
    params = np.array(params0, dtype=float)
    u = output_map.value(params)
    risk = 0.5 * float((u - y) @ (u - y))
    initial = risk
    step = 1.0 / np.linalg.norm(output_map.jacobian(params), 2) ** 2
    halvings, risks = 0, [risk]
    for k in range(max_iter + 1):
        if risk / initial <= target or k == max_iter:
            break
        gradient = output_map.vjp(params, u - y)
        decrease = 1e-4 * float(gradient @ gradient)
        while True:
            trial = params - step * gradient
            trial_u = output_map.value(trial)
            trial_risk = 0.5 * float((trial_u - y) @ (trial_u - y))
            if trial_risk <= risk - step * decrease or step < 1e-300:
                break
            step *= 0.5
            halvings += 1
        params, u, risk = trial, trial_u, trial_risk
        risks.append(risk)
    return params, np.array(risks), k, halvings, step


def exponential_problem(teacher):
    """exp(Xw) from w = 0: a curvature that grows along the way."""
    X = np.random.default_rng(2).standard_normal((12, 2))
    output_map = AutogradOutputMap(lambda w: anp.exp(X @ w), n_params=2)
    return output_map, np.zeros(2), np.exp(X @ np.asarray(teacher))


@pytest.mark.parametrize("tanh", [True, False])
def test_gradient_descent_takes_the_hand_written_steps_bit_for_bit(tanh):
    if tanh:
        problem = two_layer(n=40, d=2, width=2, seed=5, build_manifold=False)
        F, params0 = problem.output_map, problem.params0
        rng = np.random.default_rng(6)
        y = F.value(params0 + rng.standard_normal(params0.size))
    else:
        F, params0, y = exponential_problem([2.0, -1.5])
    params, risks, k, halvings, step = hand_written_gradient_descent(
        F, params0, y, target=1e-6, max_iter=3000
    )
    loss = SquaredLoss(y)
    initial = loss.value(F.value(params0))
    result = gradient_descent(
        F,
        params0,
        loss,
        max_iter=3000,
        gtol=0.0,
        ftol=0.0,
        xtol=0.0,
        callback=lambda info: info.loss / initial <= 1e-6,
    )
    assert result.status is SolverStatus.CALLBACK_STOP
    assert result.n_iter == k
    assert np.array_equal(np.append(result.history.loss, result.loss), risks)
    assert np.array_equal(result.params, params)
    assert result.n_value_evals - 1 - result.n_iter == halvings
    assert tanh == (halvings == 0)  # the exponential needs halvings
    s0 = 1.0 / np.linalg.norm(F.jacobian(params0), 2) ** 2
    assert s0 * 0.5**halvings == step
    assert result.method == "gradient_descent/armijo"
    assert np.all(np.isnan(result.history.damping))


@pytest.mark.parametrize("step_size", [None, 0.05])
def test_gradient_descent_forms_the_jacobian_at_most_once(step_size):
    # Matrix-free: each iteration is one vjp; J(theta_0) only for the default step.
    problem = two_layer(n=40, d=2, width=2, seed=5, build_manifold=False)
    F = CountingMap(problem.output_map)
    y = problem.output_map.value(problem.params0 + 0.1)
    result = gradient_descent(
        F, problem.params0, SquaredLoss(y), step_size=step_size, max_iter=25
    )
    assert result.n_iter == 25
    assert F.counts["jacobian"] == (1 if step_size is None else 0)
    assert F.counts["vjp"] == result.n_jacobian_evals == 25


def test_gradient_descent_is_slow_where_gauss_newton_is_not(realizable):
    output_map, start, y = realizable
    loss = SquaredLoss(y)
    gd = gradient_descent(output_map, start, loss, max_iter=50)
    gn = gauss_newton(output_map, start, loss)
    assert gn.success and gn.loss < 1e-20
    assert gd.status is SolverStatus.MAX_ITER and gd.loss > 1e6 * gn.loss
    assert np.all(np.diff(np.append(gd.history.loss, gd.loss)) < 0)


def test_gradient_descent_stops_by_the_shared_tests(realizable):
    output_map, start, y = realizable
    loss = SquaredLoss(y)
    result = gradient_descent(output_map, start, loss, gtol=1e30)
    assert result.status is SolverStatus.CONVERGED_GTOL and result.n_iter == 0
    result = gradient_descent(output_map, start, loss, ftol=0.5)
    assert result.status is SolverStatus.CONVERGED_FTOL and result.n_iter >= 1
    result = gradient_descent(output_map, start, loss, xtol=1e3)
    assert result.status is SolverStatus.CONVERGED_XTOL and result.n_iter == 1


def test_gradient_descent_without_line_search_reports_a_blow_up():
    F, params0, y = exponential_problem([2.0, -1.5])
    result = gradient_descent(
        F, params0, SquaredLoss(y), step_size=100.0, line_search=False
    )
    assert result.status is SolverStatus.NON_FINITE, result.message
    assert "line_search=True" in result.message
    assert result.method == "gradient_descent"
    assert np.array_equal(result.params, params0)
    assert result.history.accepted.tolist() == [False]
    rescued = gradient_descent(F, params0, SquaredLoss(y), step_size=100.0)
    assert rescued.n_value_evals > rescued.n_iter + 1  # it halved
    assert rescued.loss < 1e-3 * SquaredLoss(y).value(F.value(params0))


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"step_size": 0.0}, ValueError, r"`step_size` must be > 0"),
        ({"line_search": 1}, TypeError, r"`line_search` must be a bool"),
        ({"max_iter": 0}, ValueError, r"`max_iter` must be >= 1, got 0"),
        ({"gtol": -1.0}, ValueError, r"`gtol` must be >= 0"),
        ({"callback": 3}, TypeError, r"`callback` must be callable"),
    ],
)
def test_gradient_descent_rejects_bad_options(small, options, error, match):
    output_map, params0, y = small
    with pytest.raises(error, match=match):
        gradient_descent(output_map, params0, SquaredLoss(y), **options)
