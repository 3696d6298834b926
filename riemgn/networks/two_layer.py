r"""The paper's two-layer network, with analytic derivatives of its output map.

The model (THEORY §1) is

.. math::

    f(x; W) = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\, \sigma(\langle w_i, x\rangle),
    \qquad W = (w_1, \dots, w_m)^\top \in \mathbb{R}^{m \times d},

with trainable hidden weights :math:`W`, fixed output weights
:math:`c_i \in \{\pm 1\}` and scaling factor :math:`\alpha > 0`. The parameter
vector is :math:`\theta = \operatorname{vec}(W)`, flattened row-major, so
:math:`\theta_{i d + k} = W_{ik}` and :math:`p = m d`.

Derivation of the derivatives
-----------------------------
Write :math:`z_{ji} = \langle w_i, x_j\rangle` and :math:`s = \alpha/\sqrt m`.
Since :math:`f(x_j; W)` depends on :math:`w_i` only through :math:`z_{ji}`,
and :math:`\partial z_{ji} / \partial w_i = x_j`, the chain rule gives

.. math::

    \frac{\partial f(x_j)}{\partial W_{ik}} = s\, c_i\, \sigma'(z_{ji})\, x_{jk},
    \qquad
    \frac{\partial^2 f(x_j)}{\partial W_{ik}\, \partial W_{i'k'}}
        = \delta_{ii'}\, s\, c_i\, \sigma''(z_{ji})\, x_{jk} x_{jk'} .

The Hessian of each output is block diagonal, one :math:`d \times d` block
per neuron, each of rank one. Every product therefore reduces to the
:math:`n \times m` matrices :math:`\sigma'(Z)`, :math:`\sigma''(Z)` and the
projections :math:`(X V^\top)_{ji} = \langle v_i, x_j\rangle` of a direction
:math:`V = \operatorname{mat}(v)`: each costs :math:`O(nmd)`, and no
:math:`n \times p \times p` tensor is ever formed.

The neural tangent kernel has the closed form
:math:`K = JJ^\top = s^2 (SS^\top) \odot (XX^\top)` with
:math:`S = \sigma'(Z)`, because :math:`c_i^2 = 1`; it costs
:math:`O(n^2(m + d))` instead of :math:`O(n^2 m d)`.

Initializations
---------------
``"standard"``, ``"symmetric"`` and ``"centered"``; see
:meth:`riemgn.networks.TwoLayerNetwork.init_params`. Their geometry differs:
the symmetric one puts :math:`\theta_0` where :math:`F` is not an immersion.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from manifolds.linalg import (
    default_rank_rtol,
    singular_value_decomposition,
    singular_values,
)
from manifolds.validation import (
    NonFiniteError,
    all_finite,
    as_finite_array,
    as_finite_vector,
    check_generator,
    check_positive_int,
    check_positive_real,
    describe,
    max_abs,
)
from riemgn.networks.activations import Activation, _Evaluation, get_activation

__all__ = ["INIT_SCHEMES", "TwoLayerNetwork", "TwoLayerOutputMap"]

#: The initialization schemes of :meth:`riemgn.networks.TwoLayerNetwork.init_params`.
INIT_SCHEMES: tuple[str, ...] = ("standard", "symmetric", "centered")


def _check_inputs(X: ArrayLike, input_dim: int) -> np.ndarray:
    """Validate an input matrix ``X`` of shape ``(n, input_dim)``; return a copy.

    Raises
    ------
    ValueError
        If ``X`` is not 2-d, has the wrong number of columns, has no rows or
        holds NaN or inf.
    """
    X = as_finite_array("X", X)
    if X.ndim != 2 or X.shape[1] != input_dim or X.shape[0] == 0:
        raise ValueError(
            f"`X` must have shape (n_samples, {input_dim}) with n_samples >= 1 "
            f"(one row per input, input_dim={input_dim}), got shape {X.shape}"
        )
    return np.array(X, dtype=np.float64, copy=True)


def _check_scheme(scheme, allowed: tuple[str, ...] = INIT_SCHEMES) -> str:
    """Check that ``scheme`` is one of ``allowed``."""
    if not isinstance(scheme, str) or scheme not in allowed:
        raise ValueError(
            f"`scheme` must be one of {list(allowed)}, got {describe(scheme)}"
        )
    return scheme


_FLOAT64 = np.dtype(np.float64)


class _Point:
    """A parameter point of one output map, and what its methods computed there.

    ``key`` is the bytes of the point, an exact copy (a caller may change
    its array in place afterwards); ``W`` the weights, a read-only view of
    ``key``. The pre-activations :math:`Z = X W^\top` and the activation's
    values there are computed on first use, once (inside the caller's
    ``np.errstate``), and shared by every method called at this point.
    """

    __slots__ = ("_X", "_activation", "_evaluation", "W", "key")

    def __init__(self, key: bytes, shape: tuple[int, int], X, activation):
        self.key = key
        self.W = np.frombuffer(key, dtype=np.float64).reshape(shape)
        self._X = X
        self._activation = activation
        self._evaluation = None

    def at(self) -> _Evaluation:
        """The activation at :math:`Z = X W^T`: ``value()``, ``derivative()``, ..."""
        if self._evaluation is None:
            self._evaluation = _Evaluation(self._activation, self._X @ self.W.T)
        return self._evaluation


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _listed(items, limit: int = 3) -> str:
    items = list(items)
    return ", ".join(items[:limit]) + (", ..." if len(items) > limit else "")


class TwoLayerOutputMap:
    r"""The output map :math:`F(\theta) = (f(x_j; W))_{j=1}^n` of a two-layer network.

    Implements :class:`manifolds.OutputMap` with analytic, vectorized
    derivatives (THEORY §1), each costing :math:`O(nmd)`, and the
    closed-form neural tangent kernel. Usually obtained from
    :meth:`riemgn.networks.TwoLayerNetwork.output_map`; the inputs, output
    weights, scaling, activation and centering offset are copied at
    creation, so later calls to
    :meth:`riemgn.networks.TwoLayerNetwork.init_params` do not change this
    map.

    The map remembers its last point: :math:`\sigma, \sigma', \sigma''` at
    :math:`Z = X W^\top` are computed there once, when first needed, and
    shared by every method called at the same ``params`` (compared by value
    with a copy, so changing the array afterwards is safe); every result is
    the same, bit for bit, as on a fresh map. :math:`X X^\top` is computed
    by the first kernel and kept. Pickling or copying the map leaves both
    behind.

    .. math::

        F_j(\theta) = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\,
            \sigma(\langle w_i, x_j\rangle) - F^0_j,

    where

    - :math:`w_i \in \mathbb{R}^d` is row :math:`i` of
      :math:`W = \theta.\mathrm{reshape}(m, d)`,
    - :math:`x_j` is row :math:`j` of ``X``,
    - :math:`c_i \in \{\pm 1\}` are the fixed ``output_weights``,
    - :math:`F^0_j = f(x_j; W_c)` is the uncentered network's value at
      ``center_params`` :math:`\theta_c = \operatorname{vec}(W_c)` (zero
      when there is no centering).

    Parameters
    ----------
    X : array_like, shape (n_outputs, input_dim)
        The inputs, one per row, finite, with ``n_outputs >= 1`` and
        ``input_dim >= 1``.
    output_weights : array_like, shape (width,)
        The fixed output weights :math:`c_i`, each ``+1`` or ``-1``, with
        ``width >= 1``.
    alpha : float
        The scaling factor :math:`\alpha`, finite and ``> 0``.
    activation : str or Activation
        The activation :math:`\sigma`.
    center_params : array_like, shape (width * input_dim,), optional
        If given, the map is centered, :math:`f(x; W) - f(x; W_0)` with
        :math:`\theta_c = \operatorname{vec}(W_0)`, finite. The offset
        :math:`f(X; W_0)` is computed once, here.

    Raises
    ------
    ValueError
        If ``X`` is not a finite 2-d array with at least one row and one
        column; ``output_weights`` is not a finite 1-d array with at least
        one entry, all ``+1`` or ``-1``; ``center_params`` does not have
        shape ``(width * input_dim,)`` or is not finite; ``alpha`` is not
        finite and ``> 0``; or ``activation`` is unknown.
    TypeError
        If ``alpha`` is not a real number, or ``activation`` is neither a
        string nor an :class:`riemgn.networks.Activation`.

    Examples
    --------
    >>> import numpy as np
    >>> F = TwoLayerOutputMap(
    ...     np.eye(2), [1.0, -1.0], alpha=1.0, activation="tanh"
    ... )
    >>> (F.n_outputs, F.n_params)
    (2, 4)
    >>> F.value(np.zeros(4))
    array([0., 0.])
    """

    def __init__(
        self,
        X: ArrayLike,
        output_weights: ArrayLike,
        *,
        alpha: float,
        activation: str | Activation,
        center_params: ArrayLike | None = None,
    ):
        X = as_finite_array("X", X, ndim=2)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(
                "`X` must have at least one row and one column, shape "
                f"(n_outputs, input_dim) with both >= 1, got shape {X.shape}"
            )
        output_weights = as_finite_vector("output_weights", output_weights)
        if output_weights.size == 0:
            raise ValueError(
                "`output_weights` must have at least one entry (one per hidden "
                f"neuron), got shape {output_weights.shape}"
            )
        if not np.all(np.abs(output_weights) == 1.0):
            raise ValueError(
                "`output_weights` must hold only +1 and -1, got "
                f"{describe(output_weights)}"
            )
        self._X = _readonly(np.array(X, dtype=np.float64, copy=True))
        self._c = _readonly(np.array(output_weights, dtype=np.float64, copy=True))
        self._alpha = check_positive_real("alpha", alpha)
        self._activation = get_activation(activation)
        self._width = self._c.shape[0]
        self._input_dim = self._X.shape[1]
        self._scale = self._alpha / math.sqrt(self._width)
        self._x_max = max_abs(self._X)
        self._point: _Point | None = None  # the last point, see _at
        self._gram: np.ndarray | None = None  # X X^T, once needed
        self._offset = None
        if center_params is not None:
            center_params = as_finite_vector(
                "center_params", center_params, self.n_params
            )
            with np.errstate(over="ignore", invalid="ignore"):
                offset = self._raw_value(center_params)
            self._offset = _readonly(
                self._checked(offset, "f(X; W0)", {"center_params": center_params})
            )

    # --- attributes ---------------------------------------------------------

    @property
    def n_params(self) -> int:
        """The number of parameters :math:`p = m d`."""
        return self._width * self._input_dim

    @property
    def n_outputs(self) -> int:
        """The number of outputs :math:`n` (rows of ``X``)."""
        return self._X.shape[0]

    @property
    def inputs(self) -> np.ndarray:
        """The inputs ``X``, shape ``(n_outputs, input_dim)`` (read-only)."""
        return self._X

    @property
    def output_weights(self) -> np.ndarray:
        """The fixed output weights :math:`c`, shape ``(width,)`` (read-only)."""
        return self._c

    @property
    def alpha(self) -> float:
        r"""The scaling factor :math:`\alpha`."""
        return self._alpha

    @property
    def activation(self) -> Activation:
        r"""The activation :math:`\sigma`."""
        return self._activation

    @property
    def offset(self) -> np.ndarray | None:
        """The centering offset :math:`f(X; W_0)`, shape ``(n_outputs,)``, or None."""
        return self._offset

    # --- helpers ------------------------------------------------------------

    def __getstate__(self) -> dict:
        # The caches are recomputed where needed, never pickled or copied.
        return {**self.__dict__, "_point": None, "_gram": None}

    def _weights(self, params) -> np.ndarray:
        params = as_finite_vector("params", params, self.n_params)
        return params.reshape(self._width, self._input_dim)

    def _at(self, params) -> _Point:
        """The cached point if ``params`` holds exactly its values, else a new one.

        A float64 array of the right shape whose bytes equal the last point's
        is that point, already validated: no check, no copy. Anything else is
        validated as ``params`` and becomes the cached point.
        """
        point = self._point
        if (
            point is not None
            and type(params) is np.ndarray
            and params.dtype is _FLOAT64
            and params.shape == (self.n_params,)
            and params.tobytes() == point.key
        ):
            return point
        params = as_finite_vector("params", params, self.n_params)
        point = _Point(
            params.tobytes(), (self._width, self._input_dim), self._X, self._activation
        )
        self._point = point
        return point

    def _directions(self, name: str, vector) -> np.ndarray:
        """``X V^T`` for ``V = vector.reshape(m, d)``, shape ``(n, m)``."""
        vector = as_finite_vector(name, vector, self.n_params)
        return self._X @ vector.reshape(self._width, self._input_dim).T

    def _checked(self, result: np.ndarray, what: str, arguments: dict) -> np.ndarray:
        """``result`` if it is finite; otherwise a ValueError naming the cause."""
        if all_finite(result):
            return result
        sizes = ", ".join(
            f"max |{name}| = {max_abs(v):.3e}" for name, v in arguments.items()
        )
        raise NonFiniteError(
            f"{what} is not finite, it overflows float64: "
            f"{int(np.sum(~np.isfinite(result)))} value(s) are NaN or inf (alpha = {self._alpha:.3e}, {sizes}); reduce `alpha` "
            f"or the size of {' and '.join(f'`{name}`' for name in arguments)}"
        )

    def _raw_value(self, params: np.ndarray) -> np.ndarray:
        Z = self._X @ params.reshape(self._width, self._input_dim).T
        return self._scale * (self._activation.value(Z) @ self._c)

    # --- OutputMap ----------------------------------------------------------

    def value(self, params: ArrayLike) -> np.ndarray:
        r"""The outputs :math:`F(\theta)`.

        .. math::

            F_j(\theta) = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\,
                \sigma(\langle w_i, x_j\rangle) - F^0_j,

        where :math:`F^0 = f(X; W_0)` for a centered network and :math:`0`
        otherwise.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`F(\theta)`.

        Raises
        ------
        ValueError
            If ``params`` does not have shape ``(n_params,)`` or is not finite,
            or the result overflows float64 (too large an ``alpha``).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> W, c, X = theta.reshape(4, 3), F.output_weights, F.inputs
        >>> by_hand = 2.0 / np.sqrt(4) * np.tanh(X @ W.T) @ c  # the formula
        >>> bool(np.allclose(F.value(theta), by_hand))
        True
        """
        point = self._at(params)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._scale * (point.at().value() @ self._c)
            if self._offset is not None:
                out = out - self._offset
        return self._checked(out, "F(params)", {"params": point.W})

    def jacobian(self, params: ArrayLike) -> np.ndarray:
        r"""The Jacobian :math:`J(\theta)`.

        .. math::

            J_{j,\,(i,k)} = \frac{\alpha}{\sqrt m}\, c_i\,
                \sigma'(\langle w_i, x_j\rangle)\, x_{jk},

        where column :math:`(i, k)` is the flat index :math:`i d + k`,
        :math:`c_i` the output weights and :math:`x_{jk}` entry :math:`k` of
        input :math:`j`.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.

        Returns
        -------
        ndarray, shape (n_outputs, n_params)
            :math:`J(\theta) = DF(\theta)`.

        Raises
        ------
        ValueError
            If ``params`` does not have shape ``(n_params,)`` or is not finite,
            or the result overflows float64 (too large an ``alpha``).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> J = F.jacobian(theta)
        >>> J.shape
        (5, 12)
        >>> e = np.zeros(12)
        >>> e[4] = 1e-6  # column 4 against a central difference
        >>> bool(np.allclose(J[:, 4], (F.value(theta + e) - F.value(theta - e)) / 2e-6))
        True
        """
        point = self._at(params)
        n, m, d = self.n_outputs, self._width, self._input_dim
        J = np.empty((n, m * d))
        with np.errstate(over="ignore", invalid="ignore"):
            coef = self._scale * point.at().derivative() * self._c  # (n, m)
            # J[j, i d + k] = coef[j, i] X[j, k], written in place: no temporary.
            np.multiply(coef[:, :, None], self._X[:, None, :], out=J.reshape(n, m, d))
            # J is finite when coef is and its largest entry times max |X| is.
            # |max| + |min| bounds the entries and is NaN or inf unless all
            # are finite (two reductions: no temporary, no BLAS threads).
            bound = (abs(float(coef.max())) + abs(float(coef.min()))) * self._x_max
        if not bound < 1e300:
            self._checked(J, "J(params)", {"params": point.W})
        return J

    def describe_rank_loss(
        self, params: ArrayLike, J: ArrayLike, tolerance: float
    ) -> str:
        r"""Which neurons or inputs make :math:`J(\theta)` rank-deficient, as measured.

        Called by :class:`manifolds.OutputManifold` and
        :func:`manifolds.jacobian_rank` when :math:`J` loses rank. Neuron
        :math:`i` (0-based) owns the columns :math:`id, \dots, id + d - 1`,

        .. math::

            J_{:,(i,\cdot)} = \frac{\alpha}{\sqrt m}\, c_i\,
                \operatorname{diag}(\sigma'(X w_i))\, X,

        so it reports, in this order, what it finds:

        * pairs of neurons with equal input weights and opposite output
          weights (the symmetric initialization: their columns cancel);
        * duplicate neurons (equal weights, equal output weights);
        * saturated or dead neurons: those active on fewer than :math:`d`
          inputs, where input :math:`j` is active when its row of the block,
          :math:`\frac{\alpha}{\sqrt m}|\sigma'(\langle w_i, x_j\rangle)|
          \|x_j\|`, exceeds :math:`\tau` (the block then has rank below
          :math:`d`), with their weight norm :math:`\|w_i\|`, the largest
          :math:`|\sigma'(\langle w_i, x_j\rangle)|` and the smallest
          :math:`|\langle w_i, x_j\rangle|`;
        * inputs that span fewer than :math:`d` dimensions (collinear);
        * fewer distinct inputs than parameters;
        * otherwise, the neurons that carry the right singular vector of the
          smallest singular value (its weight on each neuron's block).

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta`.
        J : array_like, shape (n_outputs, n_params)
            :math:`J(\theta)`.
        tolerance : float
            :math:`\tau`, the absolute threshold of the numerical rank.

        Returns
        -------
        str
            One sentence per finding, joined by "; ".

        Raises
        ------
        ValueError
            If ``params`` or ``J`` has the wrong shape or is not finite, or
            ``tolerance`` is not finite and ``> 0``.
        TypeError
            If ``tolerance`` is not a real number.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(2, 3)
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((8, 2)))
        >>> theta[2:4] = [900.0, -40.0]  # neuron 1 saturates on every input
        >>> print(F.describe_rank_loss(theta, F.jacobian(theta), 1e-14)[:40])
        neuron 1 is saturated (or dead) on every
        """
        W = self._weights(params)
        m, n = self._width, self.n_outputs
        J = as_finite_array("J", J, ndim=2)
        if J.shape != (n, self.n_params):
            raise ValueError(
                f"`J` must have shape ({n}, {self.n_params}), got {J.shape}"
            )
        tolerance = check_positive_real("tolerance", tolerance)
        found = self._paired_neurons(W) if m <= 2000 else []
        with np.errstate(all="ignore"):
            Z = self._X @ W.T  # (n, m) pre-activations
            slopes = np.abs(self._activation.derivative(Z))
            # Input j contributes to neuron i's block when its row there,
            # (alpha/sqrt m) sigma'(z_ij) x_j, exceeds the rank tolerance.
            rows = self._scale * slopes * np.linalg.norm(self._X, axis=1)[:, None]
        found += self._idle_neurons(W, Z, slopes, np.sum(rows > tolerance, axis=0))
        found += self._degenerate_inputs()
        if not found and self.n_params <= 2000:
            found.append(self._smallest_direction(W, J, slopes))
        return "; ".join(found)

    def _paired_neurons(self, W: np.ndarray) -> list[str]:
        """Pairs of neurons with equal input weights, by their output weights."""
        found = []
        sizes = np.maximum(np.linalg.norm(W, axis=1), 1.0)
        gaps = np.linalg.norm(W[:, None, :] - W[None, :, :], axis=2)
        same = gaps <= 1e-12 * np.maximum(sizes[:, None], sizes[None, :])
        pairs = list(zip(*np.nonzero(np.triu(same, 1)), strict=True))
        opposite = [(i, k) for i, k in pairs if self._c[i] == -self._c[k]]
        twins = [(i, k) for i, k in pairs if self._c[i] == self._c[k]]
        if opposite:
            found.append(
                f"{len(opposite)} pair(s) of neurons with equal input weights "
                "and opposite output weights ("
                + _listed(f"{i} and {k}" for i, k in opposite)
                + "): the symmetric initialization, whose Jacobian columns "
                "cancel pairwise (rank J <= p/2); use the 'standard' or "
                "'centered' initialization, or Levenberg-Marquardt"
            )
        if twins:
            found.append(
                f"{len(twins)} pair(s) of duplicate neurons with equal input "
                "and output weights ("
                + _listed(f"{i} and {k}" for i, k in twins)
                + "): they move the outputs only together"
            )
        return found

    def _idle_neurons(
        self, W: np.ndarray, Z: np.ndarray, slopes: np.ndarray, active: np.ndarray
    ) -> list[str]:
        """The neurons active on fewer than d inputs (at most five listed)."""
        d, n = self._input_dim, self.n_outputs
        found = []
        idle = np.flatnonzero(active < d)
        for i in idle[:5]:
            largest = float(np.max(slopes[:, i]))
            if largest == 0:
                kind = (
                    "saturated (or dead) on every input, sigma' = 0 in float64 (its "
                    f"{d} Jacobian columns vanish)"
                )
            elif active[i] == 0:
                kind = f"saturated on every input (its {d} Jacobian columns vanish)"
            else:
                kind = (
                    f"saturated on {n - active[i]} of the {n} inputs (active on "
                    f"{active[i]} < d = {d}, so its {d} weights move the outputs "
                    f"in at most {active[i]} direction(s))"
                )
            found.append(
                f"neuron {i} is {kind}: |w_{i}| = {np.linalg.norm(W[i]):.4g}, "
                f"max |sigma'(<w_{i}, x_j>)| = {largest:.3e}, "
                f"min |<w_{i}, x_j>| = {float(np.min(np.abs(Z[:, i]))):.4g}"
            )
        if idle.size > 5:
            found.append(f"and {idle.size - 5} more saturated or dead neuron(s)")
        return found

    def _degenerate_inputs(self) -> list[str]:
        """Collinear inputs, or fewer distinct inputs than parameters."""
        d, n = self._input_dim, self.n_outputs
        found = []
        # The numerical rank of X, with the core's default tolerance.
        s = singular_values(self._X)
        spanned = int(np.count_nonzero(s > s[0] * default_rank_rtol(n, d)))
        if spanned < d:
            found.append(
                f"the inputs span only {spanned} of the d = {d} input dimensions "
                "(collinear inputs, cond(X) infinite): each neuron's weights move "
                f"the outputs in at most {spanned} direction(s)"
            )
        distinct = np.unique(self._X, axis=0).shape[0]
        if distinct < self.n_params:
            found.append(
                f"only {distinct} distinct inputs among the {n} for "
                f"{self.n_params} parameters (duplicate inputs): rank J <= "
                f"{distinct}"
            )
        return found

    def _smallest_direction(
        self, W: np.ndarray, J: np.ndarray, slopes: np.ndarray
    ) -> str:
        """The neurons that carry the last right singular vector of J."""
        with np.errstate(all="ignore"):
            null = singular_value_decomposition(J)[2][-1]
        share = np.sum(null.reshape(self._width, self._input_dim) ** 2, axis=1)
        order = np.argsort(share)[::-1]
        top = [i for i in order[:3] if share[i] >= 0.05]
        return (
            "no saturated, dead, paired or duplicate neurons and no duplicate "
            "inputs; the smallest singular direction lies on "
            + ", ".join(
                f"neuron {i} ({100 * share[i]:.0f}%, |w_{i}| = "
                f"{np.linalg.norm(W[i]):.4g}, max |sigma'| = "
                f"{float(np.max(slopes[:, i])):.3e})"
                for i in top
            )
        )

    def jvp(self, params: ArrayLike, vector: ArrayLike) -> np.ndarray:
        r"""The Jacobian-vector product :math:`J(\theta) v`.

        .. math::

            (J v)_j = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\,
                \sigma'(\langle w_i, x_j\rangle)\, \langle v_i, x_j\rangle,

        where :math:`v_i` is row :math:`i` of :math:`v.\mathrm{reshape}(m, d)`.
        It costs :math:`O(nmd)` and never forms :math:`J`.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.
        vector : array_like, shape (n_params,)
            The direction :math:`v`.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`J(\theta) v`.

        Raises
        ------
        ValueError
            If ``params`` or ``vector`` does not have shape ``(n_params,)`` or
            is not finite, or the result
            overflows float64 (too large an ``alpha`` or argument).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> v = rng.standard_normal(12)
        >>> bool(np.allclose(F.jvp(theta, v), F.jacobian(theta) @ v))
        True
        """
        point = self._at(params)
        XV = self._directions("vector", vector)
        with np.errstate(over="ignore", invalid="ignore"):
            S = point.at().derivative()
            out = self._scale * ((S * XV) @ self._c)
        return self._checked(
            out, "J(params) vector", {"params": point.W, "vector": vector}
        )

    def vjp(self, params: ArrayLike, cotangent: ArrayLike) -> np.ndarray:
        r"""The vector-Jacobian product :math:`J(\theta)^\top u`.

        .. math::

            (J^\top u)_i = \frac{\alpha}{\sqrt m}\, c_i \sum_{j=1}^n u_j\,
                \sigma'(\langle w_i, x_j\rangle)\, x_j \in \mathbb{R}^d,

        where :math:`(J^\top u)_i` is block :math:`i` (entries
        :math:`i d, \dots, i d + d - 1`) of the result.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.
        cotangent : array_like, shape (n_outputs,)
            The vector :math:`u`.

        Returns
        -------
        ndarray, shape (n_params,)
            :math:`J(\theta)^\top u`.

        Raises
        ------
        ValueError
            If ``params`` or ``cotangent`` has the wrong shape or is not
            finite, or the result
            overflows float64 (too large an ``alpha`` or argument).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> u = rng.standard_normal(5)
        >>> bool(np.allclose(F.vjp(theta, u), F.jacobian(theta).T @ u))
        True
        """
        point = self._at(params)
        u = as_finite_vector("cotangent", cotangent, self.n_outputs)
        with np.errstate(over="ignore", invalid="ignore"):
            S = point.at().derivative()
            coef = self._scale * (u[:, None] * S) * self._c  # (n, m)
            out = (coef.T @ self._X).ravel()
        return self._checked(
            out, "J(params)^T cotangent", {"params": point.W, "cotangent": u}
        )

    #: :meth:`vjp_batch` takes a ``scipy.sparse`` matrix of cotangents at
    #: :math:`O(\mathrm{nnz}\,d)` cost per neuron (for sketches).
    accepts_sparse_cotangents = True

    def _coefficients(self, point: _Point) -> np.ndarray:
        r""":math:`\frac{\alpha}{\sqrt m} c_i \sigma'(\langle w_i, x_j\rangle)`, shape ``(n, m)``."""
        return self._scale * point.at().derivative() * self._c

    def jvp_batch(self, params: ArrayLike, vectors: ArrayLike) -> np.ndarray:
        r"""The Jacobian-vector products :math:`J(\theta) V` of ``k`` directions at once.

        Column :math:`l` is :meth:`jvp` of column :math:`l` of :math:`V` (to
        rounding), computed neuron by neuron with BLAS-3 products
        :math:`X V_i` (:math:`V_i` the rows :math:`i d, \dots, i d + d - 1`
        of :math:`V`), :math:`O(nmdk)` flops and :math:`O(nk)` memory:

        .. math::

            (J V)_{jl} = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\,
                \sigma'(\langle w_i, x_j\rangle)\, (X V_i)_{jl}.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.
        vectors : array_like, shape (n_params, k)
            The directions :math:`V`, one per column.

        Returns
        -------
        ndarray, shape (n_outputs, k)

        Raises
        ------
        ValueError
            If ``params`` or ``vectors`` has the wrong shape or is not
            finite, or the result overflows float64.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> V = rng.standard_normal((12, 2))
        >>> bool(np.allclose(F.jvp_batch(theta, V), F.jacobian(theta) @ V))
        True
        """
        point = self._at(params)
        V = as_finite_array("vectors", vectors, ndim=2)
        if V.shape[0] != self.n_params:
            raise ValueError(
                f"`vectors` must have shape (n_params, k) = ({self.n_params}, k), "
                f"got shape {V.shape}"
            )
        d = self._input_dim
        out = np.zeros((self.n_outputs, V.shape[1]))
        with np.errstate(over="ignore", invalid="ignore"):
            coef = self._coefficients(point)
            for i in range(self._width):
                out += coef[:, i : i + 1] * (self._X @ V[i * d : (i + 1) * d])
        return self._checked(
            out, "J(params) vectors", {"params": point.W, "vectors": V}
        )

    def vjp_batch(self, params: ArrayLike, cotangents) -> np.ndarray:
        r"""The vector-Jacobian products :math:`J(\theta)^\top U` of ``k`` cotangents at once.

        Column :math:`l` is :meth:`vjp` of column :math:`l` of :math:`U` (to
        rounding). Block :math:`i` (rows :math:`i d, \dots, i d + d - 1`) is a
        BLAS-3 product, :math:`O(nmdk)` flops in all; a ``scipy.sparse``
        :math:`U` costs :math:`O(\mathrm{nnz}(U)\, d)` per neuron instead:

        .. math::

            (J^\top U)_i = \frac{\alpha}{\sqrt m}\, c_i\, X^\top
                \operatorname{diag}(\sigma'(X w_i))\, U.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.
        cotangents : array_like or scipy.sparse matrix, shape (n_outputs, k)
            The cotangents :math:`U`, one per column.

        Returns
        -------
        ndarray, shape (n_params, k)

        Raises
        ------
        ValueError
            If ``params`` or ``cotangents`` has the wrong shape or is not
            finite, or the result overflows float64.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> U = rng.standard_normal((5, 2))
        >>> bool(np.allclose(F.vjp_batch(theta, U), F.jacobian(theta).T @ U))
        True
        """
        import scipy.sparse

        point = self._at(params)
        sparse = scipy.sparse.issparse(cotangents)
        if sparse:
            U = scipy.sparse.csr_array(cotangents.T, dtype=np.float64)  # (k, n)
            as_finite_vector("cotangents", U.data)
            shape = U.shape[::-1]
        else:
            U = as_finite_array("cotangents", cotangents, ndim=2)
            shape = U.shape
        if shape[0] != self.n_outputs:
            raise ValueError(
                f"`cotangents` must have shape (n_outputs, k) = ({self.n_outputs}, k), "
                f"got shape {shape}"
            )
        d, k = self._input_dim, shape[1]
        out = np.empty((self._width, d, k))
        with np.errstate(over="ignore", invalid="ignore"):
            coef = self._coefficients(point)
            for i in range(self._width):
                if sparse:
                    scaled = scipy.sparse.csr_array(
                        (U.data * coef[U.indices, i], U.indices, U.indptr),
                        shape=U.shape,
                    )
                    out[i] = (scaled @ self._X).T
                elif k <= d:
                    out[i] = self._X.T @ (coef[:, i : i + 1] * U)
                else:
                    out[i] = (coef[:, i : i + 1] * self._X).T @ U
        out = out.reshape(self.n_params, k)
        return self._checked(
            out,
            "J(params)^T cotangents",
            {"params": point.W, "cotangents": U.data if sparse else U},
        )

    def second_derivative(
        self, params: ArrayLike, vector_a: ArrayLike, vector_b: ArrayLike
    ) -> np.ndarray:
        r"""The second derivative :math:`D^2F(\theta)[v, w]`.

        .. math::

            D^2F(\theta)[v, w]_j = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\,
                \sigma''(\langle w_i, x_j\rangle)\, \langle v_i, x_j\rangle
                \langle \tilde w_i, x_j\rangle,

        where :math:`v_i, \tilde w_i` are rows :math:`i` of
        ``vector_a.reshape(m, d)`` and ``vector_b.reshape(m, d)`` (the
        Hessian of each output is block diagonal over neurons).

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.
        vector_a, vector_b : array_like, shape (n_params,)
            The directions :math:`v` and :math:`w`.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`D^2F(\theta)[v, w]`, symmetric in :math:`v, w`.

        Raises
        ------
        ValueError
            If ``params``, ``vector_a`` or ``vector_b`` does not have shape
            ``(n_params,)`` or is not finite, or the result
            overflows float64 (too large an ``alpha`` or argument).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> v, w = rng.standard_normal((2, 12))
        >>> second = F.second_derivative(theta, v, w)
        >>> bool(np.allclose(second, F.second_derivative(theta, w, v)))
        True
        >>> step = 1e-6  # the derivative of J(theta) v along w
        >>> difference = (F.jvp(theta + step * w, v) - F.jvp(theta - step * w, v)) / (2 * step)
        >>> bool(np.allclose(second, difference))
        True
        """
        point = self._at(params)
        XA = self._directions("vector_a", vector_a)
        XB = self._directions("vector_b", vector_b)
        with np.errstate(over="ignore", invalid="ignore"):
            S2 = point.at().second_derivative()
            out = self._scale * ((S2 * XA * XB) @ self._c)
        return self._checked(
            out,
            "D^2F(params)[vector_a, vector_b]",
            {"params": point.W, "vector_a": vector_a, "vector_b": vector_b},
        )

    def weighted_hessian_vector(
        self, params: ArrayLike, weights: ArrayLike, vector: ArrayLike
    ) -> np.ndarray:
        r"""The weighted Hessian-vector product :math:`H_\nu(\theta) v`.

        .. math::

            (H_\nu v)_i = \frac{\alpha}{\sqrt m}\, c_i \sum_{j=1}^n \nu_j\,
                \sigma''(\langle w_i, x_j\rangle)\, \langle v_i, x_j\rangle\, x_j
                \in \mathbb{R}^d,

        where :math:`H_\nu = \sum_j \nu_j \nabla^2 F_j`, :math:`(H_\nu v)_i` is
        block :math:`i` of the result and
        :math:`v_i` row :math:`i` of ``vector.reshape(m, d)``.

        It is the derivative of :math:`\theta \mapsto J(\theta)^\top \nu`
        along :math:`v`, and satisfies :math:`\langle w, H_\nu v\rangle =
        \langle \nu, D^2F(\theta)[v, w]\rangle`.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.
        weights : array_like, shape (n_outputs,)
            The weights :math:`\nu`.
        vector : array_like, shape (n_params,)
            The vector :math:`v`.

        Returns
        -------
        ndarray, shape (n_params,)
            :math:`H_\nu(\theta) v`.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (too large an ``alpha`` or argument).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> nu = rng.standard_normal(5)
        >>> v, w = rng.standard_normal((2, 12))
        >>> hv = F.weighted_hessian_vector(theta, nu, v)
        >>> bool(np.isclose(w @ hv, nu @ F.second_derivative(theta, v, w)))
        True
        """
        point = self._at(params)
        nu = as_finite_vector("weights", weights, self.n_outputs)
        XV = self._directions("vector", vector)
        with np.errstate(over="ignore", invalid="ignore"):
            S2 = point.at().second_derivative()
            coef = self._scale * (nu[:, None] * S2 * XV) * self._c  # (n, m)
            out = (coef.T @ self._X).ravel()
        return self._checked(
            out,
            "H_weights(params) vector",
            {"params": point.W, "weights": nu, "vector": vector},
        )

    def neural_tangent_kernel(self, params: ArrayLike) -> np.ndarray:
        r"""The empirical neural tangent kernel :math:`K = J J^\top`, in closed form.

        .. math::

            K = \frac{\alpha^2}{m}\, (S S^\top) \odot (X X^\top),
            \qquad S_{ji} = \sigma'(\langle w_i, x_j\rangle),

        where :math:`\odot` is the elementwise product, :math:`X` the
        ``(n, d)`` inputs and :math:`S` the ``(n, m)`` matrix of activation
        slopes. It holds because :math:`c_i^2 = 1`, and costs
        :math:`O(n^2 (m + d))` against :math:`O(n^2 m d)` for forming
        :math:`J J^\top`. The centering offset is constant in
        :math:`\theta`, so it does not enter.

        Parameters
        ----------
        params : array_like, shape (n_params,)
            :math:`\theta = \operatorname{vec}(W)`, row-major.

        Returns
        -------
        ndarray, shape (n_outputs, n_outputs)
            :math:`K(\theta)`, symmetric positive semi-definite.

        Raises
        ------
        ValueError
            If ``params`` does not have shape ``(n_params,)`` or is not finite,
            or the result overflows float64 (too large an ``alpha``).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(3, 4, alpha=2.0)  # d = 3, m = 4, p = 12
        >>> theta = network.init_params(rng)
        >>> F = network.output_map(rng.standard_normal((5, 3)))  # n = 5
        >>> K = F.neural_tangent_kernel(theta)
        >>> J = F.jacobian(theta)
        >>> K.shape, bool(np.allclose(K, J @ J.T))
        ((5, 5), True)
        """
        point = self._at(params)
        with np.errstate(over="ignore", invalid="ignore"):
            S = point.at().derivative()
            try:
                square = self._scale**2
            except OverflowError:  # Python floats raise where numpy gives inf
                square = math.inf
            if self._gram is None:  # X X^T depends on X only: computed once
                self._gram = _readonly(self._X @ self._X.T)
            # square * (S S^T) * (X X^T), in place, in this order.
            K = S @ S.T
            K *= square
            K *= self._gram
        return self._checked(K, "K(params) = J J^T", {"params": point.W})


class TwoLayerNetwork:
    r"""A two-layer network with fixed :math:`\pm 1` output weights (THEORY §1).

    .. math::

        f(x; W) = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\,
            \sigma(\langle w_i, x\rangle),

    where

    - :math:`W = (w_1, \dots, w_m)^\top \in \mathbb{R}^{m \times d}` are the
      trainable weights, flattened row-major into ``params`` of shape
      ``(m * d,)``,
    - :math:`c_i \in \{\pm 1\}` are fixed output weights, drawn by
      :meth:`~riemgn.networks.TwoLayerNetwork.init_params`,
    - :math:`\alpha > 0` is the scaling factor and :math:`\sigma` a smooth
      activation.

    For the ``"centered"`` scheme the model is :math:`f(x; W) - f(x; W_0)`.

    Parameters
    ----------
    input_dim : int
        The input dimension :math:`d \ge 1`.
    width : int
        The number of hidden neurons :math:`m \ge 1`.
    alpha : float, default 1.0
        The scaling factor :math:`\alpha`, finite and ``> 0``.
    activation : str or Activation, default "tanh"
        One of :data:`~riemgn.networks.ACTIVATIONS` or an
        :class:`~riemgn.networks.Activation`.

    Attributes
    ----------
    output_weights : ndarray, shape (width,) or None
        The fixed :math:`c`; None until
        :meth:`~riemgn.networks.TwoLayerNetwork.init_params` is called.
    center_params : ndarray, shape (n_params,) or None
        :math:`\operatorname{vec}(W_0)` for the ``"centered"`` scheme, else
        None.
    scheme : str or None
        The scheme of the last
        :meth:`~riemgn.networks.TwoLayerNetwork.init_params` call, or None.

    Raises
    ------
    ValueError
        If ``input_dim`` or ``width`` is < 1, ``alpha`` is not finite and
        ``> 0``, or ``activation`` is unknown.
    TypeError
        If ``input_dim`` or ``width`` is not an integer, or ``alpha`` is not
        a real number.

    Examples
    --------
    >>> import numpy as np
    >>> net = TwoLayerNetwork(3, 8, alpha=2.0, activation="gelu")
    >>> theta0 = net.init_params(np.random.default_rng(0), scheme="symmetric")
    >>> output_map = net.output_map(np.ones((5, 3)))
    >>> bool(np.allclose(output_map.value(theta0), 0.0))
    True
    """

    def __init__(
        self,
        input_dim: int,
        width: int,
        *,
        alpha: float = 1.0,
        activation: str | Activation = "tanh",
    ):
        self._input_dim = check_positive_int("input_dim", input_dim)
        self._width = check_positive_int("width", width)
        self._alpha = check_positive_real("alpha", alpha)
        self._activation = get_activation(activation)
        self.output_weights: np.ndarray | None = None
        self.center_params: np.ndarray | None = None
        self.scheme: str | None = None

    @property
    def input_dim(self) -> int:
        """The input dimension :math:`d`."""
        return self._input_dim

    @property
    def width(self) -> int:
        """The number of hidden neurons :math:`m`."""
        return self._width

    @property
    def alpha(self) -> float:
        r"""The scaling factor :math:`\alpha`."""
        return self._alpha

    @property
    def activation(self) -> Activation:
        r"""The activation :math:`\sigma`."""
        return self._activation

    @property
    def n_params(self) -> int:
        """The number of trainable parameters :math:`p = m d`."""
        return self._width * self._input_dim

    def init_params(
        self, rng: np.random.Generator, scheme: str = "standard"
    ) -> np.ndarray:
        r"""Draw the output weights :math:`c` and the initial point :math:`\theta_0`.

        This sets the network state (``output_weights``, ``center_params``,
        ``scheme``), replacing any earlier one. Output maps created before
        keep their own copy of the old state.

        The schemes (THEORY §1):

        ``"standard"``
            :math:`w_i \sim N(0, I_d)` and :math:`c_i` uniform on
            :math:`\{\pm 1\}`, all independent. :math:`F(\theta_0)` is of
            size :math:`\alpha`.
        ``"symmetric"``
            ``width`` must be even. The first :math:`m/2` neurons are drawn
            as in ``"standard"``, then :math:`w_{i+m/2} = w_i` and
            :math:`c_{i+m/2} = -c_i`. So :math:`F(\theta_0) = 0`, and the
            Jacobian columns of each pair cancel,
            :math:`\operatorname{rank} J(\theta_0) \le p/2`: :math:`F` is not
            an immersion at :math:`\theta_0`.
        ``"centered"``
            :math:`W_0, c` drawn as in ``"standard"``; the network becomes
            :math:`f(x; W) - f(x; W_0)`, with :math:`\operatorname{vec}(W_0)`
            stored in ``center_params``. :math:`F(\theta_0) = 0` and
            :math:`J(\theta_0)` is that of the standard network (full rank
            generically).

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of randomness, e.g. ``np.random.default_rng(0)``. The
            same seed gives the same parameters and output weights.
        scheme : {"standard", "symmetric", "centered"}, default "standard"
            One of :data:`riemgn.networks.two_layer.INIT_SCHEMES`.

        Returns
        -------
        ndarray, shape (n_params,)
            :math:`\theta_0 = \operatorname{vec}(W_0)`, float64, row-major.

        Raises
        ------
        TypeError
            If ``rng`` is not a ``numpy.random.Generator``.
        ValueError
            If ``scheme`` is unknown, or ``scheme="symmetric"`` with an odd
            ``width``.

        Examples
        --------
        The symmetric scheme pairs neuron :math:`i` with :math:`i + m/2`:

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> network = TwoLayerNetwork(2, 4)  # p = 8
        >>> theta0 = network.init_params(rng, "symmetric")
        >>> c = network.output_weights
        >>> bool(np.all(c[2:] == -c[:2])), bool(np.all(theta0[4:] == theta0[:4]))
        (True, True)
        >>> F = network.output_map(rng.standard_normal((10, 2)))
        >>> bool(np.allclose(F.value(theta0), 0.0))
        True
        >>> from manifolds.linalg import factorize
        >>> factorize(F.jacobian(theta0)).rank_info().rank  # <= p / 2: no immersion
        4
        >>> theta0 = network.init_params(rng, "centered")
        >>> F = network.output_map(rng.standard_normal((10, 2)))
        >>> bool(np.allclose(F.value(theta0), 0.0))
        True
        >>> factorize(F.jacobian(theta0)).rank_info().rank
        8
        """
        rng = check_generator(rng)
        scheme = _check_scheme(scheme)
        m, d = self._width, self._input_dim
        if scheme == "symmetric":
            if m % 2 != 0:
                raise ValueError(
                    "`scheme='symmetric'` pairs neuron i with neuron i + width/2, "
                    f"so `width` must be even, got width={m}"
                )
            half_W = rng.standard_normal((m // 2, d))
            half_c = rng.choice(np.array([-1.0, 1.0]), size=m // 2)
            W = np.concatenate([half_W, half_W])
            c = np.concatenate([half_c, -half_c])
        else:
            W = rng.standard_normal((m, d))
            c = rng.choice(np.array([-1.0, 1.0]), size=m)
        params = W.ravel().astype(np.float64)
        self.output_weights = c
        self.center_params = params.copy() if scheme == "centered" else None
        self.scheme = scheme
        return params

    def output_map(self, X: ArrayLike) -> TwoLayerOutputMap:
        r"""The output map :math:`F(\theta) = (f(x_j; W))_{j=1}^n` on inputs ``X``.

        .. math::

            F(\theta) = \bigl(f(x_1; W), \dots, f(x_n; W)\bigr) \in \R^n,
            \qquad \theta = \operatorname{vec}(W) \in \R^{md},

        where :math:`x_j` is row :math:`j` of ``X`` and :math:`f` the network
        (minus :math:`f(x_j; W_0)` for the ``"centered"`` scheme).

        Parameters
        ----------
        X : array_like, shape (n_samples, input_dim)
            The inputs, one per row, finite.

        Returns
        -------
        TwoLayerOutputMap
            A :class:`manifolds.OutputMap` with analytic derivatives (a
            :class:`riemgn.networks.TwoLayerOutputMap`). It snapshots ``X``,
            ``output_weights``, :attr:`riemgn.networks.TwoLayerNetwork.alpha`,
            the activation and the centering offset :math:`f(X; W_0)`.

        Raises
        ------
        RuntimeError
            If :meth:`riemgn.networks.TwoLayerNetwork.init_params` has not been
            called yet (the output weights do not exist).
        ValueError
            If ``X`` has the wrong shape or holds NaN or inf.

        Examples
        --------
        >>> import numpy as np
        >>> network = TwoLayerNetwork(3, 4)
        >>> theta0 = network.init_params(np.random.default_rng(0))
        >>> F = network.output_map(np.random.default_rng(1).standard_normal((5, 3)))
        >>> F.n_outputs, F.n_params, F.value(theta0).shape
        (5, 12, (5,))
        >>> c = F.output_weights.copy()
        >>> _ = network.init_params(np.random.default_rng(2))  # new weights...
        >>> bool(np.array_equal(F.output_weights, c))  # ...but F kept its own
        True
        """
        X = _check_inputs(X, self._input_dim)
        if self.output_weights is None:
            raise RuntimeError(
                "the output weights are not set: call "
                "`init_params(rng, scheme=...)` before `output_map(X)`"
            )
        return TwoLayerOutputMap(
            X,
            self.output_weights,
            alpha=self._alpha,
            activation=self._activation,
            center_params=self.center_params,
        )

    def __repr__(self) -> str:
        return (
            f"TwoLayerNetwork(input_dim={self._input_dim}, width={self._width}, "
            f"alpha={self._alpha!r}, activation={self._activation.name!r})"
        )
