"""The geometry stays accurate when cond(J^T J) is about 1e12 (THEORY §2, §5)."""

from __future__ import annotations

import numpy as np
import pytest
from problems import two_layer


@pytest.fixture(scope="module")
def problem():
    # Inputs with singular values over 3e5 give cond(J^T J) of about 1e12.
    return two_layer(n=30, d=4, width=2, cond_x=3e5, seed=0)


def test_the_gram_matrix_is_as_ill_conditioned_as_claimed(problem):
    J = problem.output_map.jacobian(problem.params0)
    s = np.linalg.svd(J, compute_uv=False)
    assert 1e11 <= (s[0] / s[-1]) ** 2 <= 1e13
    assert problem.manifold.rank_info(problem.params0).rank == problem.manifold.dim


def test_projector_stays_idempotent_and_symmetric(problem):
    M, rng = problem.manifold, np.random.default_rng(0)
    u = M.point(problem.params0)
    P = np.column_stack([M.projection(u, e) for e in np.eye(M.ambient_dim)])
    assert np.linalg.norm(P @ P - P, 2) <= 1e-10
    assert np.linalg.norm(P - P.T, 2) <= 1e-10
    # The normal-equations projector J (J^T J)^{-1} J^T, by contrast, is far off.
    J = problem.output_map.jacobian(problem.params0)
    naive = J @ np.linalg.solve(J.T @ J, J.T)
    assert np.linalg.norm(naive @ naive - naive, 2) > 1e3 * np.linalg.norm(P @ P - P, 2)
    z = rng.standard_normal(M.ambient_dim)
    assert np.allclose(
        P @ z, M.projection(u, z), rtol=0, atol=1e-14 * np.linalg.norm(z)
    )


def test_riemannian_gradient_matches_an_svd_reference(problem):
    M, rng = problem.manifold, np.random.default_rng(1)
    u = M.point(problem.params0)
    U, _, _ = np.linalg.svd(
        problem.output_map.jacobian(problem.params0), full_matrices=False
    )
    for _ in range(5):
        egrad = rng.standard_normal(M.ambient_dim)
        reference = U @ (U.T @ egrad)
        rgrad = M.euclidean_to_riemannian_gradient(u, egrad)
        assert np.linalg.norm(rgrad - reference) <= 1e-8 * np.linalg.norm(reference)


def test_exp_and_log_stay_inverse(problem):
    M, rng = problem.manifold, np.random.default_rng(2)
    u = M.point(problem.params0)
    for _ in range(3):
        xi = M.random_tangent_vector(u, rng=rng)
        xi *= 0.3 / np.linalg.norm(M.tangent_to_chart(u, xi))  # 0.3 in parameters
        v = M.exp(u, xi)
        recovered = M.log(u, v)
        assert np.linalg.norm(recovered - xi) <= 1e-8 * np.linalg.norm(xi)
        assert np.linalg.norm(M.exp(u, recovered) - v) <= 1e-8 * np.linalg.norm(v - u)
