r"""The :class:`OutputMap` protocol: a smooth map :math:`F: \mathbb{R}^p \to \mathbb{R}^n`.

An output map is what the geometry layer needs from a model. For a network
:math:`f(x; \theta)` and inputs :math:`x_1, \dots, x_n` it is

.. math::

    F(\theta) = (f(x_1; \theta), \dots, f(x_n; \theta)),

with Jacobian :math:`J(\theta) = DF(\theta) \in \mathbb{R}^{n \times p}`. The
geometry of the output manifold :math:`M = F(B(\theta_0, \rho))` needs
:math:`F`, :math:`J` and two second-order quantities:

* the second derivative along two directions,
  :math:`D^2F(\theta)[v, w] \in \mathbb{R}^n`, for the second fundamental form
  and geodesics;
* the Hessian of :math:`\theta \mapsto \langle \nu, F(\theta) \rangle` applied
  to a vector, :math:`H_\nu(\theta) v = \sum_j \nu_j \nabla^2 F_j(\theta) v
  \in \mathbb{R}^p`, for the Weingarten map.

The protocol is structural (:class:`typing.Protocol`): any object with these
attributes is an output map, with no need to inherit from anything.
:class:`~manifolds.AutogradOutputMap` implements it for any function written
with ``autograd.numpy``; models with analytic derivatives (such as
:class:`riemgn.networks.TwoLayerNetwork`) implement it directly.

Examples start from ``np``, ``anp``, ``X``, ``output_map``, ``theta0``,
``manifold`` and ``u``: the model :math:`F(w) = \tanh(Xw)` and its output
manifold, built in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["OutputMap"]


@runtime_checkable
class OutputMap(Protocol):
    r"""A smooth map :math:`F: \mathbb{R}^p \to \mathbb{R}^n` with derivatives.

    The properties :attr:`n_params` (:math:`p`) and :attr:`n_outputs`
    (:math:`n`, the training samples) give the shapes.

    Raises
    ------
    TypeError
        If the protocol itself is instantiated: implement it in a class of
        your own (or use :class:`~manifolds.AutogradOutputMap`).

    Notes
    -----
    All arrays are float64. Implementations may assume that their inputs
    have already been validated (shape and finiteness): the geometry layer
    validates once, at its public boundary.

    One optional method is not part of the protocol:
    ``describe_rank_loss(params, J, tolerance) -> str``. When :math:`J`
    loses rank, :class:`~manifolds.OutputManifold` and
    :func:`~manifolds.jacobian_rank` call it, if present, for the model's
    own account of what was measured (which neurons are saturated or
    paired, duplicate inputs), and report it instead of reading the
    columns of :math:`J`; see
    :meth:`riemgn.networks.TwoLayerOutputMap.describe_rank_loss`.

    Examples
    --------
    A linear map :math:`F(\theta) = A\theta` implements the protocol
    directly, with no base class. Its second derivatives vanish, so its
    output manifold, the subspace :math:`\operatorname{range} A`, is flat:

    >>> import numpy as np
    >>> from manifolds import OutputManifold, OutputMap
    >>> class LinearMap:
    ...     def __init__(self, A):
    ...         self.A = A
    ...     n_params = property(lambda self: self.A.shape[1])
    ...     n_outputs = property(lambda self: self.A.shape[0])
    ...     def value(self, params):
    ...         return self.A @ params
    ...     def jacobian(self, params):
    ...         return self.A.copy()
    ...     def jvp(self, params, vector):
    ...         return self.A @ vector
    ...     def vjp(self, params, cotangent):
    ...         return self.A.T @ cotangent
    ...     def second_derivative(self, params, vector_a, vector_b):
    ...         return np.zeros(self.A.shape[0])
    ...     def weighted_hessian_vector(self, params, weights, vector):
    ...         return np.zeros(self.A.shape[1])
    >>> linear = LinearMap(np.random.default_rng(0).normal(size=(5, 2)))
    >>> isinstance(linear, OutputMap)
    True
    >>> manifold = OutputManifold(linear, np.zeros(2))
    >>> u = manifold.point(np.array([1.0, 2.0]))
    >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
    >>> bool(np.allclose(manifold.second_fundamental_form(u, xi, xi), 0.0))
    True
    """

    @property
    def n_params(self) -> int:
        """The number of parameters :math:`p`."""
        ...

    @property
    def n_outputs(self) -> int:
        """The number of outputs :math:`n`."""
        ...

    def value(self, params: np.ndarray) -> np.ndarray:
        r"""The outputs :math:`F(\theta)`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)

        Returns
        -------
        ndarray, shape (n_outputs,)

        Examples
        --------
        For :math:`F(\theta) = \tanh(X\theta)`:

        >>> bool(np.allclose(output_map.value(theta0), np.tanh(X @ theta0)))
        True
        """
        ...

    def jacobian(self, params: np.ndarray) -> np.ndarray:
        r"""The Jacobian :math:`J(\theta) = DF(\theta)`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)

        Returns
        -------
        ndarray, shape (n_outputs, n_params)
            A new array, the caller's to keep and to overwrite: the manifold
            factorizes it in place, and the semi-normal factorization of
            :func:`manifolds.linalg.factorize` solves with it later. A map
            must not return an array that it changes afterwards (a reused
            buffer).

        Examples
        --------
        The columns of :math:`J` are the derivatives of :math:`F` along the
        coordinate axes (checked here by central differences):

        >>> J = output_map.jacobian(theta0)
        >>> J.shape
        (6, 2)
        >>> t, e0 = 1e-6, np.array([1.0, 0.0])
        >>> column = (output_map.value(theta0 + t * e0) - output_map.value(theta0 - t * e0)) / (2 * t)
        >>> bool(np.allclose(J[:, 0], column, atol=1e-8))
        True
        """
        ...

    def jvp(self, params: np.ndarray, vector: np.ndarray) -> np.ndarray:
        r"""The Jacobian-vector product :math:`J(\theta) v`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
        vector : ndarray, shape (n_params,)

        Returns
        -------
        ndarray, shape (n_outputs,)

        Examples
        --------
        >>> v = np.array([1.0, 2.0])
        >>> bool(np.allclose(output_map.jvp(theta0, v), output_map.jacobian(theta0) @ v))
        True
        """
        ...

    def vjp(self, params: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
        r"""The vector-Jacobian product :math:`J(\theta)^\top w`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
        cotangent : ndarray, shape (n_outputs,)

        Returns
        -------
        ndarray, shape (n_params,)

        Examples
        --------
        The adjoint identity :math:`\langle w, Jv\rangle = \langle J^\top w, v\rangle`:

        >>> v, w = np.array([1.0, 2.0]), np.arange(6.0)
        >>> bool(np.isclose(w @ output_map.jvp(theta0, v), output_map.vjp(theta0, w) @ v))
        True
        """
        ...

    def second_derivative(
        self, params: np.ndarray, vector_a: np.ndarray, vector_b: np.ndarray
    ) -> np.ndarray:
        r"""The second derivative :math:`D^2F(\theta)[v, w]`.

        .. math::

            D^2F(\theta)[v, w]_j = v^\top \nabla^2 F_j(\theta)\, w .

        Parameters
        ----------
        params : ndarray, shape (n_params,)
        vector_a, vector_b : ndarray, shape (n_params,)
            The directions :math:`v` and :math:`w`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Examples
        --------
        :math:`D^2F[v, w]` is symmetric in :math:`v, w`, and it is the
        derivative of :math:`\theta \mapsto J(\theta) v` along :math:`w`:

        >>> v, w = np.array([1.0, 2.0]), np.array([-0.5, 1.0])
        >>> second = output_map.second_derivative(theta0, v, w)
        >>> bool(np.allclose(second, output_map.second_derivative(theta0, w, v)))
        True
        >>> t = 1e-6
        >>> difference = (output_map.jvp(theta0 + t * w, v) - output_map.jvp(theta0 - t * w, v)) / (2 * t)
        >>> bool(np.allclose(second, difference, atol=1e-8))
        True
        """
        ...

    def weighted_hessian_vector(
        self, params: np.ndarray, weights: np.ndarray, vector: np.ndarray
    ) -> np.ndarray:
        r"""The product :math:`H_\nu(\theta) v` with :math:`H_\nu = \sum_j \nu_j \nabla^2 F_j`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
        weights : ndarray, shape (n_outputs,)
            The weights :math:`\nu`.
        vector : ndarray, shape (n_params,)
            The vector :math:`v`.

        Returns
        -------
        ndarray, shape (n_params,)

        Examples
        --------
        The defining identity :math:`w^\top H_\nu v = \langle \nu, D^2F[v, w]\rangle`:

        >>> v, w, nu = np.array([1.0, 2.0]), np.array([-0.5, 1.0]), np.arange(6.0)
        >>> lhs = w @ output_map.weighted_hessian_vector(theta0, nu, v)
        >>> rhs = nu @ output_map.second_derivative(theta0, v, w)
        >>> bool(np.isclose(lhs, rhs))
        True
        """
        ...
