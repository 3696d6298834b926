"""Exponential rates fitted to an excess-risk curve."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from manifolds.validation import (
    NonFiniteError,
    as_finite_vector,
    check_positive_real,
    describe,
    max_abs,
)
from riemgn.theory._common import (
    _EPS,
)

__all__ = ["ExponentialFit", "fit_exponential_rate"]


@dataclass(frozen=True)
class ExponentialFit:
    r"""An exponential :math:`e(t) \approx A e^{-r t}` fitted to a decaying excess.

    Attributes
    ----------
    rate : float
        The rate :math:`r`: minus the least-squares slope of :math:`\log e`
        against :math:`t` over the window.
    log_intercept : float
        :math:`\log A`, the fitted :math:`\log e` at :math:`t = 0`.
    r_squared : float
        The coefficient of determination of the line on :math:`\log e`
        (1 for an exact exponential).
    max_residual : float
        :math:`\max |\log e_k - (\log A - r t_k)|` over the window, in
        natural-log units (0.01 is a 1% relative deviation).
    t_start, t_end : float
        The first and last time of the window.
    n_points : int
        The number of samples in the window.
    reliable : bool
        ``n_points >= 5 and r_squared >= 0.999``. When False the decay
        over the window is not exponential (a power law, a plateau, a
        floor inside the window) or too few samples support the fit.
    robust_rate : float
        Minus the Theil-Sen slope (``scipy.stats.theilslopes``): a
        cross-check, insensitive to a few outliers. It agrees with ``rate``
        for a clean exponential.

    Examples
    --------
    A clean exponential, and a decay with a second, slower mode inside the
    window, which the fit flags as not exponential:

    >>> import numpy as np
    >>> t = np.linspace(0.0, 10.0, 101)
    >>> fit = fit_exponential_rate(t, 1e-3 * np.exp(-3.0 * t))
    >>> round(fit.rate, 9), round(fit.robust_rate, 9), fit.reliable
    (3.0, 3.0, True)
    >>> mixed = fit_exponential_rate(t, np.exp(-t) + 1e-3 * np.exp(-0.1 * t))
    >>> mixed.reliable, bool(mixed.r_squared < 0.99)
    (False, True)
    """

    rate: float
    log_intercept: float
    r_squared: float
    max_residual: float
    t_start: float
    t_end: float
    n_points: int
    reliable: bool
    robust_rate: float


_MIN_FIT_POINTS = 3
_RELIABLE_POINTS = 5
_RELIABLE_R_SQUARED = 0.999
_THEIL_SEN_MAX_POINTS = 1000


def fit_exponential_rate(
    times,
    excess,
    *,
    window: tuple[float, float] = (1e-2, 1e-10),
    floor: float | None = None,
) -> ExponentialFit:
    r"""Fit an exponential rate :math:`e(t) \approx A e^{-rt}` to a decaying excess risk.

    .. math::

        \min_{r,\ \log A} \sum_{k \in W} \big(\log e_k - \log A + r t_k\big)^2,

    where

    - :math:`e_k = h(u_{t_k}) - h^*` is the excess at time :math:`t_k`,
    - :math:`W` is the fit window: the samples from the first one, at or after
      the largest excess :math:`e_{ref} = \max_k e_k`, with
      :math:`e_k \le w_0\, e_{ref}`, up to the last one before the excess
      first drops below :math:`\max(w_1 e_{ref}, \text{floor})`, with
      :math:`(w_0, w_1)` = ``window``.

    The upper bound skips the transient before the asymptotic regime; the
    lower bound and the floor stop the fit before round-off (or an
    inaccurate :math:`h^*`) flattens the curve. The window ends at the
    *first* drop below the lower bound: the excess of a gradient flow is
    non-increasing, so a later sample back above the bound is noise on the
    floor, and must not stretch the window across it. Non-positive excess
    values are below any floor and so end the window too.

    ``rate`` is the least-squares slope, consistent with ``r_squared`` and
    ``max_residual``, which describe the same line; for the smooth, noise-free
    curves of integrated flows it is the more accurate estimator. The
    Theil-Sen slope is reported as ``robust_rate`` (on at most 1000 evenly
    thinned samples of the window, since it costs :math:`O(k^2)`).

    Parameters
    ----------
    times : array_like, shape (k,)
        Strictly increasing, finite times.
    excess : array_like, shape (k,)
        The finite excess :math:`h(u_t) - h^*` at those times (values
        :math:`\le 0` may occur at the round-off floor).
    window : tuple of float, default (1e-2, 1e-10)
        ``(upper, lower)`` with ``1 >= upper > lower > 0``, relative to the
        largest excess.
    floor : float, optional
        An absolute floor: samples below it are not fitted. By default
        ``1e3 * eps * max(excess)``, well above round-off in the excess.

    Returns
    -------
    ExponentialFit
        The rate, the intercept, the quality of the fit and its window (an
        :class:`riemgn.theory.ExponentialFit`).

    Raises
    ------
    ValueError
        If ``times`` is not strictly increasing, the shapes differ, a value is
        not finite, no excess is positive, ``window`` or ``floor`` is out of
        range, fewer than 3 samples lie in the window, or the fitted rate
        overflows float64 (``times`` spanning less than about ``1e-305``).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 20.0, 201)
    >>> fit = fit_exponential_rate(t, 3.0 * np.exp(-2.0 * t))
    >>> round(fit.rate, 12), round(float(np.exp(fit.log_intercept)), 12), fit.reliable
    (2.0, 3.0, True)
    >>> round(fit.t_start, 12), round(fit.t_end, 12), fit.n_points  # 1e-2 to 1e-10
    (2.4, 11.5, 92)
    """
    times = as_finite_vector("times", times)
    excess = _as_excess(excess, times.shape[0])
    upper, lower = _check_window(window)
    if times.size >= 2 and np.any(np.diff(times) <= 0):
        k = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise ValueError(
            f"`times` must be strictly increasing, but times[{k + 1}] = "
            f"{times[k + 1]!r} <= times[{k}] = {times[k]!r}"
        )
    if times.size == 0 or not np.any(excess > 0):
        raise ValueError(
            "`excess` must hold at least one positive value to fit a decay, got "
            f"{describe(excess)}"
        )
    peak = int(np.argmax(excess))
    reference = float(excess[peak])
    if floor is None:
        floor = 1e3 * _EPS * reference
    else:
        floor = check_positive_real("floor", floor, allow_zero=True)
    bottom = max(lower * reference, floor)
    described = (
        f"window = ({upper:g}, {lower:g}) x max excess {reference:.3e} = "
        f"[{lower * reference:.3e}, {upper * reference:.3e}], floor {floor:.3e}"
    )
    below_top = np.flatnonzero(excess[peak:] <= upper * reference)
    start = peak + int(below_top[0]) if below_top.size else times.size
    below_bottom = np.flatnonzero(excess[start:] < bottom)
    stop = start + int(below_bottom[0]) if below_bottom.size else times.size
    n_points = stop - start
    if n_points < _MIN_FIT_POINTS:
        raise ValueError(
            f"only {n_points} sample(s) of `excess` lie in the fit window ({described}); "
            f"need at least {_MIN_FIT_POINTS}: sample the decay more densely or "
            "widen `window`"
        )
    t, y = times[start:stop], np.log(excess[start:stop])
    with np.errstate(all="ignore"):
        t_mean, y_mean = float(t.mean()), float(y.mean())
        dt = t - t_mean
        spread = dt @ dt
        slope = float(dt @ (y - y_mean) / spread)
    if not (math.isfinite(slope) and _SPREAD_TINY < spread < math.inf):
        # Times near 1e+-300: dt @ dt over- or underflows. Fit in units of
        # the largest |t|, then convert the slope back.
        unit = max_abs(t)
        tau = t / unit
        tau_mean = float(tau.mean())
        dtau = tau - tau_mean
        with np.errstate(over="ignore"):
            slope = float(dtau @ (y - y_mean) / (dtau @ dtau)) / unit
        t_mean = tau_mean * unit
    if not math.isfinite(slope):
        raise NonFiniteError(
            "the fitted rate is not finite: the decay is too fast or too slow for "
            f"float64 on `times` from {t[0]:.3e} to {t[-1]:.3e}; rescale `times`"
        )
    with np.errstate(over="ignore", under="ignore"):
        intercept = y_mean - slope * t_mean
        residuals = y - (intercept + slope * t)
    ss_res = float(residuals @ residuals)
    ss_tot = float((y - y_mean) @ (y - y_mean))
    r_squared = 1.0 if ss_res == 0 else 1.0 - ss_res / ss_tot
    thin = np.unique(np.linspace(0, n_points - 1, _THEIL_SEN_MAX_POINTS).astype(int))
    robust_slope = float(scipy.stats.theilslopes(y[thin], t[thin]).slope)
    return ExponentialFit(
        rate=-slope,
        log_intercept=float(intercept),
        r_squared=float(r_squared),
        max_residual=float(np.max(np.abs(residuals))),
        t_start=float(t[0]),
        t_end=float(t[-1]),
        n_points=int(n_points),
        reliable=bool(
            n_points >= _RELIABLE_POINTS and r_squared >= _RELIABLE_R_SQUARED
        ),
        robust_rate=-robust_slope,
    )


# Below this, dt @ dt has lost the squares of the small time differences.
_SPREAD_TINY = 1e-280


def _as_excess(excess, size: int) -> np.ndarray:
    if np.shape(excess) != (size,):
        raise ValueError(
            f"`excess` must have the shape of `times`, ({size},), got shape "
            f"{np.shape(excess)}"
        )
    return as_finite_vector("excess", excess, size)


def _check_window(window) -> tuple[float, float]:
    try:
        upper, lower = (float(value) for value in window)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`window` must be a pair (upper, lower) of reals, got {describe(window)}"
        ) from error
    if not (math.isfinite(upper) and math.isfinite(lower) and 1.0 >= upper > lower > 0):
        raise ValueError(
            "`window` must be (upper, lower) with 1 >= upper > lower > 0, relative "
            f"to the largest excess, got {describe(window)}"
        )
    return upper, lower
