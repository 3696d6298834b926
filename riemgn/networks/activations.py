r"""Smooth activations :math:`\sigma` with closed-form first and second derivatives.

The analytic derivatives of :class:`~riemgn.networks.TwoLayerNetwork` need
:math:`\sigma`, :math:`\sigma'` and :math:`\sigma''` as vectorized functions.
Each :class:`Activation` bundles these three with ``autograd_value``, the same
:math:`\sigma` written with ``autograd.numpy``, which is what the autograd
reference implementations (and :class:`~riemgn.networks.MLP`) differentiate.

The closed forms are written to stay accurate in float64 over the whole real
line, not only near zero:

* the logistic function is ``scipy.special.expit``, and
  :math:`1 - s(z)` is computed as :math:`s(-z)`, never by subtraction;
* :math:`1 - 2 s(z)` is computed as :math:`-\tanh(z/2)`, which has no
  cancellation near :math:`z = 0`;
* softplus is ``np.logaddexp(0, z)``, which neither overflows for large
  :math:`z` nor loses the tail for very negative :math:`z`;
* the Gaussian CDF is ``scipy.special.ndtr`` (and ``erfc`` in the
  autograd version), accurate in the lower tail where ``1 + erf`` cancels.

The autograd versions must work in forward mode too
(:class:`~manifolds.AutogradOutputMap` computes :math:`Jv` and
:math:`D^2F[v, w]` with ``autograd.make_jvp``), but autograd 1.x defines no
forward-mode rule for ``autograd.scipy.special.expit``, ``erf`` or ``erfc``.
So the logistic function is written as
:math:`s(z) = \exp(-\operatorname{logaddexp}(0, -z))`, which is accurate on
the whole line, and ``erf``/``erfc`` are wrapped here as autograd primitives
with both a forward and a reverse rule, :math:`\operatorname{erf}'(z) =
\tfrac{2}{\sqrt\pi} e^{-z^2}`. The rules are written with
``autograd.numpy``, so autograd differentiates them again for
:math:`\sigma''`. This registers nothing in autograd's global tables.
``tanh`` is wrapped the same way, with the rule
:math:`\tanh' = 1 - \tanh^2`: autograd's own rule divides by
:math:`\cosh^2 z`, which overflows (with a ``RuntimeWarning``, and NaN in
the second derivative) for :math:`|z| > 710`.

Every :math:`\sigma, \sigma', \sigma''` here, closed-form or autograd, is
finite and warning-free for every finite float64 :math:`z`, up to
:math:`\pm 1.8 \cdot 10^{308}`. The Gaussian densities
:math:`e^{-z^2/2}` (gelu) and :math:`e^{-z^2}` (erf) are evaluated at
:math:`z` clipped to :math:`[-40, 40]`, together with the polynomial factors
they multiply: the density is exactly ``0.0`` in float64 beyond
:math:`|z| \approx 38.6`, so the clip changes no value, but it keeps
:math:`z^2` from overflowing and :math:`0 \cdot \infty` from giving NaN.

Derivations (:math:`s` the logistic function, :math:`\Phi, \varphi` the
standard normal CDF and density):

* tanh: :math:`\sigma = \tanh z`, :math:`\sigma' = 1 - \tanh^2 z`,
  :math:`\sigma'' = -2 \tanh z\,(1 - \tanh^2 z)`;
* sigmoid: :math:`\sigma = s(z)`, :math:`\sigma' = s(z) s(-z)`,
  :math:`\sigma'' = -s(z) s(-z) \tanh(z/2)`;
* softplus: :math:`\sigma = \log(1 + e^z)`, :math:`\sigma' = s(z)`,
  :math:`\sigma'' = s(z) s(-z)`;
* gelu: :math:`\sigma = z \Phi(z)`, :math:`\sigma' = \Phi(z) + z \varphi(z)`,
  :math:`\sigma'' = \varphi(z) (2 - z^2)`, since :math:`\varphi' = -z\varphi`;
* silu: :math:`\sigma = z s(z)`, :math:`\sigma' = s(z) (1 + z s(-z))`,
  :math:`\sigma'' = s(z) s(-z) (2 - z \tanh(z/2))`;
* erf: :math:`\sigma = \operatorname{erf} z`,
  :math:`\sigma' = \tfrac{2}{\sqrt\pi} e^{-z^2}`,
  :math:`\sigma'' = -2 z \sigma'(z)`.

For silu, :math:`\sigma'' = 2 s(1-s) + z s(1-s)(1-2s)` with
:math:`1 - 2s(z) = -\tanh(z/2)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import autograd.numpy as anp
import numpy as np
from autograd.extend import defjvp, defvjp, primitive
from scipy import special

from manifolds.validation import describe

__all__ = ["ACTIVATIONS", "Activation", "get_activation"]

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

#: Beyond this |z| the Gaussian densities exp(-z^2 / 2) and exp(-z^2) are
#: exactly 0.0 in float64 (they underflow from |z| ~ 38.6 and ~ 27.3), so
#: clipping z to [-_GAUSS_CLIP, _GAUSS_CLIP] before evaluating them, and the
#: polynomials they multiply, changes no value but avoids z^2 overflowing.
_GAUSS_CLIP = 40.0

ArrayFunction = Callable[[np.ndarray], np.ndarray]

# --- autograd building blocks (forward and reverse mode) --------------------

_autograd_erf = primitive(special.erf)
_autograd_erfc = primitive(special.erfc)
_autograd_tanh = primitive(np.tanh)
# Found by name when pickled (an Activation, or an output map holding one, is
# sent to worker processes), instead of as autograd's local wrapper; the
# docstring copied from the wrapped function (with its examples) is replaced.
for _primitive, _name in (
    (_autograd_erf, "_autograd_erf"),
    (_autograd_erfc, "_autograd_erfc"),
    (_autograd_tanh, "_autograd_tanh"),
):
    _primitive.__module__, _primitive.__qualname__ = __name__, _name
    _primitive.__doc__ = f"``{_primitive.__name__}`` as an autograd primitive."
del _primitive, _name


def _erf_prime_autograd(z):
    # anp.clip has forward and reverse rules; its derivative is 0 outside the
    # clip range, where the density (and so every derivative) is 0 anyway.
    z = anp.clip(z, -_GAUSS_CLIP, _GAUSS_CLIP)
    return _TWO_OVER_SQRT_PI * anp.exp(-(z * z))


def _tanh_prime_autograd(ans):
    # 1 - tanh^2 z, from the primitive's output: finite for every z, unlike
    # autograd's 1 / cosh^2 z, which overflows for |z| > 710.
    return 1.0 - ans**2


defvjp(_autograd_erf, lambda ans, z: lambda g: g * _erf_prime_autograd(z))
defjvp(_autograd_erf, lambda g, ans, z: g * _erf_prime_autograd(z))
defvjp(_autograd_erfc, lambda ans, z: lambda g: -g * _erf_prime_autograd(z))
defjvp(_autograd_erfc, lambda g, ans, z: -g * _erf_prime_autograd(z))
defvjp(_autograd_tanh, lambda ans, z: lambda g: g * _tanh_prime_autograd(ans))
defjvp(_autograd_tanh, lambda g, ans, z: g * _tanh_prime_autograd(ans))


def _expit_autograd(z):
    # 1 / (1 + e^{-z}) without overflow and without losing the lower tail.
    return anp.exp(-anp.logaddexp(0.0, -z))


@dataclass(frozen=True)
class Activation:
    r"""A smooth activation :math:`\sigma` and its first two derivatives.

    All four functions act elementwise on arrays of any shape. Calling the
    activation, ``activation(z)``, is ``activation.value(z)``. The closed
    forms of the built-in activations are derived in the module docstring
    of ``riemgn.networks.activations``; get them with
    :func:`riemgn.networks.get_activation`.

    Parameters
    ----------
    name : str
        The registry name, for example ``"tanh"``.
    value : callable
        :math:`\sigma(z)`, a vectorized numpy function.
    derivative : callable
        :math:`\sigma'(z)`, a vectorized numpy function.
    second_derivative : callable
        :math:`\sigma''(z)`, a vectorized numpy function.
    autograd_value : callable
        :math:`\sigma(z)` written with ``autograd.numpy`` and
        ``autograd.scipy.special``, so that autograd can differentiate it
        (in forward and reverse mode, to any order). It is the independent
        reference the closed-form derivatives are tested against.

    Examples
    --------
    >>> import numpy as np
    >>> tanh = get_activation("tanh")
    >>> float(tanh.derivative(np.array(0.0)))
    1.0

    A custom activation, the cubic :math:`\sigma(z) = z + z^3/3`:

    >>> cubic = Activation(
    ...     "cubic",
    ...     value=lambda z: z + z**3 / 3,
    ...     derivative=lambda z: 1 + z**2,
    ...     second_derivative=lambda z: 2 * z,
    ...     autograd_value=lambda z: z + z**3 / 3,
    ... )
    >>> cubic(np.array([0.0, 3.0]))
    array([ 0., 12.])
    """

    name: str
    value: ArrayFunction
    derivative: ArrayFunction
    second_derivative: ArrayFunction
    autograd_value: ArrayFunction

    def __call__(self, z: np.ndarray) -> np.ndarray:
        r"""Evaluate :math:`\sigma(z)` elementwise (same as ``value``)."""
        return self.value(z)


# --- tanh -----------------------------------------------------------------


def _tanh_d1(z):
    t = np.tanh(z)
    return 1.0 - t * t


def _tanh_d2(z):
    t = np.tanh(z)
    return -2.0 * t * (1.0 - t * t)


# --- sigmoid ----------------------------------------------------------------


def _sigmoid_d1(z):
    return special.expit(z) * special.expit(-z)


def _sigmoid_d2(z):
    # s (1 - s) (1 - 2 s), with 1 - s = s(-z) and 1 - 2 s = -tanh(z / 2).
    return -special.expit(z) * special.expit(-z) * np.tanh(0.5 * z)


# --- softplus ---------------------------------------------------------------


def _softplus(z):
    return np.logaddexp(0.0, z)


def _softplus_autograd(z):
    return anp.logaddexp(0.0, z)


# --- gelu (exact, erf form) -------------------------------------------------


def _gelu(z):
    return z * special.ndtr(z)


def _clip_gauss(z):
    return np.clip(z, -_GAUSS_CLIP, _GAUSS_CLIP)


def _gelu_d1(z):
    # z phi(z) with z clipped: phi is exactly 0 wherever the clip acts.
    zc = _clip_gauss(z)
    return special.ndtr(z) + zc * _INV_SQRT_2PI * np.exp(-0.5 * zc * zc)


def _gelu_d2(z):
    zc = _clip_gauss(z)
    return _INV_SQRT_2PI * np.exp(-0.5 * zc * zc) * (2.0 - zc * zc)


def _gelu_autograd(z):
    # Phi(z) = erfc(-z / sqrt 2) / 2 keeps the lower tail accurate.
    return 0.5 * z * _autograd_erfc(-z / _SQRT_2)


# --- silu (swish) -----------------------------------------------------------


def _silu(z):
    return z * special.expit(z)


def _silu_d1(z):
    return special.expit(z) * (1.0 + z * special.expit(-z))


def _silu_d2(z):
    return special.expit(z) * special.expit(-z) * (2.0 - z * np.tanh(0.5 * z))


def _silu_autograd(z):
    return z * _expit_autograd(z)


# --- erf --------------------------------------------------------------------


def _erf_d1(z):
    zc = _clip_gauss(z)
    return _TWO_OVER_SQRT_PI * np.exp(-zc * zc)


def _erf_d2(z):
    zc = _clip_gauss(z)
    return -2.0 * zc * _TWO_OVER_SQRT_PI * np.exp(-zc * zc)


class _Evaluation:
    r"""An activation's :math:`\sigma, \sigma', \sigma''` at one array ``z``, each computed once.

    Each is computed when first asked for and kept, so the output map's
    methods at one point share them. For the built-in tanh,
    :math:`\sigma'` and :math:`\sigma''` reuse :math:`t = \tanh z`:
    ``1.0 - t * t`` and ``-2.0 * t * (1.0 - t * t)`` are the operations of
    ``_tanh_d1`` and ``_tanh_d2``, in the same order, so the values are the
    same bit for bit. Every other activation calls its own functions.
    """

    __slots__ = ("_activation", "_d1", "_d2", "_tanh", "_value", "z")

    def __init__(self, activation: Activation, z: np.ndarray):
        self._activation = activation
        self.z = z
        self._value = self._d1 = self._d2 = None
        self._tanh = (
            activation.value is np.tanh
            and activation.derivative is _tanh_d1
            and activation.second_derivative is _tanh_d2
        )

    def value(self) -> np.ndarray:
        r""":math:`\sigma(z)`."""
        if self._value is None:
            self._value = self._activation.value(self.z)
        return self._value

    def derivative(self) -> np.ndarray:
        r""":math:`\sigma'(z)`."""
        if self._d1 is None:
            if self._tanh:
                t = self.value()
                self._d1 = 1.0 - t * t
            else:
                self._d1 = self._activation.derivative(self.z)
        return self._d1

    def second_derivative(self) -> np.ndarray:
        r""":math:`\sigma''(z)`."""
        if self._d2 is None:
            if self._tanh:
                self._d2 = -2.0 * self.value() * self.derivative()
            else:
                self._d2 = self._activation.second_derivative(self.z)
        return self._d2


_REGISTRY: MappingProxyType[str, Activation] = MappingProxyType(
    {
        activation.name: activation
        for activation in (
            Activation("tanh", np.tanh, _tanh_d1, _tanh_d2, _autograd_tanh),
            Activation(
                "sigmoid", special.expit, _sigmoid_d1, _sigmoid_d2, _expit_autograd
            ),
            Activation(
                "softplus", _softplus, special.expit, _sigmoid_d1, _softplus_autograd
            ),
            Activation("gelu", _gelu, _gelu_d1, _gelu_d2, _gelu_autograd),
            Activation("silu", _silu, _silu_d1, _silu_d2, _silu_autograd),
            Activation("erf", special.erf, _erf_d1, _erf_d2, _autograd_erf),
        )
    }
)

#: The names accepted by :func:`get_activation`.
ACTIVATIONS: tuple[str, ...] = tuple(_REGISTRY)


def get_activation(activation: str | Activation) -> Activation:
    """Look up an activation by name (or pass an :class:`riemgn.networks.Activation` through).

    Parameters
    ----------
    activation : str or Activation
        One of :data:`ACTIVATIONS` (``"tanh"``, ``"sigmoid"``, ``"softplus"``,
        ``"gelu"``, ``"silu"``, ``"erf"``), or an :class:`Activation`, which is
        returned unchanged.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        If ``activation`` is a string that names no known activation.
    TypeError
        If ``activation`` is neither a string nor an :class:`Activation`.

    Examples
    --------
    >>> import numpy as np
    >>> softplus = get_activation("softplus")
    >>> softplus(np.array([-1000.0, 1000.0]))  # log(1 + e^z): no overflow
    array([   0., 1000.])
    >>> z = np.array(0.0)
    >>> float(softplus.derivative(z)), float(softplus.second_derivative(z))
    (0.5, 0.25)
    >>> get_activation(softplus) is softplus
    True
    """
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            "`activation` must be a name (str) or an Activation, got "
            f"{describe(activation)}"
        )
    try:
        return _REGISTRY[activation]
    except KeyError:
        raise ValueError(
            f"`activation` must be one of {list(ACTIVATIONS)}, got {activation!r}"
        ) from None
