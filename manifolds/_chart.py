"""Charts of points of an output manifold, and their bounded cache.

A point :math:`u \\in M` is a plain output vector. Its chart is its preimage
:math:`\\theta` with :math:`F(\\theta) = u` and, once needed, the thin QR factors
of :math:`J(\\theta)`. The Jacobian itself is not kept: at :math:`n = 10^5` a
single factor is already hundreds of MB, and :math:`Q, R` carry everything
the geometry needs (:math:`P = QQ^\\top`, :math:`J^+ = R^{-1}Q^\\top`,
:math:`J = QR`).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

__all__ = ["Chart", "ChartCache", "point_key"]


def point_key(point: np.ndarray) -> bytes:
    """A short digest identifying a float64 point by its exact bytes."""
    return hashlib.blake2b(
        np.ascontiguousarray(point).view(np.uint8), digest_size=16
    ).digest()


@dataclass
class Chart:
    """The preimage of a point and, once computed, the QR factors of its Jacobian.

    ``condition`` is the condition number of :math:`J`, known once
    the factors are. ``cut`` records the last step from this point that a
    safeguarded retraction shortened, as ``(reason, message)``.
    """

    params: np.ndarray
    point: np.ndarray
    Q: np.ndarray | None = None
    R: np.ndarray | None = None
    condition: float = float("nan")
    cut: tuple[str, str] | None = None

    @property
    def nbytes(self) -> int:
        total = self.params.nbytes + self.point.nbytes
        if self.Q is not None:
            total += self.Q.nbytes + self.R.nbytes
        return total


class ChartCache:
    """A least-recently-used cache of charts, bounded by entry count and by bytes.

    The most recent entry is always kept, even when it alone exceeds
    ``max_bytes``: the geometry at that point is being used.
    """

    def __init__(self, max_entries: int, max_bytes: int):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, Chart] = OrderedDict()
        self._nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """The bytes held by the cached arrays."""
        return self._nbytes

    def get(self, key: bytes) -> Chart | None:
        chart = self._entries.get(key)
        if chart is not None:
            self._entries.move_to_end(key)
        return chart

    def put(self, key: bytes, chart: Chart) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._nbytes -= old.nbytes
        self._entries[key] = chart
        self._nbytes += chart.nbytes
        self._evict()

    def resized(self, key: bytes, old_nbytes: int) -> None:
        """Account for a chart whose factors were computed after insertion."""
        chart = self._entries.get(key)
        if chart is not None:
            self._nbytes += chart.nbytes - old_nbytes
            self._entries.move_to_end(key)
            self._evict()

    def charts(self) -> list[Chart]:
        return list(self._entries.values())

    def clear(self) -> None:
        self._entries.clear()
        self._nbytes = 0

    def _evict(self) -> None:
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries or self._nbytes > self.max_bytes
        ):
            _, chart = self._entries.popitem(last=False)
            self._nbytes -= chart.nbytes
