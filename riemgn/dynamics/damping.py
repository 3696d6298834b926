r"""Damping schedules :math:`\lambda(t, \text{state})` for Levenberg-Marquardt dynamics.

The Levenberg-Marquardt flow moves the outputs by

.. math::

    u' = -K(K + \lambda_t I)^{-1} \nabla h(u),

whose eigen-rates :math:`\lambda_i/(\lambda_i + \lambda_t)` are at least
:math:`\lambda_{min}/(\lambda_{min} + \lambda_t)`, where the :math:`\lambda_i`
are the eigenvalues of the kernel :math:`K = JJ^\top` (THEORY §3). A constant damping
therefore slows the flow down as :math:`\lambda_{min}(K)` falls, while a
damping tied to the kernel, :math:`\lambda_t = \varepsilon\,\lambda_{min}(K_t)`,
keeps every rate at least :math:`1/(1+\varepsilon)`, however ill-conditioned
:math:`K` is.

These rates are those of the squared loss :math:`h = \tfrac12\|u - y\|^2`;
a loss scaled by :math:`s` (e.g. ``SquaredLoss(y, mean=True)``, :math:`s = 1/n`)
multiplies every rate by :math:`s`.

A schedule is any callable ``damping(t, state) -> float`` returning a finite
:math:`\lambda \ge 0`; ``t`` is the time of a flow or the iteration of a
solver and ``state`` a :class:`riemgn.damping.DampingState`. The built-ins
are :class:`riemgn.damping.Constant`, :class:`riemgn.damping.KernelTied` and
:class:`riemgn.damping.ResidualProportional`; they are used by
:func:`riemgn.flows.levenberg_marquardt_flow` and
:func:`riemgn.solvers.levenberg_marquardt`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from manifolds.validation import as_finite_array, check_positive_real, describe
from riemgn._checks import check_real, safe_norm

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

    The flows and solvers build one at each evaluation of the damping and
    pass it as ``state`` to ``damping(t, state)``.

    .. math::

        \lambda_1 \ge \dots \ge \lambda_{\min(n, p)} = \lambda_{min}, \qquad
        \lambda_i = \sigma_i(J)^2,

    where :math:`\sigma_i(J)` are the singular values of the Jacobian
    :math:`J = J(\theta)`, so the :math:`\lambda_i` are the eigenvalues of
    :math:`K = JJ^\top` that may be nonzero (equivalently of
    :math:`G = J^\top J`).

    Attributes
    ----------
    params : ndarray, shape (n_params,)
        The parameters :math:`\theta`.
    outputs : ndarray, shape (n_outputs,)
        The outputs :math:`u = F(\theta)`.
    gradient : ndarray, shape (n_outputs,)
        The loss gradient :math:`\nabla h(u)`. (The discrete
        :func:`riemgn.solvers.levenberg_marquardt` passes the gradient of its
        weighted model, :math:`W^{-1/2}\nabla h` with :math:`W = \nabla^2
        h(u)`; it equals :math:`\nabla h` for ``SquaredLoss(y)``.)
    loss : float
        The loss :math:`h(u)`.
    kernel_eigenvalues : ndarray, shape (min(n, p),)
        The nonzero-candidate eigenvalues :math:`\lambda_i` of
        :math:`K = JJ^\top` (equivalently of :math:`G = J^\top J`), the squared
        singular values of :math:`J`, in decreasing order. (For
        :func:`riemgn.solvers.levenberg_marquardt`, of the weighted
        :math:`W^{1/2}J`.)

    ``kernel_eigenvalues`` must be a non-empty, finite 1-D array and ``loss``
    a finite number; ``params``, ``outputs`` and ``gradient`` may be ``None``
    (for a schedule that does not look at them), and are otherwise finite 1-D
    arrays. Each is copied to float64.

    Raises
    ------
    ValueError
        If an array is not finite, not 1-D, or ``kernel_eigenvalues`` is empty.
    TypeError
        If ``loss`` is not a real number.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import singular_values
    >>> from riemgn.losses import SquaredLoss
    >>> from riemgn.networks import TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> network = TwoLayerNetwork(2, 4)  # p = 8 > n = 5
    >>> params = network.init_params(rng)
    >>> F = network.output_map(rng.standard_normal((5, 2)))
    >>> loss = SquaredLoss(np.zeros(5))
    >>> u = F.value(params)
    >>> eigenvalues = singular_values(F.jacobian(params)) ** 2
    >>> state = DampingState(params, u, loss.gradient(u), loss.value(u), eigenvalues)
    >>> state.kernel_eigenvalues.shape, bool(state.lambda_min == eigenvalues.min())
    ((5,), True)
    >>> KernelTied(0.1)(0.0, state) == 0.1 * state.lambda_min
    True
    """

    params: np.ndarray
    outputs: np.ndarray
    gradient: np.ndarray
    loss: float
    kernel_eigenvalues: np.ndarray

    def __post_init__(self):
        for name in ("params", "outputs", "gradient"):
            value = getattr(self, name)
            if value is not None:
                value = as_finite_array(f"state.{name}", value, ndim=1)
                object.__setattr__(self, name, value)
        eigenvalues = as_finite_array(
            "state.kernel_eigenvalues", self.kernel_eigenvalues, ndim=1
        )
        if eigenvalues.size == 0:
            raise ValueError("`state.kernel_eigenvalues` must not be empty")
        object.__setattr__(self, "kernel_eigenvalues", eigenvalues)
        object.__setattr__(self, "loss", check_real("state.loss", self.loss))

    @property
    def lambda_min(self) -> float:
        r""":math:`\lambda_{min}` of the kernel (the smallest of ``kernel_eigenvalues``)."""
        return float(self.kernel_eigenvalues[-1])


def _check_call(t, state, *, needs: tuple[str, ...] = ()) -> None:
    """Check the arguments of ``schedule(t, state)``: a real ``t`` and a DampingState."""
    check_real("t", t)
    if not isinstance(state, DampingState):
        raise TypeError(
            "`state` must be a riemgn.damping.DampingState (built by the flows and "
            f"solvers), got {describe(state)} of type {type(state).__name__}"
        )
    for name in needs:
        if getattr(state, name) is None:
            raise TypeError(
                f"`state.{name}` is None, but this schedule needs it; build the "
                f"DampingState with {name}"
            )


class _NonFiniteDamping(ValueError):
    """A schedule returned a NaN or infinite damping: a failure of the dynamics."""


class Constant:
    r"""A constant damping, :math:`\lambda_t = \lambda`.

    .. math::

        \lambda_t = \lambda, \qquad
        r = \frac{\lambda_{min}}{\lambda_{min} + \lambda},

    where :math:`\lambda_{min} = \lambda_{min}(K)` is the smallest eigenvalue
    of the kernel and :math:`r` the slowest output-space rate
    (:meth:`riemgn.damping.Constant.predicted_rate`). It falls like
    :math:`\lambda_{min}/\lambda` once :math:`\lambda_{min}(K) \ll \lambda`:
    a constant damping does not protect the flow from an ill-conditioned
    kernel. :math:`\lambda = 0` gives the undamped (Gauss-Newton) dynamics.

    Parameters
    ----------
    damping : float
        :math:`\lambda \ge 0`, finite. It is stored as ``value``.

    Raises
    ------
    ValueError
        If ``damping`` is negative or not finite.
    TypeError
        If ``damping`` is not a real number; when called,
        if ``state`` is not a :class:`riemgn.damping.DampingState` or ``t`` is
        not a real number.

    Examples
    --------
    >>> import numpy as np
    >>> state = DampingState(None, None, None, 0.0, np.array([4.0, 1e-6]))
    >>> Constant(0.1)(0.0, state)
    0.1
    >>> Constant(0.1).predicted_rate(1e-3)  # 1e-3 / (1e-3 + 0.1)
    0.009900990099009901
    """

    def __init__(self, damping: float):
        self.value = check_positive_real("damping", damping, allow_zero=True)

    def __call__(self, t, state) -> float:
        _check_call(t, state)
        return self.value

    def predicted_rate(self, lambda_min: float) -> float:
        r"""The slowest eigen-rate :math:`\lambda_{min}/(\lambda_{min}+\lambda)` of the outputs.

        .. math::

            r = \min_i \frac{\lambda_i}{\lambda_i + \lambda}
              = \frac{\lambda_{min}}{\lambda_{min} + \lambda},

        where the :math:`\lambda_i` are the eigenvalues of :math:`K = JJ^\top`
        and :math:`\lambda` is this damping. Under the LM flow with the
        squared loss :math:`\tfrac12\|u - y\|^2` and a kernel that stays near
        :math:`K`, the residual decays at least like :math:`e^{-rt}`.

        Parameters
        ----------
        lambda_min : float
            :math:`\lambda_{min}(K) \ge 0`.

        Returns
        -------
        float
            :math:`r \in [0, 1]` (NaN when both :math:`\lambda_{min}` and
            :math:`\lambda` are 0).

        Examples
        --------
        >>> Constant(0.1).predicted_rate(0.1)
        0.5
        >>> round(Constant(0.1).predicted_rate(1e-8), 12)  # about lambda_min / lambda
        1e-07
        """
        return lambda_min / (lambda_min + self.value)

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


class KernelTied:
    r"""A damping tied to the kernel, :math:`\lambda_t = \varepsilon\,\lambda_{min}(K_t)`.

    .. math::

        \lambda_t = \varepsilon\, \lambda_{min}(K_t), \qquad
        \frac{\lambda_i}{\lambda_i + \lambda_t}
            \ge \frac{\lambda_{min}}{\lambda_{min} + \varepsilon\lambda_{min}}
            = \frac{1}{1 + \varepsilon},

    where :math:`K_t = J(\theta_t) J(\theta_t)^\top` is the kernel at time
    :math:`t`, :math:`\lambda_i` its eigenvalues and
    :math:`\lambda_{min}(K_t)` the smallest (``state.lambda_min``).

    Every eigen-rate of :math:`K(K+\lambda_t I)^{-1}` is then at least
    :math:`1/(1+\varepsilon)`, so the residual :math:`\|u_t - y\|` of a
    realizable squared loss decays at least like
    :math:`e^{-t/(1+\varepsilon)}`, whatever :math:`\lambda_{min}(K)` is.

    Parameters
    ----------
    epsilon : float
        :math:`\varepsilon > 0`, finite.

    Raises
    ------
    ValueError
        If ``epsilon`` is not finite and ``> 0``.
    TypeError
        If ``epsilon`` is not a real number; when called,
        if ``state`` is not a :class:`riemgn.damping.DampingState` or ``t`` is
        not a real number.

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
        _check_call(t, state)
        return self.epsilon * state.lambda_min

    def predicted_rate(self, lambda_min: float | None = None) -> float:
        r"""The guaranteed slowest eigen-rate :math:`1/(1+\varepsilon)` of the outputs.

        .. math::

            r = \frac{\lambda_{min}}{\lambda_{min} + \varepsilon\lambda_{min}}
              = \frac{1}{1 + \varepsilon},

        where :math:`\lambda_{min} = \lambda_{min}(K_t) > 0` cancels: the rate
        does not depend on the conditioning of the kernel.

        Parameters
        ----------
        lambda_min : float, optional
            Ignored (the rate does not depend on it); accepted so that every
            schedule's ``predicted_rate`` has the same signature.

        Returns
        -------
        float
            :math:`1/(1+\varepsilon)`.

        Examples
        --------
        >>> KernelTied(1.0).predicted_rate()
        0.5
        >>> KernelTied(1.0).predicted_rate(1e-12) == KernelTied(1.0).predicted_rate(1.0)
        True
        """
        return 1.0 / (1.0 + self.epsilon)

    def __repr__(self) -> str:
        return f"KernelTied({self.epsilon!r})"


class ResidualProportional:
    r"""A damping proportional to a power of the gradient, :math:`\lambda_t = \mu\|\nabla h(u_t)\|^q`.

    .. math::

        \lambda_t = \mu\, \|\nabla h(u_t)\|_2^q, \qquad
        r_t = \frac{\lambda_{min}(K_t)}{\lambda_{min}(K_t) + \lambda_t},

    where :math:`\nabla h(u_t)` is the loss gradient (``state.gradient``;
    :math:`s(u_t - y)` for the squared loss, so the damping follows the
    residual) and :math:`r_t` is the slowest output-space rate at time
    :math:`t`.

    The damping vanishes as the flow converges, so :math:`r_t \to 1` and the
    late dynamics are Gauss-Newton's; early on, while the gradient is large,
    it damps the steps like a large constant would.

    Parameters
    ----------
    mu : float
        :math:`\mu > 0`, finite.
    power : float, default 1.0
        :math:`q > 0`, finite.

    Raises
    ------
    ValueError
        If ``mu`` or ``power`` is not finite and ``> 0``.
    TypeError
        If ``mu`` or ``power`` is not a real number; when called,
        if ``state`` is not a :class:`riemgn.damping.DampingState` or ``t`` is
        not a real number.

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
        _check_call(t, state, needs=("gradient",))
        with np.errstate(over="ignore"):  # an overflow is reported by evaluate_damping
            return float(self.mu * np.float64(safe_norm(state.gradient)) ** self.power)

    def __repr__(self) -> str:
        return f"ResidualProportional({self.mu!r}, power={self.power!r})"


def as_schedule(damping, name: str = "damping"):
    r"""Turn a number or a callable into a schedule; reject anything else.

    The flows and solvers call this once, at their public boundary, on the
    ``damping`` argument.

    Parameters
    ----------
    damping : float or callable
        A real number :math:`\lambda \ge 0`, which becomes
        :class:`riemgn.damping.Constant`, or a schedule (any
        callable ``damping(t, state) -> float``, such as
        :class:`riemgn.damping.KernelTied`), which is returned unchanged.
        Booleans are rejected.
    name : str, default "damping"
        The argument's name, used in the error messages.

    Returns
    -------
    callable
        The schedule ``damping(t, state) -> float``.

    Raises
    ------
    TypeError
        If ``damping`` is neither a real number nor a callable.
    ValueError
        If ``damping`` is a negative or non-finite number.

    Examples
    --------
    >>> as_schedule(0.5)
    Constant(0.5)
    >>> as_schedule(KernelTied(1.0))
    KernelTied(1.0)
    >>> as_schedule(-1.0)
    Traceback (most recent call last):
        ...
    ValueError: `damping` must be >= 0, got -1.0
    """
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
    r"""Call ``schedule(t, state)`` and check that it returned a finite number >= 0.

    Parameters
    ----------
    schedule : callable
        A schedule ``schedule(t, state) -> float``, e.g. the result of
        :func:`riemgn.damping.as_schedule`.
    t : float
        The time of a flow, or the iteration of a solver.
    state : DampingState
        What the schedule may look at.

    Returns
    -------
    float
        The damping :math:`\lambda_t`, finite and ``>= 0``.

    Raises
    ------
    TypeError
        If ``schedule`` is not callable, ``t`` is not a real number, ``state``
        is not a :class:`riemgn.damping.DampingState`, or the schedule
        returns something that is not a real number (a string, bytes or a
        bool included).
    ValueError
        If ``t`` is not finite, or the schedule returns a negative or
        non-finite number.

    Examples
    --------
    >>> import numpy as np
    >>> state = DampingState(None, None, None, 0.0, np.array([4.0, 1e-6]))
    >>> evaluate_damping(KernelTied(2.0), 0.0, state)
    2e-06
    >>> evaluate_damping(lambda t, state: np.float32(0.25) * (1 + t), 1.0, state)
    0.5
    """
    if not callable(schedule):
        raise TypeError(
            f"`schedule` must be a callable damping(t, state) -> float, got "
            f"{describe(schedule)}"
        )
    _check_call(t, state)
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
    if not math.isfinite(value):
        raise _NonFiniteDamping(
            f"the damping schedule {schedule!r} returned {value!r} at t = {t:g}; "
            "the damping must be finite and >= 0"
        )
    if value < 0:
        raise ValueError(
            f"the damping schedule {schedule!r} returned {value!r} at t = {t:g}; "
            "the damping must be finite and >= 0"
        )
    return value
