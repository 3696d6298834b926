"""Validation helpers and constants shared by the theory modules."""

from __future__ import annotations

import math
import numbers

import numpy as np

from manifolds.output_manifold import OutputManifold
from manifolds.output_map import OutputMap
from manifolds.validation import (
    NonFiniteError,
    all_finite,
    checked_jacobian,
    describe,
    max_abs,
)

_EPS = np.finfo(np.float64).eps
KERNELS = ("gram", "ntk")
# The ascent for the norm of II stops when f = |II(a, a)|^2 gains less than this.
_SFF_RTOL = 1e-12
_SFF_MAX_ITER = 500
_CIRCLE_GRID = 181


# ----------------------------------------------------------------------
# Validation helpers


def _check_output_map(output_map) -> tuple[int, int]:
    if not isinstance(output_map, OutputMap):
        raise TypeError(
            "`output_map` must implement manifolds.OutputMap (n_params, n_outputs, "
            "value, jacobian, jvp, vjp, second_derivative, "
            f"weighted_hessian_vector), got {type(output_map).__name__}"
        )
    return int(output_map.n_outputs), int(output_map.n_params)


def _check_manifold(manifold) -> OutputManifold:
    if not isinstance(manifold, OutputManifold):
        raise TypeError(
            "`manifold` must be a manifolds.OutputManifold, got "
            f"{type(manifold).__name__}"
        )
    return manifold


def _jacobian(output_map, params) -> np.ndarray:
    _check_output_map(output_map)
    return checked_jacobian(output_map, params)


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    return value


def _check_product(matrix: np.ndarray, what: str, J: np.ndarray) -> np.ndarray:
    """``matrix`` (a product of Jacobians) if it is finite, else a clear error."""
    if all_finite(matrix):
        return matrix
    raise NonFiniteError(
        f"{what} is not finite, it overflows float64: the Jacobian's largest entry is {max_abs(J):.3e}, "
        "and its square exceeds the largest float; the model's scale (`alpha`) is "
        "too large for this product. Use riemgn.theory.spectrum_summary, which "
        "works from the singular values of J"
    )


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
