r"""The output manifold :math:`M = F(B(\theta_0, \rho)) \subset \mathbb{R}^n` as a pymanopt manifold.

When :math:`F: \mathbb{R}^p \to \mathbb{R}^n` is an injective immersion on the
ball :math:`B(\theta_0, \rho)` (so :math:`p \le n` and :math:`\operatorname{rank}
J = p`), its image is an embedded :math:`p`-dimensional submanifold of the
output space. Points are plain output vectors :math:`u \in \mathbb{R}^n`, so
that a cost written for pymanopt as a function of :math:`u` works unchanged
with every backend and optimizer.

Developer notes
---------------
*Charts.* Each point :math:`u` has a chart: its preimage :math:`\theta(u)` and
the thin QR factorization :math:`J(\theta) = QR`. Every geometric operation is
written in terms of :math:`Q` and :math:`R`:

* projector :math:`P_u = J(J^\top J)^{-1}J^\top = QQ^\top`;
* pseudo-inverse :math:`J^+ = R^{-1}Q^\top` (a triangular solve);
* :math:`(J^+)^\top = QR^{-\top}`.

QR is used because the normal equations square the condition number: with
:math:`\operatorname{cond}(J^\top J) = 10^{12}` a projector built from
:math:`(J^\top J)^{-1}` loses about twelve digits, while :math:`QQ^\top` from
Householder QR stays idempotent and symmetric to machine precision.

*Cache.* Charts are kept in an LRU cache bounded by entry count and by
bytes (the reference chart is also held outside it, so that it is never
lost), keyed by a digest of the point's exact bytes, and factorized lazily:
a retraction registers the chart of its result without factorizing, since
line searches discard most trial points. A factorization is computed at
most once per point while it stays in the cache. The Jacobian is discarded
after factorization. A vector that the manifold did not produce (or whose
chart was evicted) is lifted by trust-region least squares (a Gauss-Newton
method, ``scipy.optimize.least_squares``) from the nearest cached chart.

*Metric.* The metric is :math:`\langle a, b \rangle_u = c\, a^\top b` with a
fixed weight :math:`c` (``metric_weight``). The Levi-Civita connection does
not depend on :math:`c`, so geodesics, retractions and the Weingarten map
are those of the Euclidean metric; gradients and Hessians carry a factor
:math:`1/c`.

*Weingarten map.* For :math:`P(u) = J(J^\top J)^{-1}J^\top` and a normal
:math:`\nu` (:math:`J^\top \nu = 0`), differentiating along :math:`\xi` with
:math:`\dot J = DJ[J^+\xi]` gives :math:`DP[\xi]\nu = J(J^\top J)^{-1}\dot
J^\top \nu`, already tangent, and :math:`\dot J^\top \nu = H_\nu J^+ \xi`. Hence

.. math::

    W(\xi, \nu) = P\, DP[\xi]\, \nu = (J^+)^\top H_\nu J^+ \xi ,

and :math:`\langle W(\xi,\nu), \zeta\rangle = \langle \nu, D^2F[J^+\xi,
J^+\zeta]\rangle = \langle \mathrm{II}(\xi,\zeta), \nu\rangle`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
from pymanopt.manifolds.manifold import RiemannianSubmanifold

from manifolds._chart import Chart, ChartCache, point_key
from manifolds.validation import (
    NonFiniteError,
    all_finite,
    as_finite_vector,
    check_generator,
    check_output_map,
    check_positive_int,
    check_positive_real,
    check_rank_rtol,
    describe,
    max_abs,
    norm,
    scale_back,
    scaled_product,
)
from manifolds.exceptions import (
    NotAnImmersionError,
    NotOnManifoldError,
    OutsideBallError,
)
from manifolds.geodesics import shoot_geodesic, solve_geodesic
from manifolds.output_map import OutputMap

__all__ = ["OutputManifold", "RankInfo", "jacobian_rank"]

_EPS = np.finfo(np.float64).eps
RETRACTIONS = ("chart", "second_order")
# A safeguarded retraction halves a step at most this often (2^-60 ~ 1e-18).
_MAX_HALVINGS = 60
# The default largest cond J(theta) a safeguarded retraction accepts, capped
# at 0.5 / rank_rtol so that the region stays inside the immersion.
_DEFAULT_MAX_CONDITION = 1e8
# A result below this may have lost its value to an underflow on the way.
_TINY_RESULT = 1e-280


@dataclass(frozen=True)
class RankInfo:
    """The numerical rank of a Jacobian.

    Attributes
    ----------
    rank : int
        The number of singular values above ``tolerance``.
    n_params : int
        The number of columns :math:`p` of :math:`J`.
    tolerance : float
        The absolute threshold, ``rank_rtol * sigma_max``.
    singular_values : ndarray, shape (n_params,)
        The singular values of :math:`J`, in decreasing order.
    cause : str
        For a rank-deficient :math:`J` from :func:`~manifolds.jacobian_rank`,
        what was measured: the smallest singular value against the
        tolerance, and the model's own account (an output map's optional
        ``describe_rank_loss``, such as the saturated neurons of
        :class:`riemgn.networks.TwoLayerNetwork`) or else the vanishing and
        parallel columns of :math:`J`. Empty at full rank.

    Examples
    --------
    Two parameters that act only through their sum:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, jacobian_rank
    >>> x = np.linspace(-1.0, 1.0, 6)
    >>> output_map = AutogradOutputMap(lambda w: anp.tanh(x * (w[0] + w[1])), n_params=2)
    >>> info = jacobian_rank(output_map, np.array([0.3, -0.2]))
    >>> info.rank, info.n_params
    (1, 2)
    >>> bool(info.singular_values[1] <= info.tolerance), info.condition_number > 1e12
    (True, True)
    """

    rank: int
    n_params: int
    tolerance: float
    singular_values: np.ndarray
    cause: str = ""

    @property
    def condition_number(self) -> float:
        r"""The condition number :math:`\sigma_{max}/\sigma_{min}` of :math:`J` (inf if singular)."""
        smallest = self.singular_values[-1]
        return math.inf if smallest == 0 else float(self.singular_values[0] / smallest)


def _rank_of_triangular(R: np.ndarray, rank_rtol: float) -> RankInfo:
    singular_values = scipy.linalg.svdvals(R, check_finite=False)
    tolerance = rank_rtol * singular_values[0]
    rank = int(np.sum(singular_values > tolerance))
    return RankInfo(rank, R.shape[1], float(tolerance), singular_values)


def jacobian_rank(
    output_map: OutputMap, params, *, rank_rtol: float | None = None
) -> RankInfo:
    r"""The numerical rank of :math:`J(\theta)`, from the singular values of its R factor.

    .. math::

        \operatorname{rank} J = \#\{\, i : \sigma_i(R) > \tau \,\}, \qquad
        \tau = \mathtt{rank\_rtol} \cdot \sigma_{max},

    where :math:`J(\theta) = QR` is a QR factorization, so :math:`R` has the
    singular values :math:`\sigma_i` of :math:`J`, and :math:`\sigma_{max}`
    is the largest. Singular values at or below :math:`\tau` count as zero.

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
    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, jacobian_rank
    >>> X = np.random.default_rng(0).normal(size=(6, 2))
    >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
    >>> info = jacobian_rank(output_map, np.array([0.3, -0.2]))
    >>> info.rank, info.singular_values.shape
    (2, (2,))
    >>> round(info.condition_number, 4)
    2.249
    """
    check_output_map(output_map)
    n, p = int(output_map.n_outputs), int(output_map.n_params)
    params = as_finite_vector("params", params, p)
    rank_rtol = max(n, p) * _EPS if rank_rtol is None else rank_rtol
    rank_rtol = check_rank_rtol(rank_rtol)
    J = _checked_jacobian(output_map, params, n, p)
    R = scipy.linalg.qr(J, mode="r", check_finite=False)[0]
    info = _rank_of_triangular(R[: min(n, p)], rank_rtol)
    if info.rank < p:
        info = dataclasses.replace(
            info, cause=_rank_loss_cause(J, info, output_map, params)
        )
    return info


def _checked_jacobian(output_map, params: np.ndarray, n: int, p: int) -> np.ndarray:
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


# Detecting parallel columns of J costs O(n p^2): only below this many columns.
_MAX_DIAGNOSED_PARAMS = 2000


def _rank_loss_cause(
    J: np.ndarray, info: RankInfo, output_map=None, params=None
) -> str:
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
    J = J / scale  # entries in [-1, 1]: the squares below cannot overflow
    with np.errstate(under="ignore"):
        lengths = np.linalg.norm(J, axis=0)
    zero = np.flatnonzero(lengths <= info.tolerance / scale)
    found = []
    if zero.size:
        found.append(
            f"{zero.size} column(s) of J vanish ({describe(zero)}: parameters that "
            "do not move the outputs here, such as dead or saturated neurons)"
        )
    alive = np.flatnonzero(lengths > info.tolerance / scale)
    if 1 < alive.size <= _MAX_DIAGNOSED_PARAMS:
        unit = J[:, alive] / lengths[alive]
        cosines = unit.T @ unit
        parallel = np.abs(cosines) >= 1.0 - 1e-10
        groups = _parallel_groups(parallel)
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
    if found:
        return f"{smallest}; " + "; ".join(found) + model_note
    return (
        f"{smallest}, with no vanishing or parallel columns of J: check for "
        "duplicate inputs, nearly saturated neurons, or a too large `rank_rtol`"
        + model_note
    )


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


class OutputManifold(RiemannianSubmanifold):
    r"""The output manifold :math:`M = F(B(\theta_0, \rho))` of a smooth map, for pymanopt.

    Points are output vectors :math:`u \in \mathbb{R}^n` and tangent vectors
    are vectors of :math:`T_u M = \operatorname{range} J(\theta(u))
    \subset \mathbb{R}^n`, with the metric :math:`\langle a, b\rangle = c\,
    a^\top b`.

    Parameters
    ----------
    output_map : OutputMap
        The map :math:`F: \mathbb{R}^p \to \mathbb{R}^n`.
    reference_params : ndarray, shape (n_params,)
        The centre :math:`\theta_0` of the chart domain; :math:`F` must be an
        immersion there.
    radius : float, optional
        The radius :math:`\rho` of the ball :math:`B(\theta_0, \rho)`. A chart
        that leaves it raises :class:`~manifolds.OutsideBallError`.
        ``None`` (the default) sets no bound.
    metric_weight : float, default 1.0
        The weight :math:`c > 0` of the metric (``1/n`` gives the empirical
        measure).
    retraction : {"chart", "second_order"}, default "chart"
        The retraction used by :meth:`retraction`:

        * ``"chart"``: :math:`R_u(\xi) = F(\theta + J^+\xi)`, first order;
        * ``"second_order"``: :math:`R_u(\xi) = F(\theta + \eta - \tfrac12 J^+
          D^2F[\eta, \eta])` with :math:`\eta = J^+\xi`, second order.
    rank_rtol : float, optional
        The relative tolerance of the numerical rank: singular values of
        :math:`J` at or below ``rank_rtol * sigma_max`` count as zero. The
        default is ``max(n, p) * eps``, as in ``numpy.linalg.matrix_rank``.
    safeguard : bool, default False
        Keep every retraction inside the region where the geometry exists,

        .. math::

            U = \{\theta \in B(\theta_0, \rho) :
                \kappa(J(\theta)) \le \kappa_{max}\},

        where :math:`\kappa(J) = \sigma_{max}(J)/\sigma_{min}(J)` and
        :math:`\kappa_{max}` is ``max_condition``: a step whose end leaves
        :math:`U` is halved until it does not (see :meth:`retract`). Use it
        when pymanopt's optimizers run toward a target off the manifold,
        whose nearest point may lie on the manifold's boundary (a saturated
        neuron, the edge of the ball); without it they stop with
        :class:`~manifolds.NotAnImmersionError` or
        :class:`~manifolds.OutsideBallError`.
    max_condition : float, optional
        :math:`\kappa_{max}`, the largest :math:`\kappa(J(\theta))` a
        safeguarded retraction accepts; it must satisfy ``rank_rtol *
        max_condition < 1``, and with ``safeguard=True``
        :math:`\kappa(J(\theta_0)) \le \kappa_{max}`. Default: the smaller
        of :math:`10^8` and ``0.5 / rank_rtol``. Used only with
        ``safeguard=True``.
    point_rtol : float, default 1e-9
        A vector :math:`v` lifts to :math:`\theta` when :math:`\|F(\theta) - v\|
        \le` ``point_rtol`` :math:`\cdot \max(\|v\|, \sigma_{max}\rho)`, a
        tolerance relative to the manifold's own scale (so the same at every
        :math:`\alpha`); otherwise it is not on the manifold.
    geodesic_rtol, geodesic_atol : float
        Tolerances of the geodesic initial value problems behind :meth:`exp`
        and :meth:`log`.
    rng : numpy.random.Generator, optional
        The generator used by :meth:`random_point` and
        :meth:`random_tangent_vector` (pymanopt calls them without arguments).
        The default is a fresh, unseeded generator.
    cache_max_entries : int, default 64
        The number of charts kept.
    cache_max_bytes : int, default 512 MiB
        The bytes the cached charts may hold (the newest chart is always kept).

    Raises
    ------
    ~manifolds.NotAnImmersionError
        If :math:`J(\theta_0)` is rank-deficient, or :math:`p > n` (an
        overparameterized map is a submersion, not an immersion).
    TypeError
        If ``output_map`` does not implement :class:`~manifolds.OutputMap`,
        ``rng`` is not a ``numpy.random.Generator``, or a numeric argument
        has the wrong type.
    ValueError
        If an argument is out of range, :math:`F(\theta_0)` or
        :math:`J(\theta_0)` is not finite, or the scale
        :math:`\sqrt c\,\sigma_{max}\rho` overflows float64.

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold
    >>> X = np.random.default_rng(0).normal(size=(6, 2))
    >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
    >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
    >>> manifold.dim
    2
    >>> u = manifold.point(np.array([0.3, -0.2]))
    >>> xi = manifold.random_tangent_vector(u)
    >>> bool(np.allclose(manifold.projection(u, xi), xi))
    True
    """

    def __init__(
        self,
        output_map: OutputMap,
        reference_params,
        *,
        radius: float | None = None,
        metric_weight: float = 1.0,
        retraction: str = "chart",
        rank_rtol: float | None = None,
        safeguard: bool = False,
        max_condition: float | None = None,
        point_rtol: float = 1e-9,
        geodesic_rtol: float = 1e-11,
        geodesic_atol: float = 1e-12,
        rng: np.random.Generator | None = None,
        cache_max_entries: int = 64,
        cache_max_bytes: int = 512 * 2**20,
    ):
        self._map = check_output_map(output_map)
        n, p = int(output_map.n_outputs), int(output_map.n_params)
        self._n, self._p = n, p
        self._reference_params = as_finite_vector(
            "reference_params", reference_params, p
        )
        self._reference_params = self._reference_params.copy()
        self._radius = None if radius is None else check_positive_real("radius", radius)
        self._metric_weight = check_positive_real("metric_weight", metric_weight)
        if retraction not in RETRACTIONS:
            raise ValueError(
                f"`retraction` must be one of {RETRACTIONS}, got {describe(retraction)}"
            )
        self._retraction_kind = retraction
        if rank_rtol is None:
            rank_rtol = max(n, p) * _EPS
        self._rank_rtol = check_rank_rtol(rank_rtol)
        if not isinstance(safeguard, (bool, np.bool_)):
            raise TypeError(f"`safeguard` must be a bool, got {describe(safeguard)}")
        self._safeguard = bool(safeguard)
        if max_condition is None:
            max_condition = min(_DEFAULT_MAX_CONDITION, 0.5 / self._rank_rtol)
        self._max_condition = check_positive_real("max_condition", max_condition)
        if not self._max_condition * self._rank_rtol < 1.0:
            raise ValueError(
                f"`max_condition` = {self._max_condition:g} must be below 1 / "
                f"rank_rtol = {1.0 / self._rank_rtol:.3e}: a larger condition "
                "number already counts as rank loss"
            )
        self._point_rtol = check_positive_real("point_rtol", point_rtol)
        self._geodesic_rtol = check_positive_real("geodesic_rtol", geodesic_rtol)
        self._geodesic_atol = check_positive_real("geodesic_atol", geodesic_atol)
        self._rng = np.random.default_rng() if rng is None else check_generator(rng)
        self._cache = ChartCache(
            check_positive_int("cache_max_entries", cache_max_entries),
            check_positive_int("cache_max_bytes", cache_max_bytes),
        )
        if p > n:
            raise NotAnImmersionError(
                f"F has n_params = {p} > n_outputs = {n}: an overparameterized map is "
                "a submersion, not an immersion, so its image is not a "
                f"{p}-dimensional submanifold of R^{n}; use Levenberg-Marquardt "
                "dynamics in the kernel form instead"
            )
        self._reference_chart = self._new_chart(self._reference_params)
        _, R = self._factors(self._reference_chart)
        self._sigma_max = float(np.linalg.norm(R, 2))
        # The size of the image of the ball in output units (unweighted).
        self._scale = self._sigma_max * (self._radius or 1.0)
        if not math.isfinite(self._scale * math.sqrt(self._metric_weight)):
            raise NonFiniteError(
                "the manifold's scale sqrt(metric_weight) x sigma_max(J(theta0)) x "
                f"radius is not finite, it overflows float64 (metric_weight = {self._metric_weight:.3e}, "
                f"sigma_max = {self._sigma_max:.3e}, radius = {self._radius}); "
                "use a smaller `radius` or `metric_weight`, or rescale the model"
            )
        self._reference_point = self._reference_chart.point
        if self._safeguard:
            self._factors(self._reference_chart)
            if not self._reference_chart.condition <= self._max_condition:
                raise ValueError(
                    "`reference_params` lie outside the safeguarded region: "
                    f"cond J(theta0) = {self._reference_chart.condition:.3e} > "
                    f"`max_condition` = {self._max_condition:.3e}; raise "
                    "`max_condition` or start elsewhere"
                )
        super().__init__(f"OutputManifold(n_outputs={n}, n_params={p})", p)

    # ------------------------------------------------------------------
    # Properties

    @property
    def output_map(self) -> OutputMap:
        """The map :math:`F` whose image this is."""
        return self._map

    @property
    def reference_params(self) -> np.ndarray:
        r"""The centre :math:`\theta_0` of the chart domain (a copy)."""
        return self._reference_params.copy()

    @property
    def reference_point(self) -> np.ndarray:
        r"""The point :math:`F(\theta_0)` (a copy)."""
        return self._reference_point.copy()

    @property
    def radius(self) -> float | None:
        r"""The radius :math:`\rho` of the chart domain, or ``None``."""
        return self._radius

    @property
    def metric_weight(self) -> float:
        """The weight :math:`c` of the metric."""
        return self._metric_weight

    @property
    def retraction_kind(self) -> str:
        """The kind of retraction that :meth:`retraction` uses, ``"chart"`` or ``"second_order"``."""
        return self._retraction_kind

    @property
    def safeguard(self) -> bool:
        """Whether retractions are kept inside the region :math:`U` (see ``safeguard``)."""
        return self._safeguard

    @property
    def max_condition(self) -> float:
        r"""The largest :math:`\kappa(J(\theta))` a safeguarded retraction accepts."""
        return self._max_condition

    @property
    def ambient_dim(self) -> int:
        """The dimension :math:`n` of the output space."""
        return self._n

    @property
    def typical_dist(self) -> float:
        r"""The scale of the manifold, :math:`\sqrt{c}\,\sigma_{max}(J(\theta_0))\,\rho`.

        It estimates the diameter of the image of the ball (with :math:`\rho = 1`
        when no radius is set). pymanopt's trust-region method uses it for its
        default radii.
        """
        return math.sqrt(self._metric_weight) * self._scale

    @property
    def cache_info(self) -> dict:
        """The number of cached charts and the bytes they hold."""
        return {"entries": len(self._cache), "nbytes": self._cache.nbytes}

    # ------------------------------------------------------------------
    # Charts

    def _check_in_ball(self, params: np.ndarray, what: str) -> None:
        if self._radius is None:
            return
        with np.errstate(over="ignore"):
            distance = norm(params - self._reference_params)
        if not distance <= self._radius:
            raise OutsideBallError(
                f"{what} leaves the ball of the manifold: |theta - theta0| = "
                f"{distance:.6g} > radius = {self._radius:.6g}; take a shorter step "
                "or build the manifold with a larger `radius`"
            )

    def _evaluate(self, params: np.ndarray, what: str = "`params`") -> np.ndarray:
        with np.errstate(all="ignore"):
            value = np.asarray(self._map.value(params), dtype=np.float64)
        if value.shape != (self._n,):
            raise ValueError(
                f"the output map returned shape {value.shape}, expected ({self._n},)"
            )
        if not all_finite(value):
            raise NonFiniteError(
                f"the output map is not finite at the parameters of {what}: F holds "
                f"{int(np.sum(~np.isfinite(value)))} NaN or inf value(s) (max "
                f"|params| = {max_abs(params):.3e}); it overflows float64 there"
            )
        return value

    def _new_chart(self, params: np.ndarray, what: str = "`params`") -> Chart:
        point = self._evaluate(params, what)
        key = point_key(point)
        known = self._cache.get(key)
        if known is not None and np.array_equal(known.params, params):
            return known  # the same chart, with its factors if computed
        chart = Chart(params=params.copy(), point=point)
        chart.point.flags.writeable = False
        chart.params.flags.writeable = False
        self._cache.put(key, chart)
        return chart

    def rank_info(self, params) -> RankInfo:
        r"""The numerical rank of :math:`J(\theta)` with this manifold's tolerance.

        The same as :func:`~manifolds.jacobian_rank` with the manifold's
        ``rank_rtol``: singular values of :math:`J(\theta)` at or below
        ``rank_rtol`` :math:`\cdot\,\sigma_{max}` count as zero. Use it to
        diagnose where :math:`F` stops being an immersion.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.

        Returns
        -------
        RankInfo

        Raises
        ------
        ValueError
            If ``params`` has the wrong shape or is not finite.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> info = manifold.rank_info(np.array([0.3, -0.2]))
        >>> info.rank, info.n_params
        (2, 2)
        >>> round(info.condition_number, 4)
        2.249
        """
        return jacobian_rank(self._map, params, rank_rtol=self._rank_rtol)

    def _factors(self, chart: Chart) -> tuple[np.ndarray, np.ndarray]:
        if chart.Q is None:
            J = np.asarray(self._map.jacobian(chart.params), dtype=np.float64)
            if J.shape != (self._n, self._p):
                raise ValueError(
                    f"the output map's jacobian has shape {J.shape}, expected "
                    f"({self._n}, {self._p})"
                )
            if not all_finite(J):
                raise NonFiniteError(
                    "the Jacobian J(params) holds NaN or inf values: the output map "
                    "is not differentiable, or overflows float64, at these parameters"
                )
            Q, R = scipy.linalg.qr(
                J, mode="economic", overwrite_a=True, check_finite=False
            )
            info = _rank_of_triangular(R, self._rank_rtol)
            if info.rank < self._p:
                J = np.asarray(self._map.jacobian(chart.params), dtype=np.float64)
                raise NotAnImmersionError(
                    f"J(theta) is rank-deficient: numerical rank {info.rank} < "
                    f"n_params = {self._p} (tolerance {info.tolerance:.3e} = rank_rtol "
                    f"{self._rank_rtol:.3e} x sigma_max {info.singular_values[0]:.3e}). "
                    "F is not an immersion here, so the output manifold does not "
                    "exist at this point. Measured: "
                    f"{_rank_loss_cause(J, info, self._map, chart.params)}"
                )
            old = chart.nbytes
            chart.Q, chart.R = Q, R
            chart.condition = float(info.singular_values[0] / info.singular_values[-1])
            self._cache.resized(point_key(chart.point), old)
        return chart.Q, chart.R

    def _chart(self, point, name: str = "point") -> Chart:
        point = as_finite_vector(name, point, self._n)
        chart = self._cache.get(point_key(point))
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
                f"scale is {self._scale:.3e}"
            )
        tolerance = self._point_rtol * max(size, self._scale)
        candidates = self._cache.charts() + [self._reference_chart]
        with np.errstate(over="ignore"):
            starts = [min(candidates, key=lambda c: norm(c.point - point))]
        if starts[0] is not self._reference_chart:
            starts.append(self._reference_chart)
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
                f"{self._point_rtol:g} x max(|{name}|, manifold scale "
                f"{self._scale:.3e})). Make points with manifold.point(params), "
                "retraction or exp"
            )
        self._check_in_ball(params, f"the preimage of `{name}`")
        chart = Chart(params=params, point=point.copy())
        chart.point.flags.writeable = False
        chart.params.flags.writeable = False
        self._cache.put(point_key(chart.point), chart)
        return chart

    def _solve_lift(self, start: np.ndarray, point: np.ndarray):
        # least_squares' gtol is absolute: scale the residual to order one.
        scale = max(norm(point), self._scale)

        def residual(params):
            return (self._map.value(params) - point) / scale

        try:
            with np.errstate(all="ignore"):  # a non-finite model is handled below
                solution = scipy.optimize.least_squares(
                    residual,
                    start,
                    jac=lambda params: self._map.jacobian(params) / scale,
                    method="trf",
                    x_scale="jac",
                    ftol=1e-15,
                    xtol=1e-15,
                    gtol=1e-15,
                    max_nfev=100 * self._p,
                )
        except ValueError:  # the model is not finite somewhere on the way
            return start, np.inf
        distance = norm(solution.fun, scale)
        if not np.isfinite(distance) or not np.all(np.isfinite(solution.x)):
            return start, np.inf
        return solution.x, distance

    def point(self, params) -> np.ndarray:
        r"""The point :math:`u = F(\theta)` of the manifold.

        The chart of :math:`u` (its preimage and the thin QR factors
        :math:`J(\theta) = QR`) is computed and cached, so the geometry at
        :math:`u` needs no further Jacobian.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If ``params`` has the wrong shape or is not finite, or
            :math:`F(\theta)` is not finite.
        ~manifolds.OutsideBallError
            If ``params`` is outside the ball.
        ~manifolds.NotAnImmersionError
            If :math:`J(\theta)` is rank-deficient.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> theta = np.array([0.5, 0.1])
        >>> u = manifold.point(theta)
        >>> bool(np.allclose(u, np.tanh(X @ theta)))
        True
        >>> bool(np.array_equal(manifold.lift(u), theta))  # its chart is cached
        True
        """
        params = as_finite_vector("params", params, self._p)
        self._check_in_ball(params, "`params`")
        chart = self._new_chart(params)
        self._factors(chart)
        return chart.point.copy()

    def lift(self, point) -> np.ndarray:
        r"""The preimage :math:`\theta(u)` of a point, its chart coordinates.

        For a point the manifold produced (by :meth:`point`, a retraction,
        :meth:`exp`, ...) the chart is cached. For any other vector,
        :math:`F(\theta) = u` is solved by nonlinear least squares
        (``scipy.optimize.least_squares``) from the nearest cached chart and
        then from the reference chart; the vector is a point when

        .. math::

            \|F(\theta) - u\| \le \epsilon \max(\|u\|, \sigma_{max}\rho),

        where :math:`\epsilon` is ``point_rtol``, :math:`\sigma_{max}` the
        largest singular value of :math:`J(\theta_0)` and :math:`\rho` the
        radius (1 if none is set).

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The point :math:`u`.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        ValueError
            If ``point`` has the wrong shape or is not finite.
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold (to ``point_rtol``).
        ~manifolds.OutsideBallError
            If its preimage is outside the ball.

        Examples
        --------
        A vector computed outside the manifold is lifted by least squares:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> theta = np.array([0.5, 0.1])
        >>> bool(np.allclose(manifold.lift(np.tanh(X @ theta)), theta, atol=1e-8))
        True
        """
        return self._chart(point).params.copy()

    # ------------------------------------------------------------------
    # Linear algebra in a chart

    def _vector(self, vector, name: str) -> np.ndarray:
        return as_finite_vector(name, vector, self._n)

    def _finite(self, what: str, compute, arguments: dict, *, weighted=False):
        """``compute(*arguments)`` (divided by ``c`` if ``weighted``), finite or an error.

        ``compute`` is linear in each argument, so when the plain evaluation
        overflows it is evaluated again on the arguments divided by their
        largest entries and scaled back with exact powers of two. Ordinary
        values take the plain path and are unchanged bit for bit. A result
        whose true value exceeds the largest float is a ``ValueError`` that
        names the arguments.
        """
        vectors = list(arguments.values())
        try:
            with np.errstate(all="ignore"):
                result = compute(*vectors)
                if weighted:
                    result = result / self._metric_weight
            if all_finite(result):
                return result
        except ValueError:  # a model that refuses to overflow: rescale below
            pass
        scales = [max_abs(vector) or 1.0 for vector in vectors]
        with np.errstate(all="ignore"):
            unit = compute(*(v / s for v, s in zip(vectors, scales, strict=True)))
        named = " and ".join(f"`{name}`" for name in arguments)
        if not all_finite(unit):
            raise NonFiniteError(
                f"{what} is not finite, even with {named} rescaled to unit size: "
                "the output map overflows at this point"
            )
        result = scale_back(
            unit, scales, divisors=(self._metric_weight,) if weighted else ()
        )
        if not all_finite(result):
            sizes = ", ".join(
                f"max |{name}| = {s:.3e}"
                for name, s in zip(arguments, scales, strict=True)
            )
            weight = f", metric_weight = {self._metric_weight:.3e}" if weighted else ""
            raise NonFiniteError(
                f"{what} is not finite, it overflows float64: its true value exceeds the "
                f"largest float "
                f"({sizes}{weight}); {named} too large for this point"
            )
        return result

    def _pinv(self, chart: Chart, vector: np.ndarray) -> np.ndarray:
        r""":math:`J^+ v = R^{-1} Q^\top v`."""
        Q, R = self._factors(chart)
        return scipy.linalg.solve_triangular(R, Q.T @ vector, check_finite=False)

    def _pinv_transpose(self, chart: Chart, vector: np.ndarray) -> np.ndarray:
        r""":math:`(J^+)^\top g = Q R^{-\top} g`."""
        Q, R = self._factors(chart)
        return Q @ scipy.linalg.solve_triangular(
            R, vector, trans="T", check_finite=False
        )

    def _project(self, chart: Chart, vector: np.ndarray) -> np.ndarray:
        Q, _ = self._factors(chart)
        return Q @ (Q.T @ vector)

    def tangent_to_chart(self, point, tangent_vector) -> np.ndarray:
        r"""The chart coordinates :math:`\eta = J^+\xi` of a tangent vector.

        .. math::

            \eta = J^+ \xi = R^{-1} Q^\top \xi,

        where :math:`J(\theta(u)) = QR` is the thin QR factorization, so that
        :math:`\eta` is the least-squares solution of :math:`J\eta = \xi`
        (one triangular solve). For a tangent :math:`\xi`, :math:`J\eta = \xi`;
        a normal component of :math:`\xi` is annihilated.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta)
        >>> u = manifold.point(theta)
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> eta = manifold.tangent_to_chart(u, xi)
        >>> bool(np.allclose(output_map.jvp(theta, eta), xi))  # J eta = xi
        True
        """
        chart = self._chart(point)
        xi = self._vector(tangent_vector, "tangent_vector")
        return self._finite(
            "J^+ tangent_vector", lambda v: self._pinv(chart, v), {"tangent_vector": xi}
        )

    def chart_to_tangent(self, point, params_vector) -> np.ndarray:
        r"""The tangent vector :math:`J\eta` of a parameter-space direction.

        .. math::

            \xi = J(\theta(u))\, \eta = Q R \eta,

        where :math:`J(\theta(u)) = QR` is the cached thin QR factorization.
        It is the inverse of :meth:`tangent_to_chart` on :math:`T_u M`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        params_vector : ndarray, shape (n_params,)
            The direction :math:`\eta` in parameter space.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta)
        >>> u = manifold.point(theta)
        >>> eta = np.array([1.0, -2.0])
        >>> xi = manifold.chart_to_tangent(u, eta)
        >>> bool(np.allclose(xi, output_map.jvp(theta, eta)))
        True
        >>> bool(np.allclose(manifold.tangent_to_chart(u, xi), eta))
        True
        """
        chart = self._chart(point)
        Q, R = self._factors(chart)
        eta = as_finite_vector("params_vector", params_vector, self._p)
        return self._finite(
            "J params_vector", lambda v: Q @ (R @ v), {"params_vector": eta}
        )

    # ------------------------------------------------------------------
    # Metric

    def inner_product(self, point, tangent_vector_a, tangent_vector_b) -> float:
        r"""The metric :math:`\langle a, b\rangle_u = c\, a^\top b`.

        .. math::

            \langle a, b \rangle_u = c\, a^\top b,

        where :math:`c` is ``metric_weight``. The metric is the same at every
        point (the manifold carries the metric induced by the weighted
        Euclidean one), so ``point`` is only checked for its shape.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector_a, tangent_vector_b : ndarray, shape (n_outputs,)
            The tangent vectors :math:`a` and :math:`b`.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).

        Examples
        --------
        With the empirical weight :math:`c = 1/n`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta, metric_weight=1 / 6)
        >>> u = manifold.point(theta)
        >>> a, b = manifold.chart_to_tangent(u, [1.0, 0.0]), manifold.chart_to_tangent(u, [0.0, 1.0])
        >>> bool(np.isclose(manifold.inner_product(u, a, b), (a @ b) / 6))
        True
        """
        self._vector(point, "point")  # the metric is flat: only the shape matters
        a = self._vector(tangent_vector_a, "tangent_vector_a")
        b = self._vector(tangent_vector_b, "tangent_vector_b")
        with np.errstate(all="ignore"):
            value = self._metric_weight * float(a @ b)
        if math.isfinite(value):
            return value
        # Overflow on the way: the dot product of the vectors scaled to unit size.
        scale_a, scale_b = max_abs(a), max_abs(b)
        unit = float((a / scale_a) @ (b / scale_b))
        value = scaled_product(self._metric_weight, scale_a, scale_b, unit)
        if not math.isfinite(value):
            raise NonFiniteError(
                "the inner product of `tangent_vector_a` and `tangent_vector_b` "
                f"is not finite, it overflows float64: its true value, about {unit:.3e} x "
                f"{scale_a:.3e} x {scale_b:.3e} x metric_weight "
                f"{self._metric_weight:.3e}, exceeds the largest float"
            )
        return value

    def norm(self, point, tangent_vector) -> float:
        r"""The norm :math:`\|\xi\|_u = \sqrt{c}\,\|\xi\|_2`.

        .. math::

            \|\xi\|_u = \sqrt{\langle \xi, \xi \rangle_u} = \sqrt{c}\, \|\xi\|_2,

        where :math:`c` is ``metric_weight`` and :math:`\|\cdot\|_2` the
        Euclidean norm of :math:`\mathbb{R}^n`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi`.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta, metric_weight=1 / 6)
        >>> u = manifold.point(theta)
        >>> xi = manifold.chart_to_tangent(u, [1.0, -2.0])
        >>> bool(np.isclose(manifold.norm(u, xi) ** 2, manifold.inner_product(u, xi, xi)))
        True
        >>> bool(np.isclose(manifold.norm(u, xi), np.linalg.norm(xi) / np.sqrt(6)))
        True
        """
        self._vector(point, "point")
        vector = self._vector(tangent_vector, "tangent_vector")
        value = norm(vector, math.sqrt(self._metric_weight))
        if not math.isfinite(value):
            raise NonFiniteError(
                "the norm of `tangent_vector` is not finite, it overflows float64: "
                "sqrt(metric_weight) "
                f"x |tangent_vector| exceeds the largest float (max |entry| = "
                f"{max_abs(vector):.3e}, metric_weight = {self._metric_weight:.3e})"
            )
        return value

    # ------------------------------------------------------------------
    # Projection, gradient, Hessian

    def projection(self, point, vector) -> np.ndarray:
        r"""The orthogonal projection onto :math:`T_u M`, :math:`P_u v = QQ^\top v`.

        .. math::

            P_u v = J (J^\top J)^{-1} J^\top v = Q Q^\top v,

        where :math:`J = J(\theta(u)) = QR` is the thin QR factorization,
        with :math:`Q \in \mathbb{R}^{n \times p}` orthonormal columns spanning
        :math:`T_u M = \operatorname{range} J`. :math:`J^\top J` is never
        formed: that would square the condition number. The projection is
        orthogonal for every metric weight :math:`c`, since the metric is a
        multiple of the Euclidean one.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        vector : ndarray, shape (n_outputs,)
            An ambient vector :math:`v`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        :math:`P^2 = P`, and the residual :math:`v - Pv` is normal
        (:math:`J^\top (v - Pv) = 0`):

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta)
        >>> u = manifold.point(theta)
        >>> v = np.random.default_rng(1).normal(size=6)
        >>> pv = manifold.projection(u, v)
        >>> bool(np.allclose(manifold.projection(u, pv), pv))
        True
        >>> bool(np.allclose(output_map.vjp(theta, v - pv), 0.0))
        True
        """
        chart = self._chart(point)
        vector = self._vector(vector, "vector")
        return self._finite(
            "the projection of `vector`",
            lambda v: self._project(chart, v),
            {"vector": vector},
        )

    def to_tangent_space(self, point, vector) -> np.ndarray:
        r"""Re-tangentialize ``vector``: the same as :meth:`projection`.

        .. math::

            P_u v = Q Q^\top v,

        where :math:`J(\theta(u)) = QR` is the thin QR factorization.
        pymanopt calls it to remove the round-off drift of a tangent vector.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        vector : ndarray, shape (n_outputs,)
            A vector :math:`v`, tangent up to round-off.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> bool(np.allclose(manifold.to_tangent_space(u, xi + 1e-12), xi))
        True
        """
        return self.projection(point, vector)

    def euclidean_to_riemannian_gradient(self, point, euclidean_gradient) -> np.ndarray:
        r"""The Riemannian gradient :math:`\operatorname{grad} h(u) = \tfrac1c P_u \nabla h(u)`.

        .. math::

            \operatorname{grad} h(u) = \frac{1}{c}\, P_u \nabla h(u)
            = \frac{1}{c}\, Q Q^\top \nabla h(u),

        where :math:`\nabla h(u)` is the Euclidean gradient of the cost in
        :math:`\mathbb{R}^n`, :math:`P_u = QQ^\top` the tangent projector
        (:meth:`projection`) and :math:`c` the metric weight. It is the
        tangent vector with :math:`\langle \operatorname{grad} h(u),
        \xi\rangle_u = \nabla h(u)^\top \xi` for every :math:`\xi \in T_u M`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        euclidean_gradient : ndarray, shape (n_outputs,)
            :math:`\nabla h(u)`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        For :math:`h(u) = \tfrac12\|u - y\|^2` and the weight :math:`c = 1/6`,
        the gradient represents the derivative :math:`Dh(u)[\xi]` in the
        weighted metric:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), metric_weight=1 / 6)
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> rng = np.random.default_rng(1)
        >>> y, xi = rng.normal(size=6), manifold.random_tangent_vector(u, rng=rng)
        >>> grad = manifold.euclidean_to_riemannian_gradient(u, u - y)
        >>> bool(np.isclose(manifold.inner_product(u, grad, xi), (u - y) @ xi))
        True
        """
        chart = self._chart(point)
        gradient = self._vector(euclidean_gradient, "euclidean_gradient")
        return self._finite(
            "the Riemannian gradient",
            lambda g: self._project(chart, g),
            {"euclidean_gradient": gradient},
            weighted=True,
        )

    def weingarten(self, point, tangent_vector, normal_vector) -> np.ndarray:
        r"""The Weingarten map :math:`W(\xi, \nu) = (J^+)^\top H_\nu J^+ \xi`.

        .. math::

            W(\xi, \nu) = (J^+)^\top H_\nu(\theta)\, J^+ \xi
            = Q R^{-\top} H_\nu(\theta)\, R^{-1} Q^\top \xi,

        where

        * :math:`J(\theta(u)) = QR` is the thin QR factorization and
          :math:`J^+ = R^{-1}Q^\top`, so :math:`(J^+)^\top = QR^{-\top}`;
        * :math:`H_\nu(\theta) = \sum_j \nu_j \nabla^2 F_j(\theta)` is the
          Hessian of :math:`\theta \mapsto \langle \nu, F(\theta)\rangle`,
          applied to :math:`J^+\xi` (:meth:`manifolds.OutputMap.weighted_hessian_vector`).

        :math:`W(\xi, \nu) = P_u\, DP[\xi]\, \nu` is tangent and satisfies

        .. math::

            \langle W(\xi,\nu), \zeta\rangle_u = \langle \mathrm{II}(\xi,\zeta), \nu\rangle_u
            \quad \text{for all } \zeta \in T_u M.

        It does not depend on the metric weight :math:`c` (the Levi-Civita
        connection does not), and both sides of the identity scale with
        :math:`c`, so it holds for every :math:`c`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.
        normal_vector : ndarray, shape (n_outputs,)
            :math:`\nu \perp T_u M`.

        Returns
        -------
        ndarray, shape (n_outputs,)
            A tangent vector.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        The identity :math:`\langle W(\xi,\nu),\zeta\rangle = \langle
        \mathrm{II}(\xi,\zeta),\nu\rangle`, with the weight :math:`c = 1/6`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), metric_weight=1 / 6)
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> rng = np.random.default_rng(1)
        >>> xi = manifold.random_tangent_vector(u, rng=rng)
        >>> zeta = manifold.random_tangent_vector(u, rng=rng)
        >>> z = rng.normal(size=6)
        >>> nu = z - manifold.projection(u, z)  # a normal vector
        >>> lhs = manifold.inner_product(u, manifold.weingarten(u, xi, nu), zeta)
        >>> rhs = manifold.inner_product(u, manifold.second_fundamental_form(u, xi, zeta), nu)
        >>> bool(np.isclose(lhs, rhs))
        True
        """
        chart = self._chart(point)
        xi = self._vector(tangent_vector, "tangent_vector")
        nu = self._vector(normal_vector, "normal_vector")
        return self._finite(
            "the Weingarten map",
            lambda x, v: self._weingarten(chart, x, v),
            {"tangent_vector": xi, "normal_vector": nu},
        )

    def _weingarten(self, chart: Chart, xi: np.ndarray, nu: np.ndarray) -> np.ndarray:
        eta = self._pinv(chart, xi)
        h_nu_eta = self._map.weighted_hessian_vector(chart.params, nu, eta)
        return self._pinv_transpose(chart, np.asarray(h_nu_eta, dtype=np.float64))

    def euclidean_to_riemannian_hessian(
        self, point, euclidean_gradient, euclidean_hessian, tangent_vector
    ) -> np.ndarray:
        r"""The Riemannian Hessian from the Euclidean gradient and Hessian-vector product.

        .. math::

            \operatorname{Hess} h(u)[\xi] = \frac{1}{c} \left( P_u\, \nabla^2 h(u)\,\xi
            + W\big(\xi, P_u^\perp \nabla h(u)\big) \right),

        where

        * :math:`\nabla h(u)` and :math:`\nabla^2 h(u)\,\xi` are the Euclidean
          gradient and Hessian-vector product of the cost in
          :math:`\mathbb{R}^n`;
        * :math:`P_u = QQ^\top` is the tangent projector and :math:`P_u^\perp =
          I - QQ^\top`;
        * :math:`W` is the Weingarten map (:meth:`weingarten`), applied to the
          normal part of the gradient;
        * :math:`c` is the metric weight, so that
          :math:`\langle \operatorname{Hess} h(u)[\xi], \zeta\rangle_u` does
          not depend on :math:`c`.

        This is pymanopt's ``RiemannianSubmanifold`` convention, rescaled by
        :math:`1/c`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        euclidean_gradient : ndarray, shape (n_outputs,)
            :math:`\nabla h(u)`.
        euclidean_hessian : ndarray, shape (n_outputs,)
            :math:`\nabla^2 h(u) \xi`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        Along a geodesic, :math:`\tfrac{d^2}{dt^2} h(\exp_u(t\xi))|_{t=0} =
        \langle \operatorname{Hess} h(u)[\xi], \xi\rangle_u`. For
        :math:`h(u) = \tfrac12\|u - y\|^2` (so :math:`\nabla^2 h\,\xi = \xi`),
        with the weight :math:`c = 1/6`, by central differences:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), metric_weight=1 / 6)
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> rng = np.random.default_rng(1)
        >>> xi, y = manifold.random_tangent_vector(u, rng=rng), rng.normal(size=6)
        >>> def h(v):
        ...     return 0.5 * np.sum((v - y) ** 2)
        >>> hess = manifold.euclidean_to_riemannian_hessian(u, u - y, xi, xi)
        >>> t = 1e-3
        >>> second = (h(manifold.exp(u, t * xi)) - 2 * h(u) + h(manifold.exp(u, -t * xi))) / t**2
        >>> bool(np.isclose(second, manifold.inner_product(u, hess, xi), rtol=1e-5))
        True
        """
        chart = self._chart(point)
        gradient = self._vector(euclidean_gradient, "euclidean_gradient")
        hessian = self._vector(euclidean_hessian, "euclidean_hessian")
        xi = self._vector(tangent_vector, "tangent_vector")

        def weingarten_term(
            x, g
        ):  # through the public method, which subclasses may replace
            return self.weingarten(point, x, g - self._project(chart, g))

        try:
            with np.errstate(all="ignore"):
                value = (
                    self._project(chart, hessian) + weingarten_term(xi, gradient)
                ) / self._metric_weight
            if all_finite(value):
                return value
        except ValueError:  # a model that refuses to overflow: rescale below
            pass
        # Overflow on the way: each term is linear in its arguments.
        tangential = self._finite(
            "the Riemannian Hessian",
            lambda h: self._project(chart, h),
            {"euclidean_hessian": hessian},
            weighted=True,
        )
        curvature = self._finite(
            "the Weingarten term of the Riemannian Hessian",
            weingarten_term,
            {"tangent_vector": xi, "euclidean_gradient": gradient},
            weighted=True,
        )
        with np.errstate(over="ignore"):
            value = tangential + curvature
        if not all_finite(value):
            raise NonFiniteError(
                "the Riemannian Hessian is not finite, it overflows float64: "
                "`euclidean_hessian`, "
                "`euclidean_gradient` and `tangent_vector` too large for this point"
            )
        return value

    def second_fundamental_form(
        self, point, tangent_vector_a, tangent_vector_b
    ) -> np.ndarray:
        r"""The second fundamental form :math:`\mathrm{II}(\xi, \zeta)`.

        .. math::

            \mathrm{II}(\xi, \zeta) = P_u^\perp\, D^2F(\theta)[J^+\xi, J^+\zeta],

        where

        * :math:`\theta = \theta(u)` is the chart of :math:`u` and
          :math:`J(\theta) = QR` its thin QR factorization;
        * :math:`J^+ = R^{-1}Q^\top`, so :math:`J^+\xi` are the chart
          coordinates of :math:`\xi`;
        * :math:`D^2F(\theta)[v, w]` is the second derivative of the output
          map (:meth:`manifolds.OutputMap.second_derivative`);
        * :math:`P_u^\perp = I - QQ^\top` is the normal projector.

        It is symmetric, normal to :math:`T_u M`, and independent of the metric
        weight :math:`c`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector_a, tangent_vector_b : ndarray, shape (n_outputs,)
            :math:`\xi, \zeta \in T_u M`.

        Returns
        -------
        ndarray, shape (n_outputs,)
            A normal vector.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        :math:`\mathrm{II}(\xi, \xi)` is the normal part of the acceleration of
        the chart curve :math:`t \mapsto F(\theta + tJ^+\xi)` (central
        differences), and it is normal:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> second = manifold.second_fundamental_form(u, xi, xi)
        >>> bool(np.allclose(manifold.projection(u, second), 0.0))
        True
        >>> t = 1e-3
        >>> acceleration = (
        ...     manifold.retract(u, t * xi, kind="chart") - 2 * u
        ...     + manifold.retract(u, -t * xi, kind="chart")
        ... ) / t**2
        >>> normal = acceleration - manifold.projection(u, acceleration)
        >>> bool(np.allclose(normal, second, atol=1e-5))
        True
        """
        chart = self._chart(point)
        xi = self._vector(tangent_vector_a, "tangent_vector_a")
        zeta = self._vector(tangent_vector_b, "tangent_vector_b")

        def second(a, b, *, normalized=False):
            eta_a, eta_b = self._pinv(chart, a), self._pinv(chart, b)
            if normalized:  # D^2F is bilinear: evaluate it on unit-size vectors
                size_a, size_b = max_abs(eta_a) or 1.0, max_abs(eta_b) or 1.0
                eta_a, eta_b = eta_a / size_a, eta_b / size_b
            curvature = np.asarray(
                self._map.second_derivative(chart.params, eta_a, eta_b),
                dtype=np.float64,
            )
            normal = curvature - self._project(chart, curvature)
            return scale_back(normal, (size_a, size_b)) if normalized else normal

        arguments = {"tangent_vector_a": xi, "tangent_vector_b": zeta}
        try:
            value = self._finite("the second fundamental form", second, arguments)
            if max_abs(value) >= _TINY_RESULT or not (max_abs(xi) and max_abs(zeta)):
                return value
        except NonFiniteError:
            pass
        # J^+ xi is huge (tiny) when the model's scale is tiny (huge), and the
        # product of two such vectors inside D^2F over- (under-) flows:
        # evaluate D^2F on unit vectors and scale back.
        return self._finite(
            "the second fundamental form",
            lambda a, b: second(a, b, normalized=True),
            arguments,
        )

    # ------------------------------------------------------------------
    # Retractions, exp, log

    def _register(self, params: np.ndarray, what: str) -> np.ndarray:
        if not all_finite(params):
            raise NonFiniteError(f"{what} produced non-finite parameters")
        self._check_in_ball(params, what)
        return self._new_chart(params, what).point.copy()

    def _retracted_params(self, chart: Chart, xi: np.ndarray, kind: str) -> np.ndarray:
        """The preimage of :math:`R_u(\\xi)`; the same arithmetic for every caller."""
        with np.errstate(all="ignore"):
            eta = self._pinv(chart, xi)
            params = chart.params + eta
            if kind == "second_order" and all_finite(params):
                try:
                    curvature = np.asarray(
                        self._map.second_derivative(chart.params, eta, eta),
                        dtype=np.float64,
                    )
                except ValueError as error:
                    kind_of_error = (
                        NonFiniteError
                        if isinstance(error, OverflowError)
                        else ValueError
                    )
                    raise kind_of_error(
                        f"the second_order retraction of `tangent_vector` failed "
                        f"(max |J^+ tangent_vector| = {max_abs(eta):.3e}): {error}"
                    ) from error
                params = params - 0.5 * self._pinv(chart, curvature)
        if not all_finite(params):
            raise NonFiniteError(
                f"`tangent_vector` is too long: the {kind} retraction produced "
                f"non-finite parameters (max |J^+ tangent_vector| = "
                f"{max_abs(eta):.3e}, max |theta| = {max_abs(chart.params):.3e})"
            )
        return params

    def retract(self, point, tangent_vector, *, kind: str | None = None) -> np.ndarray:
        r"""Retract with a chosen kind of retraction.

        .. math::

            R_u(\xi) = F(\theta + \eta) \quad\text{(chart)}, \qquad
            R_u(\xi) = F\big(\theta + \eta - \tfrac12 J^+ D^2F(\theta)[\eta,\eta]\big)
            \quad\text{(second order)},

        where :math:`\theta = \theta(u)` is the chart of :math:`u`,
        :math:`J(\theta) = QR` its thin QR factorization, :math:`J^+ =
        R^{-1}Q^\top` and :math:`\eta = J^+\xi`. The chart retraction agrees
        with :math:`\exp_u` to first order, the second-order one to second
        order. Neither depends on the metric weight :math:`c`. The new chart
        is cached, unfactorized.

        With ``safeguard=True`` the step is shortened to stay in
        :math:`U = \{\theta \in B(\theta_0,\rho) : \kappa(J(\theta)) \le
        \kappa_{max}\}`:

        .. math::

            R^U_u(\xi) = R_u(t^*\xi), \qquad
            t^* = \max\{2^{-k} : k = 0, \dots, K,\ \theta(R_u(2^{-k}\xi))
            \in U\},

        where :math:`K = 60`, and :math:`R^U_u(\xi) = u` if no such
        :math:`k` exists. What this guarantees:

        * every point it returns has a chart in :math:`U`, so the geometry
          there exists (no :class:`~manifolds.NotAnImmersionError` or
          :class:`~manifolds.OutsideBallError` follows);
        * at a point whose preimage is interior to :math:`U` (inside the
          ball, :math:`\kappa(J) < \kappa_{max}`), continuity of
          :math:`\theta \mapsto (\|\theta - \theta_0\|, \kappa(J(\theta)))`
          gives :math:`\delta > 0` with :math:`t^* = 1` for
          :math:`\|\xi\| < \delta`: :math:`R^U_u = R_u` near 0, a
          retraction in pymanopt's sense, bit for bit the plain one;
        * on the boundary of :math:`U`, :math:`t^* < 1` for arbitrarily short
          outward :math:`\xi`, so :math:`DR^U_u(0) \ne \mathrm{id}`: there it
          is not a retraction, and an optimizer that stops there has stopped
          against the boundary, not necessarily at a critical point
          (:meth:`step_cut` tells).

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.
        kind : {"chart", "second_order"}, optional
            The retraction; the manifold's own (:attr:`retraction_kind`) by
            default.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`R_u(\xi)`.

        Raises
        ------
        ValueError
            If ``kind`` is unknown, an argument has the wrong shape or is not
            finite, or the new parameters or outputs are not finite.
        ~manifolds.OutsideBallError
            If the new chart leaves the ball (never with ``safeguard=True``).
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        The second-order retraction is much closer to the exponential map:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = 0.01 * manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> v = manifold.exp(u, xi)
        >>> error_chart = np.linalg.norm(manifold.retract(u, xi, kind="chart") - v)
        >>> error_second = np.linalg.norm(manifold.retract(u, xi, kind="second_order") - v)
        >>> bool(error_second < error_chart / 10)
        True
        """
        kind = self._retraction_kind if kind is None else kind
        if kind not in RETRACTIONS:
            raise ValueError(
                f"`kind` must be one of {RETRACTIONS}, got {describe(kind)}"
            )
        chart = self._chart(point)
        xi = self._vector(tangent_vector, "tangent_vector")
        if self._safeguard:
            return self._safeguarded_retraction(chart, xi, kind)
        params = self._retracted_params(chart, xi, kind)
        return self._register(params, f"the {kind} retraction of `tangent_vector`")

    def _region_violation(self, params: np.ndarray) -> tuple[str, str] | None:
        """Why ``params`` lie outside the safeguarded region :math:`U`, or None."""
        if self._radius is not None:
            with np.errstate(over="ignore"):
                distance = norm(params - self._reference_params)
            if not distance <= self._radius:
                return (
                    "ball",
                    f"|theta - theta0| = {distance:.6g} > radius = {self._radius:.6g}",
                )
        try:
            chart = self._new_chart(params, "the safeguarded retraction")
            self._factors(chart)
        except NotAnImmersionError as error:
            return ("rank", str(error))
        except NonFiniteError as error:
            return ("non_finite", str(error))
        if not chart.condition <= self._max_condition:
            return (
                "rank",
                f"cond J(theta) = {chart.condition:.6e} > max_condition = "
                f"{self._max_condition:.6e}",
            )
        return None

    def _safeguarded_retraction(self, chart: Chart, xi: np.ndarray, kind: str):
        # R_u(2^-k xi) for the first k whose preimage lies in U; u itself if
        # none of _MAX_HALVINGS + 1 does. k = 0 is the plain retraction, bit
        # for bit, so inside U nothing changes.
        first = None
        for halvings in range(_MAX_HALVINGS + 1):
            scale = 0.5**halvings
            try:
                params = self._retracted_params(chart, scale * xi, kind)
            except NonFiniteError as error:
                violation = ("non_finite", str(error))
            else:
                violation = self._region_violation(params)
            if violation is None:
                if halvings:
                    chart.cut = (
                        first[0],
                        f"a step was shortened by 2^-{halvings}: at full length "
                        f"{first[1]}",
                    )
                return self._new_chart(params).point.copy()
            first = first or violation
        chart.cut = (
            first[0],
            f"no step was taken: even 2^-{_MAX_HALVINGS} of it leaves the "
            f"safeguarded region; at full length {first[1]}",
        )
        return chart.point.copy()

    def step_cut(self, point) -> tuple[str, str] | None:
        r"""The last step from ``point`` that the safeguarded retraction shortened.

        A safeguarded retraction (``safeguard=True``) halves a step until its
        end lies in :math:`U = \{\theta \in B(\theta_0, \rho) :
        \kappa(J(\theta)) \le \kappa_{max}\}`. An optimizer that stops at
        a point from which steps were cut stopped against the boundary of
        :math:`U`, not necessarily at a critical point.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            A point of the manifold.

        Returns
        -------
        tuple of (str, str) or None
            ``(reason, message)`` with ``reason`` one of ``"ball"`` (the step
            left :math:`B(\theta_0, \rho)`), ``"rank"`` (:math:`\kappa(J)`
            exceeded ``max_condition``, or :math:`J` lost rank) or
            ``"non_finite"`` (the model overflowed); ``None`` if no step
            from ``point`` was shortened.

        Raises
        ------
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta0 = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta0, radius=1.0, safeguard=True)
        >>> u = manifold.point(theta0)
        >>> xi = manifold.chart_to_tangent(u, np.array([5.0, 0.0]))
        >>> v = manifold.retraction(u, xi)  # |J^+ xi| = 5 > radius: shortened
        >>> reason, message = manifold.step_cut(u)
        >>> reason, message.startswith("a step was shortened by 2^-3")
        ('ball', True)
        >>> bool(np.linalg.norm(manifold.lift(v) - theta0) <= 1.0)
        True
        """
        return self._chart(point).cut

    def retraction(self, point, tangent_vector) -> np.ndarray:
        r"""The retraction chosen at construction (``"chart"`` by default).

        .. math::

            R_u(\xi) = F(\theta + J^+\xi) \quad\text{(chart)}, \qquad
            R_u(\xi) = F\big(\theta + \eta - \tfrac12 J^+ D^2F(\theta)[\eta,\eta]\big),
            \ \eta = J^+\xi \quad\text{(second order)},

        where :math:`\theta = \theta(u)` is the chart of :math:`u` and
        :math:`J^+ = R^{-1}Q^\top` from the thin QR factorization
        :math:`J(\theta) = QR`. Both satisfy :math:`R_u(0) = u` and
        :math:`DR_u(0) = \mathrm{id}_{T_u M}`; neither depends on the metric
        weight :math:`c`. See :meth:`retract` to choose the kind per call,
        and for the safeguarded form (``safeguard=True``), which shortens a
        step that would leave the ball or the well-conditioned region.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`R_u(\xi)`.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.OutsideBallError
            If the new chart leaves the ball.
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        :math:`R_u(0) = u` and :math:`\tfrac{d}{dt} R_u(t\xi)|_{t=0} = \xi`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> bool(np.array_equal(manifold.retraction(u, manifold.zero_vector(u)), u))
        True
        >>> t = 1e-6
        >>> velocity = (manifold.retraction(u, t * xi) - manifold.retraction(u, -t * xi)) / (2 * t)
        >>> bool(np.allclose(velocity, xi, atol=1e-8))
        True
        """
        return self.retract(point, tangent_vector)

    def retraction_differential_inverse(
        self, point, tangent_vector, vector, *, kind: str | None = None
    ) -> np.ndarray:
        r"""The inverse of the differential of the retraction, :math:`(DR_u(\xi))^{-1}[g]`.

        For :math:`\xi \in T_uM` and :math:`g \in T_{R_u(\xi)}M`, returns the
        :math:`\zeta \in T_uM` with :math:`DR_u(\xi)[\zeta] = g`. This is the
        map that carries a stage vector of a Runge-Kutta scheme, evaluated at
        :math:`R_u(\xi)`, back to :math:`T_uM` (the Munthe-Kaas construction);
        with it a retraction-based RK scheme keeps its classical order.

        For the chart retraction :math:`R_u(\xi) = F(\theta_u + J_u^+\xi)`,

        .. math::

            DR_u(\xi)[\zeta] = J(\theta')\, J_u^+\zeta
            \quad\Longrightarrow\quad
            \zeta = J_u\, J(\theta')^+ g .

        For the second-order retraction :math:`R_u(\xi) = F(\theta_u + \eta -
        \tfrac12 J_u^+ D^2F(\theta_u)[\eta, \eta])`,

        .. math::

            DR_u(\xi)[\zeta] = J(\theta')\,(I - A)\, J_u^+\zeta
            \quad\Longrightarrow\quad
            \zeta = J_u w, \qquad (I - A)\, w = J(\theta')^+ g,

        where

        * :math:`\theta_u` is the chart of :math:`u` and :math:`J_u = J(\theta_u)
          = Q_uR_u` its thin QR factorization, :math:`J_u^+ = R_u^{-1}Q_u^\top`;
        * :math:`\eta = J_u^+\xi` and :math:`\theta'` is the preimage of
          :math:`R_u(\xi)` (:math:`\theta_u + \eta` for the chart retraction);
        * :math:`A \in \mathbb{R}^{p \times p}`, :math:`A w = J_u^+ D^2F(\theta_u)[\eta,
          w]`, built column by column (:math:`p` second derivatives);
        * :math:`J(\theta')^+ g = R'^{-1}Q'^\top g` comes from the cached QR
          factors of :math:`J(\theta')`.

        The component of :math:`g` normal to :math:`T_{R_u(\xi)}M` is discarded
        (:math:`J(\theta')^+` annihilates it). No normal equations are formed:
        the solves are triangular, and the small :math:`p \times p` system
        :math:`I - A` is solved through its SVD, which also gives its numerical
        rank (with the manifold's ``rank_rtol``). At :math:`\xi = 0`,
        :math:`\theta' = \theta_u` and :math:`A = 0`, so the map is the
        identity on :math:`T_uM`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_uM`, where the differential is taken.
        vector : ndarray, shape (n_outputs,)
            :math:`g \in T_{R_u(\xi)}M`.
        kind : {"chart", "second_order"}, optional
            The retraction; the manifold's own (:attr:`retraction_kind`) by
            default.

        Returns
        -------
        ndarray, shape (n_outputs,)
            :math:`\zeta \in T_uM`.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, the result
            overflows float64, or ``kind``
            is unknown.
        ~manifolds.OutsideBallError
            If :math:`R_u(\xi)` leaves the ball (the retraction is not defined
            there).
        ~manifolds.NotAnImmersionError
            If :math:`J(\theta')` is rank-deficient.
        numpy.linalg.LinAlgError
            If :math:`I - A` is numerically singular: :math:`\xi` is too long
            for the second-order retraction to be a local diffeomorphism.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = 0.3 * manifold.random_tangent_vector(u, rng=rng)
        >>> v = manifold.retraction(u, xi)
        >>> g = manifold.random_tangent_vector(v, rng=rng)
        >>> zeta = manifold.retraction_differential_inverse(u, xi, g)
        >>> t = 1e-6  # DR_u(xi)[zeta] by central differences
        >>> dR = (manifold.retraction(u, xi + t * zeta)
        ...       - manifold.retraction(u, xi - t * zeta)) / (2 * t)
        >>> bool(np.allclose(dR, g, atol=1e-8))
        True
        """
        kind = self._retraction_kind if kind is None else kind
        if kind not in RETRACTIONS:
            raise ValueError(
                f"`kind` must be one of {RETRACTIONS}, got {describe(kind)}"
            )
        chart = self._chart(point)
        xi = self._vector(tangent_vector, "tangent_vector")
        g = self._vector(vector, "vector")
        # The preimage of R_u(xi), with the same arithmetic as `retract`, so
        # that the chart the retraction registered (and its factors) is reused.
        params = self._retracted_params(chart, xi, kind)
        what = f"the {kind} retraction of `tangent_vector`"
        self._check_in_ball(params, what)
        target = self._new_chart(params, what)
        if kind == "second_order":
            eta = self._pinv(chart, xi)
            # I - A, column by column (one vector triangular solve each).
            system = np.eye(self._p)
            unit = np.zeros(self._p)
            with np.errstate(all="ignore"):
                for j in range(self._p):
                    unit[j] = 1.0
                    curvature = np.asarray(
                        self._map.second_derivative(chart.params, eta, unit),
                        dtype=np.float64,
                    )
                    system[:, j] -= self._pinv(chart, curvature)
                    unit[j] = 0.0
            if not all_finite(system):
                raise NonFiniteError(
                    "`tangent_vector` is too long: the differential of the "
                    "second_order retraction is not finite, it overflows float64 (max |J^+ "
                    f"tangent_vector| = {max_abs(eta):.3e})"
                )
            U, s, Vt = scipy.linalg.svd(system, check_finite=False)
            if s[-1] <= self._rank_rtol * s[0]:
                raise np.linalg.LinAlgError(
                    "the differential of the second_order retraction is singular "
                    f"at `tangent_vector`: I - A has singular values in "
                    f"[{s[-1]:.3e}, {s[0]:.3e}] (rank_rtol {self._rank_rtol:.3e}); "
                    "`tangent_vector` is too long for the retraction to be a local "
                    "diffeomorphism, take a shorter one"
                )
        Q, R = self._factors(chart)

        def inverse_differential(v):
            w = self._pinv(target, v)  # J(theta')^+ g
            if kind == "second_order":
                w = Vt.T @ ((U.T @ w) / s)
            return Q @ (R @ w)

        return self._finite(
            "the inverse differential of the retraction",
            inverse_differential,
            {"vector": g},
        )

    def _geodesic_options(self) -> dict:
        return {
            "rtol": self._geodesic_rtol,
            "atol": self._geodesic_atol,
            "center": self._reference_params,
            "radius": self._radius,
            "rank_rtol": self._rank_rtol,
        }

    def exp(self, point, tangent_vector) -> np.ndarray:
        r"""The exponential map: the geodesic from :math:`u` with velocity :math:`\xi`, at time 1.

        Solves the initial value problem (:func:`manifolds.geodesics.solve_geodesic`)

        .. math::

            \theta'' = -J^+ D^2F(\theta)[\theta', \theta'], \quad
            \theta(0) = \theta(u), \quad \theta'(0) = J^+\xi,

        and returns :math:`\exp_u(\xi) = F(\theta(1))`, where :math:`J^+ =
        R^{-1}Q^\top` comes from the thin QR factorization :math:`J(\theta) =
        QR` at each point of the curve. Geodesics do not depend on the metric
        weight :math:`c`. A normal component of :math:`\xi` is discarded by
        :math:`J^+`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        tangent_vector : ndarray, shape (n_outputs,)
            :math:`\xi \in T_u M`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.OutsideBallError
            If the geodesic leaves the ball.
        ~manifolds.NotAnImmersionError
            If the Jacobian loses rank along the geodesic.
        ~manifolds.GeodesicError
            If the integration fails.
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        :math:`\log_u(\exp_u \xi) = \xi` for a short :math:`\xi`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = 0.2 * manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> v = manifold.exp(u, xi)
        >>> bool(np.allclose(manifold.log(u, v), xi, atol=1e-8))
        True
        """
        chart = self._chart(point)
        xi = self._vector(tangent_vector, "tangent_vector")
        velocity = self._finite(
            "J^+ tangent_vector", lambda v: self._pinv(chart, v), {"tangent_vector": xi}
        )
        end = solve_geodesic(
            self._map, chart.params, velocity, **self._geodesic_options()
        )
        return self._register(end.params, "the geodesic along `tangent_vector`")

    def log(self, point_a, point_b) -> np.ndarray:
        r"""The logarithmic map: the initial velocity of the geodesic from ``point_a`` to ``point_b``.

        Solves the boundary value problem (:func:`manifolds.geodesics.shoot_geodesic`)

        .. math::

            \theta'' = -J^+ D^2F(\theta)[\theta', \theta'], \quad
            \theta(0) = \theta(u_a), \quad \theta(1) = \theta(u_b),

        by shooting, and returns :math:`\log_{u_a}(u_b) = J(\theta(u_a))\,
        \theta'(0)`, where :math:`J^+ = R^{-1}Q^\top` from the thin QR
        factorization :math:`J(\theta) = QR`. Like geodesics, it does not
        depend on the metric weight :math:`c`.

        Parameters
        ----------
        point_a, point_b : ndarray, shape (n_outputs,)
            The points :math:`u_a` and :math:`u_b`.

        Returns
        -------
        ndarray, shape (n_outputs,)
            A tangent vector at ``point_a``.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.GeodesicError
            If the shooting does not converge.
        ~manifolds.NotOnManifoldError
            If a point is not on the manifold.

        Examples
        --------
        :math:`\exp_u(\log_u v) = v`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> v = manifold.point(np.array([0.4, -0.1]))
        >>> xi = manifold.log(u, v)
        >>> bool(np.allclose(manifold.projection(u, xi), xi))  # tangent at u
        True
        >>> bool(np.allclose(manifold.exp(u, xi), v, atol=1e-8))
        True
        """
        chart_a = self._chart(point_a, "point_a")
        chart_b = self._chart(point_b, "point_b")
        velocity = shoot_geodesic(
            self._map, chart_a.params, chart_b.params, **self._geodesic_options()
        )
        return self.chart_to_tangent(point_a, velocity)

    def dist(self, point_a, point_b) -> float:
        r"""The geodesic distance :math:`\|\log_{u_a}(u_b)\|_{u_a}`.

        .. math::

            \operatorname{dist}(u_a, u_b) = \|\log_{u_a}(u_b)\|_{u_a}
            = \sqrt{c}\, \|\log_{u_a}(u_b)\|_2,

        where :math:`\log` is :meth:`log` and :math:`c` the metric weight: the
        geodesic does not depend on :math:`c`, its length scales with
        :math:`\sqrt{c}`. It is the distance along the geodesic found by
        shooting, minimizing for points close enough.

        Parameters
        ----------
        point_a, point_b : ndarray, shape (n_outputs,)
            The points :math:`u_a` and :math:`u_b`.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.GeodesicError
            If the shooting does not converge.
        ~manifolds.NotOnManifoldError
            If a point is not on the manifold.

        Examples
        --------
        A geodesic :math:`t \mapsto \exp_u(t\xi)` has length :math:`t\|\xi\|_u`,
        here with the weight :math:`c = 1/6`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), metric_weight=1 / 6)
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> distance = manifold.dist(u, manifold.exp(u, 0.2 * xi))
        >>> bool(np.isclose(distance, 0.2 * manifold.norm(u, xi)))
        True
        """
        return self.norm(point_a, self.log(point_a, point_b))

    def pair_mean(self, point_a, point_b) -> np.ndarray:
        r"""The midpoint :math:`\exp_{u_a}(\tfrac12 \log_{u_a} u_b)` of the geodesic.

        .. math::

            m(u_a, u_b) = \exp_{u_a}\big(\tfrac12 \log_{u_a}(u_b)\big),

        where :math:`\exp` and :math:`\log` are :meth:`exp` and :meth:`log`.
        It is the point halfway along the geodesic, at distance
        :math:`\tfrac12 \operatorname{dist}(u_a, u_b)` from both ends,
        independent of the metric weight :math:`c`.

        Parameters
        ----------
        point_a, point_b : ndarray, shape (n_outputs,)
            The points :math:`u_a` and :math:`u_b`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.GeodesicError
            If the shooting or the integration fails.
        ~manifolds.OutsideBallError
            If the geodesic leaves the ball.
        ~manifolds.NotOnManifoldError
            If a point is not on the manifold.

        Examples
        --------
        The midpoint of :math:`u` and :math:`\exp_u(\xi)` is
        :math:`\exp_u(\xi/2)`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = 0.2 * manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> middle = manifold.pair_mean(u, manifold.exp(u, xi))
        >>> bool(np.allclose(middle, manifold.exp(u, 0.5 * xi), atol=1e-8))
        True
        """
        return self.exp(point_a, 0.5 * self.log(point_a, point_b))

    def transport(self, point_a, point_b, tangent_vector_a) -> np.ndarray:
        r"""Vector transport by projection, :math:`P_{u_b}\xi`.

        .. math::

            \mathcal{T}_{u_a \to u_b}(\xi) = P_{u_b}\, \xi = Q_b Q_b^\top \xi,

        where :math:`J(\theta(u_b)) = Q_b R_b` is the thin QR factorization at
        the target point. It is a vector transport (not parallel transport),
        and it does not depend on the metric weight :math:`c`.

        Parameters
        ----------
        point_a, point_b : ndarray, shape (n_outputs,)
            The points :math:`u_a` and :math:`u_b`.
        tangent_vector_a : ndarray, shape (n_outputs,)
            A tangent vector :math:`\xi` at ``point_a``.

        Returns
        -------
        ndarray, shape (n_outputs,)
            A tangent vector at ``point_b``.

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite, or the result
            overflows float64 (then it is also an ``OverflowError``).
        ~manifolds.NotOnManifoldError
            If a point is not on the manifold.

        Examples
        --------
        The transported vector is tangent at the target, and transport to the
        same point is the identity on tangent vectors:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> v = manifold.point(np.array([0.6, 0.1]))
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> moved = manifold.transport(u, v, xi)
        >>> bool(np.allclose(manifold.projection(v, moved), moved))
        True
        >>> bool(np.allclose(manifold.transport(u, u, xi), xi))
        True
        """
        self._chart(point_a, "point_a")
        chart_b = self._chart(point_b, "point_b")
        xi = self._vector(tangent_vector_a, "tangent_vector_a")
        return self._finite(
            "the transport of `tangent_vector_a`",
            lambda v: self._project(chart_b, v),
            {"tangent_vector_a": xi},
        )

    # ------------------------------------------------------------------
    # Sampling

    def random_point(self, *, rng: np.random.Generator | None = None) -> np.ndarray:
        r"""A random point :math:`F(\theta)`, :math:`\theta` uniform in :math:`B(\theta_0, \rho/2)`.

        .. math::

            \theta = \theta_0 + \tfrac{\rho}{2}\, U^{1/p}\, \frac{g}{\|g\|},
            \qquad g \sim \mathcal{N}(0, I_p), \quad U \sim \mathcal{U}(0, 1),

        which is uniform in the ball :math:`B(\theta_0, \rho/2)`; with no
        radius set, :math:`\rho = 1`. Sampling in half the ball keeps small
        steps from the point inside the chart domain.

        Parameters
        ----------
        rng : numpy.random.Generator, optional
            The generator; the manifold's own by default.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        TypeError
            If ``rng`` is not a ``numpy.random.Generator``.
        ValueError
            If :math:`F(\theta)` is not finite.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> theta0 = np.array([0.3, -0.2])
        >>> manifold = OutputManifold(output_map, theta0, radius=1.0)
        >>> v = manifold.random_point(rng=np.random.default_rng(1))
        >>> bool(np.linalg.norm(manifold.lift(v) - theta0) <= 0.5)
        True
        """
        rng = self._rng if rng is None else check_generator(rng)
        direction = rng.standard_normal(self._p)
        direction /= np.linalg.norm(direction)
        radius = 0.5 * (self._radius or 1.0) * rng.uniform() ** (1.0 / self._p)
        return self._register(
            self._reference_params + radius * direction, "random_point"
        )

    def random_tangent_vector(
        self, point, *, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        r"""A random unit tangent vector at ``point``: a projected Gaussian, normalized.

        .. math::

            \xi = \frac{Q g}{\|Q g\|_u} = \frac{Q g}{\sqrt{c}\, \|Q g\|_2},
            \qquad g \sim \mathcal{N}(0, I_p),

        where :math:`J(\theta(u)) = QR` is the thin QR factorization, so
        :math:`\xi` is uniformly distributed on the unit sphere of
        :math:`T_u M` in the metric with weight :math:`c`.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u`.
        rng : numpy.random.Generator, optional
            The generator; the manifold's own by default.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        TypeError
            If ``rng`` is not a ``numpy.random.Generator``.
        ValueError
            If ``point`` has the wrong shape or is not finite.
        ~manifolds.NotOnManifoldError
            If ``point`` is not on the manifold.

        Examples
        --------
        Unit length in the metric, here with :math:`c = 1/6`:

        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]), metric_weight=1 / 6)
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> round(manifold.norm(u, xi), 12), round(float(np.linalg.norm(xi)) ** 2, 12)
        (1.0, 6.0)
        >>> bool(np.allclose(manifold.projection(u, xi), xi))
        True
        """
        rng = self._rng if rng is None else check_generator(rng)
        chart = self._chart(point)
        Q, _ = self._factors(chart)
        vector = Q @ rng.standard_normal(self._p)
        return vector / self.norm(point, vector)

    def zero_vector(self, point) -> np.ndarray:
        """The zero tangent vector at ``point``.

        Parameters
        ----------
        point : ndarray, shape (n_outputs,)
            The base point :math:`u` (only its shape is checked).

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If ``point`` has the wrong shape or is not finite.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold
        >>> X = np.random.default_rng(0).normal(size=(6, 2))
        >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
        >>> manifold = OutputManifold(output_map, np.array([0.3, -0.2]))
        >>> u = manifold.point(np.array([0.3, -0.2]))
        >>> manifold.zero_vector(u)
        array([0., 0., 0., 0., 0., 0.])
        >>> bool(np.array_equal(manifold.exp(u, manifold.zero_vector(u)), u))
        True
        """
        self._vector(point, "point")
        return np.zeros(self._n)
