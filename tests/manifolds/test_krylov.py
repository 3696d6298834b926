"""The matrix-free (Krylov) backend agrees with the dense core, without forming J."""

from __future__ import annotations

import numpy as np
import pytest

from manifolds import linalg
from manifolds.exceptions import KrylovConvergenceError
from manifolds.linalg import (
    JacobianOperator,
    factorize,
    kernel_factorization,
    resolve_solver,
)
from riemgn.networks import TwoLayerNetwork

CONDITIONS = (1.0, 1e2, 1e4, 1e6)
RTOL = 1e-8


class LinearMap:
    """F(w) = A w, with products only: ``jacobian`` refuses to form J."""

    def __init__(self, A):
        self.A = A

    @property
    def n_params(self):
        return self.A.shape[1]

    @property
    def n_outputs(self):
        return self.A.shape[0]

    def value(self, params):
        return self.A @ params

    def jacobian(self, params):
        raise AssertionError("the Krylov backend formed J")

    def jvp(self, params, vector):
        return self.A @ vector

    def vjp(self, params, cotangent):
        return self.A.T @ cotangent

    def second_derivative(self, params, vector_a, vector_b):
        return np.zeros(self.n_outputs)

    def weighted_hessian_vector(self, params, weights, vector):
        return np.zeros(self.n_params)


def _matrix(n, p, condition, rng, decay=None):
    k = min(n, p)
    U = np.linalg.qr(rng.standard_normal((n, k)))[0]
    V = np.linalg.qr(rng.standard_normal((p, k)))[0]
    s = np.logspace(0.0, -np.log10(condition), k) if decay is None else decay
    return (U * s) @ V.T


def _close(a, b):
    return np.linalg.norm(a - b) <= RTOL * np.linalg.norm(b)


@pytest.fixture(scope="module")
def least_squares():
    """Krylov and dense factorizations of J = U diag(s) V^T, 300 x 120, per condition."""
    rng = np.random.default_rng(0)
    cases = {}
    for condition in CONDITIONS:
        A = _matrix(300, 120, condition, rng)
        operator = JacobianOperator(LinearMap(A), np.zeros(120))
        cases[condition] = (factorize(operator, progress=False), factorize(A), operator)
    return cases


@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_solves_agree_with_the_dense_core(least_squares, condition):
    krylov, dense, _ = least_squares[condition]
    rng = np.random.default_rng(1)
    g, v, eta = (
        rng.standard_normal(300),
        rng.standard_normal(120),
        rng.standard_normal(120),
    )
    assert krylov.method == "krylov"
    assert _close(krylov.pinv(g), dense.pinv(g))
    assert krylov.last_info.converged and krylov.last_info.residual <= krylov.tol
    assert _close(krylov.project(g), dense.project(g))
    assert _close(krylov.pinv_transpose(v), dense.pinv_transpose(v))
    assert _close(krylov.apply(eta), dense.apply(eta))
    for damping in (1e-6, 1e-2, 1.0):
        assert _close(krylov.damped_solve(g, damping), dense.damped_solve(g, damping))


def test_iteration_counts_do_not_grow_with_the_condition(least_squares):
    rng = np.random.default_rng(2)
    g = rng.standard_normal(300)
    counts = []
    for condition in (1e2, 1e4, 1e6):
        krylov = least_squares[condition][0]
        krylov.pinv(g)
        counts.append(krylov.last_info.iterations)
    assert max(counts) <= 2 * min(counts), counts


def test_the_rank_and_singular_values_are_estimates_within_the_sketch_factor(
    least_squares,
):
    krylov, dense, operator = least_squares[1e4]
    ratio = krylov.singular_values / dense.singular_values
    assert np.all((ratio > 1 / 10) & (ratio < 10)), ratio
    assert krylov.rank_info().rank == 120
    krylov.check_rank()
    assert krylov.condition_at_most(1e6) and not krylov.condition_at_most(10.0)
    assert 0.1 < krylov.sigma_max / dense.sigma_max < 10
    assert krylov.nbytes >= krylov.R.nbytes == 120 * 120 * 8
    assert operator.n_products > 0


def test_a_rank_deficient_operator_fails_check_rank():
    rng = np.random.default_rng(3)
    A = _matrix(200, 60, 1.0, rng)
    A[:, -1] = A[:, 0]
    krylov = factorize(JacobianOperator(LinearMap(A), np.zeros(60)), progress=False)
    with pytest.raises(linalg.RankDeficiencyError):
        krylov.check_rank()


def test_a_short_solve_raises_with_its_numbers():
    rng = np.random.default_rng(4)
    A = _matrix(300, 100, 1e4, rng)
    krylov = factorize(
        JacobianOperator(LinearMap(A), np.zeros(100)), maxiter=2, progress=False
    )
    with pytest.raises(KrylovConvergenceError, match="after 2 iterations") as caught:
        krylov.pinv(rng.standard_normal(300))
    error = caught.value
    assert isinstance(error, np.linalg.LinAlgError)
    assert error.iterations == 2 and error.residual > error.tolerance == 1e-12
    assert f"{error.residual:.3e}" in str(error)


def test_the_two_layer_network_step_is_matrix_free():
    rng = np.random.default_rng(5)
    network = TwoLayerNetwork(8, 12, alpha=1.0)
    theta = network.init_params(rng)
    F = network.output_map(rng.standard_normal((300, 8)))
    J = F.jacobian(theta)
    operator = JacobianOperator(F, theta, row_scale=np.linspace(0.5, 2.0, 300))
    scaled = J * np.linspace(0.5, 2.0, 300)[:, None]
    krylov, dense = factorize(operator, progress=False), factorize(scaled)
    g = rng.standard_normal(300)
    assert _close(krylov.pinv(g), dense.pinv(g))
    assert _close(krylov.damped_solve(g, 1e-3), dense.damped_solve(g, 1e-3))


def test_batched_products_equal_column_wise_ones():
    rng = np.random.default_rng(6)
    network = TwoLayerNetwork(5, 7, alpha=2.0)
    theta = network.init_params(rng)
    F = network.output_map(rng.standard_normal((30, 5)))
    V, U = rng.standard_normal((35, 40)), rng.standard_normal((30, 3))
    columns = np.column_stack([F.jvp(theta, v) for v in V.T])
    assert (
        np.abs(F.jvp_batch(theta, V) - columns).max() <= 1e-13 * np.abs(columns).max()
    )
    for W in (U, rng.standard_normal((30, 12))):
        columns = np.column_stack([F.vjp(theta, u) for u in W.T])
        assert (
            np.abs(F.vjp_batch(theta, W) - columns).max()
            <= 1e-13 * np.abs(columns).max()
        )
    with pytest.raises(ValueError, match="vectors"):
        F.jvp_batch(theta, np.ones((34, 2)))
    with pytest.raises(ValueError, match="cotangents"):
        F.vjp_batch(theta, np.full((30, 2), np.nan))


@pytest.fixture(scope="module")
def kernel_case():
    """A 150 x 300 Jacobian whose kernel spectrum decays like exp(-j/3)."""
    rng = np.random.default_rng(7)
    s = np.exp(-np.arange(150) / 6.0)
    A = _matrix(150, 300, 1.0, rng, decay=s)
    operator = JacobianOperator(LinearMap(A), np.zeros(300))
    # The forward error is at most cond(K + damping I) tol: 1e-14 meets 1e-8 at 1e6.
    krylov = kernel_factorization(operator, progress=False, rank=60, tol=1e-14)
    return krylov, kernel_factorization(A, solver="svd"), A, operator


@pytest.mark.parametrize("relative", [1e-2, 1e-4, 1e-6])
def test_the_kernel_form_agrees_with_the_dense_one(kernel_case, relative):
    krylov, dense, A, _ = kernel_case
    g = np.random.default_rng(8).standard_normal(150)
    damping = relative * dense.kernel_eigenvalues[0]
    assert _close(krylov.direction(g, damping), dense.direction(g, damping))
    assert krylov.last_info.converged
    assert _close(krylov.output_velocity(g, damping), dense.output_velocity(g, damping))


@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_kernel_form_agrees_at_every_condition(condition):
    rng = np.random.default_rng(14)
    A = _matrix(120, 240, condition, rng)
    krylov = kernel_factorization(
        JacobianOperator(LinearMap(A), np.zeros(240)), progress=False
    )
    dense = kernel_factorization(A, solver="svd")
    g = rng.standard_normal(120)
    damping = 1e-3 * dense.kernel_eigenvalues[0]
    assert _close(krylov.direction(g, damping), dense.direction(g, damping))
    assert _close(krylov.output_velocity(g, damping), dense.output_velocity(g, damping))


def test_kernel_iteration_counts_stay_bounded_as_the_damping_shrinks(kernel_case):
    krylov, dense, _, _ = kernel_case
    g = np.random.default_rng(9).standard_normal(150)
    counts = []
    for relative in (1e-2, 1e-4, 1e-6):
        krylov.direction(g, relative * dense.kernel_eigenvalues[0])
        counts.append(krylov.last_info.iterations)
    assert max(counts) <= 2 * max(min(counts), 5), counts


def test_a_dense_kernel_uses_the_dense_solve_and_only_vjp(kernel_case):
    _, dense, A, _ = kernel_case
    operator = JacobianOperator(LinearMap(A), np.zeros(300))
    krylov = kernel_factorization(operator, kernel=A @ A.T)
    g = np.random.default_rng(10).standard_normal(150)
    assert _close(krylov.direction(g, 1e-2), dense.direction(g, 1e-2))
    assert operator.n_products == 1
    assert krylov.kernel_eigenvalues.shape == (150,)
    estimated = kernel_factorization(operator, progress=False, rank=20)
    largest, smallest = estimated.kernel_eigenvalues
    assert abs(largest / dense.kernel_eigenvalues[0] - 1) < 1e-4
    assert smallest >= 0 and estimated.lambda_min == smallest


def test_bad_arguments_raise_with_their_names():
    rng = np.random.default_rng(11)
    A = _matrix(50, 10, 1.0, rng)
    operator = JacobianOperator(LinearMap(A), np.zeros(10))
    for options, name in [
        ({"tol": 0.0}, "tol"),
        ({"tol": 2.0}, "tol"),
        ({"maxiter": 0}, "maxiter"),
        ({"rng": 0}, "rng"),
        ({"progress": "yes"}, "progress"),
        ({"sketch_size": 5}, "sketch_size"),
    ]:
        with pytest.raises((ValueError, TypeError), match=name):
            factorize(operator, **options)
    krylov = factorize(operator, progress=False)
    with pytest.raises(ValueError, match="g"):
        krylov.pinv(np.ones(49))
    with pytest.raises(ValueError, match="damping"):
        krylov.damped_solve(np.ones(50), -1.0)
    with pytest.raises(ValueError, match="params"):
        JacobianOperator(LinearMap(A), np.zeros(9))
    with pytest.raises(ValueError, match="row_scale"):
        JacobianOperator(LinearMap(A), np.zeros(10), row_scale=np.ones(3))
    with pytest.raises(TypeError, match="output_map"):
        JacobianOperator(lambda w: w, np.zeros(10))
    with pytest.raises(TypeError, match="JacobianOperator"):
        factorize(A, tol=1e-10)
    with pytest.raises(ValueError, match="p <= n"):
        factorize(JacobianOperator(LinearMap(A.T), np.zeros(50)))
    with pytest.raises(ValueError, match="solver"):
        resolve_solver("qr", 10, 2)


def test_resolve_solver_chooses_by_memory():
    assert resolve_solver("auto", 100, 10) == "dense"
    assert resolve_solver("auto", 10**5, 10**4) == "krylov"
    assert resolve_solver("auto", 100, 10, budget=100) == "krylov"
    assert resolve_solver("dense", 10**5, 10**4) == "dense"
    assert linalg.SOLVERS == ("auto", "dense", "krylov")
    assert linalg.DENSE_BUDGET == 2**30 and linalg.KRYLOV_TOL == 1e-12


def test_the_gram_path_and_its_shift():
    rng = np.random.default_rng(12)
    A = _matrix(300, 60, 1e3, rng)
    operator = JacobianOperator(LinearMap(A), np.zeros(60))
    from manifolds import _krylov

    budget = _krylov.SKETCH_QR_BUDGET
    _krylov.SKETCH_QR_BUDGET = 0  # force the Gram accumulation
    try:
        krylov = factorize(operator, progress=False)
    finally:
        _krylov.SKETCH_QR_BUDGET = budget
    g = rng.standard_normal(300)
    assert krylov.shift == 0.0 and _close(krylov.pinv(g), factorize(A).pinv(g))
    R, shift = linalg.gram_factor(np.ones((3, 3), order="F"))
    assert shift > 0 and np.allclose(R.T @ R, np.ones((3, 3)) + shift * np.eye(3))


@pytest.mark.parametrize(
    ("progress", "environment", "shown"),
    [(True, "0", True), (False, "1", False), (None, "0", False), (None, "1", True)],
)
def test_the_progress_bar_is_silenced_or_forced(
    monkeypatch, capsys, progress, environment, shown
):
    from manifolds import _krylov

    monkeypatch.setenv("RIEMGN_PROGRESS", environment)
    monkeypatch.setattr(_krylov, "_PROGRESS_DELAY", 0.0)
    rng = np.random.default_rng(13)
    A = _matrix(80, 20, 10.0, rng)
    krylov = factorize(JacobianOperator(LinearMap(A), np.zeros(20)), progress=progress)
    krylov.pinv(rng.standard_normal(80))
    assert ("lsmr" in capsys.readouterr().err) is shown
