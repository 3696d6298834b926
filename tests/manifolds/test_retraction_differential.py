"""Identity tests of OutputManifold.retraction_differential_inverse.

The differential of each retraction is checked three ways: by central
differences of the retraction itself, against a differential written
directly from its formula, and at xi = 0, where it is the identity.
"""

from __future__ import annotations

import numpy as np
import pytest
from problems import CountingMap, two_layer

from manifolds import OutputManifold

KINDS = ["chart", "second_order"]


@pytest.fixture(scope="module")
def problem():
    return two_layer(n=20, d=3, width=2, seed=5)


def base(problem, rng, length=0.5):
    """A point, a tangent vector of the given length there, and its retraction."""
    M = problem.manifold
    u = M.point(problem.params0)
    xi = length * M.random_tangent_vector(u, rng=rng)
    return M, u, xi


def direct_differential(problem, u, xi, zeta, kind):
    r"""DR_u(xi)[zeta] from the formula, with dense pseudo-inverses (a test oracle)."""
    M, F = problem.manifold, problem.output_map
    theta = M.lift(u)
    J_pinv = np.linalg.pinv(F.jacobian(theta))
    eta, w = J_pinv @ xi, J_pinv @ zeta
    if kind == "chart":
        return F.jacobian(theta + eta) @ w
    theta_new = theta + eta - 0.5 * J_pinv @ F.second_derivative(theta, eta, eta)
    return F.jacobian(theta_new) @ (w - J_pinv @ F.second_derivative(theta, eta, w))


@pytest.mark.parametrize("kind", KINDS)
def test_finite_differences_of_the_retraction_recover_the_vector(problem, kind):
    rng = np.random.default_rng(0)
    M, u, xi = base(problem, rng)
    v = M.retract(u, xi, kind=kind)
    for _ in range(3):
        g = M.random_tangent_vector(v, rng=rng)
        zeta = M.retraction_differential_inverse(u, xi, g, kind=kind)
        assert np.linalg.norm(M.projection(u, zeta) - zeta) <= 1e-12 * np.linalg.norm(
            zeta
        )
        t = 1e-5
        dR = (
            M.retract(u, xi + t * zeta, kind=kind)
            - M.retract(u, xi - t * zeta, kind=kind)
        ) / (2 * t)
        assert np.linalg.norm(dR - g) <= 1e-7 * np.linalg.norm(g)


@pytest.mark.parametrize("kind", KINDS)
def test_the_correction_is_not_the_projection(problem, kind):
    # Guards the finite-difference test against a trivially true answer.
    rng = np.random.default_rng(1)
    M, u, xi = base(problem, rng)
    g = M.random_tangent_vector(M.retract(u, xi, kind=kind), rng=rng)
    zeta = M.retraction_differential_inverse(u, xi, g, kind=kind)
    assert np.linalg.norm(zeta - M.projection(u, g)) > 1e-3 * np.linalg.norm(g)


@pytest.mark.parametrize("kind", KINDS)
def test_at_zero_it_is_the_identity_on_tangent_vectors(problem, kind):
    rng = np.random.default_rng(2)
    M = problem.manifold
    u = M.point(problem.params0)
    zero = M.zero_vector(u)
    g = M.random_tangent_vector(u, rng=rng)
    zeta = M.retraction_differential_inverse(u, zero, g, kind=kind)
    assert np.linalg.norm(zeta - g) <= 1e-12 * np.linalg.norm(g)
    # An ambient vector loses its normal part: the result is P_u g.
    z = rng.standard_normal(M.ambient_dim)
    zeta = M.retraction_differential_inverse(u, zero, z, kind=kind)
    assert np.linalg.norm(zeta - M.projection(u, z)) <= 1e-12 * np.linalg.norm(z)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_with_the_directly_computed_differential(problem, kind):
    rng = np.random.default_rng(3)
    M, u, xi = base(problem, rng, length=0.8)
    for _ in range(3):
        zeta = M.random_tangent_vector(u, rng=rng)
        g = direct_differential(problem, u, xi, zeta, kind)
        back = M.retraction_differential_inverse(u, xi, g, kind=kind)
        assert np.linalg.norm(back - zeta) <= 1e-10 * np.linalg.norm(zeta)
    g = M.random_tangent_vector(M.retract(u, xi, kind=kind), rng=rng)
    zeta = M.retraction_differential_inverse(u, xi, g, kind=kind)
    forward = direct_differential(problem, u, xi, zeta, kind)
    assert np.linalg.norm(forward - g) <= 1e-10 * np.linalg.norm(g)


def test_kind_defaults_to_the_manifolds_retraction():
    problem = two_layer(n=20, d=3, width=2, seed=5, retraction="second_order")
    rng = np.random.default_rng(4)
    M, u, xi = base(problem, rng)
    g = M.random_tangent_vector(M.retraction(u, xi), rng=rng)
    assert np.array_equal(
        M.retraction_differential_inverse(u, xi, g),
        M.retraction_differential_inverse(u, xi, g, kind="second_order"),
    )
    chart = M.retraction_differential_inverse(u, xi, g, kind="chart")
    assert not np.allclose(chart, M.retraction_differential_inverse(u, xi, g))


@pytest.mark.parametrize("kind", KINDS)
def test_reuses_the_chart_the_retraction_registered(kind):
    problem = two_layer(n=20, d=3, width=2, seed=6, build_manifold=False)
    counting = CountingMap(problem.output_map)
    M = OutputManifold(counting, problem.params0, retraction=kind)
    rng = np.random.default_rng(5)
    u = M.point(problem.params0)
    xi = 0.5 * M.random_tangent_vector(u, rng=rng)
    v = M.retraction(u, xi)
    g = M.projection(v, rng.standard_normal(M.ambient_dim))  # factorizes J at v
    before = dict(counting.counts)
    M.retraction_differential_inverse(u, xi, g)
    assert counting.counts["jacobian"] == before["jacobian"]
    assert counting.counts["value"] == before["value"] + 1
    extra = counting.counts["second_derivative"] - before["second_derivative"]
    assert extra == (0 if kind == "chart" else 1 + M.dim)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((np.zeros(19), np.zeros(20), np.zeros(20)), "point"),
        ((None, np.zeros(21), np.zeros(20)), "tangent_vector"),
        ((None, np.zeros(20), np.zeros((20, 1))), "vector"),
        ((None, np.zeros(20), np.full(20, np.nan)), "vector"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(problem, args, name):
    M = problem.manifold
    u = M.point(problem.params0)
    args = tuple(u if a is None else a for a in args)
    with pytest.raises(ValueError, match=f"`{name}`"):
        M.retraction_differential_inverse(*args)


def test_unknown_kind_raises(problem):
    M = problem.manifold
    u = M.point(problem.params0)
    with pytest.raises(ValueError, match="`kind`.*'geodesic'"):
        M.retraction_differential_inverse(
            u, np.zeros(20), np.zeros(20), kind="geodesic"
        )
