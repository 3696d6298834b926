r"""Charts of points of an output manifold, their bounded cache, and the rank test.

A point :math:`u \in M` is a plain output vector. Its chart is its preimage
:math:`\theta` with :math:`F(\theta) = u` and, once needed, the
factorization :math:`J(\theta) = QR` of :mod:`manifolds.linalg`. The
Jacobian itself is not kept: at :math:`n = 10^5` a single factor is already
hundreds of MB, and :math:`Q, R` carry everything the geometry needs
(:math:`P = QQ^\top`, :math:`J^+ = R^{-1}Q^\top`, :math:`J = QR`).

:class:`Atlas` finds and factorizes the charts of one manifold. Charts are
kept in an LRU cache bounded by entry count and by bytes (the reference
chart is also held outside it, so that it is never lost), keyed by a digest
of the point's exact bytes, and factorized lazily: a retraction registers
the chart of its result without factorizing, since line searches discard
most trial points. A factorization is computed at most once per point while
it stays in the cache. A vector that the manifold did not produce (or whose
chart was evicted) is lifted by trust-region least squares
(``scipy.optimize.least_squares``) from the nearest cached chart.

:func:`jacobian_rank` is the public rank test (re-exported as
``manifolds.jacobian_rank``); when :math:`J` lost rank, it and the atlas
report what was measured (:func:`rank_loss_cause`).

Examples start from ``np``, ``anp``, ``X``, ``output_map``, ``theta0``,
``manifold`` and ``u``: the model :math:`F(w) = \tanh(Xw)` and its output
manifold, built in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from manifolds.exceptions import (
    NotAnImmersionError,
    NotOnManifoldError,
    OutsideBallError,
)
from manifolds.linalg import (
    JacobianFactorization,
    JacobianOperator,
    RankInfo,
    factorize,
    rank_info,
)
from manifolds.output_map import OutputMap
from manifolds.validation import (
    NonFiniteError,
    _jacobian_at,
    all_finite,
    as_finite_vector,
    check_output_map,
    check_rank_rtol,
    describe,
    max_abs,
    norm,
)

__all__ = ["Atlas", "Chart", "ChartCache", "jacobian_rank", "point_key"]

# Detecting parallel columns of J costs O(n p^2): only below this many columns.
_MAX_DIAGNOSED_PARAMS = 2000


def jacobian_rank(
    output_map: OutputMap, params, *, rank_rtol: float | None = None
) -> RankInfo:
    r"""The numerical rank of :math:`J(\theta)`, by the one test of :mod:`manifolds.linalg`.

    :math:`\operatorname{rank} J = \#\{i : \sigma_i > \mathtt{rank\_rtol}
    \cdot \sigma_{max}\}`, the singular values taken from the :math:`R` of
    :math:`J = QR` (:func:`manifolds.linalg.rank_info`). A rank-deficient
    :math:`J` also gets its ``cause``.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F`.
    params : ndarray, shape (n_params,)
        Where to evaluate :math:`J`.
    rank_rtol : float, optional
        The relative tolerance; by default ``max(n, p) * eps``, as in
        ``numpy.linalg.matrix_rank``.

    Returns
    -------
    RankInfo
        With ``rank <= min(n, p)``; singular values of :math:`J` (the first
        ``min(n, p)``).

    Raises
    ------
    ValueError
        If ``params`` has the wrong shape or is not finite, :math:`J(\theta)`
        is not finite, or ``rank_rtol`` is not in :math:`(0, 1)`.
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`,
        or ``rank_rtol`` is not a number.

    Examples
    --------
    >>> from manifolds import jacobian_rank
    >>> info = jacobian_rank(output_map, theta0)
    >>> info.rank, info.singular_values.shape, round(info.condition_number, 4)
    (2, (2,), 2.249)

    Two parameters that act only through their sum:

    >>> import autograd.numpy as anp
    >>> from manifolds import AutogradOutputMap
    >>> x = np.linspace(-1.0, 1.0, 6)
    >>> summed = AutogradOutputMap(lambda w: anp.tanh(x * (w[0] + w[1])), n_params=2)
    >>> info = jacobian_rank(summed, np.array([0.3, -0.2]))
    >>> info.rank, info.n_params, bool(info.singular_values[1] <= info.tolerance)
    (1, 2, True)
    """
    check_output_map(output_map)
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    params = as_finite_vector("params", params, p)
    if rank_rtol is not None:
        rank_rtol = check_rank_rtol(rank_rtol)
    J = _jacobian_at(output_map, params, n, p)
    info = rank_info(J, rank_rtol=rank_rtol)
    if info.rank < p:
        info = dataclasses.replace(
            info, cause=rank_loss_cause(J, info, output_map, params)
        )
    return info


def rank_loss_cause(J: np.ndarray, info: RankInfo, output_map=None, params=None) -> str:
    """What a rank-deficient ``J`` shows: measured facts, not guesses.

    An output map that knows its own structure may explain the loss itself,
    through an optional method ``describe_rank_loss(params, J, tolerance)``
    returning a sentence or ``None`` (see :class:`~manifolds.OutputMap`):
    a network names its saturated neurons, paired neurons or duplicate
    inputs. Otherwise the columns of ``J`` are read: paired parameters that
    act only together (the symmetric initialization: neurons ``i`` and
    ``i + m/2`` with equal weights and opposite output weights) give pairs of
    opposite columns; a dead or saturated neuron gives zero columns. Failing
    both, only the smallest singular value is reported.
    """
    smallest = (
        f"smallest singular value {info.singular_values[-1]:.3e} <= tolerance "
        f"{info.tolerance:.3e}"
    )
    describe_model = getattr(output_map, "describe_rank_loss", None)
    model_note = ""
    if callable(describe_model):
        try:
            account = describe_model(params, J, info.tolerance)
        except Exception as error:  # a diagnosis must not hide the rank loss
            model_note = (
                f" (the output map's describe_rank_loss raised "
                f"{type(error).__name__}: {error})"
            )
        else:
            if account:
                return f"{smallest}; {account}"
    scale = max_abs(J)
    if scale == 0.0:
        return (
            f"{smallest}: J is zero (no parameter moves the outputs here){model_note}"
        )
    found = _column_findings(J / scale, info.tolerance / scale)
    if found:
        return f"{smallest}; " + "; ".join(found) + model_note
    return (
        f"{smallest}, with no vanishing or parallel columns of J: check for "
        "duplicate inputs, nearly saturated neurons, or a too large `rank_rtol`"
        + model_note
    )


def _column_findings(J: np.ndarray, tolerance: float) -> list[str]:
    """The vanishing and parallel columns of ``J`` (entries in [-1, 1])."""
    with np.errstate(under="ignore"):
        lengths = np.linalg.norm(J, axis=0)
    zero = np.flatnonzero(lengths <= tolerance)
    found = []
    if zero.size:
        found.append(
            f"{zero.size} column(s) of J vanish ({describe(zero)}: parameters that "
            "do not move the outputs here, such as dead or saturated neurons)"
        )
    alive = np.flatnonzero(lengths > tolerance)
    if not 1 < alive.size <= _MAX_DIAGNOSED_PARAMS:
        return found
    unit = J[:, alive] / lengths[alive]
    cosines = unit.T @ unit
    groups = _parallel_groups(np.abs(cosines) >= 1.0 - 1e-10)
    if groups and all(
        len(group) == 2 and cosines[group[0], group[1]] < 0 for group in groups
    ):
        listed = ", ".join(f"{alive[a]} and {alive[b]}" for a, b in groups[:3])
        more = ", ..." if len(groups) > 3 else ""
        found.append(
            f"{len(groups)} disjoint pair(s) of opposite columns of J ({listed}"
            f"{more}): paired parameters that cancel, the signature of the "
            "symmetric initialization (neurons with equal weights and opposite "
            "output weights, so rank J <= p/2); use the 'standard' or 'centered' "
            "initialization, or Levenberg-Marquardt"
        )
    elif groups:
        listed = "; ".join(
            " ".join(str(alive[k]) for k in group) for group in groups[:3]
        )
        more = "; ..." if len(groups) > 3 else ""
        found.append(
            f"{len(groups)} group(s) of parallel columns of J ({listed}{more}): "
            "parameters that act only together, such as collinear inputs (a "
            "large cond(X)) or duplicate neurons"
        )
    return found


def _parallel_groups(parallel: np.ndarray) -> list[list[int]]:
    """The connected groups (of two or more) of a symmetric boolean relation."""
    groups, seen = [], np.zeros(parallel.shape[0], dtype=bool)
    for k in range(parallel.shape[0]):
        if seen[k]:
            continue
        group, frontier = {k}, [k]
        while frontier:
            for j in np.flatnonzero(parallel[frontier.pop()]):
                if int(j) not in group:
                    group.add(int(j))
                    frontier.append(int(j))
        seen[list(group)] = True
        if len(group) > 1:
            groups.append(sorted(group))
    return groups


def point_key(point: np.ndarray) -> bytes:
    """A short digest identifying a float64 point by its exact bytes."""
    return hashlib.blake2b(
        np.ascontiguousarray(point).view(np.uint8), digest_size=16
    ).digest()


@dataclass
class Chart:
    """The preimage of a point and, once computed, the factorization of its Jacobian.

    ``condition`` is the condition number of :math:`J`, known once
    the factorization is. ``cut`` records the last step from this point that
    a safeguarded retraction shortened, as ``(reason, message)``.
    """

    params: np.ndarray
    point: np.ndarray
    factorization: JacobianFactorization | None = None
    cut: tuple[str, str] | None = None

    @property
    def condition(self) -> float:
        """The condition number of :math:`J` (NaN until factorized), computed on first use."""
        if self.factorization is None:
            return float("nan")
        return self.factorization.condition

    @property
    def nbytes(self) -> int:
        total = self.params.nbytes + self.point.nbytes
        if self.factorization is not None:
            total += self.factorization.nbytes
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


class Atlas:
    """The charts of one manifold: evaluated, cached, factorized and lifted.

    Builds and factorizes the reference chart; raises
    :class:`~manifolds.NotAnImmersionError` if :math:`J(\\theta_0)` lost rank.
    ``scale`` is :math:`\\sigma_{max}(J(\\theta_0))\\rho` (:math:`\\rho = 1`
    without a radius), the size of the image of the ball.
    """

    def __init__(
        self,
        output_map,
        reference_params: np.ndarray,
        *,
        radius: float | None,
        rank_rtol: float,
        point_rtol: float,
        cache: ChartCache,
        solver: str = "dense",
    ):
        self.map = output_map
        self.solver = solver
        self.n, self.p = int(output_map.n_outputs), int(output_map.n_params)
        self.reference_params = reference_params
        self.radius = radius
        self.rank_rtol = rank_rtol
        self.point_rtol = point_rtol
        self.cache = cache
        self.reference_chart = self.new_chart(reference_params)
        factorization = self.factorize(self.reference_chart)
        self.sigma_max = factorization.sigma_max
        self.scale = self.sigma_max * (radius or 1.0)

    def check_in_ball(self, params: np.ndarray, what: str) -> None:
        """Raise :class:`~manifolds.OutsideBallError` if ``params`` leave the ball."""
        if self.radius is None:
            return
        with np.errstate(over="ignore"):
            distance = norm(params - self.reference_params)
        if not distance <= self.radius:
            raise OutsideBallError(
                f"{what} leaves the ball of the manifold: |theta - theta0| = "
                f"{distance:.6g} > radius = {self.radius:.6g}; take a shorter step "
                "or build the manifold with a larger `radius`"
            )

    def region_violation(
        self, params: np.ndarray, max_condition: float
    ) -> tuple[str, str] | None:
        r"""Why ``params`` lie outside the safeguarded region :math:`U`, or None.

        :math:`U = \{\theta \in B(\theta_0, \rho) : \kappa(J(\theta)) \le
        \kappa_{max}\}`; the reason is ``"ball"``, ``"rank"`` or ``"non_finite"``.
        """
        if self.radius is not None:
            with np.errstate(over="ignore"):
                distance = norm(params - self.reference_params)
            if not distance <= self.radius:
                return (
                    "ball",
                    f"|theta - theta0| = {distance:.6g} > radius = {self.radius:.6g}",
                )
        try:
            chart = self.new_chart(params, "the safeguarded retraction")
            self.factorize(chart)
        except NotAnImmersionError as error:
            return ("rank", str(error))
        except NonFiniteError as error:
            return ("non_finite", str(error))
        if not chart.factorization.condition_at_most(max_condition):
            return (
                "rank",
                f"cond J(theta) = {chart.condition:.6e} > max_condition = "
                f"{max_condition:.6e}",
            )
        return None

    def evaluate(self, params: np.ndarray, what: str = "`params`") -> np.ndarray:
        """:math:`F(\\theta)`, float64 and finite, or a clear error."""
        with np.errstate(all="ignore"):
            value = np.asarray(self.map.value(params), dtype=np.float64)
        if value.shape != (self.n,):
            raise ValueError(
                f"the output map returned shape {value.shape}, expected ({self.n},)"
            )
        if not all_finite(value):
            raise NonFiniteError(
                f"the output map is not finite at the parameters of {what}: F holds "
                f"{int(np.sum(~np.isfinite(value)))} NaN or inf value(s) (max "
                f"|params| = {max_abs(params):.3e}); it overflows float64 there"
            )
        return value

    def new_chart(self, params: np.ndarray, what: str = "`params`") -> Chart:
        """The chart of :math:`F(\\theta)`, registered in the cache, unfactorized."""
        point = self.evaluate(params, what)
        key = point_key(point)
        known = self.cache.get(key)
        if known is not None and np.array_equal(known.params, params):
            return known  # the same chart, with its factors if computed
        return self._register(Chart(params=params.copy(), point=point), key)

    def _register(self, chart: Chart, key: bytes) -> Chart:
        chart.point.flags.writeable = False
        chart.params.flags.writeable = False
        self.cache.put(key, chart)
        return chart

    def factorize(self, chart: Chart) -> JacobianFactorization:
        """The factorization of :math:`J` at ``chart``, computed once; checks the rank.

        Under ``solver == "krylov"`` the factorization of the matrix-free
        :class:`~manifolds.linalg.JacobianOperator`: :math:`J` is never formed,
        and the rank test uses the sketch's singular-value estimates.
        """
        if chart.factorization is None:
            if self.solver == "krylov":
                operator = JacobianOperator(self.map, chart.params)
                factorization = factorize(operator, rank_rtol=self.rank_rtol)
            else:
                J = _jacobian_at(self.map, chart.params, self.n, self.p)
                factorization = factorize(J, rank_rtol=self.rank_rtol, overwrite=True)
            info = factorization.rank_info()
            if info.rank < self.p:
                raise NotAnImmersionError(
                    f"J(theta) is rank-deficient: numerical rank {info.rank} < "
                    f"n_params = {self.p} (tolerance {info.tolerance:.3e} = rank_rtol "
                    f"{self.rank_rtol:.3e} x sigma_max {info.singular_values[0]:.3e}). "
                    "F is not an immersion here, so the output manifold does not "
                    f"exist at this point. Measured: {self._rank_cause(chart, info)}"
                )
            old = chart.nbytes
            chart.factorization = factorization
            self.cache.resized(point_key(chart.point), old)
        return chart.factorization

    def _rank_cause(self, chart: Chart, info: RankInfo) -> str:
        if self.solver == "krylov":
            return (
                "singular values estimated matrix-free (solver='krylov'); build the "
                "manifold with solver='dense' for the columns that cause it"
            )
        J = _jacobian_at(self.map, chart.params, self.n, self.p)
        return rank_loss_cause(J, info, self.map, chart.params)

    def chart(self, point, name: str = "point") -> Chart:
        """The chart of ``point``: from the cache, or lifted by least squares."""
        point = as_finite_vector(name, point, self.n)
        chart = self.cache.get(point_key(point))
        if chart is None:
            chart = self._lift_unknown(point, name)
        return chart

    def _lift_unknown(self, point: np.ndarray, name: str) -> Chart:
        # Solve F(theta) = point by trust-region least squares from the nearest
        # known chart, then from the reference chart; a tolerance relative to
        # the manifold's own scale keeps membership scale-invariant (alpha).
        # The norms are overflow-safe: |point| = inf would accept anything.
        size = norm(point)
        if not math.isfinite(size):
            raise NotOnManifoldError(
                f"`{name}` is not on the manifold: its norm exceeds the largest "
                f"float (max |entry| = {max_abs(point):.3e}), while the manifold's "
                f"scale is {self.scale:.3e}"
            )
        tolerance = self.point_rtol * max(size, self.scale)
        candidates = self.cache.charts() + [self.reference_chart]
        with np.errstate(over="ignore"):
            starts = [min(candidates, key=lambda c: norm(c.point - point))]
        if starts[0] is not self.reference_chart:
            starts.append(self.reference_chart)
        best = None
        for start in starts:
            params, distance = self._solve_lift(start.params, point)
            if best is None or distance < best[1]:
                best = (params, distance)
            if distance <= tolerance:
                break
        params, distance = best
        if not distance <= tolerance:
            measured = (
                f"distance {distance:.3e}"
                if math.isfinite(distance)
                else "no finite distance (the output map overflowed on the way)"
            )
            raise NotOnManifoldError(
                f"`{name}` is not on the manifold: least squares from the closest "
                f"known chart and from the reference chart stops at {measured}, "
                f"above the tolerance {tolerance:.3e} (point_rtol = "
                f"{self.point_rtol:g} x max(|{name}|, manifold scale "
                f"{self.scale:.3e})). Make points with manifold.point(params), "
                "retraction or exp"
            )
        self.check_in_ball(params, f"the preimage of `{name}`")
        chart = Chart(params=params, point=point.copy())
        return self._register(chart, point_key(chart.point))

    def _lift_jacobian(self, params: np.ndarray, scale: float):
        # Matrix-free under krylov: least_squares then solves with LSMR.
        if self.solver == "krylov":
            return JacobianOperator(
                self.map, params, row_scale=np.full(self.n, 1 / scale)
            )
        return self.map.jacobian(params) / scale

    def _solve_lift(self, start: np.ndarray, point: np.ndarray):
        # least_squares' gtol is absolute: scale the residual to order one.
        scale = max(norm(point), self.scale)

        def residual(params):
            return (self.map.value(params) - point) / scale

        try:
            with np.errstate(all="ignore"):  # a non-finite model is handled below
                solution = scipy.optimize.least_squares(
                    residual,
                    start,
                    jac=lambda params: self._lift_jacobian(params, scale),
                    method="trf",
                    x_scale=1.0 if self.solver == "krylov" else "jac",
                    **({"tr_solver": "lsmr"} if self.solver == "krylov" else {}),
                    ftol=1e-15,
                    xtol=1e-15,
                    gtol=1e-15,
                    max_nfev=100 * self.p,
                )
        except ValueError:  # the model is not finite somewhere on the way
            return start, np.inf
        distance = norm(solution.fun, scale)
        if not np.isfinite(distance) or not np.all(np.isfinite(solution.x)):
            return start, np.inf
        return solution.x, distance
