r"""An :class:`~manifolds.OutputMap` for any function written with ``autograd.numpy``.

This is the generic path: it needs nothing but the function, and it is the
reference that analytic implementations are tested against.

Every derivative is a composition of autograd's forward mode (``make_jvp``)
and reverse mode (``make_vjp``), so no derivative is approximated:

* :math:`Jv` is one forward pass, :math:`J^\top w` one reverse pass;
* :math:`J` takes one forward pass per parameter when :math:`p \le n` (the
  output-manifold regime) and one reverse pass per output otherwise;
* :math:`D^2F[v, w]` is the forward derivative, along :math:`w`, of
  :math:`\theta \mapsto J(\theta) v`;
* :math:`H_\nu v` is the reverse derivative, with cotangent :math:`\nu`, of
  :math:`\theta \mapsto J(\theta) v` (since
  :math:`\nabla_\theta \langle \nu, J(\theta) v\rangle = H_\nu v`).

``autograd`` is imported lazily, so that :mod:`manifolds` needs only numpy,
scipy and pymanopt unless this class is used.

Examples start from ``np``, ``anp``, ``X``, ``output_map``, ``theta0``,
``manifold`` and ``u``: the model :math:`F(w) = \tanh(Xw)` and its output
manifold, built in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from manifolds.validation import as_finite_vector, check_positive_int

__all__ = ["AutogradOutputMap"]


def _import_autograd():
    try:
        import autograd
    except ImportError as error:  # pragma: no cover - autograd is a dependency
        raise ImportError(
            "AutogradOutputMap needs the 'autograd' package; install it with "
            "`pip install autograd`"
        ) from error
    return autograd


class AutogradOutputMap:
    r"""The output map of a function written with ``autograd.numpy``.

    Parameters
    ----------
    fun : callable
        ``fun(params) -> outputs``, mapping an array of shape ``(n_params,)``
        to an array of shape ``(n_outputs,)``, written with ``autograd.numpy``
        so that autograd can differentiate it.
    n_params : int
        The number of parameters :math:`p`.
    n_outputs : int, optional
        The number of outputs :math:`n`. By default it is read off
        ``fun(np.zeros(n_params))``.

    Raises
    ------
    TypeError
        If ``fun`` is not callable, or ``n_params`` or ``n_outputs`` is not an
        integer.
    ValueError
        If ``n_params`` or ``n_outputs`` is not positive, or ``fun`` does not
        return a 1-d array.

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
    >>> output_map.n_outputs
    3
    >>> output_map.jacobian(np.zeros(2)).shape
    (3, 2)
    >>> bool(np.allclose(output_map.jacobian(np.zeros(2)), X))  # tanh'(0) = 1
    True
    """

    def __init__(
        self,
        fun: Callable[[np.ndarray], np.ndarray],
        n_params: int,
        *,
        n_outputs: int | None = None,
    ):
        if not callable(fun):
            raise TypeError(f"`fun` must be callable, got {type(fun).__name__}")
        self._autograd = _import_autograd()
        self._fun = fun
        self._n_params = check_positive_int("n_params", n_params)
        if n_outputs is None:
            probe = np.asarray(fun(np.zeros(self._n_params)), dtype=np.float64)
            if probe.ndim != 1:
                raise ValueError(
                    "`fun` must return a 1-d array of outputs, got an array of "
                    f"shape {probe.shape}"
                )
            n_outputs = probe.shape[0]
        self._n_outputs = check_positive_int("n_outputs", n_outputs)

    @property
    def n_params(self) -> int:
        """The number of parameters :math:`p`."""
        return self._n_params

    @property
    def n_outputs(self) -> int:
        """The number of outputs :math:`n`."""
        return self._n_outputs

    def _params(self, params) -> np.ndarray:
        return as_finite_vector("params", params, self._n_params)

    def _jvp_fun(self, vector: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        make_jvp = self._autograd.make_jvp
        return lambda params: make_jvp(self._fun)(params)(vector)[1]

    def value(self, params) -> np.ndarray:
        r"""The outputs :math:`F(\theta)`: ``fun(params)`` as a float64 array.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If ``params`` has the wrong shape or is not finite, or ``fun``
            returns an array of the wrong shape.

        Examples
        --------
        >>> output_map.value(theta0).shape
        (6,)
        >>> bool(np.allclose(output_map.value(theta0), np.tanh(X @ theta0)))
        True
        """
        params = self._params(params)
        out = np.asarray(self._fun(params), dtype=np.float64)
        if out.shape != (self._n_outputs,):
            raise ValueError(
                f"`fun` returned shape {out.shape}, expected ({self._n_outputs},)"
            )
        return out

    def jacobian(self, params) -> np.ndarray:
        r"""The Jacobian :math:`J(\theta) = DF(\theta)`.

        With :math:`p \le n` (the output-manifold regime) it is built column
        by column, :math:`J e_k`, with one forward pass per parameter;
        otherwise row by row with one reverse pass per output.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.

        Returns
        -------
        ndarray, shape (n_outputs, n_params)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        For :math:`F(\theta) = \tanh(X\theta)`, :math:`J = \operatorname{diag}(1
        - \tanh^2(X\theta))\, X`:

        >>> J = output_map.jacobian(theta0)
        >>> J.shape
        (6, 2)
        >>> bool(np.allclose(J, (1 - np.tanh(X @ theta0) ** 2)[:, None] * X))
        True
        """
        params = self._params(params)
        if self._n_params <= self._n_outputs:
            # Forward mode: one pass per parameter, fewer than the outputs.
            push = self._autograd.make_jvp(self._fun)(params)
            columns = [push(e)[1] for e in np.eye(self._n_params)]
            return (
                np.asarray(columns, dtype=np.float64)
                .reshape(self._n_params, self._n_outputs)
                .T.copy()
            )
        jac = self._autograd.jacobian(self._fun)(params)
        return np.asarray(jac, dtype=np.float64).reshape(
            self._n_outputs, self._n_params
        )

    def jvp(self, params, vector) -> np.ndarray:
        r"""The Jacobian-vector product :math:`J(\theta) v`, one forward pass.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        vector : ndarray, shape (n_params,)
            The direction :math:`v`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        >>> v = np.array([1.0, 2.0])
        >>> bool(np.allclose(output_map.jvp(theta0, v), output_map.jacobian(theta0) @ v))
        True
        """
        params = self._params(params)
        vector = as_finite_vector("vector", vector, self._n_params)
        return np.asarray(self._autograd.make_jvp(self._fun)(params)(vector)[1])

    def vjp(self, params, cotangent) -> np.ndarray:
        r"""The vector-Jacobian product :math:`J(\theta)^\top w`, one reverse pass.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        cotangent : ndarray, shape (n_outputs,)
            The cotangent :math:`w`.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        >>> w = np.arange(6.0)
        >>> bool(np.allclose(output_map.vjp(theta0, w), output_map.jacobian(theta0).T @ w))
        True
        """
        params = self._params(params)
        cotangent = as_finite_vector("cotangent", cotangent, self._n_outputs)
        pullback, _ = self._autograd.make_vjp(self._fun)(params)
        return np.asarray(pullback(cotangent), dtype=np.float64)

    def second_derivative(self, params, vector_a, vector_b) -> np.ndarray:
        r"""The second derivative :math:`D^2F(\theta)[v, w]`.

        .. math::

            D^2F(\theta)[v, w] = \frac{d}{dt}\Big|_{t=0} J(\theta + t w)\, v,
            \qquad D^2F(\theta)[v, w]_j = v^\top \nabla^2 F_j(\theta)\, w,

        computed exactly as a forward derivative (along :math:`w`) of the
        forward derivative :math:`\theta \mapsto J(\theta) v`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        vector_a, vector_b : ndarray, shape (n_params,)
            The directions :math:`v` and :math:`w`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        For :math:`F_j(\theta) = \tanh(s_j)`, :math:`s = X\theta`,
        :math:`D^2F[v, w]_j = \tanh''(s_j)\, (Xv)_j (Xw)_j` with
        :math:`\tanh'' = -2\tanh\,(1 - \tanh^2)`:

        >>> v, w = np.array([1.0, 2.0]), np.array([-0.5, 1.0])
        >>> t = np.tanh(X @ theta0)
        >>> expected = -2 * t * (1 - t**2) * (X @ v) * (X @ w)
        >>> bool(np.allclose(output_map.second_derivative(theta0, v, w), expected))
        True
        """
        params = self._params(params)
        vector_a = as_finite_vector("vector_a", vector_a, self._n_params)
        vector_b = as_finite_vector("vector_b", vector_b, self._n_params)
        jvp_a = self._jvp_fun(vector_a)
        return np.asarray(self._autograd.make_jvp(jvp_a)(params)(vector_b)[1])

    def weighted_hessian_vector(self, params, weights, vector) -> np.ndarray:
        r"""The product :math:`H_\nu(\theta) v` with :math:`H_\nu = \sum_j \nu_j \nabla^2 F_j`.

        .. math::

            H_\nu(\theta) v = \nabla_\theta \langle \nu, J(\theta) v \rangle,

        computed exactly as a reverse derivative, with cotangent :math:`\nu`,
        of the forward derivative :math:`\theta \mapsto J(\theta) v`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        weights : ndarray, shape (n_outputs,)
            The weights :math:`\nu`.
        vector : ndarray, shape (n_params,)
            The vector :math:`v`.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        For :math:`F(\theta) = \tanh(X\theta)`, :math:`H_\nu v = X^\top (\nu
        \odot \tanh''(X\theta) \odot Xv)`:

        >>> v, nu = np.array([1.0, 2.0]), np.arange(6.0)
        >>> t = np.tanh(X @ theta0)
        >>> expected = X.T @ (nu * -2 * t * (1 - t**2) * (X @ v))
        >>> bool(np.allclose(output_map.weighted_hessian_vector(theta0, nu, v), expected))
        True
        """
        params = self._params(params)
        weights = as_finite_vector("weights", weights, self._n_outputs)
        vector = as_finite_vector("vector", vector, self._n_params)
        pullback, _ = self._autograd.make_vjp(self._jvp_fun(vector))(params)
        return np.asarray(pullback(weights), dtype=np.float64)
