"""AutogradOutputMap: exact derivatives of any autograd.numpy function."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from manifolds import AutogradOutputMap, OutputMap


def make(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p))
    B = rng.standard_normal((n, p))

    def fun(theta):
        return (
            anp.tanh(anp.dot(A, theta)) * anp.cos(anp.dot(B, theta))
            + anp.dot(A, theta) ** 2
        )

    return fun, AutogradOutputMap(fun, p), rng


@pytest.mark.parametrize(("n", "p"), [(7, 3), (3, 7)], ids=["tall", "wide"])
def test_derivatives_match_autograd_tensors_and_finite_differences(n, p):
    fun, output_map, rng = make(n, p)
    assert isinstance(output_map, OutputMap)
    assert (output_map.n_outputs, output_map.n_params) == (n, p)
    theta, v, w = rng.standard_normal((3, p))
    nu = rng.standard_normal(n)
    J = output_map.jacobian(theta)
    assert np.allclose(J, autograd.jacobian(fun)(theta), rtol=1e-13, atol=1e-13)
    h = 1e-6
    fd = np.column_stack(
        [(fun(theta + h * e) - fun(theta - h * e)) / (2 * h) for e in np.eye(p)]
    )
    assert np.linalg.norm(J - fd) <= 1e-8 * np.linalg.norm(J)
    assert np.allclose(output_map.jvp(theta, v), J @ v, rtol=1e-13, atol=1e-13)
    assert np.allclose(output_map.vjp(theta, nu), J.T @ nu, rtol=1e-13, atol=1e-13)
    hessians = autograd.jacobian(autograd.jacobian(fun))(theta)  # (n, p, p)
    assert np.allclose(
        output_map.second_derivative(theta, v, w),
        np.einsum("jab,a,b->j", hessians, v, w),
        rtol=1e-12,
        atol=1e-12,
    )
    assert np.allclose(
        output_map.weighted_hessian_vector(theta, nu, v),
        np.einsum("j,jab,b->a", nu, hessians, v),
        rtol=1e-12,
        atol=1e-12,
    )


def test_bad_input_is_rejected():
    _, output_map, _ = make(5, 2)
    with pytest.raises(ValueError, match="`params` must be finite"):
        output_map.value(np.array([np.nan, 1.0]))
    with pytest.raises(
        ValueError, match=r"`params` must have shape \(2,\), got shape \(3,\)"
    ):
        output_map.jacobian(np.ones(3))
    with pytest.raises(ValueError, match="`vector` must have shape"):
        output_map.jvp(np.ones(2), np.ones(5))
    with pytest.raises(ValueError, match="`weights` must be finite"):
        output_map.weighted_hessian_vector(np.ones(2), np.full(5, np.inf), np.ones(2))
    with pytest.raises(TypeError, match="`fun` must be callable"):
        AutogradOutputMap(3.0, 2)
    with pytest.raises(ValueError, match="`n_params` must be >= 1, got 0"):
        AutogradOutputMap(lambda t: t, 0)
    with pytest.raises(ValueError, match="`fun` must return a 1-d array"):
        AutogradOutputMap(lambda t: anp.outer(t, t), 2)
    with pytest.raises(
        ValueError, match=r"`fun` returned shape \(2,\), expected \(4,\)"
    ):
        AutogradOutputMap(lambda t: t, 2, n_outputs=4).value(np.ones(2))
