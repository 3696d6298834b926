"""The reference kernel (``manifolds._reference``) agrees with a dense eigendecomposition."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest

from manifolds import AutogradOutputMap
from manifolds.exceptions import KrylovConvergenceError
from manifolds.linalg import (
    JacobianOperator,
    ReferenceKernel,
    kernel_eigen,
    kernel_factorization,
    smallest_kernel_eigenpair,
)
from riemgn.data import near_duplicate_inputs
from riemgn.networks import TwoLayerNetwork


def _problem(eta, n=30, d=10, width=30, seed=0):
    """A wide two-layer network (p = 300 > n = 30) with a near-duplicate sample."""
    rng = np.random.default_rng(seed)
    X = near_duplicate_inputs(n, d, eta, rng) / np.sqrt(d)
    network = TwoLayerNetwork(d, width)
    theta = network.init_params(rng, "standard")
    return network.output_map(X), theta, rng


@pytest.mark.parametrize("eta", [1e-1, 1e-2, 1e-3])
def test_the_kernel_form_at_a_moved_point_matches_the_dense_one(eta):
    output_map, theta_r, rng = _problem(eta)
    reference = ReferenceKernel(JacobianOperator(output_map, theta_r))
    step = rng.standard_normal(theta_r.size)
    theta = theta_r + 0.01 * step / np.linalg.norm(step)
    here = reference.at(JacobianOperator(output_map, theta))
    J = output_map.jacobian(theta)
    dense = kernel_factorization(J)
    assert dense.lambda_min / dense.kernel_eigenvalues[0] < 1e-4  # ill-conditioned
    # lambda_min to near the dense eigh's own accuracy (eps lambda_max absolute).
    assert here.lambda_min == pytest.approx(
        dense.lambda_min, rel=1e-8, abs=1e-14 * dense.kernel_eigenvalues[0]
    )
    g = rng.standard_normal(J.shape[0])
    for damping in (dense.lambda_min, 1e-2, 1.0):
        expected = dense.direction(g, damping)
        got = here.direction(g, damping)
        assert np.linalg.norm(got - expected) <= 1e-8 * np.linalg.norm(expected)
        assert here.last_info.converged and here.last_info.iterations <= 10
        # K x = g - lambda x + e with |e| <= tol (|g| + lambda_max |x|): the
        # backward error, a forward error of order tol cond(K + lambda I) here.
        velocity = here.output_velocity(g, damping)
        expected = dense.output_velocity(g, damping)
        assert np.linalg.norm(velocity - expected) <= 1e-6 * np.linalg.norm(expected)


def test_cg_needs_one_iteration_at_the_reference_point():
    output_map, theta_r, rng = _problem(1e-3)
    reference = ReferenceKernel(JacobianOperator(output_map, theta_r))
    here = reference.at(JacobianOperator(output_map, theta_r))
    assert here.lambda_min == pytest.approx(reference.eigenvalues[-1], rel=1e-8)
    here.direction(rng.standard_normal(30), 1e-6)
    assert here.last_info.iterations == 1
    assert here.eigen_iterations == 1  # the reference's eigenvector is exact there


def test_the_next_point_starts_from_the_last_eigenvector():
    output_map, theta_r, rng = _problem(1e-2)
    reference = ReferenceKernel(JacobianOperator(output_map, theta_r))
    assert reference.last_vector is None
    theta = theta_r + 1e-3
    first = reference.at(JacobianOperator(output_map, theta))
    first.lambda_min  # noqa: B018 - computes it
    assert reference.last_vector is not None
    again = reference.at(JacobianOperator(output_map, theta))
    assert again.lambda_min == pytest.approx(first.lambda_min, rel=1e-12)
    assert again.eigen_iterations == 1


def test_an_eigenvalue_crossing_is_detected():
    # F(w) = (w0 w2, w1): K = diag(w0^2 + w2^2, 1). At the reference the
    # smallest eigenvector is e1; after w2 grows, it is e2 and e1's Rayleigh
    # quotient (4.01) is an eigenvalue, but not the smallest.
    output_map = AutogradOutputMap(lambda w: anp.stack([w[0] * w[2], w[1]]), n_params=3)
    reference = ReferenceKernel(JacobianOperator(output_map, np.array([0.1, 0.0, 0.5])))
    here = reference.at(JacobianOperator(output_map, np.array([0.1, 0.0, 2.0])))
    with pytest.raises(KrylovConvergenceError):
        here.kernel_eigenvalues  # noqa: B018 - computes them


def test_cg_that_misses_its_tolerance_raises():
    output_map, theta_r, rng = _problem(1e-3)
    reference = ReferenceKernel(JacobianOperator(output_map, theta_r), maxiter=1)
    far = theta_r + 0.3 * rng.standard_normal(theta_r.size)
    here = reference.at(JacobianOperator(output_map, far))
    with pytest.raises(KrylovConvergenceError):
        here.direction(rng.standard_normal(30), 1e-8)


def test_woodbury_inverts_the_gauss_newton_system():
    # (I + c J^T J)^-1 v = v - J^T (K + I/c)^-1 J v, the kernel system by CG to
    # tol: the residual in R^p is c J^T times CG's residual, so it is at most
    # c |J| tol (|Jv| + (lambda_max + 1/c) |x|), plus the rounding of the check.
    output_map, theta_r, rng = _problem(1e-3)
    reference = ReferenceKernel(JacobianOperator(output_map, theta_r))
    theta = theta_r + 1e-3
    here = reference.at(JacobianOperator(output_map, theta))
    J = output_map.jacobian(theta)
    v = rng.standard_normal(theta_r.size)
    sigma = np.linalg.norm(J, 2)
    for c in (1e-3, 1.0, 1e6, 1e12):
        x = here.woodbury(c)(v)
        inner = here.solve(J @ v, 1.0 / c)
        residual = np.linalg.norm(x + c * (J.T @ (J @ x)) - v)
        cg = (
            c
            * sigma
            * reference.tol
            * (np.linalg.norm(J @ v) + (sigma**2 + 1.0 / c) * np.linalg.norm(inner))
        )
        rounding = 1e-12 * (np.linalg.norm(v) + c * sigma**2 * np.linalg.norm(x))
        assert residual <= cg + rounding, c


def test_the_closed_form_kernel_and_the_products_give_the_same_reference():
    output_map, theta_r, _ = _problem(1e-2)
    J = JacobianOperator(output_map, theta_r)
    formed = ReferenceKernel(J)
    closed = ReferenceKernel(J, kernel=output_map.neural_tangent_kernel(theta_r))
    assert np.allclose(formed.eigenvalues, closed.eigenvalues, rtol=1e-10, atol=1e-14)


def test_smallest_kernel_eigenpair_matches_eigh():
    output_map, theta_r, _ = _problem(1e-3)
    K = output_map.neural_tangent_kernel(theta_r)
    eigenvalues, U = kernel_eigen(K)
    value, x = smallest_kernel_eigenpair(K)
    assert value == pytest.approx(eigenvalues[-1], rel=1e-8)
    assert abs(abs(x @ U[:, -1]) - 1.0) < 1e-8
    # A singular kernel (Cholesky fails) falls back to eigh.
    singular = np.outer(np.arange(1.0, 4.0), np.arange(1.0, 4.0))
    value, x = smallest_kernel_eigenpair(singular)
    assert abs(value) < 1e-13 and np.linalg.norm(singular @ x) < 1e-12


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tol": 2.0}, ValueError, "tol"),
        ({"maxiter": 0}, ValueError, "maxiter"),
        ({"progress": "yes"}, TypeError, "progress"),
        ({"kernel": np.eye(3)}, ValueError, "kernel"),
        ({"kernel": np.full((30, 30), np.nan)}, ValueError, "kernel"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, error, match):
    output_map, theta_r, _ = _problem(1e-1)
    with pytest.raises(error, match=match):
        ReferenceKernel(JacobianOperator(output_map, theta_r), **kwargs)


def test_at_refuses_another_shape_and_a_dense_jacobian():
    output_map, theta_r, _ = _problem(1e-1)
    reference = ReferenceKernel(JacobianOperator(output_map, theta_r))
    other, theta, _ = _problem(1e-1, n=20)
    with pytest.raises(ValueError, match="shape"):
        reference.at(JacobianOperator(other, theta))
    with pytest.raises(TypeError, match="JacobianOperator"):
        reference.at(output_map.jacobian(theta_r))
    with pytest.raises(TypeError, match="JacobianOperator"):
        ReferenceKernel(output_map.jacobian(theta_r))
