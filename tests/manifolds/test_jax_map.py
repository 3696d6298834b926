"""JaxOutputMap: any JAX model as an output map, checked against the analytic one."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from manifolds import JaxOutputMap, OutputManifold, OutputMap, check_manifold
from riemgn.networks import TwoLayerNetwork

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

N, D, M = 20, 3, 4  # samples, input dimension, width: p = 12 < n


def two_layer_fun(X, output_weights, alpha):
    """f(x; W) = alpha / sqrt(m) sum_i c_i tanh(<w_i, x>), as in TwoLayerOutputMap."""
    scale = alpha / np.sqrt(len(output_weights))

    def fun(params):
        return scale * jnp.tanh(X @ params["W"].T) @ output_weights

    return fun


def module_fun(params):
    """A module-level model, so that its map pickles."""
    return jnp.tanh(params["w"] * jnp.arange(1.0, 6.0)) + params["b"]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    network = TwoLayerNetwork(D, M, alpha=1.5, activation="tanh")
    theta = network.init_params(rng, "standard")
    analytic = network.output_map(X)
    fun = two_layer_fun(X, analytic.output_weights, analytic.alpha)
    jax_map = JaxOutputMap(fun, {"W": theta.reshape(M, D)})
    return analytic, jax_map, theta, rng


def close(a, b, rtol=1e-10):
    return np.linalg.norm(a - b) <= rtol * max(np.linalg.norm(b), 1e-300)


def test_jax_map_agrees_with_the_analytic_two_layer_map(problem):
    analytic, jax_map, theta, rng = problem
    assert isinstance(jax_map, OutputMap)
    assert (jax_map.n_outputs, jax_map.n_params) == (N, M * D)
    # Row-major W, as TwoLayerOutputMap flattens it.
    assert np.array_equal(jax_map.ravel({"W": theta.reshape(M, D)}), theta)
    v, w = rng.standard_normal((2, M * D))
    nu = rng.standard_normal(N)
    V, C = rng.standard_normal((M * D, 3)), rng.standard_normal((N, 3))
    J = analytic.jacobian(theta)
    pairs = {
        "value": (jax_map.value(theta), analytic.value(theta)),
        "jacobian": (jax_map.jacobian(theta), J),
        "jvp": (jax_map.jvp(theta, v), analytic.jvp(theta, v)),
        "vjp": (jax_map.vjp(theta, nu), analytic.vjp(theta, nu)),
        "second_derivative": (
            jax_map.second_derivative(theta, v, w),
            analytic.second_derivative(theta, v, w),
        ),
        "weighted_hessian_vector": (
            jax_map.weighted_hessian_vector(theta, nu, v),
            analytic.weighted_hessian_vector(theta, nu, v),
        ),
        "jvp_batch": (jax_map.jvp_batch(theta, V), J @ V),
        "vjp_batch": (jax_map.vjp_batch(theta, C), J.T @ C),
    }
    for name, (got, expected) in pairs.items():
        assert got.dtype == np.float64 and got.shape == expected.shape, name
        assert close(got, expected), (name, np.linalg.norm(got - expected))
    # The Jacobian is the caller's to overwrite.
    J_jax = pairs["jacobian"][0]
    J_jax[:] = 0.0
    assert close(jax_map.jacobian(theta), J)


def test_wide_map_uses_reverse_mode_and_agrees():
    # p > n: the Jacobian comes from jacrev; it must still be exact.
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 8))
    jax_map = JaxOutputMap(lambda t: jnp.sin(A @ t), np.zeros(8))
    theta = rng.standard_normal(8)
    expected = np.cos(A @ theta)[:, None] * A
    assert close(jax_map.jacobian(theta), expected, 1e-13)


def test_unravel_inverts_ravel(problem):
    _, jax_map, theta, _ = problem
    tree = jax_map.unravel(theta)
    assert set(tree) == {"W"} and tree["W"].shape == (M, D)
    assert tree["W"].dtype == np.float64
    assert np.array_equal(jax_map.ravel(tree), theta)
    with pytest.raises(ValueError, match="`params` must have the structure"):
        jax_map.ravel({"V": theta.reshape(M, D)})
    with pytest.raises(ValueError, match="`params` must have the leaf shapes"):
        jax_map.ravel({"W": theta.reshape(D, M)})


def test_check_manifold_slopes(problem):
    _, jax_map, theta, _ = problem
    manifold = OutputManifold(jax_map, theta, rng=np.random.default_rng(2))
    result = check_manifold(manifold, rng=np.random.default_rng(3))
    # A Taylor slope may exceed its order; never assert it at the boundary.
    assert result.gradient_slope >= 2.0 - 0.1
    assert result.hessian_slope >= 3.0 - 0.15
    assert result.retraction_slopes["chart"] >= 2.0 - 0.1
    assert result.status == "pass", [v for v in result.verdicts() if v.status != "pass"]


@pytest.mark.parametrize("optimizer", ["SteepestDescent", "TrustRegions"])
def test_pymanopt_jax_backend_on_the_manifold(problem, optimizer):
    import pymanopt

    analytic, jax_map, theta, rng = problem
    manifold = OutputManifold(jax_map, theta, rng=np.random.default_rng(4))
    target = analytic.value(theta) + 0.3 * rng.standard_normal(N)

    @pymanopt.function.jax(manifold)
    def cost(point):
        return 0.5 * jnp.sum((point - target) ** 2)

    problem_ = pymanopt.Problem(manifold, cost)
    start = manifold.point(theta)
    solver = getattr(pymanopt.optimizers, optimizer)(max_iterations=5, verbosity=0)
    result = solver.run(problem_, initial_point=start)
    assert result.cost < 0.99 * problem_.cost(start)
    assert np.all(np.isfinite(result.point))


def test_bad_fun_and_params_are_named():
    good = np.ones(3)
    with pytest.raises(TypeError, match="`fun` must be callable"):
        JaxOutputMap(3.0, good)
    with pytest.raises(ValueError, match="`fun` must return a 1-d array"):
        JaxOutputMap(lambda t: jnp.outer(t, t), good)
    with pytest.raises(ValueError, match="`fun` must return a 1-d array"):
        JaxOutputMap(lambda t: jnp.sum(t), good)
    with pytest.raises(TypeError, match="`fun` must return a real floating"):
        JaxOutputMap(lambda t: (t > 0).astype(jnp.int32), good)
    with pytest.raises(TypeError, match="`fun` must return a real floating"):
        JaxOutputMap(lambda t: t * 1j, good)
    with pytest.raises(ValueError, match="`fun` must return finite outputs"):
        JaxOutputMap(lambda t: jnp.log(t - 2.0), good)
    with pytest.raises(TypeError, match="`fun` computes in float32"):
        JaxOutputMap(lambda t: jnp.tanh(t.astype(jnp.float32)).astype(float), good)
    data32 = jnp.asarray(np.ones((4, 3)), dtype=jnp.float32)
    with pytest.raises(TypeError, match="`fun` computes in float32"):
        JaxOutputMap(lambda t: data32 @ t, good)
    with pytest.raises(TypeError, match="`params` must be a pytree of real floating"):
        JaxOutputMap(lambda t: t, {"a": np.arange(3)})
    with pytest.raises(TypeError, match="`params`"):
        JaxOutputMap(lambda t: t, "abc")
    with pytest.raises(ValueError, match="`params` must be finite"):
        JaxOutputMap(lambda t: t, {"a": np.array([1.0, np.nan])})
    with pytest.raises(ValueError, match="`params` must be a pytree with at least"):
        JaxOutputMap(lambda t: t, {})


def test_bad_method_arguments_are_named(problem):
    _, jax_map, theta, _ = problem
    with pytest.raises(ValueError, match=r"`params` must have shape \(12,\)"):
        jax_map.value(np.ones(3))
    with pytest.raises(ValueError, match="`vector` must be finite"):
        jax_map.jvp(theta, np.full(12, np.inf))
    with pytest.raises(ValueError, match="`cotangent` must have shape"):
        jax_map.vjp(theta, np.ones(12))
    with pytest.raises(ValueError, match="`weights` must be finite"):
        jax_map.weighted_hessian_vector(theta, np.full(N, np.nan), theta)
    with pytest.raises(ValueError, match=r"`vectors` must have shape \(12, k\)"):
        jax_map.jvp_batch(theta, np.ones((3, 2)))
    with pytest.raises(ValueError, match="`cotangents` must be a 2-d array"):
        jax_map.vjp_batch(theta, np.ones(N))
    # Finite input, non-finite output: named, not returned.
    overflow = JaxOutputMap(lambda t: jnp.exp(t), np.zeros(2))
    with pytest.raises(ValueError, match="NaN or inf"):
        overflow.value(np.array([1e3, 0.0]))


def test_pickle_recompiles_and_a_lambda_is_refused():
    jax_map = JaxOutputMap(module_fun, {"w": np.array(0.5), "b": np.array(0.1)})
    copy = pickle.loads(pickle.dumps(jax_map))
    theta = np.array([0.2, -0.7])
    assert np.array_equal(copy.jacobian(theta), jax_map.jacobian(theta))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(JaxOutputMap(lambda t: jnp.tanh(t), np.ones(2)))


def test_missing_jax_is_one_clear_line():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["jax"] = None
        from manifolds import JaxOutputMap
        try:
            JaxOutputMap(lambda t: t, [1.0])
        except ImportError as error:
            print(repr(str(error)), error.__cause__ is None)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == (
        "'JaxOutputMap needs JAX: pip install \"riemgn[jax]\"' True"
    )


def test_krylov_operator_uses_the_batched_products(problem):
    from manifolds import linalg

    if not hasattr(linalg, "JacobianOperator"):  # the matrix-free core
        pytest.skip("manifolds.linalg.JacobianOperator is not available")
    _, jax_map, theta, rng = problem
    operator = linalg.JacobianOperator(jax_map, theta)
    V, C = rng.standard_normal((M * D, 4)), rng.standard_normal((N, 4))
    J = jax_map.jacobian(theta)
    assert close(operator.matmat(V), J @ V)
    assert close(operator.rmatmat(C), J.T @ C)
    g = rng.standard_normal(N)
    solution = linalg.factorize(operator).pinv(g)
    assert close(solution, np.linalg.lstsq(J, g, rcond=None)[0], 1e-8)
