"""Property-based tests: the identities hold over random shapes, scales and seeds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from problems import two_layer

ACTIVATIONS = ["tanh", "sigmoid", "softplus", "gelu", "silu", "erf"]

problems = st.builds(
    dict,
    d=st.integers(1, 3),
    width=st.integers(1, 3),
    extra=st.integers(1, 12),
    alpha=st.floats(0.05, 20.0),
    activation=st.sampled_from(ACTIVATIONS),
    scheme=st.sampled_from(["standard", "centered"]),
    metric_weight=st.sampled_from([1.0, 0.25, 1e-3]),
    seed=st.integers(0, 2**16),
)


@settings(max_examples=40, deadline=None)
@given(problems)
def test_submanifold_identities(spec):
    n = spec["d"] * spec["width"] + spec["extra"]
    problem = two_layer(
        n=n,
        d=spec["d"],
        width=spec["width"],
        alpha=spec["alpha"],
        activation=spec["activation"],
        scheme=spec["scheme"],
        seed=spec["seed"],
        metric_weight=spec["metric_weight"],
    )
    # A stream independent of the one that drew X and theta0.
    M, rng = problem.manifold, np.random.default_rng([spec["seed"], 1])
    u = M.point(problem.params0)
    z, a = rng.standard_normal((2, n))
    Pz = M.projection(u, z)
    assert np.linalg.norm(M.projection(u, Pz) - Pz) <= 1e-12 * np.linalg.norm(z)
    assert abs(a @ Pz - z @ M.projection(u, a)) <= 1e-12 * np.linalg.norm(
        a
    ) * np.linalg.norm(z)
    # The Riemannian gradient represents the differential in the metric c.
    xi = M.random_tangent_vector(u, rng=rng)
    assert abs(M.norm(u, xi) - 1.0) <= 1e-12
    grad = M.euclidean_to_riemannian_gradient(u, z)
    assert abs(M.inner_product(u, grad, xi) - z @ xi) <= 1e-10 * np.linalg.norm(
        z
    ) * np.linalg.norm(xi)
    # Weingarten identity, whatever the scale alpha.
    zeta = M.random_tangent_vector(u, rng=rng)
    nu = z - Pz
    W = M.weingarten(u, xi, nu)
    second = M.second_fundamental_form(u, xi, zeta)
    lhs, rhs = M.inner_product(u, W, zeta), M.inner_product(u, second, nu)
    # Round-off enters through the full D^2F (whose tangential part II drops)
    # and the tangential leakage of nu, so measure against D^2F, not II.
    theta = M.lift(u)
    full = problem.output_map.second_derivative(
        theta, M.tangent_to_chart(u, xi), M.tangent_to_chart(u, zeta)
    )
    scale = M.norm(u, W) * M.norm(u, zeta) + M.norm(u, full) * M.norm(u, z)
    # W applies J^+ twice, so round-off grows like eps cond(J)^2 (d = 1 draws
    # nearly collinear neurons, cond(J) ~ 1e4).
    kappa = M.rank_info(problem.params0).condition_number
    assert abs(lhs - rhs) <= (1e-10 + 10 * np.finfo(float).eps * kappa**2) * scale
    # Retractions fix the point at the zero vector and are tangent to first order.
    assert np.array_equal(M.retraction(u, M.zero_vector(u)), u)
    assert np.array_equal(M.retract(u, M.zero_vector(u), kind="second_order"), u)


def test_curvature_scales_like_one_over_alpha():
    """F_alpha = alpha F_1, so M_alpha = alpha M_1 and II scales by 1/alpha (THEORY §2)."""
    norms = []
    for alpha in (0.1, 1.0, 10.0):
        problem = two_layer(n=20, d=2, width=2, alpha=alpha, seed=5)
        M = problem.manifold
        u = M.point(problem.params0)
        rng = np.random.default_rng(0)
        xi = M.random_tangent_vector(u, rng=rng)  # unit length in R^n
        norms.append(np.linalg.norm(M.second_fundamental_form(u, xi, xi)))
    assert np.allclose(
        np.array(norms) * np.array([0.1, 1.0, 10.0]), norms[1], rtol=1e-10
    )
