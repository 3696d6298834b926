"""Input validation and overflow-safe arithmetic, shared by ``manifolds`` and ``riemgn``.

Every public function validates its arguments once, at the boundary, with
these helpers. A failure is a ``ValueError`` (or ``TypeError``) whose message
names the argument and the value received, never an ``assert``.

A computation on finite input whose result overflows float64 raises
:class:`NonFiniteError`. :func:`norm`, :func:`scaled_product` and
:func:`scale_back` avoid the spurious overflow and underflow of the plain
formulas (``np.linalg.norm`` squares the entries: it overflows for entries
above about 1e154 and loses the small ones below about 1e-154, although the
norm itself is representable). They return exactly what numpy returns for
ordinary values, bit for bit, and rescale by the largest entry only when the
plain computation overflowed or underflowed.

Examples start from ``np``, ``anp``, ``X``, ``output_map``, ``theta0``,
``manifold`` and ``u``: the model :math:`F(w) = \\tanh(Xw)` and its output
manifold, built in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "NonFiniteError",
    "all_finite",
    "as_finite_array",
    "as_finite_vector",
    "check_generator",
    "check_output_map",
    "check_positive_int",
    "check_positive_real",
    "check_rank_rtol",
    "checked_jacobian",
    "describe",
    "max_abs",
    "norm",
    "scale_back",
    "scaled_product",
]


def describe(value) -> str:
    """A short, printable description of ``value`` for an error message.

    Parameters
    ----------
    value : object
        Anything; an array is shown in full only up to 6 entries.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.validation import describe
    >>> describe(np.zeros(10)), describe("x" * 100)[-5:]
    ('array of shape (10,)', 'xx...')
    """
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return f"array {np.array2string(value, precision=4)}"
        return f"array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_FLOAT64 = np.dtype(np.float64)

#: Up to this many entries, finiteness is tested on a list of Python floats,
#: which costs a fraction of a numpy call at these sizes.
_SMALL = 64


def _finite(array: np.ndarray) -> bool:
    """Whether every entry of the float64 array ``array`` is finite."""
    # A sum of Python floats is finite only if every term is (inf - inf is
    # NaN) and never warns; if it overflows, numpy decides.
    if array.size <= _SMALL and math.isfinite(sum(array.ravel().tolist())):
        return True
    return bool(np.isfinite(array).all())


def _float64(name: str, value) -> np.ndarray:
    """:func:`_as_real`, with no work for what is already a float64 ndarray."""
    if type(value) is np.ndarray and value.dtype is _FLOAT64:
        return value
    return _as_real(name, value)


def _refuse_non_finite(name: str, array: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(array.ravel()))
    raise ValueError(
        f"`{name}` must be finite, but it holds {bad.size} non-finite "
        f"value(s) (NaN or inf), the first at flat index {bad[0]}"
    )


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

    Parameters
    ----------
    rng : object
        The value to check.
    name : str, default "rng"
        The argument's name, used in the error message.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        If it is anything else (a seed, a ``RandomState``, ``None``).

    Examples
    --------
    >>> from manifolds.validation import check_generator
    >>> try:
    ...     check_generator(0)
    ... except TypeError as error:
    ...     print(error)
    `rng` must be a numpy.random.Generator, e.g. np.random.default_rng(0), got 0
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
    value : array_like, any shape
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

    Examples
    --------
    >>> from manifolds.validation import as_finite_array
    >>> as_finite_array("X", [[1, 2], [3, 4]], ndim=2)
    array([[1., 2.],
           [3., 4.]])
    >>> try:
    ...     as_finite_array("X", [True, False])
    ... except ValueError as error:
    ...     print(error)
    `X` must be a real numeric array, got booleans: [True, False]
    """
    array = _float64(name, value)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-d array, got an array of shape {array.shape}"
        )
    if not _finite(array):
        _refuse_non_finite(name, array)
    return array


def as_finite_vector(name: str, value, size: int | None = None) -> np.ndarray:
    """Convert ``value`` to a finite float64 vector of shape ``(size,)``.

    Parameters
    ----------
    name : str
        The argument's name, used in error messages.
    value : array_like, shape (size,)
        The value to convert.
    size : int, optional
        The required length; any length by default.

    Returns
    -------
    ndarray, shape (size,)

    Raises
    ------
    ValueError
        If the shape is wrong or a value is not finite.

    Examples
    --------
    >>> from manifolds.validation import as_finite_vector
    >>> as_finite_vector("params", [1, 2], 2)
    array([1., 2.])
    >>> try:
    ...     as_finite_vector("params", [1.0, 2.0, 3.0], 2)
    ... except ValueError as error:
    ...     print(error)
    `params` must have shape (2,), got shape (3,)
    """
    array = _float64(name, value)
    if array.ndim != 1 or (size is not None and array.shape[0] != size):
        expected = f"({size},)" if size is not None else "(k,)"
        raise ValueError(
            f"`{name}` must have shape {expected}, got shape {array.shape}"
        )
    if not _finite(array):
        _refuse_non_finite(name, array)
    return array


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer ``>= minimum`` and return it.

    Parameters
    ----------
    name : str
        The argument's name, used in error messages.
    value : int
        The value to check (a bool is refused).
    minimum : int, default 1
        The smallest value allowed.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is below ``minimum``.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.validation import check_positive_int
    >>> check_positive_int("max_iter", np.int64(5))
    5
    >>> try:
    ...     check_positive_int("max_iter", 0)
    ... except ValueError as error:
    ...     print(error)
    `max_iter` must be >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def check_positive_real(name: str, value, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a finite real ``> 0`` (or ``>= 0``) and return it.

    Parameters
    ----------
    name : str
        The argument's name, used in error messages.
    value : float
        The value to check (a bool is refused).
    allow_zero : bool, default False
        Accept 0.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not finite, negative, or zero without ``allow_zero``.

    Examples
    --------
    >>> from manifolds.validation import check_positive_real
    >>> check_positive_real("radius", 2)
    2.0
    >>> try:
    ...     check_positive_real("radius", float("inf"))
    ... except ValueError as error:
    ...     print(error)
    `radius` must be finite, got inf
    """
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

    Parameters
    ----------
    rank_rtol : float
        The relative rank tolerance of :mod:`manifolds.linalg`.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If it is not a real number.
    ValueError
        If it is not in :math:`(0, 1)`.

    Examples
    --------
    >>> from manifolds.validation import check_rank_rtol
    >>> check_rank_rtol(1e-10)
    1e-10
    >>> try:
    ...     check_rank_rtol(1.0)
    ... except ValueError as error:
    ...     print(error)
    `rank_rtol` must be < 1, got 1.0
    """
    rank_rtol = check_positive_real("rank_rtol", rank_rtol)
    if rank_rtol >= 1.0:
        raise ValueError(f"`rank_rtol` must be < 1, got {rank_rtol!r}")
    return rank_rtol


def check_output_map(output_map, name: str = "output_map"):
    """Check that ``output_map`` implements :class:`~manifolds.OutputMap` and return it.

    Parameters
    ----------
    output_map : OutputMap
        The value to check.
    name : str, default "output_map"
        The argument's name, used in the error message.

    Returns
    -------
    OutputMap

    Raises
    ------
    TypeError
        Naming the argument, what is expected and the type received.

    Examples
    --------
    >>> from manifolds.validation import check_output_map
    >>> check_output_map(output_map) is output_map
    True
    >>> try:
    ...     check_output_map(lambda w: w)
    ... except TypeError as error:
    ...     print(str(error)[:47])
    `output_map` must implement manifolds.OutputMap
    """
    from manifolds.output_map import OutputMap

    if not isinstance(output_map, OutputMap):
        raise TypeError(
            f"`{name}` must implement manifolds.OutputMap (n_params, n_outputs, "
            "value, jacobian, jvp, vjp, second_derivative, "
            f"weighted_hessian_vector), got {type(output_map).__name__}"
        )
    return output_map


def checked_jacobian(output_map, params) -> np.ndarray:
    r"""The Jacobian :math:`J(\theta)` of an output map, checked: ``(n, p)``, float64, finite.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`.
    params : array_like, shape (n_params,)
        Where to evaluate :math:`J`.

    Returns
    -------
    ndarray, shape (n_outputs, n_params)

    Raises
    ------
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`.
    ValueError
        If ``params`` has the wrong shape or is not finite, or the Jacobian
        has the wrong shape; :class:`NonFiniteError` if it is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.validation import checked_jacobian
    >>> checked_jacobian(output_map, theta0).shape
    (6, 2)
    >>> try:
    ...     checked_jacobian(output_map, [np.nan, 0.0])
    ... except ValueError as error:
    ...     print(error)
    `params` must be finite, but it holds 1 non-finite value(s) (NaN or inf), the first at flat index 0
    """
    check_output_map(output_map)
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    return _jacobian_at(output_map, as_finite_vector("params", params, p), n, p)


def _jacobian_at(output_map, params: np.ndarray, n: int, p: int) -> np.ndarray:
    """:func:`checked_jacobian` for validated ``params`` and known ``(n, p)``."""
    with np.errstate(all="ignore"):
        J = np.asarray(output_map.jacobian(params), dtype=np.float64)
    if J.shape != (n, p):
        raise ValueError(
            f"the output map's jacobian has shape {J.shape}, expected ({n}, {p})"
        )
    if not all_finite(J):
        raise NonFiniteError(
            "the Jacobian J(params) holds NaN or inf values: the output map is not "
            "differentiable, or overflows float64, at these `params` (max |params| "
            f"= {max_abs(params):.3e})"
        )
    return J


class NonFiniteError(ValueError, OverflowError):
    """A computation on finite input is not finite: it overflows float64.

    Both a ``ValueError`` (the input is out of the representable range) and
    an ``OverflowError`` (the dynamics read it as a domain failure, a status).

    Examples
    --------
    >>> from manifolds.validation import NonFiniteError
    >>> issubclass(NonFiniteError, ValueError), issubclass(NonFiniteError, OverflowError)
    (True, True)
    """


# ----------------------------------------------------------------------
# Overflow-safe arithmetic (see the module docstring)

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

    Parameters
    ----------
    *factors : float
        The numbers multiplied.
    divisors : sequence of float, optional
        The numbers divided by.

    Returns
    -------
    float
        ``inf`` (with the sign) only when the true value exceeds the largest
        float.

    Examples
    --------
    >>> from manifolds.validation import scaled_product
    >>> scaled_product(2.0**600, 2.0**600, divisors=(2.0**1000,)) == 2.0**200
    True
    """
    mantissa, exponent = _combine(factors, divisors)
    try:
        return math.ldexp(mantissa, exponent)
    except OverflowError:
        return math.copysign(math.inf, mantissa)


def scale_back(array: np.ndarray, multipliers=(), divisors=()) -> np.ndarray:
    """``array * prod(multipliers) / prod(divisors)``, with no intermediate overflow.

    Parameters
    ----------
    array : array_like, any shape
        The values to scale.
    multipliers, divisors : sequence of float, optional
        The factors to multiply and to divide by.

    Returns
    -------
    ndarray
        Of the shape of ``array``.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.validation import scale_back
    >>> scale_back(np.array([1.0, 2.0]), (1e300, 1e10), divisors=(1e20,))
    array([1.e+290, 2.e+290])
    """
    mantissa, exponent = _combine(multipliers, divisors)
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.asarray(array, dtype=np.float64) * mantissa, exponent)


def norm(vector, factor: float = 1.0) -> float:
    """``factor * |vector|_2`` (Frobenius for a matrix), without spurious overflow.

    Equal bit for bit to ``factor * np.linalg.norm(vector)`` whenever that is
    finite and not tiny; otherwise recomputed on ``vector / max|vector|``.

    Parameters
    ----------
    vector : array_like, shape (k,) or (k, m)
        A vector or a matrix.
    factor : float, default 1.0
        A factor applied before any overflow can happen.

    Returns
    -------
    float
        ``inf`` only when the true value exceeds the largest float, or
        ``vector`` is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.validation import norm
    >>> v = np.array([3.0, 4.0]) * 2.0**700  # np.linalg.norm overflows to inf
    >>> norm(v) == 5.0 * 2.0**700
    True
    """
    vector = np.asarray(vector, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        plain = float(np.linalg.norm(vector))
        value = factor * plain
    if math.isfinite(value) and plain >= _TINY_NORM:
        return value
    if plain == 0.0 and not np.any(vector):
        return 0.0 * factor
    if not np.isfinite(vector).all():
        return value  # inf or NaN, as the entries are
    largest = float(np.max(np.abs(vector)))
    with np.errstate(under="ignore"):
        scaled = float(np.linalg.norm(vector / largest))
    return scaled_product(factor, largest, scaled)


def max_abs(array) -> float:
    """The largest absolute entry of ``array`` (0 for an empty one).

    Parameters
    ----------
    array : array_like, any shape
        Any array.

    Returns
    -------
    float

    Examples
    --------
    >>> from manifolds.validation import max_abs
    >>> max_abs([1.0, -3.0]), max_abs([])
    (3.0, 0.0)
    """
    array = np.asarray(array)
    return float(np.max(np.abs(array))) if array.size else 0.0


def all_finite(array) -> bool:
    """Whether every entry of ``array`` is finite.

    Parameters
    ----------
    array : array_like, any shape
        Any array.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.validation import all_finite
    >>> all_finite([1.0, 2.0]), all_finite([1.0, np.inf])
    (True, False)
    """
    if type(array) is np.ndarray and array.dtype is _FLOAT64:
        return _finite(array)
    return bool(np.isfinite(array).all())
