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

    Notes
    -----
    All arrays are float64. Implementations may assume that their inputs
    have already been validated (shape and finiteness): the geometry layer
    validates once, at its public boundary.
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
        """
        ...
