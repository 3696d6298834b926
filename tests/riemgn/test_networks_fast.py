"""TwoLayerOutputMap's fast paths: bit for bit the reference formulas.

The output map evaluates the activation once per point and shares it between
its methods (a one-point cache keyed on an exact copy of ``params``), writes
the Jacobian in place and keeps X X^T for the kernel. None of this may change
a number: every result here is compared with ``np.array_equal`` to the
formulas the map used before (written out below, each from scratch), at
several sizes, in several call orders, and after the caller changes its
``params`` array in place.
"""

from __future__ import annotations

import copy
import math
import pickle
import tracemalloc

import numpy as np
import pytest

from manifolds.validation import all_finite, as_finite_array, as_finite_vector
from riemgn.networks import ACTIVATIONS, TwoLayerNetwork, get_activation
from riemgn.networks.activations import _Evaluation

SCHEMES = ("standard", "symmetric", "centered")
# (n, d, m): tiny (as in verify), middling, and wide enough for BLAS blocking.
SIZES = ((40, 2, 2), (13, 3, 6), (150, 9, 40))


class Reference:
    """The output map's formulas, recomputed from scratch at every call."""

    def __init__(self, F):
        self.X, self.c, self.F = F.inputs, F.output_weights, F
        self.act = F.activation
        self.scale = F.alpha / math.sqrt(self.c.size)

    def _W(self, params):
        return np.asarray(params, dtype=np.float64).reshape(self.c.size, -1)

    def _vectors(self, vector):
        return self.X @ self._W(vector).T

    def value(self, params):
        out = self.scale * (self.act.value(self.X @ self._W(params).T) @ self.c)
        return out if self.F.offset is None else out - self.F.offset

    def jacobian(self, params):
        S = self.act.derivative(self.X @ self._W(params).T)
        coef = self.scale * S * self.c
        n, d = self.X.shape
        return (coef[:, :, None] * self.X[:, None, :]).reshape(n, self.c.size * d)

    def jvp(self, params, v):
        S = self.act.derivative(self.X @ self._W(params).T)
        return self.scale * ((S * self._vectors(v)) @ self.c)

    def vjp(self, params, u):
        S = self.act.derivative(self.X @ self._W(params).T)
        coef = self.scale * (u[:, None] * S) * self.c
        return (coef.T @ self.X).ravel()

    def second_derivative(self, params, v, w):
        S2 = self.act.second_derivative(self.X @ self._W(params).T)
        return self.scale * ((S2 * self._vectors(v) * self._vectors(w)) @ self.c)

    def weighted_hessian_vector(self, params, nu, v):
        S2 = self.act.second_derivative(self.X @ self._W(params).T)
        coef = self.scale * (nu[:, None] * S2 * self._vectors(v)) * self.c
        return (coef.T @ self.X).ravel()

    def neural_tangent_kernel(self, params):
        S = self.act.derivative(self.X @ self._W(params).T)
        return self.scale**2 * (S @ S.T) * (self.X @ self.X.T)


def problem(activation="tanh", scheme="standard", size=(13, 3, 6), seed=0):
    n, d, m = size
    rng = np.random.default_rng(seed)
    net = TwoLayerNetwork(d, m, alpha=1.7, activation=activation)
    theta = net.init_params(rng, scheme=scheme)
    F = net.output_map(rng.standard_normal((n, d)))
    return F, Reference(F), theta, rng


def calls(F, rng):
    """Every method, as ``name -> (arguments after params)``."""
    n, p = F.n_outputs, F.n_params
    v, w = rng.standard_normal((2, p))
    nu = rng.standard_normal(n)
    return {
        "value": (),
        "jacobian": (),
        "jvp": (v,),
        "vjp": (nu,),
        "second_derivative": (v, w),
        "weighted_hessian_vector": (nu, v),
        "neural_tangent_kernel": (),
    }


def assert_same(F, reference, name, params, arguments):
    actual = getattr(F, name)(params, *arguments)
    expected = getattr(reference, name)(params, *arguments)
    assert actual.shape == expected.shape, name
    assert np.array_equal(actual, expected), (
        f"{name}: differs from the reference by {np.max(np.abs(actual - expected)):.3e}"
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "n{}-d{}-m{}".format(*s))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_method_is_bit_identical_in_any_order(activation, scheme, size):
    F, reference, theta0, rng = problem(activation, scheme, size)
    arguments = calls(F, rng)
    names = list(arguments)
    points = (theta0, theta0 + 0.3 * rng.standard_normal(theta0.shape))
    for theta in points:
        # Each method first at a new point (it computes sigma, sigma' or
        # sigma'' itself), then all of them again (cache hits), in a shuffled
        # order, then on a fresh map.
        for name in names:
            F._point = None
            assert_same(F, reference, name, theta, arguments[name])
        for name in rng.permutation(names):
            assert_same(F, reference, name, theta, arguments[name])
        for name in rng.permutation(names):
            assert_same(F, reference, name, theta.copy(), arguments[name])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_evaluation_matches_the_activation_bit_for_bit(activation):
    act = get_activation(activation)
    rng = np.random.default_rng(1)
    z = np.concatenate(
        [
            rng.standard_normal(200) * 3,
            [0.0, -0.0, 1e-300, -1e-300, 5e-324, 0.5, 19.0, -19.0, 40.0, 1e3],
            [-1e3, 1e154, -1e200, np.finfo(float).max, -np.finfo(float).max],
        ]
    )
    for order in ((0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)):
        evaluation = _Evaluation(act, z)
        got = {}
        for k in order:
            got[k] = (
                evaluation.value,
                evaluation.derivative,
                evaluation.second_derivative,
            )[k]()
        assert np.array_equal(got[0], act.value(z))
        assert np.array_equal(got[1], act.derivative(z))
        assert np.array_equal(got[2], act.second_derivative(z))


def test_tanh_shares_one_tanh_evaluation(monkeypatch):
    act = get_activation("tanh")
    z = np.linspace(-3.0, 3.0, 11)
    evaluation = _Evaluation(act, z)
    evaluation.value()
    # sigma' and sigma'' from the cached tanh(z): no second evaluation.
    monkeypatch.setattr(np, "tanh", None)
    assert np.array_equal(evaluation.derivative(), 1.0 - act.value(z) ** 2)
    evaluation.second_derivative()


def test_custom_activation_is_evaluated_by_its_own_functions():
    counts = {"value": 0, "derivative": 0, "second": 0}

    def counted(key, fun):
        def wrapped(z):
            counts[key] += 1
            return fun(z)

        return wrapped

    cubic = type(get_activation("tanh"))(
        "cubic",
        value=counted("value", lambda z: z + z**3 / 3),
        derivative=counted("derivative", lambda z: 1 + z**2),
        second_derivative=counted("second", lambda z: 2 * z),
        autograd_value=lambda z: z + z**3 / 3,
    )
    rng = np.random.default_rng(2)
    net = TwoLayerNetwork(3, 4, activation=cubic)
    theta = net.init_params(rng)
    F = net.output_map(rng.standard_normal((6, 3)))
    reference = Reference(F)
    for name, arguments in calls(F, rng).items():
        assert_same(F, reference, name, theta, arguments)
    # The map evaluated each function once at theta (the reference did the
    # rest: once per call).
    F._point = None
    before = dict(counts)
    for name, arguments in calls(F, rng).items():
        getattr(F, name)(theta, *arguments)
    assert {key: counts[key] - before[key] for key in counts} == {
        "value": 1,
        "derivative": 1,
        "second": 1,
    }


def test_cache_follows_the_point():
    F, reference, theta, rng = problem("tanh", "standard", (20, 3, 4))
    other = theta + 0.5 * rng.standard_normal(theta.shape)
    v = rng.standard_normal(theta.size)
    # Alternate between two points: every call must see its own.
    for params in (theta, other, theta, theta, other, other, theta):
        assert_same(F, reference, "value", params, ())
        assert_same(F, reference, "jvp", params, (v,))
    assert_same(F, reference, "jacobian", other, ())
    assert_same(F, reference, "value", theta, ())


def test_params_changed_in_place_after_a_call():
    F, reference, theta, rng = problem("tanh", "standard", (20, 3, 4))
    params = theta.copy()
    F.value(params)
    F.jacobian(params)
    params[2] += 0.25  # the caller reuses its array
    assert_same(F, reference, "value", params, ())
    assert_same(F, reference, "jacobian", params, ())
    params[:] = theta  # and back
    assert_same(F, reference, "jacobian", params, ())
    assert_same(F, reference, "neural_tangent_kernel", params, ())


def test_the_cache_does_not_hold_the_callers_array():
    F, reference, theta, _ = problem("tanh", "standard", (20, 3, 4))
    params = theta.copy()
    F.value(params)
    params[:] = np.nan  # a cached view of params would now be NaN
    assert_same(F, reference, "value", theta, ())
    with pytest.raises(ValueError, match="`params` must be finite"):
        F.jacobian(params)


def test_other_forms_of_the_same_point():
    F, reference, theta, _ = problem("tanh", "standard", (20, 3, 4))
    expected = reference.jacobian(theta)
    F.value(theta)
    wide = np.zeros(2 * theta.size)
    wide[::2] = theta  # a strided view with the same values
    for params in (theta.tolist(), wide[::2], theta.astype(np.float32).astype(float)):
        if np.array_equal(np.asarray(params, dtype=float), theta):
            assert np.array_equal(F.jacobian(params), expected)
    assert np.array_equal(F.jacobian(np.negative(-theta)), expected)


def test_cached_point_still_checks_the_shape():
    F, _, theta, _ = problem("tanh", "standard", (20, 3, 4))
    F.value(theta)
    # The same bytes in another shape are not the point.
    with pytest.raises(ValueError, match=r"`params` must have shape \(12,\)"):
        F.value(theta.reshape(4, 3))
    with pytest.raises(ValueError, match="`params` must have shape"):
        F.jacobian(theta[None, :])


def test_results_are_fresh_writeable_arrays():
    F, reference, theta, rng = problem("tanh", "centered", (20, 3, 4))
    for name, arguments in calls(F, rng).items():
        first = getattr(F, name)(theta, *arguments)
        assert first.flags.writeable, name
        first[...] = 7.0  # must not reach the cache or the next result
        assert_same(F, reference, name, theta, arguments)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("module", [pickle, copy])
def test_pickling_and_copying_leave_the_cache_behind(module, activation):
    F, reference, theta, rng = problem(activation, "centered", (30, 3, 4))
    arguments = calls(F, rng)
    empty = len(pickle.dumps(F))
    for name, args in arguments.items():
        getattr(F, name)(theta, *args)
    assert F._point is not None and F._gram is not None
    assert len(pickle.dumps(F)) == empty  # no cached arrays in the pickle
    clone = pickle.loads(pickle.dumps(F)) if module is pickle else copy.deepcopy(F)
    assert clone._point is None and clone._gram is None
    assert F._point is not None  # the original keeps its cache
    for name, args in arguments.items():
        expected = getattr(reference, name)(theta, *args)
        assert np.array_equal(getattr(clone, name)(theta, *args), expected)


def test_jacobian_makes_no_temporary_of_its_size():
    # d >> 1, so the (n, m) arrays are small next to J (n, m d).
    F, reference, theta, _ = problem("tanh", "standard", (400, 64, 8))
    J_bytes = F.n_outputs * F.n_params * 8
    F.jacobian(theta)  # warm up numpy's allocator and this code path
    params = theta + 0.1
    tracemalloc.start()
    try:
        J = F.jacobian(params)  # a new point: Z, sigma, sigma' are computed
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert J.nbytes == J_bytes
    assert peak < 1.5 * J_bytes
    assert np.array_equal(J, reference.jacobian(params))


def test_kernel_keeps_the_gram_matrix_read_only():
    F, reference, theta, rng = problem("sigmoid", "standard", (25, 3, 4))
    K = F.neural_tangent_kernel(theta)
    assert not F._gram.flags.writeable
    np.testing.assert_array_equal(K, K.T)
    other = theta + rng.standard_normal(theta.shape)
    assert_same(F, reference, "neural_tangent_kernel", other, ())


def outcome(F, name, params, arguments):
    """The result of a call, or the message of its error."""
    try:
        return getattr(F, name)(params, *arguments)
    except ValueError as error:
        return str(error)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("alpha", [1e150, 1e308])
def test_overflow_outcomes_are_the_same_on_a_cached_point(activation, alpha):
    # Near overflow some calls raise (NonFiniteError) and some do not: a
    # method called where another already was must do as on a fresh map.
    rng = np.random.default_rng(3)
    net = TwoLayerNetwork(2, 4, alpha=alpha, activation=activation)
    theta = net.init_params(rng)
    F = net.output_map(3.0 * rng.standard_normal((6, 2)))
    arguments = calls(F, rng)
    arguments["jvp"] = (1e160 * arguments["jvp"][0],)
    fresh = {}
    for name, args in arguments.items():
        F._point = None
        fresh[name] = outcome(F, name, theta, args)
    raised = [name for name, result in fresh.items() if isinstance(result, str)]
    assert raised
    assert all("overflows float64" in fresh[name] for name in raised)
    for name in rng.permutation(list(arguments)):
        result = outcome(F, name, theta, arguments[name])
        if isinstance(result, str):
            assert result == fresh[name]
        else:
            assert np.array_equal(result, fresh[name])


@pytest.mark.parametrize("size", [1, 4, 64, 65, 1000])
def test_the_fast_finiteness_test_is_exact(size):
    # Small arrays are tested on a sum of Python floats, with numpy deciding
    # when that sum is not finite: the answer must always be numpy's, and no
    # call may warn (filterwarnings = error), even where the sum overflows.
    rng = np.random.default_rng(4)
    big = np.finfo(float).max
    fills = [
        rng.standard_normal(size),
        np.full(size, big),  # finite, but the sum overflows
        np.full(size, -big),
        np.full(size, 5e-324),
    ]
    for bad in (np.inf, -np.inf, np.nan):
        for where in {0, size // 2, size - 1}:
            array = rng.standard_normal(size)
            array[where] = bad
            fills.append(array)
    if size > 1:
        fills.append(np.array([np.inf, -np.inf] * (size // 2) + [0.0] * (size % 2)))
    for array in fills:
        expected = bool(np.isfinite(array).all())
        for candidate in (array, array.reshape(1, -1), array[::-1], array.copy()):
            assert all_finite(candidate) is expected
        if expected:
            assert as_finite_vector("v", array, size) is array
            assert as_finite_array("v", array) is array
        else:
            with pytest.raises(ValueError, match="`v` must be finite"):
                as_finite_vector("v", array, size)
            with pytest.raises(ValueError, match="`v` must be finite"):
                as_finite_array("v", array.reshape(1, -1), ndim=2)
