"""Argument checks and overflow-safe helpers shared by the flows, the solvers and the diagnostics.

Errors here are the caller's: each names the argument and the value received.
The dynamics turn only *domain* failures into a status (see
:data:`DOMAIN_ERRORS`); everything else propagates with its own message.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from manifolds.exceptions import ManifoldError
from manifolds.validation import check_output_map, check_positive_real, describe
from manifolds.validation import norm as safe_norm

__all__ = [
    "DOMAIN_ERRORS",
    "MIN_RTOL",
    "QUIET",
    "check_loss",
    "check_output_map",
    "check_real",
    "check_rtol",
    "check_t_span",
    "first_non_finite",
    "safe_norm",
]

_EPS = float(np.finfo(np.float64).eps)

#: The smallest relative tolerance an ODE solver can meet in float64, as in
#: ``scipy.integrate.solve_ivp`` (which warns and clips below it).
MIN_RTOL = 100 * _EPS

#: ``numpy.errstate`` settings for code that detects non-finite results itself
#: and reports them as a status (a warning would be an error under -W error).
QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}

#: The exceptions that describe the *dynamics* rather than a bug: the
#: manifold's own errors (a chart leaving its ball, a rank-deficient J, a point
#: off the manifold, a failed geodesic), a singular linear system (numpy's
#: ``LinAlgError``, which is also ``scipy.linalg.LinAlgError``) and an
#: overflow. A flow or a solver turns these into a status; anything else
#: (``TypeError``, a ``ValueError`` from argument validation, a wrong shape)
#: is the caller's bug and propagates.
DOMAIN_ERRORS = (ManifoldError, np.linalg.LinAlgError, OverflowError)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_real(name: str, value) -> float:
    """Check that ``value`` is a finite real number (not a bool or a string); return it."""
    if not _is_number(value):
        raise TypeError(f"`{name}` must be a real number, got {describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    return value


def check_rtol(name: str, value) -> float:
    """Check a relative tolerance: a real number ``>= MIN_RTOL`` (100 eps); return it."""
    value = check_positive_real(name, value)
    if value < MIN_RTOL:
        raise ValueError(
            f"`{name}` = {value:g} cannot be met in float64: the relative tolerance "
            f"must be >= {MIN_RTOL:.3g} (100 x machine epsilon, as in "
            "scipy.integrate.solve_ivp)"
        )
    return value


def check_loss(
    loss,
    n_outputs: int | None,
    *,
    where: str = "the output map",
    require: tuple[str, ...] = ("value", "gradient"),
) -> int:
    """Check that ``loss`` is a loss on outputs of size ``n_outputs``; return its size.

    Raises
    ------
    TypeError
        If ``loss`` lacks ``n_outputs`` or one of the ``require``-d methods.
    ValueError
        If its targets ``y`` do not have one entry per output.
    """
    missing = [name for name in require if not callable(getattr(loss, name, None))]
    n_loss = getattr(loss, "n_outputs", None)
    if not isinstance(n_loss, numbers.Integral) or isinstance(n_loss, bool):
        missing.append("n_outputs")
    if missing:
        raise TypeError(
            "`loss` must be a loss on outputs such as riemgn.losses.SquaredLoss(y) "
            f"(with n_outputs, {', '.join(require)}); {describe(loss)} lacks {missing}"
        )
    n_loss = int(n_loss)
    if n_outputs is not None and n_loss != n_outputs:
        raise ValueError(
            f"the loss has n_outputs = {n_loss} (its targets `y` have shape "
            f"({n_loss},)) but {where} has n_outputs = {n_outputs}; build the loss "
            f"with y of shape ({n_outputs},)"
        )
    return n_loss


def check_t_span(t_span) -> tuple[float, float]:
    """Check that ``t_span`` is a finite, increasing pair ``(t0, t1)`` of numbers and return it.

    Booleans, strings and ``None`` are not numbers here.
    """
    try:
        entries = tuple(t_span)
    except TypeError:
        entries = None
    if entries is None or len(entries) != 2:
        raise ValueError(
            f"`t_span` must be a pair (t0, t1) of numbers, got {describe(t_span)}"
        )
    if not all(_is_number(t) for t in entries):
        raise ValueError(
            f"`t_span` must be a pair (t0, t1) of real numbers (not bools, strings "
            f"or None), got {describe(t_span)}"
        )
    t0, t1 = (float(t) for t in entries)
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"`t_span` must be finite, got ({t0!r}, {t1!r})")
    if not t0 < t1:
        raise ValueError(
            f"`t_span` must be increasing (t0 < t1), got ({t0!r}, {t1!r}); the flows "
            "only run forward in time"
        )
    if not math.isfinite(t1 - t0):
        raise ValueError(
            f"`t_span` = ({t0!r}, {t1!r}) spans more than the largest float64; "
            "shorten it"
        )
    return t0, t1


def first_non_finite(arrays: dict) -> tuple[int, str] | None:
    """The first row holding a non-finite value, and the name of its array.

    ``arrays`` maps a name to an array whose first axis is the sample index
    (``None`` entries are skipped). Returns ``None`` when everything is finite.
    """
    first = None
    for name, value in arrays.items():
        if value is None:
            continue
        value = np.asarray(value, dtype=np.float64)
        if value.size == 0:
            continue
        bad = ~np.isfinite(value.reshape(value.shape[0], -1)).all(axis=1)
        if bad.any():
            k = int(np.argmax(bad))
            if first is None or k < first[0]:
                first = (k, name)
    return first
