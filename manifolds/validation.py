"""Input validation shared by the public entry points.

Every public function validates its arguments once, at the boundary, with
these helpers. A failure is a ``ValueError`` (or ``TypeError``) whose message
names the argument and the value received, never an ``assert``.
"""

from __future__ import annotations

import math
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
    """``value`` as a float64 array; only real numbers are accepted.

    numpy would read ``True`` as 1.0 and ``"1.5"`` as 1.5; here a boolean,
    string or ``None`` entry is an error that names the argument.
    """
    if value is None:
        raise ValueError(f"`{name}` must be a real numeric array, got None")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nesting, for example
        raise ValueError(
            f"`{name}` must be a real numeric array, got {describe(value)}"
        ) from error
    kind = raw.dtype.kind
    if kind == "c" or (kind == "O" and any(isinstance(v, complex) for v in raw.flat)):
        raise ValueError(f"`{name}` must be real, got a complex array")
    if kind == "b" or (kind == "O" and any(_is_bool(v) for v in raw.flat)):
        raise ValueError(
            f"`{name}` must be a real numeric array, got booleans: {describe(value)}"
        )
    if kind in "USV" or (
        kind == "O" and any(isinstance(v, str | bytes) for v in raw.flat)
    ):
        raise ValueError(
            f"`{name}` must be a real numeric array, got text: {describe(value)}"
        )
    if kind not in "fiuO":  # datetimes, timedeltas
        raise ValueError(
            f"`{name}` must be a real numeric array, got dtype {raw.dtype}"
        )
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` must be a real numeric array, got {describe(value)}"
        ) from error


def _is_bool(value) -> bool:
    return isinstance(value, bool | np.bool_)


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


def check_rank_rtol(rank_rtol) -> float:
    """Check that ``rank_rtol`` is a real number in ``(0, 1)`` and return it.

    A tolerance of 1 or more counts every singular value as zero.
    """
    rank_rtol = check_positive_real("rank_rtol", rank_rtol)
    if rank_rtol >= 1.0:
        raise ValueError(f"`rank_rtol` must be < 1, got {rank_rtol!r}")
    return rank_rtol


def check_output_map(output_map, name: str = "output_map"):
    """Check that ``output_map`` implements :class:`~manifolds.OutputMap`.

    Raises
    ------
    TypeError
        Naming the argument, what is expected and the type received.
    """
    from manifolds.output_map import OutputMap

    if not isinstance(output_map, OutputMap):
        raise TypeError(
            f"`{name}` must implement manifolds.OutputMap (n_params, n_outputs, "
            "value, jacobian, jvp, vjp, second_derivative, "
            f"weighted_hessian_vector), got {type(output_map).__name__}"
        )
    return output_map


class NonFiniteError(ValueError, OverflowError):
    """A computation on finite input is not finite: it overflows float64.

    Both a ``ValueError`` (the input is out of the representable range) and
    an ``OverflowError`` (the dynamics read it as a domain failure, a status).
    """


# ----------------------------------------------------------------------
# Overflow-safe arithmetic
#
# ``np.linalg.norm`` squares the entries: it overflows for entries above
# about 1e154 and loses the small ones below about 1e-154, although the norm
# itself is representable. The helpers below return exactly what numpy
# returns for ordinary values (bit for bit, so no result changes) and
# rescale by the largest entry only when the plain computation overflowed or
# underflowed.

# Above this, a sum of squares has not underflowed in any way that matters.
_TINY_NORM = 1e-140


def _combine(multipliers=(), divisors=()) -> tuple[float, int]:
    """``prod(multipliers) / prod(divisors)`` as ``(mantissa, exponent)``, never overflowing."""
    mantissa, exponent = 1.0, 0
    for factor in multipliers:
        m, e = math.frexp(factor)
        mantissa, exponent = mantissa * m, exponent + e
    for factor in divisors:
        m, e = math.frexp(factor)
        mantissa, exponent = mantissa / m, exponent - e
    return mantissa, exponent


def scaled_product(*factors: float, divisors=()) -> float:
    """``prod(factors) / prod(divisors)`` without spurious overflow or underflow.

    Returns ``inf`` (with the sign) only when the true value exceeds the
    largest float.
    """
    mantissa, exponent = _combine(factors, divisors)
    try:
        return math.ldexp(mantissa, exponent)
    except OverflowError:
        return math.copysign(math.inf, mantissa)


def scale_back(array: np.ndarray, multipliers=(), divisors=()) -> np.ndarray:
    """``array * prod(multipliers) / prod(divisors)``, with no intermediate overflow."""
    mantissa, exponent = _combine(multipliers, divisors)
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.asarray(array, dtype=np.float64) * mantissa, exponent)


def norm(vector, factor: float = 1.0) -> float:
    """``factor * |vector|_2`` (Frobenius for a matrix), without spurious overflow.

    Equal bit for bit to ``factor * np.linalg.norm(vector)`` whenever that is
    finite and not tiny; otherwise recomputed on ``vector / max|vector|``.
    It is ``inf`` only when the true value exceeds the largest float, or
    ``vector`` is not finite.
    """
    vector = np.asarray(vector, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        plain = float(np.linalg.norm(vector))
        value = factor * plain
    if math.isfinite(value) and plain >= _TINY_NORM:
        return value
    if plain == 0.0 and not np.any(vector):
        return 0.0 * factor
    if not np.all(np.isfinite(vector)):
        return value  # inf or NaN, as the entries are
    largest = float(np.max(np.abs(vector)))
    with np.errstate(under="ignore"):
        scaled = float(np.linalg.norm(vector / largest))
    return scaled_product(factor, largest, scaled)


def max_abs(array) -> float:
    """The largest absolute entry of ``array`` (0 for an empty one)."""
    array = np.asarray(array)
    return float(np.max(np.abs(array))) if array.size else 0.0


def all_finite(array) -> bool:
    """Whether every entry of ``array`` is finite."""
    return bool(np.all(np.isfinite(array)))
