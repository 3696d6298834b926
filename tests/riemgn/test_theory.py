"""Spectra, curvature, PL constants and rate fits: exact cases, identities, validation."""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
import pytest
import scipy.optimize
from problems import LinearMap, two_layer

from manifolds import AutogradOutputMap, NotOnManifoldError, OutputManifold
from riemgn.losses import SquaredLoss
from riemgn.theory import (
    ExponentialFit,
    SecondFundamentalFormNorm,
    SpectrumSummary,
    fit_exponential_rate,
    gram_matrix,
    neural_tangent_kernel,
    pl_constant,
    second_fundamental_form_norm,
    spectrum_summary,
)


def linear_map(A: np.ndarray) -> LinearMap:
    return LinearMap(A)


def conditioned_matrix(n, p, singular_values, rng):
    U, _ = np.linalg.qr(rng.standard_normal((n, p)))
    V, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return (U * singular_values) @ V.T


# ----------------------------------------------------------------------
# Gram matrix, kernel, spectra


def test_gram_matrix_and_kernel_of_two_layer_network():
    problem = two_layer(n=12, d=3, width=2, build_manifold=False)
    J = problem.output_map.jacobian(problem.params0)
    G = gram_matrix(problem.output_map, problem.params0)
    K = neural_tangent_kernel(problem.output_map, problem.params0)
    assert G.shape == (6, 6) and K.shape == (12, 12)
    assert np.allclose(G, J.T @ J, rtol=1e-13, atol=1e-13 * np.abs(G).max())
    assert np.array_equal(G, G.T)
    # The closed form of TwoLayerOutputMap agrees with J J^T.
    assert np.allclose(K, J @ J.T, rtol=1e-13, atol=1e-13 * np.abs(K).max())


def test_kernel_uses_the_closed_form_when_the_map_has_one():
    class ClosedForm:
        def __init__(self, output_map):
            self._map = output_map
            self.n_params, self.n_outputs = output_map.n_params, output_map.n_outputs

        def __getattr__(self, name):
            return getattr(self._map, name)

        def value(self, params):
            return self._map.value(params)

        def jacobian(self, params):
            raise AssertionError("the closed form must be used")

        def jvp(self, params, vector):
            return self._map.jvp(params, vector)

        def vjp(self, params, cotangent):
            return self._map.vjp(params, cotangent)

        def second_derivative(self, params, vector_a, vector_b):
            return self._map.second_derivative(params, vector_a, vector_b)

        def weighted_hessian_vector(self, params, weights, vector):
            return self._map.weighted_hessian_vector(params, weights, vector)

        def neural_tangent_kernel(self, params):
            return np.full((self.n_outputs, self.n_outputs), 7.0)

    A = np.random.default_rng(0).standard_normal((4, 3))
    K = neural_tangent_kernel(ClosedForm(linear_map(A)), np.zeros(3))
    assert np.all(K == 7.0)
    # Without the method, K = J J^T.
    assert np.allclose(neural_tangent_kernel(linear_map(A), np.ones(3)), A @ A.T)


@pytest.mark.parametrize(("n", "p"), [(9, 4), (4, 9), (5, 5)])
@pytest.mark.parametrize("kernel", ["gram", "ntk"])
def test_spectrum_matches_eigenvalues_and_pads_with_zeros(n, p, kernel):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, p))
    summary = spectrum_summary(linear_map(A), np.zeros(p), kernel=kernel)
    assert isinstance(summary, SpectrumSummary)
    matrix = A.T @ A if kernel == "gram" else A @ A.T
    reference = np.sort(np.linalg.eigvalsh(matrix))[::-1]
    size = p if kernel == "gram" else n
    assert summary.eigenvalues.shape == (size,)
    assert np.all(np.diff(summary.eigenvalues) <= 0)
    assert np.allclose(summary.eigenvalues, reference, atol=1e-12 * reference[0])
    assert summary.eigenvalues[min(n, p) :].tolist() == [0.0] * (size - min(n, p))
    assert summary.rank == min(n, p)
    assert summary.lambda_max == pytest.approx(reference[0], rel=1e-13)
    if size > min(n, p):
        assert summary.lambda_min == 0.0
        assert summary.condition_number == math.inf
    else:
        assert summary.lambda_min == pytest.approx(reference[-1], rel=1e-10)
        assert summary.condition_number == pytest.approx(
            reference[0] / reference[-1], rel=1e-10
        )
    with pytest.raises(ValueError, match="read-only"):
        summary.eigenvalues[0] = 1.0


def test_spectrum_resolves_eigenvalues_far_below_eps_lambda_max():
    # cond(G) = 1e16: eig(J^T J) cannot see lambda_min, the SVD of J can.
    rng = np.random.default_rng(2)
    s = np.geomspace(1.0, 1e-8, 5)
    A = conditioned_matrix(20, 5, s, rng)
    summary = spectrum_summary(linear_map(A), np.zeros(5))
    assert np.allclose(summary.eigenvalues, s**2, rtol=1e-6, atol=0)
    assert summary.condition_number == pytest.approx(1e16, rel=1e-6)
    assert summary.rank == 5


def test_spectrum_rank_and_tolerance():
    rng = np.random.default_rng(3)
    A = conditioned_matrix(10, 3, np.array([2.0, 1e-3, 1e-20]), rng)
    summary = spectrum_summary(linear_map(A), np.zeros(3))
    assert summary.rank == 2
    assert summary.tolerance == pytest.approx((10 * np.finfo(float).eps * 2.0) ** 2)
    assert summary.condition_number > 1e30
    loose = spectrum_summary(linear_map(A), np.zeros(3), rank_rtol=1e-2)
    assert loose.rank == 1
    assert loose.tolerance == pytest.approx((1e-2 * 2.0) ** 2)
    zero = spectrum_summary(linear_map(np.zeros((3, 2))), np.zeros(2))
    assert (zero.rank, zero.lambda_max, zero.condition_number) == (0, 0.0, math.inf)


def test_spectrum_of_two_layer_ntk_matches_closed_form_kernel():
    problem = two_layer(n=6, d=3, width=8, build_manifold=False)  # p = 24 > n
    summary = spectrum_summary(problem.output_map, problem.params0, kernel="ntk")
    K = neural_tangent_kernel(problem.output_map, problem.params0)
    reference = np.sort(np.linalg.eigvalsh(K))[::-1]
    assert np.allclose(summary.eigenvalues, reference, rtol=1e-10)
    gram = spectrum_summary(problem.output_map, problem.params0)
    assert gram.eigenvalues.shape == (24,) and gram.rank == 6


def test_spectrum_and_kernel_validation():
    output_map = linear_map(np.eye(3))
    with pytest.raises(ValueError, match=r"`kernel` must be one of .*'hessian'"):
        spectrum_summary(output_map, np.zeros(3), kernel="hessian")
    with pytest.raises(ValueError, match="`rank_rtol` must be < 1, got 1"):
        spectrum_summary(output_map, np.zeros(3), rank_rtol=1.0)
    with pytest.raises(ValueError, match="`rank_rtol` must be > 0"):
        spectrum_summary(output_map, np.zeros(3), rank_rtol=-1e-3)
    with pytest.raises(ValueError, match=r"`params` must have shape \(3,\)"):
        gram_matrix(output_map, np.zeros(2))
    with pytest.raises(ValueError, match="`params` must be finite"):
        neural_tangent_kernel(output_map, np.array([0.0, np.nan, 0.0]))
    with pytest.raises(TypeError, match="`output_map` must implement"):
        gram_matrix(np.eye(3), np.zeros(3))


# ----------------------------------------------------------------------
# Second fundamental form


def circle_map(radius: float, n: int) -> AutogradOutputMap:
    def fun(t):
        return radius * anp.concatenate([anp.cos(t), anp.sin(t), anp.zeros(n - 2)])

    return AutogradOutputMap(fun, n_params=1)


@pytest.mark.parametrize("radius", [0.01, 1.0, 250.0])
@pytest.mark.parametrize("metric_weight", [1.0, 0.2])
def test_circle_has_curvature_one_over_radius(radius, metric_weight):
    manifold = OutputManifold(
        circle_map(radius, 4), np.array([0.7]), metric_weight=metric_weight
    )
    u = manifold.point(np.array([0.7]))
    result = second_fundamental_form_norm(manifold, u)
    # The tangent vector has metric norm 1, the normal vector Euclidean norm.
    expected = 1.0 / (metric_weight * radius)
    assert result.value == pytest.approx(expected, rel=1e-12)
    assert float(result) == result.value
    assert manifold.norm(u, result.direction) == pytest.approx(1.0, rel=1e-14)
    # II points to the centre of the circle.
    inward = -u / np.linalg.norm(u)
    assert np.allclose(result.normal_vector, expected * inward, rtol=1e-10)


def test_cylinder_in_a_skewed_chart_curves_most_along_the_circle():
    # theta -> (r cos(t1 + t2), r sin(t1 + t2), 3 t2, 0): curvature 1/r along the
    # circle, 0 along the axis; the chart is far from orthonormal.
    r = 0.5

    def fun(theta):
        angle = theta[0] + theta[1]
        return anp.stack([r * anp.cos(angle), r * anp.sin(angle), 3.0 * theta[1], 0.0])

    manifold = OutputManifold(AutogradOutputMap(fun, n_params=2), np.array([0.2, 0.4]))
    u = manifold.point(np.array([0.2, 0.4]))
    result = second_fundamental_form_norm(manifold, u)
    assert result.value == pytest.approx(1 / r, rel=1e-12)
    assert result.converged
    along_circle = np.array([-np.sin(0.6), np.cos(0.6), 0.0, 0.0])
    assert abs(result.direction @ along_circle) == pytest.approx(1.0, rel=1e-10)


def test_sphere_is_umbilic():
    r = 3.0

    def fun(theta):
        a, b = theta[0], theta[1]
        return r * anp.stack(
            [anp.cos(a) * anp.cos(b), anp.sin(a) * anp.cos(b), anp.sin(b), 0.0, 0.0]
        )

    manifold = OutputManifold(AutogradOutputMap(fun, n_params=2), np.array([0.3, 0.5]))
    u = manifold.point(np.array([0.3, 0.5]))
    assert second_fundamental_form_norm(manifold, u).value == pytest.approx(
        1 / r, rel=1e-12
    )


def test_flat_manifold_has_zero_second_fundamental_form():
    A = np.random.default_rng(4).standard_normal((6, 3))
    manifold = OutputManifold(linear_map(A), np.zeros(3))
    u = manifold.point(np.array([1.0, 2.0, -1.0]))
    result = second_fundamental_form_norm(manifold, u)
    assert result.value == 0.0
    assert manifold.norm(u, result.direction) == pytest.approx(1.0)


def test_second_fundamental_form_scales_exactly_like_one_over_alpha():
    scaled, params0 = [], None
    for alpha in (0.1, 1.0, 10.0):
        problem = two_layer(n=30, d=3, width=2, alpha=alpha, seed=5)
        if params0 is not None:  # the same parameters at every alpha
            assert np.array_equal(problem.params0, params0)
        params0 = problem.params0
        u = problem.manifold.point(params0)
        scaled.append(alpha * second_fundamental_form_norm(problem.manifold, u).value)
    assert scaled[0] > 0
    assert np.ptp(scaled) <= 1e-8 * scaled[1]


def _scipy_maximum(manifold, u, rng, n_starts=3):
    """max |II(xi, xi)| over metric-unit xi, by BFGS on the manifold's own II."""
    p = manifold.dim
    basis, _ = np.linalg.qr(
        np.column_stack([manifold.chart_to_tangent(u, e) for e in np.eye(p)])
    )

    def negative(a):
        xi = basis @ a / (np.linalg.norm(a) * math.sqrt(manifold.metric_weight))
        return -float(np.sum(manifold.second_fundamental_form(u, xi, xi) ** 2))

    best = 0.0
    for _ in range(n_starts):
        solution = scipy.optimize.minimize(
            negative, rng.standard_normal(p), method="BFGS", options={"gtol": 1e-12}
        )
        best = max(best, math.sqrt(-solution.fun))
    return best


@pytest.mark.parametrize(("seed", "metric_weight"), [(0, 1.0), (1, 1 / 25)])
def test_norm_beats_brute_force_and_matches_scipy(seed, metric_weight):
    problem = two_layer(
        n=25, d=3, width=2, seed=seed, activation="gelu", metric_weight=metric_weight
    )
    manifold = problem.manifold
    u = manifold.point(problem.params0)
    result = second_fundamental_form_norm(manifold, u)
    assert isinstance(result, SecondFundamentalFormNorm) and result.converged

    # The direction is a unit tangent vector and the normal vector is II there.
    assert manifold.norm(u, result.direction) == pytest.approx(1.0, rel=1e-12)
    assert np.allclose(manifold.projection(u, result.direction), result.direction)
    normal = manifold.second_fundamental_form(u, result.direction, result.direction)
    assert np.allclose(result.normal_vector, normal, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(normal) == pytest.approx(result.value, rel=1e-10)

    rng = np.random.default_rng(100 + seed)
    brute = max(
        float(np.linalg.norm(manifold.second_fundamental_form(u, xi, xi)))
        for xi in (manifold.random_tangent_vector(u, rng=rng) for _ in range(500))
    )
    assert result.value >= brute
    assert abs(result.value - _scipy_maximum(manifold, u, rng)) <= 1e-6 * result.value


def test_norm_is_deterministic_by_default_and_seeded_by_rng():
    problem = two_layer(n=20, d=3, width=3, seed=6)
    u = problem.manifold.point(problem.params0)
    first = second_fundamental_form_norm(problem.manifold, u)
    again = second_fundamental_form_norm(problem.manifold, u)
    assert first.value == again.value
    assert np.array_equal(first.direction, again.direction)
    other = second_fundamental_form_norm(
        problem.manifold, u, rng=np.random.default_rng(9), n_starts=3
    )
    assert other.value == pytest.approx(first.value, rel=1e-10)


def test_norm_validation():
    problem = two_layer(n=10, d=2, width=2, seed=7)
    u = problem.manifold.point(problem.params0)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        second_fundamental_form_norm(problem.manifold, u, rng=0)
    with pytest.raises(ValueError, match="`n_starts` must be >= 1, got 0"):
        second_fundamental_form_norm(problem.manifold, u, n_starts=0)
    with pytest.raises(
        TypeError, match="`manifold` must be a manifolds.OutputManifold"
    ):
        second_fundamental_form_norm(problem.output_map, u)
    with pytest.raises(NotOnManifoldError, match="`point` is not on the manifold"):
        second_fundamental_form_norm(problem.manifold, u + 1.0)


# ----------------------------------------------------------------------
# PL constant


@pytest.mark.parametrize(
    ("metric_weight", "mean", "expected"),
    [(1.0, False, 1.0), (0.25, False, 4.0), (1 / 8, True, 1.0)],
)
def test_pl_constant_of_squared_loss_on_a_flat_manifold(metric_weight, mean, expected):
    rng = np.random.default_rng(8)
    A = rng.standard_normal((8, 3)) @ np.diag([1.0, 1e-3, 1e3])  # ill-conditioned chart
    y = rng.standard_normal(8)
    loss = SquaredLoss(y, mean=mean)
    manifold = OutputManifold(linear_map(A), np.zeros(3), metric_weight=metric_weight)
    w_star = np.linalg.lstsq(A, y, rcond=None)[0]
    h_star = loss.value(A @ w_star)
    for _ in range(5):
        u = manifold.point(w_star + rng.standard_normal(3))
        assert pl_constant(manifold, loss, u, h_star) == pytest.approx(
            expected, rel=1e-9
        )


def test_pl_constant_matches_its_definition_on_a_curved_manifold():
    problem = two_layer(n=15, d=2, width=2, seed=9, metric_weight=0.5)
    manifold = problem.manifold
    rng = np.random.default_rng(10)
    loss = SquaredLoss(rng.standard_normal(15))
    u = manifold.point(problem.params0)
    J = problem.output_map.jacobian(problem.params0)
    Q, _ = np.linalg.qr(J)
    projected = Q @ (Q.T @ loss.gradient(u))
    h_star = loss.value(u) - 0.3
    expected = (projected @ projected / 0.5) / (2 * 0.3)
    assert pl_constant(manifold, loss, u, h_star) == pytest.approx(expected, rel=1e-9)


def test_pl_constant_validation():
    A = np.eye(4)[:, :2]
    manifold = OutputManifold(linear_map(A), np.zeros(2))
    loss = SquaredLoss(np.ones(4))
    u = manifold.point(np.zeros(2))  # h(u) = 2
    with pytest.raises(
        ValueError, match=r"`h_star` must be below h\(u\) = 2.0, got 2.0"
    ):
        pl_constant(manifold, loss, u, 2.0)
    with pytest.raises(ValueError, match=r"`h_star` must be below h\(u\)"):
        pl_constant(manifold, loss, u, 5.0)
    with pytest.raises(ValueError, match="`h_star` must be finite"):
        pl_constant(manifold, loss, u, math.nan)
    with pytest.raises(TypeError, match="`h_star` must be a real number"):
        pl_constant(manifold, loss, u, "0")
    with pytest.raises(TypeError, match="`manifold` must be"):
        pl_constant(A, loss, u, 0.0)


# ----------------------------------------------------------------------
# Exponential rate


@pytest.mark.parametrize("rate", [0.05, 1.0, 7.5])
def test_exact_exponentials_recover_the_rate(rate):
    times = np.linspace(0.0, 40.0 / rate, 400)
    fit = fit_exponential_rate(times, 3.0 * np.exp(-rate * times))
    assert isinstance(fit, ExponentialFit)
    assert fit.rate == pytest.approx(rate, rel=1e-10)
    assert fit.robust_rate == pytest.approx(rate, rel=1e-10)
    assert fit.log_intercept == pytest.approx(math.log(3.0), abs=1e-9)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-12)
    assert fit.max_residual < 1e-9
    assert fit.reliable
    # The window: from e <= 1e-2 e_0 to the last e >= 1e-10 e_0.
    assert fit.t_start == times[np.argmax(np.exp(-rate * times) <= 1e-2)]
    assert fit.t_end == times[np.exp(-rate * times) >= 1e-10][-1]
    assert fit.n_points == np.sum((times >= fit.t_start) & (times <= fit.t_end))


def test_rate_survives_a_transient_and_a_noise_floor():
    rng = np.random.default_rng(11)
    times = np.linspace(0.0, 30.0, 1501)
    rate = 1.3
    signal = 2.0 * np.exp(-rate * times)
    transient = 0.5 * np.exp(-6 * times) + 0.3 * np.exp(-3 * times) * np.cos(5 * times)
    floor_noise = 1e-13 * rng.standard_normal(times.size)  # some negative values
    fit = fit_exponential_rate(times, signal + transient + floor_noise)
    assert abs(fit.rate - rate) <= 1e-3 * rate
    assert fit.reliable
    assert 3.0 < fit.t_start < 4.0 and fit.t_end < 18.0
    # The raw fit over everything positive is ruined by the transient and the floor.
    positive = signal + transient + floor_noise > 0
    slope = np.polyfit(
        times[positive], np.log((signal + transient + floor_noise)[positive]), 1
    )[0]
    assert abs(-slope - rate) > 0.1


def test_power_law_is_not_reliable():
    times = np.linspace(1.0, 1e5, 2000)
    fit = fit_exponential_rate(times, times**-2.0)
    assert not fit.reliable
    assert fit.r_squared < 0.999


def test_window_starts_after_the_peak_and_stops_at_the_first_drop():
    times = np.linspace(0.0, 10.0, 101)
    excess = np.exp(-2.0 * times)
    excess[:5] = [0.1, 0.5, 2.0, 1.5, 1.2]  # rises first: the reference is 2.0
    excess[60:] = 1e-15  # a floor...
    excess[80] = 1e-3  # ... with one sample bouncing back above the window
    fit = fit_exponential_rate(times, excess, window=(1e-1, 1e-12))
    assert fit.t_start == pytest.approx(0.9)  # first e <= 0.2 after the peak
    assert fit.t_end == pytest.approx(5.9)  # the last sample before the floor
    assert fit.rate == pytest.approx(2.0, rel=1e-10)
    # An explicit floor ends the window earlier.
    early = fit_exponential_rate(times, excess, window=(1e-1, 1e-12), floor=1e-4)
    assert early.t_end == pytest.approx(4.6)


def test_few_points_and_short_fits_are_flagged():
    times = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    fit = fit_exponential_rate(times, np.exp(-times), window=(1.0, 1e-3))
    assert fit.n_points == 5 and fit.reliable
    fit = fit_exponential_rate(times[:4], np.exp(-times[:4]), window=(1.0, 1e-3))
    assert fit.n_points == 4 and not fit.reliable
    assert fit.rate == pytest.approx(1.0, rel=1e-12)


def test_fit_validation():
    times = np.linspace(0.0, 10.0, 50)
    excess = np.exp(-times)
    with pytest.raises(
        ValueError, match=r"`times` must be strictly increasing, but times\[3\]"
    ):
        fit_exponential_rate(np.r_[0.0, 1.0, 2.0, 2.0], np.ones(4))
    with pytest.raises(
        ValueError, match=r"`excess` must have the shape of `times`, \(50,\)"
    ):
        fit_exponential_rate(times, excess[:-1])
    with pytest.raises(ValueError, match="`times` must be finite"):
        fit_exponential_rate(np.r_[times[:-1], np.inf], excess)
    with pytest.raises(ValueError, match="`excess` must be finite"):
        fit_exponential_rate(times, np.r_[excess[:-1], np.nan])
    with pytest.raises(ValueError, match="`excess` must hold at least one positive"):
        fit_exponential_rate(times, -excess)
    with pytest.raises(
        ValueError,
        match=r"only 2 sample\(s\) of `excess` lie in the fit window .*"
        r"sample the decay more densely or widen `window`",
    ):
        fit_exponential_rate(5.0 * np.arange(12.0), np.exp(-10.0 * np.arange(12.0)))
    with pytest.raises(ValueError, match=r"`window` must be \(upper, lower\)"):
        fit_exponential_rate(times, excess, window=(1e-8, 1e-2))
    with pytest.raises(ValueError, match=r"`window` must be a pair"):
        fit_exponential_rate(times, excess, window=1e-2)
    with pytest.raises(ValueError, match="`floor` must be >= 0"):
        fit_exponential_rate(times, excess, floor=-1.0)


# ----------------------------------------------------------------------
# optimal_in_class_risk


def _noisy_teacher(noise, seed=0):
    from problems import teacher_target

    problem = two_layer(40, 2, 2, seed=seed, build_manifold=False)
    rng = np.random.default_rng(seed + 100)
    y = teacher_target(problem, 0.3, seed=seed) + noise * rng.standard_normal(40)
    return problem, y


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.5])
def test_optimal_in_class_risk_agrees_with_least_squares_and_the_gn_flow(noise):
    from riemgn.flows import gauss_newton_flow
    from riemgn.losses import SquaredLoss
    from riemgn.solvers import optimal_in_class_risk

    problem, y = _noisy_teacher(noise)
    loss = SquaredLoss(y)
    optimum = optimal_in_class_risk(problem.output_map, problem.params0, loss)
    assert optimum.reference_method == "least_squares/trf"
    assert optimum.consistent, (optimum.risk, optimum.reference_risk, optimum.message)
    assert "converged" in optimum.message
    if noise == 0.0:
        assert optimum.risk < 1e-25
    else:
        assert optimum.risk > 0.1 * noise**2  # the normal residual is not zero
    # The GN flow's limit is the same predictor.
    flow = gauss_newton_flow(problem.output_map, problem.params0, loss, (0.0, 40.0))
    assert flow.losses[-1] == pytest.approx(optimum.risk, rel=1e-8, abs=1e-20)
    np.testing.assert_allclose(flow.outputs[-1], optimum.outputs, atol=1e-7)


def test_optimal_in_class_risk_validates():
    from riemgn.losses import SquaredLoss
    from riemgn.solvers import optimal_in_class_risk

    problem, y = _noisy_teacher(0.0)
    with pytest.raises(ValueError, match="n_outputs = 3"):
        optimal_in_class_risk(
            problem.output_map, problem.params0, SquaredLoss(np.zeros(3))
        )
    with pytest.raises(ValueError, match="`params0` must be finite"):
        optimal_in_class_risk(
            problem.output_map, np.full(problem.params0.size, np.nan), SquaredLoss(y)
        )
    from riemgn.losses import LogisticLoss

    with pytest.raises(TypeError, match="squared loss only, got LogisticLoss"):
        optimal_in_class_risk(
            problem.output_map, problem.params0, LogisticLoss(np.sign(y - np.median(y)))
        )
