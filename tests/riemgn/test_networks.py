"""TwoLayerNetwork's analytic derivatives and MLP, against autograd and FD.

The reference output map is written here from the documented formula

    f(x; W) = (alpha / sqrt(m)) sum_i c_i sigma(<w_i, x>)  [- f(x; W0)],

with ``autograd.numpy`` and the network's ``output_weights`` and
``center_params``, independently of the analytic code under test.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest

from manifolds import AutogradOutputMap, OutputMap
from riemgn.networks import (
    ACTIVATIONS,
    MLP,
    TwoLayerNetwork,
    TwoLayerOutputMap,
)

SCHEMES = ("standard", "symmetric", "centered")
# (n, d, m): both have even width, so every scheme applies.
SIZES = ((5, 3, 4), (11, 2, 6))
FD_STEP = 1e-5


def relative_error(actual, reference) -> float:
    actual, reference = np.ravel(actual), np.ravel(reference)
    return float(np.linalg.norm(actual - reference) / np.linalg.norm(reference))


def reference_map(net: TwoLayerNetwork, X: np.ndarray) -> AutogradOutputMap:
    """The same network, written from the formula with autograd.numpy."""
    m, d = net.width, net.input_dim
    c = np.array(net.output_weights)
    sigma = net.activation.autograd_value
    scale = net.alpha / np.sqrt(m)

    def raw(params):
        W = anp.reshape(params, (m, d))
        return scale * anp.dot(sigma(anp.dot(X, anp.transpose(W))), c)

    if net.center_params is None:
        return AutogradOutputMap(raw, m * d, n_outputs=X.shape[0])
    offset = np.asarray(raw(np.array(net.center_params)))
    return AutogradOutputMap(lambda p: raw(p) - offset, m * d, n_outputs=X.shape[0])


def make_problem(activation, scheme, size, *, seed=0, alpha=1.7):
    n, d, m = size
    rng = np.random.default_rng(seed)
    net = TwoLayerNetwork(d, m, alpha=alpha, activation=activation)
    theta0 = net.init_params(rng, scheme=scheme)
    X = rng.standard_normal((n, d))
    return net, theta0, X, rng


def evaluation_points(theta0, rng):
    """theta0 itself (special for symmetric/centered) and a generic point."""
    return (theta0, theta0 + 0.3 * rng.standard_normal(theta0.shape))


def finite_difference_jacobian(output_map, params, h=FD_STEP):
    basis = np.eye(params.size)
    columns = [
        (output_map.value(params + h * e) - output_map.value(params - h * e)) / (2 * h)
        for e in basis
    ]
    return np.stack(columns, axis=1)


# --- analytic derivatives ---------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "n{}-d{}-m{}".format(*s))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_analytic_matches_autograd(activation, scheme, size):
    net, theta0, X, rng = make_problem(activation, scheme, size)
    output_map, reference = net.output_map(X), reference_map(net, X)
    n, p = output_map.n_outputs, output_map.n_params
    assert (n, p) == (reference.n_outputs, reference.n_params)
    rtol = 1e-10
    for theta in evaluation_points(theta0, rng):
        v, w = rng.standard_normal((2, p))
        nu = rng.standard_normal(n)
        # F(theta0) = 0 for symmetric/centered: compare on the scale of alpha.
        value_scale = max(np.linalg.norm(reference.value(theta)), net.alpha)
        assert (
            np.linalg.norm(output_map.value(theta) - reference.value(theta))
            <= rtol * value_scale
        )
        assert (
            relative_error(output_map.jacobian(theta), reference.jacobian(theta))
            <= rtol
        )
        assert relative_error(output_map.jvp(theta, v), reference.jvp(theta, v)) <= rtol
        assert (
            relative_error(output_map.vjp(theta, nu), reference.vjp(theta, nu)) <= rtol
        )
        assert (
            relative_error(
                output_map.second_derivative(theta, v, w),
                reference.second_derivative(theta, v, w),
            )
            <= rtol
        )
        assert (
            relative_error(
                output_map.weighted_hessian_vector(theta, nu, v),
                reference.weighted_hessian_vector(theta, nu, v),
            )
            <= rtol
        )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "n{}-d{}-m{}".format(*s))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_analytic_matches_finite_differences(activation, scheme, size):
    net, theta0, X, rng = make_problem(activation, scheme, size, seed=1)
    F = net.output_map(X)
    n, p = F.n_outputs, F.n_params
    h, rtol = FD_STEP, 1e-8
    for theta in evaluation_points(theta0, rng):
        v, w = rng.standard_normal((2, p))
        nu = rng.standard_normal(n)
        J_fd = finite_difference_jacobian(F, theta)
        assert relative_error(F.jacobian(theta), J_fd) <= rtol
        jvp_fd = (F.value(theta + h * v) - F.value(theta - h * v)) / (2 * h)
        assert relative_error(F.jvp(theta, v), jvp_fd) <= rtol
        assert relative_error(F.vjp(theta, nu), J_fd.T @ nu) <= rtol
        d2_fd = (F.jvp(theta + h * w, v) - F.jvp(theta - h * w, v)) / (2 * h)
        assert relative_error(F.second_derivative(theta, v, w), d2_fd) <= rtol
        hv_fd = (F.vjp(theta + h * v, nu) - F.vjp(theta - h * v, nu)) / (2 * h)
        assert relative_error(F.weighted_hessian_vector(theta, nu, v), hv_fd) <= rtol


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_neural_tangent_kernel_closed_form(activation, scheme):
    net, theta0, X, rng = make_problem(activation, scheme, (9, 3, 6), seed=2)
    F = net.output_map(X)
    for theta in evaluation_points(theta0, rng):
        J = F.jacobian(theta)
        K = F.neural_tangent_kernel(theta)
        assert K.shape == (9, 9)
        assert relative_error(K, J @ J.T) <= 1e-12
        np.testing.assert_array_equal(K, K.T)


def test_second_derivative_is_symmetric_and_consistent():
    # <nu, D^2F[v, w]> = <H_nu v, w> = <H_nu w, v>.
    net, theta, X, rng = make_problem("silu", "standard", (7, 3, 5), seed=3)
    F = net.output_map(X)
    v, w = rng.standard_normal((2, F.n_params))
    nu = rng.standard_normal(F.n_outputs)
    d2 = nu @ F.second_derivative(theta, v, w)
    assert nu @ F.second_derivative(theta, w, v) == pytest.approx(d2, rel=1e-13)
    assert F.weighted_hessian_vector(theta, nu, v) @ w == pytest.approx(d2, rel=1e-12)
    assert F.weighted_hessian_vector(theta, nu, w) @ v == pytest.approx(d2, rel=1e-12)


def test_value_scales_linearly_with_alpha():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 2))
    maps = {}
    for alpha in (1.0, 8.0):
        net = TwoLayerNetwork(2, 4, alpha=alpha, activation="tanh")
        theta = net.init_params(np.random.default_rng(5))
        maps[alpha] = net.output_map(X)
    np.testing.assert_allclose(
        maps[8.0].value(theta), 8.0 * maps[1.0].value(theta), rtol=1e-14
    )


def test_output_map_implements_protocol():
    net, theta, X, _ = make_problem("tanh", "standard", (4, 2, 3))
    output_map = net.output_map(X)
    assert isinstance(output_map, TwoLayerOutputMap)
    assert isinstance(output_map, OutputMap)
    assert (output_map.n_outputs, output_map.n_params) == (4, 6)
    assert net.n_params == 6
    for array in (
        output_map.value(theta),
        output_map.jacobian(theta),
        output_map.vjp(theta, np.ones(4)),
    ):
        assert array.dtype == np.float64


# --- initialization geometry ------------------------------------------------

RANK_SIZE = (20, 2, 4)  # n = 20 > p = 8, so full column rank is possible


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_symmetric_init_is_zero_and_rank_deficient(activation):
    net, theta0, X, _ = make_problem(activation, "symmetric", RANK_SIZE)
    m, d = net.width, net.input_dim
    W = theta0.reshape(m, d)
    np.testing.assert_array_equal(W[: m // 2], W[m // 2 :])
    np.testing.assert_array_equal(
        net.output_weights[: m // 2], -net.output_weights[m // 2 :]
    )
    F = net.output_map(X)
    np.testing.assert_allclose(F.value(theta0), 0.0, atol=1e-14)
    assert np.linalg.matrix_rank(F.jacobian(theta0)) <= net.n_params // 2


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_centered_init_is_zero_and_full_rank(activation):
    net, theta0, X, _ = make_problem(activation, "centered", RANK_SIZE)
    np.testing.assert_array_equal(net.center_params, theta0)
    F = net.output_map(X)
    np.testing.assert_array_equal(F.value(theta0), 0.0)
    assert np.linalg.matrix_rank(F.jacobian(theta0)) == net.n_params
    # The offset is state of the network, not an alias of the returned array.
    theta0[0] += 1.0
    assert net.center_params[0] != theta0[0]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_standard_init_has_full_column_rank(activation):
    net, theta0, X, _ = make_problem(activation, "standard", RANK_SIZE)
    assert net.center_params is None
    F = net.output_map(X)
    assert np.linalg.norm(F.value(theta0)) > 0
    assert np.linalg.matrix_rank(F.jacobian(theta0)) == net.n_params
    assert set(np.unique(net.output_weights)) <= {-1.0, 1.0}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_init_is_reproducible(scheme):
    draws = []
    for seed in (7, 7, 8):
        net = TwoLayerNetwork(3, 6, alpha=1.0, activation="erf")
        params = net.init_params(np.random.default_rng(seed), scheme=scheme)
        assert params.shape == (18,)
        assert params.dtype == np.float64
        assert net.scheme == scheme
        draws.append((params, net.output_weights))
    np.testing.assert_array_equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(draws[0][1], draws[1][1])
    assert not np.array_equal(draws[0][0], draws[2][0])


def test_output_map_snapshots_network_state():
    net, theta0, X, _ = make_problem("gelu", "centered", (6, 2, 4))
    F = net.output_map(X)
    before = F.value(theta0)
    X[0, 0] += 1.0  # the map holds its own copy of X
    net.init_params(np.random.default_rng(99), scheme="standard")
    np.testing.assert_array_equal(F.value(theta0), before)
    assert net.center_params is None


# --- MLP ----------------------------------------------------------------------


@pytest.mark.parametrize("layer_sizes", [(3, 5, 4, 1), (2, 6, 1)])
@pytest.mark.parametrize("activation", ["tanh", "gelu", "softplus"])
def test_mlp_jacobian_matches_finite_differences(activation, layer_sizes):
    rng = np.random.default_rng(10)
    net = MLP(layer_sizes, activation=activation, alpha=1.3)
    theta = net.init_params(rng)
    assert theta.shape == (net.n_params,)
    assert net.n_params == sum(
        a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    )
    F = net.output_map(rng.standard_normal((7, layer_sizes[0])))
    assert isinstance(F, OutputMap)
    assert (
        relative_error(F.jacobian(theta), finite_difference_jacobian(F, theta)) < 1e-8
    )


def test_mlp_linear_model_formula():
    rng = np.random.default_rng(11)
    net = MLP((4, 1), alpha=2.5, activation="tanh")
    theta = net.init_params(rng)
    X = rng.standard_normal((6, 4))
    np.testing.assert_allclose(
        net.output_map(X).value(theta), 2.5 * X @ theta / 2.0, rtol=1e-14
    )


def test_mlp_two_layer_formula():
    # (d, h, 1): f = alpha * W2 sigma(W1 x / sqrt d) / sqrt h.
    rng = np.random.default_rng(12)
    d, h = 3, 5
    net = MLP((d, h, 1), alpha=0.7, activation="sigmoid")
    theta = net.init_params(rng)
    X = rng.standard_normal((4, d))
    W1, W2 = theta[: h * d].reshape(h, d), theta[h * d :].reshape(1, h)
    hidden = net.activation.value(X @ W1.T / np.sqrt(d))
    expected = 0.7 * (hidden @ W2.T)[:, 0] / np.sqrt(h)
    np.testing.assert_allclose(net.output_map(X).value(theta), expected, rtol=1e-14)


def test_mlp_centered_init_is_zero():
    rng = np.random.default_rng(13)
    net = MLP((3, 4, 4, 1), activation="silu", alpha=1.0)
    theta0 = net.init_params(rng, scheme="centered")
    np.testing.assert_array_equal(net.center_params, theta0)
    F = net.output_map(rng.standard_normal((5, 3)))
    np.testing.assert_array_equal(F.value(theta0), 0.0)
    assert np.linalg.norm(F.value(theta0 + 0.1)) > 0


def test_mlp_init_is_reproducible():
    a = MLP((2, 3, 1)).init_params(np.random.default_rng(3))
    b = MLP((2, 3, 1)).init_params(np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("layer_sizes", "error", "match"),
    [
        ((3,), ValueError, "at least 2 entries"),
        ((3, 4, 2), ValueError, "must end with 1"),
        ((3, 0, 1), ValueError, "entries must be >= 1"),
        ((3, 2.5, 1), TypeError, "must hold integers"),
        (3, TypeError, "layer_sizes"),
    ],
)
def test_mlp_layer_sizes_validation(layer_sizes, error, match):
    with pytest.raises(error, match=match):
        MLP(layer_sizes)


def test_mlp_rejects_symmetric_scheme():
    with pytest.raises(ValueError, match="only defined for TwoLayerNetwork"):
        MLP((2, 4, 1)).init_params(np.random.default_rng(0), scheme="symmetric")


def test_mlp_bad_inputs():
    net = MLP((3, 4, 1), alpha=1.0)
    with pytest.raises(RuntimeError, match="init_params"):
        net.output_map(np.ones((2, 3)))
    net.init_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"`X` must have shape \(n_samples, 3\)"):
        net.output_map(np.ones((2, 4)))
    with pytest.raises(ValueError, match="`X` must be finite"):
        net.output_map(np.array([[1.0, np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`scheme` must be one of"):
        net.init_params(np.random.default_rng(0), scheme="orthogonal")
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        net.init_params(0)
    with pytest.raises(ValueError, match="`alpha` must be > 0, got 0.0"):
        MLP((3, 1), alpha=0.0)


# --- bad inputs ---------------------------------------------------------------


@pytest.fixture
def initialized():
    net = TwoLayerNetwork(3, 4, alpha=1.0, activation="tanh")
    theta = net.init_params(np.random.default_rng(0))
    return net, theta, net.output_map(np.ones((5, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(initialized, bad):
    net, _, _ = initialized
    X = np.ones((5, 3))
    X[2, 1] = bad
    with pytest.raises(ValueError, match="`X` must be finite"):
        net.output_map(X)


@pytest.mark.parametrize(
    "X", [np.ones((5, 2)), np.ones(3), np.ones((0, 3))], ids=["wrong-d", "1d", "empty"]
)
def test_wrong_X_shape(initialized, X):
    net, _, _ = initialized
    shape = str(X.shape).replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=rf"`X` must have shape .* got shape {shape}"):
        net.output_map(X)


@pytest.mark.parametrize("method", ["value", "jacobian", "neural_tangent_kernel"])
def test_nan_params(initialized, method):
    _, theta, output_map = initialized
    theta = theta.copy()
    theta[3] = np.nan
    with pytest.raises(ValueError, match="`params` must be finite"):
        getattr(output_map, method)(theta)


def test_wrong_params_and_vector_shapes(initialized):
    _, theta, F = initialized
    with pytest.raises(ValueError, match=r"`params` must have shape \(12,\)"):
        F.value(theta[:-1])
    with pytest.raises(ValueError, match="`vector` must be finite"):
        F.jvp(theta, np.full(12, np.nan))
    with pytest.raises(ValueError, match=r"`cotangent` must have shape \(5,\)"):
        F.vjp(theta, np.ones(4))
    with pytest.raises(ValueError, match=r"`vector_b` must have shape \(12,\)"):
        F.second_derivative(theta, np.ones(12), np.ones(3))
    with pytest.raises(ValueError, match="`weights` must be finite"):
        F.weighted_hessian_vector(theta, np.full(5, np.inf), np.ones(12))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"width": 0}, ValueError, "`width` must be >= 1, got 0"),
        ({"input_dim": 0}, ValueError, "`input_dim` must be >= 1, got 0"),
        ({"width": 2.0}, TypeError, "`width` must be an integer"),
        ({"alpha": 0.0}, ValueError, "`alpha` must be > 0, got 0.0"),
        ({"alpha": -1.0}, ValueError, "`alpha` must be > 0, got -1.0"),
        ({"alpha": np.nan}, ValueError, "`alpha` must be finite, got nan"),
        ({"activation": "relu"}, ValueError, "`activation` must be one of"),
    ],
)
def test_constructor_validation(kwargs, error, match):
    arguments = {"input_dim": 3, "width": 4, "alpha": 1.0, "activation": "tanh"}
    arguments.update(kwargs)
    input_dim, width = arguments.pop("input_dim"), arguments.pop("width")
    with pytest.raises(error, match=match):
        TwoLayerNetwork(input_dim, width, **arguments)


def test_unknown_scheme():
    net = TwoLayerNetwork(2, 4)
    with pytest.raises(
        ValueError, match=r"`scheme` must be one of \['standard', 'symmetric', 'cen"
    ):
        net.init_params(np.random.default_rng(0), scheme="xavier")


def test_symmetric_needs_even_width():
    net = TwoLayerNetwork(2, 5)
    with pytest.raises(ValueError, match="`width` must be even, got width=5"):
        net.init_params(np.random.default_rng(0), scheme="symmetric")


def test_output_map_before_init_params():
    net = TwoLayerNetwork(2, 4)
    with pytest.raises(RuntimeError, match="call `init_params"):
        net.output_map(np.ones((3, 2)))


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0)])
def test_rng_must_be_generator(rng):
    net = TwoLayerNetwork(2, 4)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        net.init_params(rng)


def test_output_map_rejects_bad_output_weights():
    with pytest.raises(ValueError, match="`output_weights` must hold only"):
        TwoLayerOutputMap(np.ones((2, 2)), [1.0, 0.5], alpha=1.0, activation="tanh")


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.ones((3, 2)), []), {}, r"`output_weights` must have at least one entry"),
        ((np.ones((3, 2)), np.ones((2, 1))), {}, r"`output_weights` must have shape"),
        ((np.ones((3, 2)), [1.0, np.nan]), {}, "`output_weights` must be finite"),
        ((np.ones((3, 0)), [1.0]), {}, r"`X` must have at least one row and one "),
        ((np.ones((0, 2)), [1.0]), {}, r"`X` .* got shape \(0, 2\)"),
        ((np.ones(3), [1.0]), {}, r"`X` must be a 2-d array, got .* shape \(3,\)"),
        ((np.array([[1.0, np.inf]]), [1.0]), {}, "`X` must be finite"),
        ((np.ones((3, 2)), [1.0]), {"alpha": 0.0}, "`alpha` must be > 0, got 0.0"),
        ((np.ones((3, 2)), [1.0]), {"alpha": np.inf}, "`alpha` must be finite"),
        (
            (np.ones((3, 2)), [1.0, -1.0]),
            {"center_params": np.ones(3)},
            r"`center_params` must have shape \(4,\), got shape \(3,\)",
        ),
        (
            (np.ones((3, 2)), [1.0, -1.0]),
            {"center_params": [0.0, 1.0, np.nan, 0.0]},
            "`center_params` must be finite",
        ),
    ],
    ids=[
        "no-neurons",
        "2d-weights",
        "nan-weights",
        "no-columns",
        "no-rows",
        "1d-X",
        "inf-X",
        "zero-alpha",
        "inf-alpha",
        "center-shape",
        "nan-center",
    ],
)
def test_output_map_constructor_validation(args, kwargs, match):
    # An empty output_weights used to raise a bare ZeroDivisionError
    # (alpha / sqrt(0)), and an X with no columns was accepted (p = 0).
    arguments = {"alpha": 1.0, "activation": "tanh", **kwargs}
    with pytest.raises(ValueError, match=match):
        TwoLayerOutputMap(*args, **arguments)


def test_output_map_constructor_copies_and_works():
    X, c = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])
    F = TwoLayerOutputMap(X, c, alpha=2, activation="erf")
    X[0, 0], c[0] = 99.0, -1.0
    assert (F.n_outputs, F.n_params, F.alpha) == (3, 4, 2.0)
    assert F.inputs[0, 0] == 0.0 and F.output_weights[0] == 1.0
    np.testing.assert_array_equal(F.value(np.zeros(4)), 0.0)


def _saturated_point(F, rng, scale):
    theta = scale * rng.standard_normal(F.n_params)
    Z = F.inputs @ theta.reshape(-1, F.inputs.shape[1]).T
    return theta, np.abs(Z).min()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    ("alpha", "param_scale"),
    [(1e6, 1.0), (1e-9, 1.0), (1.0, 1e6), (1e6, 1e6), (1.0, 1e160)],
    ids=[
        "huge-alpha",
        "tiny-alpha",
        "saturated",
        "huge-alpha-saturated",
        "z-squared-overflows",
    ],
)
def test_output_map_extreme_scales_are_finite_and_correct(
    activation, alpha, param_scale
):
    # filterwarnings = error: no overflow warning anywhere, including in the
    # autograd reference (whose tanh derivative used to overflow in cosh).
    rng = np.random.default_rng(20)
    n, d, m = 5, 3, 4
    net = TwoLayerNetwork(d, m, alpha=alpha, activation=activation)
    net.init_params(rng)
    X = rng.standard_normal((n, d))
    F, reference = net.output_map(X), reference_map(net, X)
    theta, min_abs_z = _saturated_point(F, rng, param_scale)
    if param_scale > 1:
        assert min_abs_z > 40  # every neuron saturated on every input
    v, w = rng.standard_normal((2, F.n_params))
    nu = rng.standard_normal(n)
    results = {
        "value": (F.value(theta), reference.value(theta)),
        "jacobian": (F.jacobian(theta), reference.jacobian(theta)),
        "jvp": (F.jvp(theta, v), reference.jvp(theta, v)),
        "vjp": (F.vjp(theta, nu), reference.vjp(theta, nu)),
        "second_derivative": (
            F.second_derivative(theta, v, w),
            reference.second_derivative(theta, v, w),
        ),
        "weighted_hessian_vector": (
            F.weighted_hessian_vector(theta, nu, v),
            reference.weighted_hessian_vector(theta, nu, v),
        ),
    }
    K = F.neural_tangent_kernel(theta)
    assert np.all(np.isfinite(K))
    J = results["jacobian"][0]
    np.testing.assert_allclose(K, J @ J.T, rtol=1e-12, atol=1e-12 * alpha**2)
    for name, (actual, expected) in results.items():
        assert np.all(np.isfinite(actual)), name
        # Entries scale like alpha (times |theta| for the value of the
        # unbounded activations); compare on that scale.
        atol = 1e-12 * max(alpha, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=atol)
    if param_scale > 1:
        # Saturated neurons: sigma'' = 0, and sigma' = 0 for bounded sigma.
        for name in ("second_derivative", "weighted_hessian_vector"):
            np.testing.assert_array_equal(results[name][0], 0.0)
        if activation in ("tanh", "sigmoid", "erf"):
            np.testing.assert_array_equal(J, 0.0)


def test_mlp_saturated_tanh_is_finite_and_warning_free():
    # MLP differentiates Activation.autograd_value; autograd's own tanh rule
    # overflowed in cosh (RuntimeWarning, NaN second derivative) for |z| > 710.
    rng = np.random.default_rng(21)
    net = MLP((3, 4, 1), activation="tanh", alpha=1.0)
    theta = 1e6 * net.init_params(rng)
    F = net.output_map(rng.standard_normal((5, 3)))
    v, w = rng.standard_normal((2, net.n_params))
    nu = rng.standard_normal(5)
    for array in (
        F.value(theta),
        F.jacobian(theta),
        F.jvp(theta, v),
        F.vjp(theta, nu),
        F.second_derivative(theta, v, w),
        F.weighted_hessian_vector(theta, nu, v),
    ):
        assert np.all(np.isfinite(array))
    # Only the output layer's gradient survives: h_1 = +-1 for every input.
    np.testing.assert_array_equal(F.jacobian(theta)[:, :12], 0.0)
    np.testing.assert_array_equal(F.second_derivative(theta, v, w), 0.0)
