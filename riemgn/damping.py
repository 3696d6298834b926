r"""Damping schedules :math:`\lambda(t, \text{state})` for Levenberg-Marquardt dynamics.

The Levenberg-Marquardt flow moves the outputs by

.. math::

    u' = -K(K + \lambda_t I)^{-1} \nabla h(u),

whose eigen-rates :math:`\lambda_i/(\lambda_i + \lambda_t)` are at least
:math:`\lambda_{min}/(\lambda_{min} + \lambda_t)`, where the :math:`\lambda_i`
are the eigenvalues of the kernel :math:`K = JJ^\top`. A constant damping
therefore slows the flow down as :math:`\lambda_{min}(K)` falls, while a
damping tied to the kernel, :math:`\lambda_t = \varepsilon\,\lambda_{min}(K_t)`,
keeps every rate at least :math:`1/(1+\varepsilon)`, however ill-conditioned
:math:`K` is.

These rates are those of the squared loss :math:`h = \tfrac12\|u - y\|^2`;
a loss scaled by :math:`s` (e.g. ``SquaredLoss(y, mean=True)``, :math:`s = 1/n`)
multiplies every rate by :math:`s`.

A schedule is any callable ``damping(t, state) -> float`` returning a finite
:math:`\lambda \ge 0`; ``t`` is the time of a flow or the iteration of a
solver and ``state`` a :class:`DampingState`. The built-ins are
:class:`Constant`, :class:`KernelTied` and :class:`ResidualProportional`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from manifolds._validation import check_positive_real, describe

__all__ = [
    "Constant",
    "DampingState",
    "as_schedule",
    "KernelTied",
    "ResidualProportional",
    "evaluate_damping",
]


@dataclass(frozen=True)
class DampingState:
    r"""What a damping schedule may look at.

    Attributes
    ----------
    params : ndarray, shape (n_params,)
        The parameters :math:`\theta`.
    outputs : ndarray, shape (n_outputs,)
        The outputs :math:`u = F(\theta)`.
    gradient : ndarray, shape (n_outputs,)
        The loss gradient :math:`\nabla h(u)`.
    loss : float
        The loss :math:`h(u)`.
    kernel_eigenvalues : ndarray, shape (min(n, p),)
        The nonzero-candidate eigenvalues of :math:`K = JJ^\top` (equivalently
        of :math:`G = J^\top J`), the squared singular values of :math:`J`, in
        decreasing order.
    """

    params: np.ndarray
    outputs: np.ndarray
    gradient: np.ndarray
    loss: float
    kernel_eigenvalues: np.ndarray

    @property
    def lambda_min(self) -> float:
        r""":math:`\lambda_{min}` of the kernel (the smallest of ``kernel_eigenvalues``)."""
        return float(self.kernel_eigenvalues[-1])


class Constant:
    r"""A constant damping, :math:`\lambda_t = \lambda`.

    The slowest output-space rate is :math:`\lambda_{min}/(\lambda_{min} +
    \lambda)`, which falls like :math:`\lambda_{min}/\lambda` once
    :math:`\lambda_{min}(K) \ll \lambda`.

    Parameters
    ----------
    damping : float
        :math:`\lambda \ge 0`.

    Examples
    --------
    >>> Constant(0.1)(0.0, None)
    0.1
    """

    def __init__(self, damping: float):
        self.value = check_positive_real("damping", damping, allow_zero=True)

    def __call__(self, t, state) -> float:
        return self.value

    def predicted_rate(self, lambda_min: float) -> float:
        r"""The slowest eigen-rate :math:`\lambda_{min}/(\lambda_{min}+\lambda)` of the outputs."""
        return lambda_min / (lambda_min + self.value)

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


class KernelTied:
    r"""A damping tied to the kernel, :math:`\lambda_t = \varepsilon\,\lambda_{min}(K_t)`.

    Every eigen-rate of :math:`K(K+\lambda_t I)^{-1}` is then at least
    :math:`1/(1+\varepsilon)`, so the residual :math:`\|u_t - y\|` of a
    realizable squared loss decays at least like
    :math:`e^{-t/(1+\varepsilon)}`, whatever :math:`\lambda_{min}(K)` is.

    Parameters
    ----------
    epsilon : float
        :math:`\varepsilon > 0`.

    Examples
    --------
    >>> import numpy as np
    >>> state = DampingState(None, None, None, 0.0, np.array([4.0, 1e-6]))
    >>> KernelTied(0.5)(0.0, state)
    5e-07
    """

    def __init__(self, epsilon: float):
        self.epsilon = check_positive_real("epsilon", epsilon)

    def __call__(self, t, state: DampingState) -> float:
        return self.epsilon * state.lambda_min

    def predicted_rate(self, lambda_min: float | None = None) -> float:
        r"""The guaranteed slowest eigen-rate :math:`1/(1+\varepsilon)` of the outputs."""
        return 1.0 / (1.0 + self.epsilon)

    def __repr__(self) -> str:
        return f"KernelTied({self.epsilon!r})"


class ResidualProportional:
    r"""A damping proportional to a power of the gradient, :math:`\lambda_t = \mu\|\nabla h(u_t)\|^q`.

    The damping vanishes as the flow converges, so the late dynamics are
    Gauss-Newton's.

    Parameters
    ----------
    mu : float
        :math:`\mu > 0`.
    power : float, default 1.0
        :math:`q > 0`.

    Examples
    --------
    >>> import numpy as np
    >>> state = DampingState(None, None, np.array([3.0, 4.0]), 12.5, np.array([1.0]))
    >>> ResidualProportional(0.1, power=2)(0.0, state)
    2.5
    """

    def __init__(self, mu: float, power: float = 1.0):
        self.mu = check_positive_real("mu", mu)
        self.power = check_positive_real("power", power)

    def __call__(self, t, state: DampingState) -> float:
        return self.mu * float(np.linalg.norm(state.gradient)) ** self.power

    def __repr__(self) -> str:
        return f"ResidualProportional({self.mu!r}, power={self.power!r})"


def as_schedule(damping, name: str = "damping"):
    """Turn a number or a callable into a schedule; reject anything else."""
    if isinstance(damping, numbers.Real) and not isinstance(damping, bool):
        check_positive_real(name, damping, allow_zero=True)
        return Constant(float(damping))
    if callable(damping):
        return damping
    raise TypeError(
        f"`{name}` must be a number >= 0, a schedule such as Constant(0.1) or "
        f"KernelTied(1.0), or a callable damping(t, state) -> float; got "
        f"{describe(damping)}"
    )


def evaluate_damping(schedule, t: float, state: DampingState) -> float:
    """Call ``schedule(t, state)`` and check that it returned a finite number >= 0."""
    value = schedule(t, state)
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(
            f"the damping schedule {schedule!r} must return a float, got "
            f"{describe(value)}"
        )
    try:
        value = float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"the damping schedule {schedule!r} must return a float, got "
            f"{describe(value)}"
        ) from error
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"the damping schedule {schedule!r} returned {value!r} at t = {t:g}; "
            "the damping must be finite and >= 0"
        )
    return value
