"""Overflow, underflow and foreign objects at the boundary of the geometry layer.

Issue 12: each test below guards a case that used to give a wrong answer
with no error (a preimage of a point far off the manifold, a printed
``inf``), a misleading message (blaming the symmetric initialization) or an
error from deep inside (``AttributeError``, ``MemoryError``, a numpy
``RuntimeWarning``). The rule they check: finite input gives a finite, true
result, or an exception (``ValueError`` or a ``ManifoldError``) that names
the argument and says what was measured.
"""

from __future__ import annotations

import math
import re

import autograd.numpy as anp
import numpy as np
import pytest
from problems import two_layer

from manifolds import (
    AutogradOutputMap,
    ManifoldError,
    NotAnImmersionError,
    NotOnManifoldError,
    OutputManifold,
    check_manifold,
    jacobian_rank,
)
from manifolds.geodesics import geodesic_acceleration, shoot_geodesic, solve_geodesic
from manifolds.validation import norm
from riemgn import solvers, theory
from riemgn.cli import main
from riemgn.data import teacher_student
from riemgn.losses import SquaredLoss
from riemgn.networks import MLP, TwoLayerNetwork

N = 10  # outputs of the shared problem (p = 6 parameters)
EXTREMES = [1e300, 1e-300]


@pytest.fixture(scope="module")
def problem():
    return two_layer(n=N, d=3, width=2, seed=1)


@pytest.fixture(scope="module")
def at_u0(problem):
    M = problem.manifold
    u = M.point(problem.params0)
    v = np.random.default_rng(2).standard_normal(N)
    return M, u, M.projection(u, v), v


# --------------------------------------------------------------------------
# Case 1: membership and rank-deficiency messages


@pytest.mark.parametrize("size", [1e155, 1e160, 1e300])
def test_a_huge_vector_is_not_lifted(problem, size):
    # |point| overflowed, so the tolerance was inf and any vector "lifted".
    with pytest.raises(NotOnManifoldError, match="distance .* above the tolerance"):
        problem.manifold.lift(np.full(N, size))


def test_projection_at_a_huge_vector_says_it_is_off_the_manifold(at_u0):
    M, u, _, _ = at_u0
    with pytest.raises(
        NotOnManifoldError, match="`point` is not on the manifold"
    ) as caught:
        M.projection(np.full(N, 1e160), u)
    assert "symmetric" not in str(caught.value)


def test_rank_loss_of_paired_neurons_names_the_symmetric_initialization():
    with pytest.raises(NotAnImmersionError) as paired:
        two_layer(n=25, d=3, width=2, scheme="symmetric", seed=12)
    message = str(paired.value)
    assert "smallest singular value" in message and "opposite" in message
    assert "symmetric initialization" in message


def test_rank_loss_without_paired_neurons_states_what_was_measured():
    # It used to blame the symmetric initialization whatever the cause.
    rng = np.random.default_rng(3)
    network = TwoLayerNetwork(3, 2)
    params = network.init_params(rng)
    collinear = np.outer(rng.standard_normal(25), [1.0, 2.0, -0.5])  # rank-1 inputs
    saturated = params.copy()
    saturated[:3] = 1e3 * np.sign(saturated[:3])  # neuron 0: tanh' underflows to 0
    X = rng.standard_normal((25, 3))
    B = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0]])  # rank 2
    cases = {
        "collinear inputs": (network.output_map(collinear), params),
        "vanish": (network.output_map(100.0 * X), saturated),
        "no vanishing or parallel columns": (
            AutogradOutputMap(lambda w: anp.tanh(X @ (B @ w)), n_params=3),
            np.array([0.3, -0.2, 0.1]),
        ),
    }
    for measured, (output_map, theta) in cases.items():
        with pytest.raises(NotAnImmersionError) as caught:
            OutputManifold(output_map, theta)
        message = str(caught.value)
        assert "symmetric" not in message, message
        assert "smallest singular value" in message and measured in message, message


# --------------------------------------------------------------------------
# Case 2: the metric of huge and tiny vectors


def test_norm_of_huge_and_tiny_vectors_is_finite_and_true():
    M = two_layer(n=N, d=3, width=2, seed=1, metric_weight=0.25).manifold
    u = M.reference_point
    for size in (1e300, 1e170, 1e-170, 1e-300):
        assert M.norm(u, np.full(N, size)) == pytest.approx(0.5 * size * math.sqrt(N))
    with pytest.raises(ValueError, match="`tangent_vector`.*not finite") as caught:
        M.norm(u, np.full(N, 1.7e308))
    assert isinstance(caught.value, OverflowError)


def test_inner_product_overflows_only_when_its_true_value_does():
    M = two_layer(n=N, d=3, width=2, seed=1, metric_weight=1e-20).manifold
    u = M.reference_point
    ones = np.ones(N)
    assert M.inner_product(u, 1e160 * ones, 1e160 * ones) == pytest.approx(1e301)
    cancelling = np.array([1e308, -1e308] * (N // 2))  # partial sums overflow
    assert M.inner_product(u, cancelling, ones) == 0.0
    with pytest.raises(ValueError, match="`tangent_vector_a` and `tangent_vector_b`"):
        M.inner_product(u, 1e300 * ones, 1e300 * ones)


def test_ordinary_values_are_unchanged_bit_for_bit(at_u0):
    # The scaled computations take over only where numpy over- or underflows.
    M, u, xi, v = at_u0
    rng = np.random.default_rng(5)
    for _ in range(200):
        x = rng.standard_normal(N) * 10.0 ** rng.uniform(-120, 120)
        assert norm(x) == np.linalg.norm(x)
        assert M.norm(u, x) == math.sqrt(M.metric_weight) * float(np.linalg.norm(x))
        assert M.inner_product(u, x, v) == M.metric_weight * float(x @ v)


# --------------------------------------------------------------------------
# Case 3: riemgn manifold at extreme --alpha and sizes


_SMALL = ["--n", "10", "--d", "2", "--width", "2"]
_NUMBERS = {
    "F": r"\|F\(theta0\)\| = (\S+)",
    "residual": r"\|F\(theta0\) - y\| = (\S+)",
    "II": r"\|II\| at F\(theta0\) = (\S+)",
}


def _summary(alpha: str, capsys) -> tuple[int, dict, str]:
    code = main(["manifold", "--alpha", alpha, *_SMALL])
    out, err = capsys.readouterr()
    values = {
        key: float(re.search(pattern, out).group(1))
        for key, pattern in _NUMBERS.items()
    }
    return code, values, err


@pytest.mark.parametrize("alpha", [1e300, 1e200, 1e-200, 1e-300])
def test_cli_prints_the_true_values_at_extreme_alpha(alpha, capsys):
    # F_alpha = alpha F_1 on the same data, so |F| and |F - y| scale with
    # alpha and |II| with 1/alpha (to the 4 digits printed).
    _, base, _ = _summary("1", capsys)
    code, values, err = _summary(repr(alpha), capsys)
    assert code == 0 and err == ""
    assert values["F"] == pytest.approx(alpha * base["F"], rel=1e-3)
    assert values["residual"] == pytest.approx(alpha * base["residual"], rel=1e-3)
    assert values["II"] == pytest.approx(base["II"] / alpha, rel=1e-3)


def test_cli_refuses_a_curvature_that_float64_cannot_hold(capsys):
    # |II| ~ 8 / alpha exceeds the largest float at alpha = 1e-308.
    code = main(["manifold", "--alpha", "1e-308", *_SMALL])
    out, err = capsys.readouterr()
    assert code == 1
    assert "inf" not in out and "Traceback" not in err
    assert err.count("\n") == 1 and "--alpha 1e-308" in err


@pytest.mark.parametrize("option", ["--width", "--n"])
def test_cli_refuses_sizes_that_cannot_fit_before_allocating(option, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["manifold", option, str(10**12)])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert option in err and "memory" in err and "Traceback" not in err


# --------------------------------------------------------------------------
# Case 4: rank_rtol >= 1 is refused everywhere


def test_rank_rtol_of_one_or_more_is_refused_everywhere(problem):
    F, theta = problem.output_map, problem.params0
    calls = [
        lambda r: jacobian_rank(F, theta, rank_rtol=r),
        lambda r: OutputManifold(F, theta, rank_rtol=r),
        lambda r: theory.spectrum_summary(F, theta, rank_rtol=r),
        lambda r: geodesic_acceleration(F, theta, theta, rank_rtol=r),
        lambda r: solve_geodesic(F, theta, 1e-3 * theta, rank_rtol=r),
        lambda r: shoot_geodesic(F, theta, 1.01 * theta, rank_rtol=r),
    ]
    for call in calls:
        for rank_rtol in (2.0, 1.0):
            with pytest.raises(
                ValueError, match=f"`rank_rtol` must be < 1, got {rank_rtol}"
            ):
                call(rank_rtol)


# --------------------------------------------------------------------------
# Cases 5 and 7: None, booleans and text where numbers are meant


def _array_entry_points(problem):
    F, theta = problem.output_map, problem.params0
    M = problem.manifold
    u = M.point(theta)
    y = np.ones(N)
    autograd_map = AutogradOutputMap(lambda w: anp.tanh(problem.X @ w[:3]), n_params=6)
    rng = np.random.default_rng(0)
    return {
        "TwoLayerNetwork.output_map": (
            lambda x: TwoLayerNetwork(3, 4).output_map(x),
            "X",
            problem.X,
        ),
        "TwoLayerOutputMap.value": (F.value, "params", theta),
        "TwoLayerOutputMap.jacobian": (F.jacobian, "params", theta),
        "TwoLayerOutputMap.jvp": (lambda x: F.jvp(theta, x), "vector", theta),
        "TwoLayerOutputMap.vjp": (lambda x: F.vjp(theta, x), "cotangent", y),
        "TwoLayerOutputMap.second_derivative": (
            lambda x: F.second_derivative(theta, x, theta),
            "vector_a",
            theta,
        ),
        "TwoLayerOutputMap.weighted_hessian_vector": (
            lambda x: F.weighted_hessian_vector(theta, x, theta),
            "weights",
            y,
        ),
        "AutogradOutputMap.value": (autograd_map.value, "params", theta),
        "AutogradOutputMap.jvp": (
            lambda x: autograd_map.jvp(theta, x),
            "vector",
            theta,
        ),
        "OutputManifold.point": (M.point, "params", theta),
        "OutputManifold.lift": (M.lift, "point", u),
        "OutputManifold.norm": (lambda x: M.norm(u, x), "tangent_vector", u),
        "OutputManifold.weingarten": (
            lambda x: M.weingarten(u, u, x),
            "normal_vector",
            u,
        ),
        "jacobian_rank": (lambda x: jacobian_rank(F, x), "params", theta),
        "solve_geodesic": (lambda x: solve_geodesic(F, theta, x), "velocity", theta),
        "gram_matrix": (lambda x: theory.gram_matrix(F, x), "params", theta),
        "second_fundamental_form_norm": (
            lambda x: theory.second_fundamental_form_norm(M, x),
            "u",
            u,
        ),
        "pl_constant": (
            lambda x: theory.pl_constant(M, SquaredLoss(y), x, 0.0),
            "u",
            u,
        ),
        "teacher_student": (
            lambda x: teacher_student(N, 3, 2, X=x, rng=rng),
            "X",
            problem.X,
        ),
    }


BAD_ARRAYS = {
    "None": lambda good: None,
    "booleans": lambda good: np.ones(np.shape(good), dtype=bool),
    "numeric text": lambda good: np.asarray(good).astype(str),
}


@pytest.mark.parametrize("bad", BAD_ARRAYS)
def test_none_booleans_and_text_are_refused_by_name(problem, bad):
    for name, (call, argument, good) in _array_entry_points(problem).items():
        if bad == "None" and name == "teacher_student":
            continue  # X=None asks teacher_student to draw the inputs
        with pytest.raises(ValueError) as caught:
            call(BAD_ARRAYS[bad](good))
        message = str(caught.value)
        assert f"`{argument}`" in message, (name, message)
        assert "non-finite" not in message, (name, message)


def test_scalar_options_refuse_booleans_and_text(problem):
    F, theta = problem.output_map, problem.params0
    calls = {
        "alpha": [
            lambda v: TwoLayerNetwork(3, 2, alpha=v),
            lambda v: MLP((3, 2, 1), alpha=v),
            lambda v: teacher_student(N, 3, 2, alpha=v, rng=np.random.default_rng(0)),
        ],
        "radius": [lambda v: OutputManifold(F, theta, radius=v)],
        "metric_weight": [lambda v: OutputManifold(F, theta, metric_weight=v)],
        "rank_rtol": [lambda v: jacobian_rank(F, theta, rank_rtol=v)],
        "noise": [
            lambda v: teacher_student(N, 3, 2, noise=v, rng=np.random.default_rng(0))
        ],
        "t_end": [lambda v: solve_geodesic(F, theta, theta, t_end=v)],
    }
    for argument, entry_points in calls.items():
        for call in entry_points:
            for value in (True, "1.0"):
                with pytest.raises(TypeError, match=f"`{argument}`"):
                    call(value)


# --------------------------------------------------------------------------
# Case 6: a foreign object is a TypeError at the boundary


def test_a_foreign_object_is_a_type_error_naming_the_argument(problem):
    theta = problem.params0
    M = problem.manifold
    u = M.point(theta)
    loss = SquaredLoss(np.zeros(N))
    calls = {
        "output_map": [
            lambda x: jacobian_rank(x, theta),
            lambda x: OutputManifold(x, theta),
            lambda x: geodesic_acceleration(x, theta, theta),
            lambda x: solve_geodesic(x, theta, theta),
            lambda x: shoot_geodesic(x, theta, theta),
            lambda x: theory.gram_matrix(x, theta),
            lambda x: theory.neural_tangent_kernel(x, theta),
            lambda x: theory.spectrum_summary(x, theta),
            lambda x: solvers.optimal_in_class_risk(x, theta, loss),
        ],
        "manifold": [
            lambda x: check_manifold(x),
            lambda x: theory.second_fundamental_form_norm(x, u),
            lambda x: theory.pl_constant(x, loss, u, 0.0),
        ],
        "loss": [lambda x: theory.pl_constant(M, x, u, -1.0)],
    }
    for argument, entry_points in calls.items():
        for call in entry_points:
            for foreign, type_name in (("x", "str"), (3, "int"), (None, "NoneType")):
                with pytest.raises(TypeError) as caught:
                    call(foreign)
                message = str(caught.value)
                assert f"`{argument}`" in message and type_name in message, message


# --------------------------------------------------------------------------
# Case 8: extreme but finite input, a finite result or a clear error


def _manifold_operations():
    """``(name, call(M, u, theta, xi, nu, v, s))`` for each public manifold operation."""
    return {
        "point": lambda M, u, th, xi, nu, v, s: M.point(s * th),
        "lift": lambda M, u, th, xi, nu, v, s: M.lift(s * v),
        "projection": lambda M, u, th, xi, nu, v, s: M.projection(u, s * v),
        "to_tangent_space": lambda M, u, th, xi, nu, v, s: M.to_tangent_space(u, s * v),
        "tangent_to_chart": lambda M, u, th, xi, nu, v, s: M.tangent_to_chart(
            u, s * xi
        ),
        "chart_to_tangent": lambda M, u, th, xi, nu, v, s: M.chart_to_tangent(
            u, s * th
        ),
        "norm": lambda M, u, th, xi, nu, v, s: M.norm(u, s * v),
        "inner_product": lambda M, u, th, xi, nu, v, s: M.inner_product(
            u, s * v, s * xi
        ),
        "retraction": lambda M, u, th, xi, nu, v, s: M.retraction(u, s * xi),
        "second_order_retraction": lambda M, u, th, xi, nu, v, s: M.retract(
            u, s * xi, kind="second_order"
        ),
        "retraction_differential_inverse": lambda M, u, th, xi, nu, v, s: (
            M.retraction_differential_inverse(u, 1e-3 * xi, s * xi)
        ),
        "weingarten": lambda M, u, th, xi, nu, v, s: M.weingarten(u, s * xi, s * nu),
        "second_fundamental_form": lambda M, u, th, xi, nu, v, s: (
            M.second_fundamental_form(u, s * xi, s * xi)
        ),
        "euclidean_to_riemannian_gradient": lambda M, u, th, xi, nu, v, s: (
            M.euclidean_to_riemannian_gradient(u, s * v)
        ),
        "euclidean_to_riemannian_hessian": lambda M, u, th, xi, nu, v, s: (
            M.euclidean_to_riemannian_hessian(u, s * v, s * v, s * xi)
        ),
        "exp": lambda M, u, th, xi, nu, v, s: M.exp(u, s * xi),
        # A tiny vector lifts to theta = 0, where J loses rank and shooting is
        # slow to give up: reach the tiny scale through a retraction instead.
        "log": lambda M, u, th, xi, nu, v, s: M.log(
            u, s * v if s > 1 else M.retraction(u, s * xi)
        ),
        "dist": lambda M, u, th, xi, nu, v, s: M.dist(
            u, s * v if s > 1 else M.retraction(u, s * xi)
        ),
        "transport": lambda M, u, th, xi, nu, v, s: M.transport(u, u, s * v),
        "random_tangent_vector": lambda M, u, th, xi, nu, v, s: M.random_tangent_vector(
            u, rng=np.random.default_rng(0)
        ),
    }


@pytest.fixture(scope="module")
def manifolds_by_alpha():
    found = {}
    for alpha in (1.0, *EXTREMES):
        M = two_layer(n=N, d=3, width=2, alpha=alpha, seed=1).manifold
        u = M.reference_point
        v = np.random.default_rng(2).standard_normal(N)
        xi = M.projection(u, v)
        found[alpha] = (M, u, M.reference_params, xi, v - xi, v)
    return found


def _finite_or_clear(call):
    try:
        result = call()
    except (ValueError, ManifoldError) as error:
        assert str(error)
        return
    assert np.all(np.isfinite(result)), result


@pytest.mark.parametrize("scale", EXTREMES)
@pytest.mark.parametrize("alpha", [1.0, *EXTREMES])
@pytest.mark.parametrize("name", list(_manifold_operations()))
def test_manifold_operations_on_extreme_input(manifolds_by_alpha, name, alpha, scale):
    M, u, theta, xi, nu, v = manifolds_by_alpha[alpha]
    operation = _manifold_operations()[name]
    _finite_or_clear(lambda: operation(M, u, theta, xi, nu, v, scale))


@pytest.mark.parametrize("scale", [1.0, *EXTREMES])
@pytest.mark.parametrize("alpha", EXTREMES)
@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_network_maps_on_extreme_input(activation, alpha, scale):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((N, 3))
    network = TwoLayerNetwork(3, 2, alpha=alpha, activation=activation)
    theta = network.init_params(rng)
    F = network.output_map(X)
    y = rng.standard_normal(N)
    calls = [
        lambda: F.value(scale * theta),
        lambda: F.jacobian(scale * theta),
        lambda: F.jvp(theta, scale * theta),
        lambda: F.vjp(theta, scale * y),
        lambda: F.second_derivative(theta, scale * theta, theta),
        lambda: F.weighted_hessian_vector(theta, scale * y, scale * theta),
        lambda: F.neural_tangent_kernel(scale * theta),
    ]
    mlp = MLP((3, 4, 1), alpha=alpha, activation=activation)
    mlp_theta = mlp.init_params(rng)
    G = mlp.output_map(X)
    calls += [lambda: G.value(mlp_theta), lambda: G.jacobian(mlp_theta)]
    for call in calls:
        _finite_or_clear(call)


def test_products_of_jacobians_that_overflow_name_alpha():
    problem = two_layer(n=N, d=3, width=2, alpha=1e200, seed=1, build_manifold=False)
    F, theta = problem.output_map, problem.params0
    for call in (
        theory.gram_matrix,
        theory.neural_tangent_kernel,
        theory.spectrum_summary,
    ):
        with pytest.raises(ValueError, match="`alpha`") as caught:
            call(F, theta)
        assert "not finite" in str(caught.value)


def test_scale_free_quantities_survive_extreme_alpha():
    # cond(G0) does not depend on alpha, and |II| is exactly proportional to
    # 1/alpha; at alpha = 1e-200 lambda_min underflows (cond(G0) was inf), and
    # at 1e+-300 the curvature tensor over- or underflows (|II| was 0 or an
    # error).
    base = two_layer(n=N, d=3, width=2, seed=1)
    u = base.manifold.reference_point
    condition = theory.spectrum_summary(base.output_map, base.params0).condition_number
    curvature = theory.second_fundamental_form_norm(base.manifold, u).value
    for alpha in (1e-200, 1e-300, 1e300):
        scaled = two_layer(n=N, d=3, width=2, seed=1, alpha=alpha)
        if alpha < 1:
            summary = theory.spectrum_summary(scaled.output_map, scaled.params0)
            assert summary.condition_number == pytest.approx(condition, rel=1e-8)
        value = theory.second_fundamental_form_norm(
            scaled.manifold, scaled.manifold.reference_point
        ).value
        assert value * alpha == pytest.approx(curvature, rel=1e-8)


def test_targets_that_overflow_name_noise():
    with pytest.raises(ValueError, match="`noise`") as caught:
        teacher_student(N, 3, 2, noise=1.79e308, rng=np.random.default_rng(0))
    assert isinstance(caught.value, OverflowError)


@pytest.mark.parametrize("unit", EXTREMES)
def test_an_exponential_rate_is_fitted_on_any_time_scale(unit):
    # dt @ dt over- or underflowed: a RuntimeWarning, then a rate of 0 or nan.
    t = np.linspace(0.0, 20.0, 201)
    fit = theory.fit_exponential_rate(unit * t, 3.0 * np.exp(-2.0 * t))
    assert fit.rate * unit == pytest.approx(2.0, rel=1e-12)
    assert fit.robust_rate * unit == pytest.approx(2.0, rel=1e-12)
    assert fit.log_intercept == pytest.approx(math.log(3.0), abs=1e-9)
    with pytest.raises(ValueError, match="`times`"):
        theory.fit_exponential_rate(1e-310 * t, 3.0 * np.exp(-2.0 * t))


@pytest.mark.parametrize("alpha", EXTREMES)
def test_the_weingarten_identity_holds_at_extreme_alpha(manifolds_by_alpha, alpha):
    # At alpha = 1e300, D^2F[J^+ xi, J^+ zeta] underflowed to 0 inside the
    # model; at 1e-300 it overflowed. <W(xi, nu), zeta> = <II(xi, zeta), nu>.
    M, u, _, xi, nu, _ = manifolds_by_alpha[alpha]
    zeta = M.random_tangent_vector(u, rng=np.random.default_rng(6))
    lhs = M.inner_product(u, M.weingarten(u, xi, nu), zeta)
    rhs = M.inner_product(u, M.second_fundamental_form(u, xi, zeta), nu)
    assert rhs != 0.0
    assert lhs == pytest.approx(rhs, rel=1e-9)
