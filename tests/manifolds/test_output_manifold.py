"""Identity tests of OutputManifold: projector, gradient, Weingarten map, retractions, exp/log."""

from __future__ import annotations

import numpy as np
import pytest
from problems import CountingMap, two_layer

from manifolds import (
    NotAnImmersionError,
    NotOnManifoldError,
    OutputManifold,
    OutsideBallError,
)


def svd_projector(J: np.ndarray) -> np.ndarray:
    U, s, _ = np.linalg.svd(J, full_matrices=False)
    return U @ U.T


@pytest.fixture(params=["standard", "centered"])
def problem(request):
    return two_layer(n=25, d=3, width=2, scheme=request.param, seed=3)


def test_projection_is_the_orthogonal_projector_onto_range_J(problem):
    M, rng = problem.manifold, np.random.default_rng(0)
    u = M.point(problem.params0)
    P_ref = svd_projector(problem.output_map.jacobian(problem.params0))
    for _ in range(3):
        z = rng.standard_normal(M.ambient_dim)
        Pz = M.projection(u, z)
        assert np.linalg.norm(Pz - P_ref @ z) <= 1e-12 * np.linalg.norm(z)
        assert np.linalg.norm(M.projection(u, Pz) - Pz) <= 1e-14 * np.linalg.norm(z)
    assert M.dim == problem.output_map.n_params


def test_riemannian_gradient_represents_the_differential_in_the_weighted_metric():
    problem = two_layer(metric_weight=0.1, seed=4)
    M, rng = problem.manifold, np.random.default_rng(1)
    u = M.point(problem.params0)
    egrad = rng.standard_normal(M.ambient_dim)
    rgrad = M.euclidean_to_riemannian_gradient(u, egrad)
    xi = M.random_tangent_vector(u, rng=rng)
    # <grad h, xi>_c = Dh(u)[xi] = egrad . xi for every tangent xi.
    assert M.inner_product(u, rgrad, xi) == pytest.approx(egrad @ xi, rel=1e-12)
    assert np.allclose(rgrad, M.projection(u, egrad) / 0.1, rtol=1e-13, atol=0)
    assert M.norm(u, xi) == pytest.approx(1.0)


def test_weingarten_identity_and_sign_against_differentiated_projector(problem):
    M, rng = problem.manifold, np.random.default_rng(2)
    u = M.point(problem.params0)
    xi, zeta = M.random_tangent_vector(u, rng=rng), M.random_tangent_vector(u, rng=rng)
    z = rng.standard_normal(M.ambient_dim)
    nu = z - M.projection(u, z)
    W = M.weingarten(u, xi, nu)
    second = M.second_fundamental_form(u, xi, zeta)
    assert M.inner_product(u, W, zeta) == pytest.approx(
        M.inner_product(u, second, nu), rel=1e-10, abs=1e-14
    )
    # W(xi, nu) = P DP(u)[xi] nu, the definition pymanopt's Hessian formula uses:
    # differentiate the projector along the curve F(theta + t J^+ xi).
    theta, eta = M.lift(u), M.tangent_to_chart(u, xi)
    t = 1e-5
    P_plus = svd_projector(problem.output_map.jacobian(theta + t * eta))
    P_minus = svd_projector(problem.output_map.jacobian(theta - t * eta))
    dP_nu = (P_plus - P_minus) @ nu / (2 * t)
    assert np.linalg.norm(M.projection(u, dP_nu) - W) <= 1e-7 * np.linalg.norm(W)
    # II is normal and symmetric.
    assert np.linalg.norm(M.projection(u, second)) <= 1e-12 * np.linalg.norm(second)
    assert np.allclose(
        second, M.second_fundamental_form(u, zeta, xi), rtol=1e-12, atol=1e-15
    )


def test_retractions_are_retractions(problem):
    M, rng = problem.manifold, np.random.default_rng(3)
    u = M.point(problem.params0)
    xi = M.random_tangent_vector(u, rng=rng)
    for kind in ("chart", "second_order"):
        assert np.array_equal(M.retract(u, 0 * xi, kind=kind), u)
        t = 1e-6
        velocity = (
            M.retract(u, t * xi, kind=kind) - M.retract(u, -t * xi, kind=kind)
        ) / (2 * t)
        assert np.linalg.norm(velocity - xi) <= 1e-8


def test_second_order_retraction_has_normal_acceleration(problem):
    M, rng = problem.manifold, np.random.default_rng(4)
    u = M.point(problem.params0)
    xi = M.random_tangent_vector(u, rng=rng)
    t = 1e-3
    for kind, tangential_small in (("second_order", True), ("chart", False)):
        acceleration = (
            M.retract(u, t * xi, kind=kind) - 2 * u + M.retract(u, -t * xi, kind=kind)
        ) / t**2
        tangential = np.linalg.norm(M.projection(u, acceleration))
        assert (tangential <= 1e-4 * np.linalg.norm(acceleration)) == tangential_small


def test_exp_is_a_geodesic_and_log_inverts_it(problem):
    M, rng = problem.manifold, np.random.default_rng(5)
    u = M.point(problem.params0)
    xi = 0.5 * M.random_tangent_vector(u, rng=rng)
    assert np.array_equal(M.exp(u, 0 * xi), u)
    v = M.exp(u, xi)
    recovered = M.log(u, v)
    assert np.linalg.norm(recovered - xi) <= 1e-8 * np.linalg.norm(xi)
    assert np.linalg.norm(M.exp(u, recovered) - v) <= 1e-8 * np.linalg.norm(v - u)
    assert M.dist(u, v) == pytest.approx(M.norm(u, xi), rel=1e-8)
    assert M.dist(u, u) == 0.0
    # exp_u(2 xi) = exp_{exp_u(xi)}(velocity at time 1): geodesics extend.
    theta, eta = M.lift(u), M.tangent_to_chart(u, xi)
    from manifolds.geodesics import solve_geodesic

    end = solve_geodesic(problem.output_map, theta, eta)
    w = M.exp(v, M.chart_to_tangent(v, end.velocity))
    assert np.linalg.norm(w - M.exp(u, 2 * xi)) <= 1e-8 * np.linalg.norm(w - u)
    midpoint = M.pair_mean(u, v)
    assert M.dist(u, midpoint) == pytest.approx(0.5 * M.norm(u, xi), rel=1e-7)


def test_transport_lands_in_the_target_tangent_space(problem):
    M, rng = problem.manifold, np.random.default_rng(6)
    u = M.point(problem.params0)
    v = M.retraction(u, 0.3 * M.random_tangent_vector(u, rng=rng))
    xi = M.random_tangent_vector(u, rng=rng)
    moved = M.transport(u, v, xi)
    assert np.linalg.norm(moved - M.projection(v, moved)) <= 1e-14 * np.linalg.norm(
        moved
    )


def test_random_point_and_vectors_are_seeded_and_inside_the_ball():
    problem = two_layer(radius=0.5, seed=7)
    M = problem.manifold
    first = M.random_point(rng=np.random.default_rng(11))
    second = M.random_point(rng=np.random.default_rng(11))
    assert np.array_equal(first, second)
    for _ in range(5):
        u = M.random_point(rng=np.random.default_rng(_))
        assert np.linalg.norm(M.lift(u) - problem.params0) <= 0.25
        xi = M.random_tangent_vector(u, rng=np.random.default_rng(_))
        assert M.norm(u, xi) == pytest.approx(1.0)
        assert np.linalg.norm(xi - M.projection(u, xi)) <= 1e-14
    assert np.array_equal(M.zero_vector(first), np.zeros(M.ambient_dim))
    assert M.typical_dist > 0


def test_factorization_is_computed_once_per_point():
    problem = two_layer(build_manifold=False, seed=8)
    counting = CountingMap(problem.output_map)
    M = OutputManifold(counting, problem.params0, rng=np.random.default_rng(0))
    assert counting.counts["jacobian"] == 1  # the reference chart
    M.point(problem.params0)  # the same point again: no new factorization
    assert counting.counts["jacobian"] == 1
    u = M.point(problem.params0 + 0.01)
    before = counting.counts["jacobian"]
    rng = np.random.default_rng(1)
    for _ in range(10):
        z = rng.standard_normal(M.ambient_dim)
        M.projection(u, z)
        M.euclidean_to_riemannian_gradient(u, z)
        M.weingarten(u, M.projection(u, z), z - M.projection(u, z))
    assert counting.counts["jacobian"] == before
    # A retraction registers its result without factorizing; the first use does.
    v = M.retraction(u, M.projection(u, rng.standard_normal(M.ambient_dim)) * 0.1)
    assert counting.counts["jacobian"] == before
    M.projection(v, rng.standard_normal(M.ambient_dim))
    M.projection(v, rng.standard_normal(M.ambient_dim))
    assert counting.counts["jacobian"] == before + 1


def test_chart_cache_is_bounded_by_entries_and_bytes():
    problem = two_layer(n=40, d=3, width=2, build_manifold=False, seed=9)
    by_count = OutputManifold(problem.output_map, problem.params0, cache_max_entries=3)
    for k in range(10):
        by_count.point(problem.params0 + 0.01 * k)
    assert by_count.cache_info["entries"] == 3
    # One factorized chart holds theta, u, Q (n x p) and R (p x p): about 2.6 kB here.
    by_bytes = OutputManifold(problem.output_map, problem.params0, cache_max_bytes=6000)
    points = [by_bytes.point(problem.params0 + 0.01 * k) for k in range(10)]
    assert by_bytes.cache_info["nbytes"] <= 6000
    assert by_bytes.cache_info["entries"] == 2
    # An evicted point is still on the manifold: it is lifted again, to the same chart.
    assert np.allclose(by_bytes.lift(points[0]), problem.params0, atol=1e-9)


def test_lift_solves_for_points_the_manifold_did_not_produce(problem):
    M = problem.manifold
    theta = problem.params0 + 0.05 * np.random.default_rng(10).standard_normal(M.dim)
    u = problem.output_map.value(theta)  # computed outside the manifold
    assert np.linalg.norm(M.lift(u) - theta) <= 1e-8
    z = np.random.default_rng(11).standard_normal(M.ambient_dim)
    off = u + 0.1 * (z - M.projection(u, z))
    with pytest.raises(
        NotOnManifoldError, match="`point` is not on the manifold.*distance"
    ):
        M.projection(off, z)
    with pytest.raises(NotOnManifoldError, match="not on the manifold"):
        M.lift(off)


def test_symmetric_initialization_is_not_an_immersion():
    with pytest.raises(
        NotAnImmersionError, match=r"numerical rank 3 < n_params = 6"
    ) as info:
        two_layer(n=25, d=3, width=2, scheme="symmetric", seed=12)
    message = str(info.value)
    assert "tolerance" in message and "symmetric initialization" in message
    for scheme in ("standard", "centered"):
        assert two_layer(n=25, d=3, width=2, scheme=scheme, seed=12).manifold.dim == 6


def test_overparameterized_map_is_rejected():
    problem = two_layer(n=5, d=3, width=2, build_manifold=False)
    with pytest.raises(NotAnImmersionError, match="n_params = 6 > n_outputs = 5"):
        OutputManifold(problem.output_map, problem.params0)


def test_chart_leaving_the_ball_is_an_error():
    problem = two_layer(radius=0.1, seed=13)
    M = problem.manifold
    u = M.point(problem.params0)
    xi = M.random_tangent_vector(u, rng=np.random.default_rng(0))
    step = xi / np.linalg.norm(M.tangent_to_chart(u, xi))  # unit step in parameters
    M.retraction(u, 0.05 * step)
    with pytest.raises(OutsideBallError, match=r"leaves the ball.*radius = 0.1"):
        M.retraction(u, 0.5 * step)
    with pytest.raises(OutsideBallError, match="geodesic leaves the ball"):
        M.exp(u, 0.5 * step)
    with pytest.raises(OutsideBallError, match="`params`"):
        M.point(problem.params0 + 1.0)


def test_bad_vectors_are_rejected_with_named_arguments(problem):
    M = problem.manifold
    u = M.point(problem.params0)
    n = M.ambient_dim
    with pytest.raises(
        ValueError, match=r"`vector` must have shape \(25,\), got shape \(24,\)"
    ):
        M.projection(u, np.ones(n - 1))
    with pytest.raises(ValueError, match="`tangent_vector` must have shape"):
        M.retraction(u, np.ones((n, 1)))
    with pytest.raises(ValueError, match="`tangent_vector` must be finite"):
        M.exp(u, np.full(n, np.nan))
    with pytest.raises(ValueError, match="`point` must be finite"):
        M.projection(np.full(n, np.inf), np.ones(n))
    with pytest.raises(ValueError, match="`params` must be finite"):
        M.point(np.full(M.dim, np.nan))
    with pytest.raises(ValueError, match="`normal_vector` must have shape"):
        M.weingarten(u, np.ones(n), np.ones(3))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"metric_weight": 0.0}, "`metric_weight` must be > 0, got 0.0"),
        ({"metric_weight": -1.0}, "`metric_weight` must be > 0"),
        ({"radius": -2.0}, "`radius` must be > 0, got -2.0"),
        ({"radius": np.nan}, "`radius` must be finite"),
        ({"retraction": "polar"}, "`retraction` must be one of"),
        ({"cache_max_entries": 0}, "`cache_max_entries` must be >= 1"),
    ],
)
def test_bad_options_are_rejected(options, match):
    problem = two_layer(build_manifold=False)
    with pytest.raises(ValueError, match=match):
        OutputManifold(problem.output_map, problem.params0, **options)


def test_bad_constructor_arguments():
    problem = two_layer(build_manifold=False)
    with pytest.raises(
        TypeError, match="`output_map` must implement manifolds.OutputMap"
    ):
        OutputManifold(lambda theta: theta, problem.params0)
    with pytest.raises(ValueError, match=r"`reference_params` must have shape \(6,\)"):
        OutputManifold(problem.output_map, np.ones(5))
    with pytest.raises(ValueError, match="`reference_params` must be finite"):
        OutputManifold(problem.output_map, np.full(6, np.inf))
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        OutputManifold(problem.output_map, problem.params0, rng=42)


def test_manifolds_never_imports_riemgn():
    import pathlib
    import subprocess
    import sys

    import manifolds

    code = "import sys, manifolds; sys.exit(1 if 'riemgn' in sys.modules else 0)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for source in pathlib.Path(manifolds.__file__).parent.glob("*.py"):
        text = source.read_text()
        assert "import riemgn" not in text and "from riemgn" not in text, source


def test_jacobian_rank_reports_rank_tolerance_and_singular_values():
    from manifolds import jacobian_rank

    symmetric = two_layer(n=25, d=3, width=2, scheme="symmetric", build_manifold=False)
    info = jacobian_rank(symmetric.output_map, symmetric.params0)
    assert (info.rank, info.n_params) == (3, 6)
    assert info.singular_values[3] <= info.tolerance < info.singular_values[2]
    assert info.condition_number > 1e12
    standard = two_layer(n=25, d=3, width=2, build_manifold=False)
    assert jacobian_rank(standard.output_map, standard.params0).rank == 6
    with pytest.raises(ValueError, match="`rank_rtol` must be > 0"):
        jacobian_rank(standard.output_map, standard.params0, rank_rtol=-1.0)


def unit_parameter_step(M, u, seed=1):
    xi = M.random_tangent_vector(u, rng=np.random.default_rng(seed))
    return xi / np.linalg.norm(M.tangent_to_chart(u, xi))


def test_a_geodesic_into_saturation_fails_fast_and_clearly():
    from manifolds import GeodesicError

    problem = two_layer(n=30, d=3, width=2, seed=0)
    M = problem.manifold
    u = M.point(problem.params0)
    xi = unit_parameter_step(M, u)
    M.exp(u, 2 * xi)
    # Further along, neurons saturate: |theta'| explodes while |J theta'| is
    # constant. Without the stretch event this ground on for ~45 s per call.
    with pytest.raises(GeodesicError, match="chart degenerates along the geodesic"):
        M.exp(u, 20 * xi)


def test_log_of_far_apart_points_is_a_clear_error():
    from manifolds import GeodesicError

    problem = two_layer(n=30, d=3, width=2, seed=0)
    M = problem.manifold
    u = M.point(problem.params0)
    d = np.random.default_rng(2).standard_normal(6)
    far = problem.output_map.value(problem.params0 + 4 * d / np.linalg.norm(d))
    with pytest.raises(GeodesicError, match="too far apart"):
        M.log(u, far)


def test_lift_finds_preimages_far_from_every_known_chart():
    # Undamped Gauss-Newton wrongly rejected 3 of these 10 points.
    problem = two_layer(n=30, d=3, width=2, seed=0, build_manifold=False)
    for k in range(10):
        M = OutputManifold(problem.output_map, problem.params0)
        d = np.random.default_rng(100 + k).standard_normal(6)
        v = problem.output_map.value(problem.params0 + 2 * d / np.linalg.norm(d))
        theta = M.lift(v)
        assert np.linalg.norm(
            problem.output_map.value(theta) - v
        ) <= 1e-9 * np.linalg.norm(v)


@pytest.mark.parametrize("alpha", [1e-9, 1.0, 1e6])
def test_membership_tolerance_is_scale_invariant(alpha):
    M = two_layer(n=20, d=2, width=2, alpha=alpha, seed=3).manifold
    u = M.point(M.reference_params)
    z = np.random.default_rng(0).standard_normal(20)
    nu = z - M.projection(u, z)
    off = u + 0.01 * np.linalg.norm(u) * nu / np.linalg.norm(nu)
    with pytest.raises(NotOnManifoldError, match="not on the manifold"):
        M.lift(off)
    theta = M.reference_params + 0.1
    assert np.allclose(M.lift(M.output_map.value(theta)), theta, atol=1e-7)


def test_more_bad_arguments():
    problem = two_layer(seed=0)
    M = problem.manifold
    u = M.point(problem.params0)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator, e.g."):
        M.random_point(rng=3)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        M.random_tangent_vector(u, rng=3)
    with pytest.raises(
        ValueError, match="`tangent_vector` must be real, got a complex array"
    ):
        M.norm(u, u + 1j)
    with pytest.raises(ValueError, match=r"`point` must have shape \(30,\)"):
        M.norm(np.zeros(3), u)
    with pytest.raises(ValueError, match="`point` must be a real numeric array"):
        M.zero_vector("garbage")
    with pytest.raises(ValueError, match="`rank_rtol` must be < 1, got 2"):
        OutputManifold(problem.output_map, problem.params0, rank_rtol=2.0)
