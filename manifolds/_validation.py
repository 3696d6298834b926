"""Input validation shared by the public entry points.

Every public function validates its arguments once, at the boundary, with
these helpers. A failure is a ``ValueError`` (or ``TypeError``) whose message
names the argument and the value received, never an ``assert``.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_finite_array",
    "check_generator",
    "as_finite_vector",
    "check_positive_int",
    "check_positive_real",
    "describe",
]


def describe(value) -> str:
    """A short, printable description of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return f"array {np.array2string(value, precision=4)}"
        return f"array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _as_real(name: str, value) -> np.ndarray:
    if np.iscomplexobj(value):
        raise ValueError(f"`{name}` must be real, got a complex array")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` must be a real numeric array, got {describe(value)}"
        ) from error


def check_generator(rng, name: str = "rng") -> np.random.Generator:
    """Check that ``rng`` is a :class:`numpy.random.Generator` and return it.

    Raises
    ------
    TypeError
        If it is anything else (a seed, a ``RandomState``, ``None``).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"`{name}` must be a numpy.random.Generator, e.g. "
            f"np.random.default_rng(0), got {describe(rng)}"
        )
    return rng


def as_finite_array(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """Convert ``value`` to a float64 array and check that it is finite.

    Parameters
    ----------
    name : str
        The argument's name, used in error messages.
    value : array_like
        The value to convert.
    ndim : int, optional
        The required number of dimensions.

    Returns
    -------
    ndarray
        A float64 array (a copy only when a conversion was needed).

    Raises
    ------
    ValueError
        If ``value`` is not numeric, has the wrong number of dimensions or
        holds NaN or inf.
    """
    array = _as_real(name, value)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-d array, got an array of shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        bad = np.flatnonzero(~np.isfinite(array.ravel()))
        raise ValueError(
            f"`{name}` must be finite, but it holds {bad.size} non-finite "
            f"value(s) (NaN or inf), the first at flat index {bad[0]}"
        )
    return array


def as_finite_vector(name: str, value, size: int | None = None) -> np.ndarray:
    """Convert ``value`` to a finite float64 vector of shape ``(size,)``.

    Raises
    ------
    ValueError
        If the shape is wrong or a value is not finite.
    """
    array = _as_real(name, value)
    if array.ndim != 1 or (size is not None and array.shape[0] != size):
        expected = f"({size},)" if size is not None else "(k,)"
        raise ValueError(
            f"`{name}` must have shape {expected}, got shape {array.shape}"
        )
    return as_finite_array(name, array)


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer ``>= minimum`` and return it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def check_positive_real(name: str, value, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a finite real ``> 0`` (or ``>= 0``) and return it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be {bound}, got {value}")
    return value
