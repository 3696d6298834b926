"""Closed-form activation derivatives against autograd and finite differences."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from autograd import elementwise_grad, make_jvp

from riemgn.networks import ACTIVATIONS, Activation, get_activation

# A grid through the transition region plus random points; the tails are
# checked separately for finiteness.
Z = np.concatenate(
    [np.linspace(-8.0, 8.0, 321), np.random.default_rng(0).normal(0, 3, 200)]
)
FD_STEP = 1e-5


def _autograd_derivatives(activation: Activation, z: np.ndarray):
    first = elementwise_grad(activation.autograd_value)
    second = elementwise_grad(first)
    return first(z), second(z)


def test_registry_names():
    assert ACTIVATIONS == ("tanh", "sigmoid", "softplus", "gelu", "silu", "erf")
    for name in ACTIVATIONS:
        assert get_activation(name).name == name


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_value_matches_autograd_value(name):
    activation = get_activation(name)
    np.testing.assert_allclose(
        activation.value(Z), activation.autograd_value(Z), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(activation(Z), activation.value(Z))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivatives_match_autograd(name):
    activation = get_activation(name)
    first, second = _autograd_derivatives(activation, Z)
    np.testing.assert_allclose(activation.derivative(Z), first, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        activation.second_derivative(Z), second, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_autograd_value_supports_forward_mode(name):
    # AutogradOutputMap differentiates with make_jvp, twice for D^2F.
    activation = get_activation(name)
    ones = np.ones_like(Z)

    def forward_first(z):
        return make_jvp(activation.autograd_value)(z)(ones)[1]

    forward_second = make_jvp(forward_first)(Z)(ones)[1]
    np.testing.assert_allclose(
        forward_first(Z), activation.derivative(Z), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        forward_second, activation.second_derivative(Z), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivatives_match_finite_differences(name):
    activation = get_activation(name)
    h = FD_STEP
    fd_first = (activation.value(Z + h) - activation.value(Z - h)) / (2 * h)
    fd_second = (activation.derivative(Z + h) - activation.derivative(Z - h)) / (2 * h)
    np.testing.assert_allclose(activation.derivative(Z), fd_first, rtol=0, atol=1e-8)
    np.testing.assert_allclose(
        activation.second_derivative(Z), fd_second, rtol=0, atol=1e-8
    )


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_tails_are_finite_and_warning_free(name):
    # filterwarnings = error turns any overflow warning into a failure.
    activation = get_activation(name)
    z = np.array([-700.0, -50.0, -20.0, 20.0, 50.0, 700.0])
    for fun in (
        activation.value,
        activation.derivative,
        activation.second_derivative,
        activation.autograd_value,
    ):
        assert np.all(np.isfinite(fun(z)))


# Every finite float64 magnitude class: beyond the Gaussian underflow (40),
# where z**2 overflows (> 1.3e154), and up to the largest float (1.8e308).
EXTREME_Z = np.array(
    [-1.7e308, -1e300, -1e154, -1e3, -40.0, 0.0, 40.0, 1e3, 1e154, 1e300, 1.7e308]
)
_STEP = np.heaviside(EXTREME_Z, 0.5)  # 0 for z < 0, 1 for z > 0
_RELU = np.maximum(EXTREME_Z, 0.0)
# (sigma, sigma') at EXTREME_Z, exact at 0 and the limits as z -> -inf / +inf
# elsewhere (every |z| >= 40 is at the limit to ~1e-16); sigma'' -> 0.
EXTREME_LIMITS = {
    "tanh": (np.sign(EXTREME_Z), np.where(EXTREME_Z == 0, 1.0, 0.0)),
    "sigmoid": (_STEP, np.where(EXTREME_Z == 0, 0.25, 0.0)),
    "softplus": (np.where(EXTREME_Z == 0, math.log(2.0), _RELU), _STEP),
    "gelu": (_RELU, _STEP),
    "silu": (_RELU, _STEP),
    "erf": (
        np.sign(EXTREME_Z),
        np.where(EXTREME_Z == 0, 2.0 / math.sqrt(math.pi), 0.0),
    ),
}
_TAILS = EXTREME_Z != 0


def test_extreme_limits_cover_every_activation():
    assert set(EXTREME_LIMITS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_closed_forms_finite_and_warning_free_for_all_floats(name):
    # filterwarnings = error turns any overflow/invalid warning into a failure;
    # gelu's sigma'' used to be NaN beyond |z| ~ 1.3e154 (exp(-inf) * -inf).
    activation = get_activation(name)
    value_limit, first_limit = EXTREME_LIMITS[name]
    value = activation.value(EXTREME_Z)
    first = activation.derivative(EXTREME_Z)
    second = activation.second_derivative(EXTREME_Z)
    for array in (value, first, second, activation.autograd_value(EXTREME_Z)):
        assert array.shape == EXTREME_Z.shape
        assert np.all(np.isfinite(array))
    np.testing.assert_allclose(value, value_limit, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(first, first_limit, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(second[_TAILS], 0.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(activation.autograd_value(EXTREME_Z), value)


def _forward_derivatives(fun, z):
    ones = np.ones_like(z)

    def first(x):
        return make_jvp(fun)(x)(ones)[1]

    second = make_jvp(first)(z)(ones)[1]
    return np.asarray(first(z), dtype=float), np.asarray(second, dtype=float)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_autograd_derivatives_finite_and_warning_free_for_all_floats(name, mode):
    # autograd's own tanh rule divides by cosh(z)**2, which overflows (with a
    # RuntimeWarning, and NaN in the second derivative) for |z| > 710.
    activation = get_activation(name)
    if mode == "forward":
        first, second = _forward_derivatives(activation.autograd_value, EXTREME_Z)
    else:
        first, second = _autograd_derivatives(activation, EXTREME_Z)
    assert np.all(np.isfinite(first)) and np.all(np.isfinite(second))
    np.testing.assert_allclose(first, EXTREME_LIMITS[name][1], rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(second[_TAILS], 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        second, activation.second_derivative(EXTREME_Z), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_autograd_derivatives_at_pm_1e3(name, mode):
    activation = get_activation(name)
    z = np.array([-1e3, 1e3])
    if mode == "forward":
        first, second = _forward_derivatives(activation.autograd_value, z)
    else:
        first, second = _autograd_derivatives(activation, z)
    np.testing.assert_allclose(first, activation.derivative(z), rtol=0, atol=1e-300)
    np.testing.assert_allclose(second, 0.0, rtol=0, atol=1e-300)
    if name == "tanh":
        np.testing.assert_array_equal(first, 0.0)


@pytest.mark.parametrize(
    ("name", "value0", "first0", "second0"),
    [
        ("tanh", 0.0, 1.0, 0.0),
        ("sigmoid", 0.5, 0.25, 0.0),
        ("softplus", math.log(2.0), 0.5, 0.25),
        ("gelu", 0.0, 0.5, 2.0 / math.sqrt(2.0 * math.pi)),
        ("silu", 0.0, 0.5, 0.5),
        ("erf", 0.0, 2.0 / math.sqrt(math.pi), 0.0),
    ],
)
def test_values_at_zero(name, value0, first0, second0):
    activation = get_activation(name)
    zero = np.zeros(1)
    assert activation.value(zero)[0] == pytest.approx(value0, abs=1e-15)
    assert activation.derivative(zero)[0] == pytest.approx(first0, abs=1e-15)
    assert activation.second_derivative(zero)[0] == pytest.approx(second0, abs=1e-15)


def test_tail_accuracy():
    # Stable forms keep full relative accuracy far in the tails.
    z = np.array([-40.0])
    assert get_activation("sigmoid").value(z)[0] == pytest.approx(
        math.exp(-40.0), rel=1e-14
    )
    assert get_activation("softplus").value(z)[0] == pytest.approx(
        math.log1p(math.exp(-40.0)), rel=1e-14
    )
    assert get_activation("softplus").value(np.array([800.0]))[0] == 800.0
    # For small |z|, 1 - 2 s(z) = -tanh(z / 2) avoids cancellation.
    assert get_activation("sigmoid").second_derivative(np.array([1e-10]))[
        0
    ] == pytest.approx(-0.25 * 0.5e-10, rel=1e-12)


def test_get_activation_passes_activation_through():
    activation = get_activation("gelu")
    assert get_activation(activation) is activation


def test_activation_is_frozen():
    activation = get_activation("tanh")
    with pytest.raises(dataclasses.FrozenInstanceError):
        activation.name = "other"


def test_unknown_activation_lists_known_names():
    with pytest.raises(ValueError, match=r"`activation` must be one of .*'gelu'.*relu"):
        get_activation("relu")


def test_activation_of_wrong_type():
    with pytest.raises(TypeError, match="`activation`"):
        get_activation(3)
