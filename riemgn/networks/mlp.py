r"""A deep scalar-output network in NTK parametrization, differentiated by autograd.

The model, without biases, is

.. math::

    h_0 = x, \qquad
    h_l = \sigma\!\left(\frac{W_l h_{l-1}}{\sqrt{n_{l-1}}}\right)
        \quad (l = 1, \dots, L-1), \qquad
    f(x; \theta) = \alpha\, \frac{W_L h_{L-1}}{\sqrt{n_{L-1}}},

with layer sizes :math:`(n_0, \dots, n_L) = (d, h_1, \dots, h_{L-1}, 1)` and
:math:`W_l \in \mathbb{R}^{n_l \times n_{l-1}}`. The parameter vector
:math:`\theta` concatenates :math:`\operatorname{vec}(W_1), \dots,
\operatorname{vec}(W_L)`, each flattened row-major.

Unlike :class:`~riemgn.networks.TwoLayerNetwork`, every layer is trained and
the derivatives are not written out by hand:
:meth:`riemgn.networks.MLP.output_map` returns a
:class:`manifolds.AutogradOutputMap` over an ``autograd.numpy`` forward pass
(using ``Activation.autograd_value``). It is exact, but slower than an
analytic map.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import autograd.numpy as anp
import numpy as np
from numpy.typing import ArrayLike

from manifolds.autograd_map import AutogradOutputMap
from manifolds.validation import check_generator, check_positive_real, describe
from riemgn.networks.activations import Activation, get_activation
from riemgn.networks.two_layer import _check_inputs, _check_scheme

__all__ = ["MLP"]

_MLP_SCHEMES: tuple[str, ...] = ("standard", "centered")


def _check_layer_sizes(layer_sizes) -> tuple[int, ...]:
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(
            "`layer_sizes` must be a sequence of positive integers "
            f"(d, h_1, ..., h_{{L-1}}, 1), got {describe(layer_sizes)}"
        ) from None
    if len(sizes) < 2:
        raise ValueError(
            "`layer_sizes` must have at least 2 entries (input_dim, ..., 1), "
            f"got {sizes}"
        )
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(
                f"`layer_sizes` must hold integers, got {sizes} (entry {size!r})"
            )
        if size < 1:
            raise ValueError(f"`layer_sizes` entries must be >= 1, got {sizes}")
    if sizes[-1] != 1:
        raise ValueError(
            "`layer_sizes` must end with 1 (the network has a scalar output), "
            f"got {sizes}"
        )
    return tuple(int(size) for size in sizes)


class MLP:
    r"""A deep scalar-output network without biases, in NTK parametrization.

    .. math::

        h_0 = x, \qquad
        h_l = \sigma\!\left(\frac{W_l h_{l-1}}{\sqrt{n_{l-1}}}\right)
            \ (1 \le l < L), \qquad
        f(x; \theta) = \alpha\, \frac{W_L h_{L-1}}{\sqrt{n_{L-1}}},

    where

    - :math:`(n_0, \dots, n_L)` is ``layer_sizes``, with :math:`n_0 = d` and
      :math:`n_L = 1`,
    - :math:`W_l \in \mathbb{R}^{n_l \times n_{l-1}}` are all trainable,
    - :math:`\theta` is the concatenation of the row-major flattened
      :math:`W_1, \dots, W_L`, so :math:`p = \sum_l n_l n_{l-1}`.

    For the ``"centered"`` scheme the model is
    :math:`f(x; \theta) - f(x; \theta_c)`.

    Parameters
    ----------
    layer_sizes : sequence of int
        :math:`(d, h_1, \dots, h_{L-1}, 1)`: at least two positive integers,
        the last equal to 1. ``(d, 1)`` is the linear model
        :math:`\alpha \langle w, x\rangle / \sqrt d`.
    activation : str or Activation, default "tanh"
        The hidden-layer activation.
    alpha : float, default 1.0
        The scaling factor :math:`\alpha`, finite and ``> 0``.

    Attributes
    ----------
    center_params : ndarray, shape (n_params,) or None
        :math:`\theta_c` for the ``"centered"`` scheme, else None.
    scheme : str or None
        The scheme of the last :meth:`riemgn.networks.MLP.init_params` call,
        or None.

    Raises
    ------
    ValueError
        If ``layer_sizes`` has fewer than 2 entries, an entry < 1, or does
        not end with 1; if ``alpha`` is not finite and ``> 0``; or if
        ``activation`` is unknown.
    TypeError
        If ``layer_sizes`` is not a sequence of integers.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn.networks import get_activation
    >>> mlp = MLP((3, 5, 1), activation="gelu", alpha=2.0)
    >>> mlp.n_params  # 5 * 3 + 1 * 5
    20
    >>> theta0 = mlp.init_params(np.random.default_rng(0))
    >>> X = np.random.default_rng(1).standard_normal((4, 3))
    >>> F = mlp.output_map(X)
    >>> F.value(theta0).shape, F.jacobian(theta0).shape
    ((4,), (4, 20))
    >>> W1, W2 = theta0[:15].reshape(5, 3), theta0[15:].reshape(1, 5)
    >>> h1 = get_activation("gelu")(X @ W1.T / np.sqrt(3))  # the formula
    >>> bool(np.allclose(F.value(theta0), 2.0 * (h1 @ W2.T)[:, 0] / np.sqrt(5)))
    True
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        activation: str | Activation = "tanh",
        alpha: float = 1.0,
    ):
        self._layer_sizes = _check_layer_sizes(layer_sizes)
        self._activation = get_activation(activation)
        self._alpha = check_positive_real("alpha", alpha)
        self._shapes = tuple(
            zip(self._layer_sizes[1:], self._layer_sizes[:-1], strict=True)
        )
        self.center_params: np.ndarray | None = None
        self.scheme: str | None = None

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        r"""The layer sizes :math:`(d, h_1, \dots, h_{L-1}, 1)`."""
        return self._layer_sizes

    @property
    def input_dim(self) -> int:
        """The input dimension :math:`d`."""
        return self._layer_sizes[0]

    @property
    def alpha(self) -> float:
        r"""The scaling factor :math:`\alpha`."""
        return self._alpha

    @property
    def activation(self) -> Activation:
        r"""The hidden-layer activation :math:`\sigma`."""
        return self._activation

    @property
    def n_params(self) -> int:
        r"""The number of parameters :math:`p = \sum_l n_l n_{l-1}`."""
        return sum(rows * cols for rows, cols in self._shapes)

    def _forward(self, params, X):
        """The uncentered outputs ``f(X; params)``, traceable by autograd."""
        h = X
        start = 0
        last = len(self._shapes) - 1
        for layer, (rows, cols) in enumerate(self._shapes):
            W = anp.reshape(params[start : start + rows * cols], (rows, cols))
            start += rows * cols
            z = anp.dot(h, anp.transpose(W)) / math.sqrt(cols)
            h = z if layer == last else self._activation.autograd_value(z)
        return self._alpha * h[:, 0]

    def init_params(
        self, rng: np.random.Generator, scheme: str = "standard"
    ) -> np.ndarray:
        r"""Draw the initial parameters :math:`\theta_0`.

        This sets ``center_params`` and ``scheme``, replacing any earlier
        state; output maps created before keep their own copy.

        .. math::

            \theta_0 \sim N(0, I_p), \qquad p = \sum_{l=1}^L n_l n_{l-1},

        where :math:`(n_0, \dots, n_L)` are the layer sizes.

        ``"standard"``
            every weight i.i.d. :math:`N(0, 1)`.
        ``"centered"``
            :math:`\theta_0` drawn as in ``"standard"``; the model becomes
            :math:`f(x; \theta) - f(x; \theta_0)`, with :math:`\theta_0`
            stored in ``center_params``, so :math:`F(\theta_0) = 0`.

        ``"symmetric"`` is defined only for
        :class:`~riemgn.networks.TwoLayerNetwork`.

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of randomness, e.g. ``np.random.default_rng(0)``.
        scheme : {"standard", "centered"}, default "standard"

        Returns
        -------
        ndarray, shape (n_params,)
            :math:`\theta_0`, float64.

        Raises
        ------
        TypeError
            If ``rng`` is not a ``numpy.random.Generator``.
        ValueError
            If ``scheme`` is unknown or ``"symmetric"``.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP((2, 4, 1))
        >>> theta0 = mlp.init_params(np.random.default_rng(0), "centered")
        >>> theta0.shape, mlp.scheme
        ((12,), 'centered')
        >>> F = mlp.output_map(np.random.default_rng(1).standard_normal((6, 2)))
        >>> bool(np.allclose(F.value(theta0), 0.0))  # centered: F(theta0) = 0
        True
        """
        rng = check_generator(rng)
        if scheme == "symmetric":
            raise ValueError(
                "`scheme='symmetric'` is only defined for TwoLayerNetwork (it "
                "pairs hidden neurons with opposite fixed output weights); use "
                f"one of {list(_MLP_SCHEMES)} for MLP"
            )
        scheme = _check_scheme(scheme, _MLP_SCHEMES)
        params = rng.standard_normal(self.n_params)
        self.center_params = params.copy() if scheme == "centered" else None
        self.scheme = scheme
        return params

    def output_map(self, X: ArrayLike) -> AutogradOutputMap:
        r"""The output map :math:`F(\theta) = (f(x_j; \theta))_{j=1}^n` on ``X``.

        .. math::

            F_j(\theta) = f(x_j; \theta) - F^0_j,

        where :math:`F^0_j = f(x_j; \theta_c)` for the ``"centered"`` scheme
        and :math:`0` otherwise.

        Parameters
        ----------
        X : array_like, shape (n_samples, input_dim)
            The inputs, one per row, finite.

        Returns
        -------
        manifolds.AutogradOutputMap
            Derivatives by autograd (forward and reverse mode, exact). It
            snapshots ``X``, :attr:`riemgn.networks.MLP.alpha`, the activation
            and the centering offset.

        Raises
        ------
        RuntimeError
            If :meth:`riemgn.networks.MLP.init_params` has not been called yet
            (the scheme, and so the centering, is not known).
        ValueError
            If ``X`` has the wrong shape or holds NaN or inf.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP((3, 8, 8, 1), alpha=0.5)
        >>> theta = mlp.init_params(np.random.default_rng(0))
        >>> F = mlp.output_map(np.random.default_rng(1).standard_normal((5, 3)))
        >>> F.n_outputs, F.n_params
        (5, 96)
        >>> v = np.random.default_rng(2).standard_normal(96)
        >>> bool(np.allclose(F.jvp(theta, v), F.jacobian(theta) @ v))
        True
        """
        X = _check_inputs(X, self.input_dim)
        if self.scheme is None:
            raise RuntimeError(
                "the initialization scheme is not set: call "
                "`init_params(rng, scheme=...)` before `output_map(X)`"
            )
        forward = self._forward
        if self.center_params is None:

            def fun(params):
                return forward(params, X)

        else:
            offset = np.asarray(forward(self.center_params, X), dtype=np.float64)

            def fun(params):
                return forward(params, X) - offset

        return AutogradOutputMap(fun, self.n_params, n_outputs=X.shape[0])

    def __repr__(self) -> str:
        return (
            f"MLP(layer_sizes={self._layer_sizes}, "
            f"activation={self._activation.name!r}, alpha={self._alpha!r})"
        )
