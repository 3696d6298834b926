r"""The output manifold :math:`M = F(B(\theta_0, \rho)) \subset \mathbb{R}^n` as a pymanopt manifold.

When :math:`F: \mathbb{R}^p \to \mathbb{R}^n` is an injective immersion on the
ball :math:`B(\theta_0, \rho)` (so :math:`p \le n` and :math:`\operatorname{rank}
J = p`), its image is an embedded :math:`p`-dimensional submanifold of the
output space. Points are plain output vectors :math:`u \in \mathbb{R}^n`, so
that a cost written for pymanopt as a function of :math:`u` works unchanged
with every backend and optimizer.

The examples of this module start from the names built in the example of
:class:`OutputManifold`: ``np``, ``anp``, ``X``, ``output_map`` (the model
:math:`F(w) = \tanh(Xw)` with six outputs and two parameters), ``theta0``,
``manifold`` and ``u = manifold.point(theta0)``. (The repository's
``conftest.py`` provides them to every doctest.)

The geometry in a chart
-----------------------
Each point :math:`u` has a chart: its preimage :math:`\theta = \theta(u)`
and the thin QR factorization :math:`J(\theta) = QR` of
:mod:`manifolds.linalg`. The charts are cached, factorized lazily, and a
vector the manifold did not produce is lifted by least squares (see
:meth:`~manifolds.OutputManifold.lift`). Every operation is written with :math:`Q` and
:math:`R`, never with :math:`J^\top J`, whose condition number is
:math:`\operatorname{cond}(J)^2`:

.. math::

    P_u = J(J^\top J)^{-1}J^\top = QQ^\top, \qquad
    J^+ = R^{-1}Q^\top, \qquad (J^+)^\top = QR^{-\top}.

*Metric.* :math:`\langle a, b \rangle_u = c\, a^\top b` with a fixed weight
:math:`c` (``metric_weight``). The Levi-Civita connection does not depend on
:math:`c`, so geodesics, retractions, the second fundamental form and the
Weingarten map are those of the Euclidean metric; the gradient and the
Hessian of a cost :math:`h` carry a factor :math:`1/c` (pymanopt's
``RiemannianSubmanifold`` convention, rescaled):

.. math::

    \operatorname{grad} h(u) = \tfrac1c P_u \nabla h(u), \qquad
    \operatorname{Hess} h(u)[\xi] = \tfrac1c \big(P_u \nabla^2 h(u)\,\xi
    + W(\xi, P_u^\perp \nabla h(u))\big).

*Second fundamental form and Weingarten map.* With
:math:`H_\nu = \sum_j \nu_j \nabla^2 F_j(\theta)`,

.. math::

    \mathrm{II}(\xi, \zeta) = P_u^\perp\, D^2F(\theta)[J^+\xi, J^+\zeta],
    \qquad
    W(\xi, \nu) = (J^+)^\top H_\nu J^+ \xi .

For :math:`P(u) = J(J^\top J)^{-1}J^\top` and a normal :math:`\nu`
(:math:`J^\top \nu = 0`), differentiating along :math:`\xi` with
:math:`\dot J = DJ[J^+\xi]` gives :math:`DP[\xi]\nu = J(J^\top J)^{-1}\dot
J^\top \nu`, already tangent, and :math:`\dot J^\top \nu = H_\nu J^+ \xi`;
hence :math:`W(\xi, \nu) = P\, DP[\xi]\, \nu` is the formula above, and
:math:`\langle W(\xi,\nu), \zeta\rangle_u = \langle \mathrm{II}(\xi,\zeta),
\nu\rangle_u` for every :math:`\zeta \in T_uM` and every :math:`c`.

*Retractions.* With :math:`\eta = J^+\xi`,

.. math::

    R_u(\xi) = F(\theta + \eta) \quad\text{(chart)}, \qquad
    R_u(\xi) = F\big(\theta + \eta - \tfrac12 J^+ D^2F(\theta)[\eta, \eta]\big)
    \quad\text{(second order)}.

Both satisfy :math:`R_u(0) = u` and :math:`DR_u(0) = \mathrm{id}_{T_uM}`;
the chart retraction agrees with :math:`\exp_u` to first order, the
second-order one to second order (a geodesic starts as :math:`\theta +
\eta - \tfrac12 J^+ D^2F[\eta, \eta] + O(\|\eta\|^3)`).

Their differentials, with :math:`\theta'` the preimage of :math:`R_u(\xi)`
and :math:`A w = J_u^+ D^2F(\theta_u)[\eta, w]` (a :math:`p \times p`
matrix, built column by column), are

.. math::

    DR_u(\xi)[\zeta] = J(\theta')\, J_u^+\zeta \quad\text{(chart)}, \qquad
    DR_u(\xi)[\zeta] = J(\theta')\,(I - A)\, J_u^+\zeta
    \quad\text{(second order)},

so :math:`(DR_u(\xi))^{-1}[g] = J_u w` with :math:`w = J(\theta')^+ g`,
respectively :math:`(I - A)\, w = J(\theta')^+ g` (solved through the SVD of
:math:`I - A`, which also gives its numerical rank). This carries a stage
vector of a Runge-Kutta scheme back to :math:`T_uM` (the Munthe-Kaas
construction).

*The safeguard.* With ``safeguard=True`` a step is shortened to stay in the
region :math:`U = \{\theta \in B(\theta_0,\rho) : \kappa(J(\theta)) \le
\kappa_{max}\}`, where :math:`\kappa(J) = \sigma_{max}/\sigma_{min}`:

.. math::

    R^U_u(\xi) = R_u(t^*\xi), \qquad
    t^* = \max\{2^{-k} : k = 0, \dots, 60,\ \theta(R_u(2^{-k}\xi)) \in U\},

and :math:`R^U_u(\xi) = u` if no such :math:`k` exists. Every point it
returns has a chart in :math:`U`, so the geometry there exists. At a point
interior to :math:`U`, continuity gives :math:`\delta > 0` with :math:`t^* =
1` for :math:`\|\xi\| < \delta`: there :math:`R^U_u = R_u` bit for bit, a
retraction in pymanopt's sense. On the boundary of :math:`U`, :math:`t^* <
1` for arbitrarily short outward :math:`\xi`, so :math:`DR^U_u(0) \ne
\mathrm{id}`: an optimizer that stops there has stopped against the
boundary, not necessarily at a critical point
(:meth:`~manifolds.OutputManifold.step_cut` tells).

*Geodesics.* :math:`\exp_u(\xi) = F(\theta(1))` for the solution of
:math:`\theta'' = -J^+ D^2F(\theta)[\theta', \theta']`, :math:`\theta(0) =
\theta(u)`, :math:`\theta'(0) = J^+\xi` (:mod:`manifolds.geodesics`);
:math:`\log_{u_a}(u_b) = J\,\theta'(0)` for the boundary value problem
:math:`\theta(1) = \theta(u_b)`, solved by shooting;
:math:`\operatorname{dist}(u_a, u_b) = \|\log_{u_a} u_b\|_{u_a}`. Vector
transport is the projection :math:`P_{u_b}\xi`.
"""

from __future__ import annotations

import math

import numpy as np
from pymanopt.manifolds.manifold import RiemannianSubmanifold

from manifolds._charts import Atlas, Chart, ChartCache, jacobian_rank
from manifolds.exceptions import NotAnImmersionError
from manifolds.geodesics import shoot_geodesic, solve_geodesic
from manifolds.linalg import (
    JacobianOperator,
    RankInfo,
    SquareSystem,
    default_rank_rtol,
    factorize,
    resolve_solver,
)
from manifolds.output_map import OutputMap
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

__all__ = ["OutputManifold", "RankInfo", "jacobian_rank"]

RETRACTIONS = ("chart", "second_order")
# A safeguarded retraction halves a step at most this often (2^-60 ~ 1e-18).
_MAX_HALVINGS = 60
# The default largest cond J(theta) a safeguarded retraction accepts, capped
# at 0.5 / rank_rtol so that the region stays inside the immersion.
_DEFAULT_MAX_CONDITION = 1e8
# A result below this may have lost its value to an underflow on the way.
_TINY_RESULT = 1e-280


class OutputManifold(RiemannianSubmanifold):
    r"""The output manifold :math:`M = F(B(\theta_0, \rho))` of a smooth map, for pymanopt.

    Points are output vectors :math:`u \in \mathbb{R}^n` and tangent vectors
    are vectors of :math:`T_u M = \operatorname{range} J(\theta(u))
    \subset \mathbb{R}^n`, with the metric :math:`\langle a, b\rangle = c\,
    a^\top b`. The formulas are derived in :mod:`manifolds.output_manifold`.

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
        The retraction used by :meth:`retraction`: :math:`F(\theta + J^+\xi)`
        (first order) or its second-order correction.
    rank_rtol : float, optional
        The relative tolerance of the numerical rank: singular values of
        :math:`J` at or below ``rank_rtol * sigma_max`` count as zero. The
        default is ``max(n, p) * eps``, as in ``numpy.linalg.matrix_rank``.
    safeguard : bool, default False
        Keep every retraction inside the region :math:`U = \{\theta \in
        B(\theta_0, \rho) : \kappa(J(\theta)) \le \kappa_{max}\}` by halving a
        step that leaves it. Use it when pymanopt's optimizers run toward a
        target off the manifold, whose nearest point may lie on the manifold's
        boundary (a saturated neuron, the edge of the ball); without it they
        stop with :class:`~manifolds.NotAnImmersionError` or
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
    solver : {"auto", "dense", "krylov"}, default "auto"
        How the charts solve with :math:`J`: ``"dense"`` factorizes the formed
        Jacobian; ``"krylov"`` factorizes the matrix-free
        :class:`~manifolds.linalg.JacobianOperator` (products ``jvp``/``vjp``
        only, :math:`J` is never formed; solves are iterative to
        :data:`~manifolds.linalg.KRYLOV_TOL`, and condition numbers and the
        rank test use sketched estimates); ``"auto"`` chooses by memory with
        :func:`~manifolds.linalg.resolve_solver`. The choice is :attr:`solver`.

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
    The manifold that the examples of this module start from:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold
    >>> X = np.random.default_rng(0).normal(size=(6, 2))
    >>> output_map = AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)
    >>> theta0 = np.array([0.3, -0.2])
    >>> manifold = OutputManifold(output_map, theta0)
    >>> u = manifold.point(theta0)
    >>> manifold.dim, manifold.ambient_dim
    (2, 6)
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
        solver: str = "auto",
    ):
        self._map = check_output_map(output_map)
        n, p = int(output_map.n_outputs), int(output_map.n_params)
        self._n, self._p = n, p
        self._solver = resolve_solver(solver, n, p)
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
            rank_rtol = default_rank_rtol(n, p)
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
        cache = ChartCache(
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
        self._atlas = Atlas(
            self._map,
            self._reference_params,
            radius=self._radius,
            rank_rtol=self._rank_rtol,
            point_rtol=self._point_rtol,
            cache=cache,
            solver=self._solver,
        )
        self._cache = cache
        self._reference_chart = self._atlas.reference_chart
        self._sigma_max = self._atlas.sigma_max
        # The size of the image of the ball in output units (unweighted).
        self._scale = self._atlas.scale
        if not math.isfinite(self._scale * math.sqrt(self._metric_weight)):
            raise NonFiniteError(
                "the manifold's scale sqrt(metric_weight) x sigma_max(J(theta0)) x "
                f"radius is not finite, it overflows float64 (metric_weight = {self._metric_weight:.3e}, "
                f"sigma_max = {self._sigma_max:.3e}, radius = {self._radius}); "
                "use a smaller `radius` or `metric_weight`, or rescale the model"
            )
        self._reference_point = self._reference_chart.point
        if self._safeguard:
            factorization = self._reference_chart.factorization
            if not factorization.condition_at_most(self._max_condition):
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
    def solver(self) -> str:
        """``"dense"`` or ``"krylov"``: the resolved ``solver`` of the charts.

        Examples
        --------
        >>> manifold.solver
        'dense'
        """
        return self._solver

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
    def rank_rtol(self) -> float:
        r"""The relative rank tolerance of the immersion test (see :mod:`manifolds.linalg`)."""
        return self._rank_rtol

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
        self._atlas.check_in_ball(params, what)

    def _new_chart(self, params: np.ndarray, what: str = "`params`") -> Chart:
        return self._atlas.new_chart(params, what)

    def _chart(self, point, name: str = "point") -> Chart:
        return self._atlas.chart(point, name)

    def rank_info(self, params) -> RankInfo:
        r"""The numerical rank of :math:`J(\theta)` with this manifold's tolerance.

        :func:`~manifolds.jacobian_rank` with the manifold's ``rank_rtol``. Use it
        to diagnose where :math:`F` stops being an immersion.

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
        >>> info = manifold.rank_info(theta0)
        >>> info.rank, info.n_params, round(info.condition_number, 4)
        (2, 2, 2.249)
        """
        if self._solver == "krylov":  # the sketch's estimates, J is not formed
            params = as_finite_vector("params", params, self._p)
            operator = JacobianOperator(self._map, params)
            return factorize(operator, rank_rtol=self._rank_rtol).rank_info()
        return jacobian_rank(self._map, params, rank_rtol=self._rank_rtol)

    def point(self, params) -> np.ndarray:
        r"""The point :math:`u = F(\theta)` of the manifold, with its chart factorized and cached.

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
        >>> theta = np.array([0.5, 0.1])
        >>> v = manifold.point(theta)
        >>> bool(np.allclose(v, np.tanh(X @ theta)))
        True
        >>> bool(np.array_equal(manifold.lift(v), theta))  # its chart is cached
        True
        """
        params = as_finite_vector("params", params, self._p)
        self._check_in_ball(params, "`params`")
        chart = self._new_chart(params)
        self._factorization(chart)
        return chart.point.copy()

    def lift(self, point) -> np.ndarray:
        r"""The preimage :math:`\theta(u)` of a point, its chart coordinates.

        For a point the manifold produced (by :meth:`point`, a retraction,
        :meth:`exp`, ...) the chart is cached. For any other vector,
        :math:`F(\theta) = u` is solved by nonlinear least squares
        (``scipy.optimize.least_squares``) from the nearest cached chart and
        then from the reference chart; the vector is a point when
        :math:`\|F(\theta) - u\| \le \epsilon \max(\|u\|, \sigma_{max}\rho)`, with
        :math:`\epsilon` = ``point_rtol``, :math:`\sigma_{max}` the largest
        singular value of :math:`J(\theta_0)` and :math:`\rho` the radius (1 if
        none is set).

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

    def _factorization(self, chart: Chart):
        return self._atlas.factorize(chart)

    def _pinv(self, chart: Chart, vector: np.ndarray) -> np.ndarray:
        r""":math:`J^+ v = R^{-1} Q^\top v`."""
        return self._factorization(chart).pinv(vector)

    def _pinv_transpose(self, chart: Chart, vector: np.ndarray) -> np.ndarray:
        r""":math:`(J^+)^\top g = Q R^{-\top} g`."""
        return self._factorization(chart).pinv_transpose(vector)

    def _project(self, chart: Chart, vector: np.ndarray) -> np.ndarray:
        r""":math:`P v = Q Q^\top v`."""
        return self._factorization(chart).project(vector)

    def tangent_to_chart(self, point, tangent_vector) -> np.ndarray:
        r"""The chart coordinates :math:`\eta = J^+\xi = R^{-1}Q^\top \xi` of a tangent vector.

        The least-squares solution of :math:`J\eta = \xi`: a normal component of
        :math:`\xi` is annihilated.

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
        >>> xi = manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> eta = manifold.tangent_to_chart(u, xi)
        >>> bool(np.allclose(output_map.jvp(theta0, eta), xi))  # J eta = xi
        True
        """
        chart = self._chart(point)
        xi = self._vector(tangent_vector, "tangent_vector")
        return self._finite(
            "J^+ tangent_vector", lambda v: self._pinv(chart, v), {"tangent_vector": xi}
        )

    def chart_to_tangent(self, point, params_vector) -> np.ndarray:
        r"""The tangent vector :math:`\xi = J\eta = QR\eta` of a parameter-space direction.

        The inverse of :meth:`tangent_to_chart` on :math:`T_u M`.

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
        >>> eta = np.array([1.0, -2.0])
        >>> xi = manifold.chart_to_tangent(u, eta)
        >>> bool(np.allclose(xi, output_map.jvp(theta0, eta)))
        True
        >>> bool(np.allclose(manifold.tangent_to_chart(u, xi), eta))
        True
        """
        factorization = self._factorization(self._chart(point))
        eta = as_finite_vector("params_vector", params_vector, self._p)
        return self._finite(
            "J params_vector", factorization.apply, {"params_vector": eta}
        )

    # ------------------------------------------------------------------
    # Metric

    def inner_product(self, point, tangent_vector_a, tangent_vector_b) -> float:
        r"""The metric :math:`\langle a, b\rangle_u = c\, a^\top b`, with :math:`c` = ``metric_weight``.

        The metric is the same at every point, so ``point`` is only checked for
        its shape.

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

        >>> weighted = OutputManifold(output_map, theta0, metric_weight=1 / 6)
        >>> a, b = weighted.chart_to_tangent(u, [1.0, 0.0]), weighted.chart_to_tangent(u, [0.0, 1.0])
        >>> bool(np.isclose(weighted.inner_product(u, a, b), (a @ b) / 6))
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
        >>> weighted = OutputManifold(output_map, theta0, metric_weight=1 / 6)
        >>> xi = weighted.chart_to_tangent(u, [1.0, -2.0])
        >>> bool(np.isclose(weighted.norm(u, xi) ** 2, weighted.inner_product(u, xi, xi)))
        True
        >>> bool(np.isclose(weighted.norm(u, xi), np.linalg.norm(xi) / np.sqrt(6)))
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
        r"""The orthogonal projection :math:`P_u v = QQ^\top v` onto :math:`T_u M`.

        Orthogonal for every metric weight :math:`c`, a multiple of the Euclidean
        metric. ``to_tangent_space`` is the same method: pymanopt calls it to
        remove the round-off drift of a tangent vector.

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

        >>> v = np.random.default_rng(1).normal(size=6)
        >>> pv = manifold.projection(u, v)
        >>> bool(np.allclose(manifold.projection(u, pv), pv))
        True
        >>> bool(np.allclose(output_map.vjp(theta0, v - pv), 0.0))
        True
        """
        chart = self._chart(point)
        vector = self._vector(vector, "vector")
        return self._finite(
            "the projection of `vector`",
            lambda v: self._project(chart, v),
            {"vector": vector},
        )

    to_tangent_space = projection

    def euclidean_to_riemannian_gradient(self, point, euclidean_gradient) -> np.ndarray:
        r"""The Riemannian gradient :math:`\operatorname{grad} h(u) = \tfrac1c P_u \nabla h(u)`.

        The tangent vector with :math:`\langle \operatorname{grad} h(u),
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
        For :math:`h(u) = \tfrac12\|u - y\|^2` and the weight :math:`c = 1/6`:

        >>> weighted = OutputManifold(output_map, theta0, metric_weight=1 / 6)
        >>> rng = np.random.default_rng(1)
        >>> y, xi = rng.normal(size=6), weighted.random_tangent_vector(u, rng=rng)
        >>> grad = weighted.euclidean_to_riemannian_gradient(u, u - y)
        >>> bool(np.isclose(weighted.inner_product(u, grad, xi), (u - y) @ xi))
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

        :math:`H_\nu` is applied by :meth:`manifolds.OutputMap.weighted_hessian_vector`.
        Derived in :mod:`manifolds.output_manifold`, with the identity
        :math:`\langle W(\xi,\nu), \zeta\rangle_u = \langle \mathrm{II}(\xi,\zeta),
        \nu\rangle_u`.

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
        >>> rng = np.random.default_rng(1)
        >>> xi, zeta = manifold.random_tangent_vector(u, rng=rng), manifold.random_tangent_vector(u, rng=rng)
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
        r"""The Riemannian Hessian :math:`\tfrac1c (P_u \nabla^2 h(u)\,\xi + W(\xi, P_u^\perp \nabla h(u)))`.

        See the metric in :mod:`manifolds.output_manifold`; :math:`W` is
        :meth:`weingarten`, applied to the normal part of the gradient.

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
        \langle \operatorname{Hess} h(u)[\xi], \xi\rangle_u`; for
        :math:`h(u) = \tfrac12\|u - y\|^2` (:math:`\nabla^2 h\,\xi = \xi`) and
        :math:`c = 1/6`, by central differences:

        >>> weighted = OutputManifold(output_map, theta0, metric_weight=1 / 6)
        >>> rng = np.random.default_rng(1)
        >>> xi, y = weighted.random_tangent_vector(u, rng=rng), rng.normal(size=6)
        >>> def h(v):
        ...     return 0.5 * np.sum((v - y) ** 2)
        >>> hess = weighted.euclidean_to_riemannian_hessian(u, u - y, xi, xi)
        >>> t = 1e-3
        >>> second = (h(weighted.exp(u, t * xi)) - 2 * h(u) + h(weighted.exp(u, -t * xi))) / t**2
        >>> bool(np.isclose(second, weighted.inner_product(u, hess, xi), rtol=1e-5))
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
        r"""The second fundamental form :math:`\mathrm{II}(\xi, \zeta) = P_u^\perp\, D^2F(\theta)[J^+\xi, J^+\zeta]`.

        Symmetric, normal to :math:`T_u M`, independent of the metric weight
        (see :mod:`manifolds.output_manifold`).

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
        the chart curve :math:`t \mapsto F(\theta + tJ^+\xi)`:

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
        r"""The retraction :math:`R_u(\xi)` of a chosen kind, safeguarded if the manifold is.

        The chart and second-order retractions and the safeguard are defined in
        :mod:`manifolds.output_manifold`. The new chart is cached, unfactorized.

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
                violation = self._atlas.region_violation(params, self._max_condition)
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

        An optimizer that stops at a point from which steps were cut stopped
        against the boundary of the safeguarded region :math:`U` (see
        :mod:`manifolds.output_manifold`), not necessarily at a critical point.

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
        >>> guarded = OutputManifold(output_map, theta0, radius=1.0, safeguard=True)
        >>> xi = guarded.chart_to_tangent(u, np.array([5.0, 0.0]))
        >>> v = guarded.retraction(u, xi)  # |J^+ xi| = 5 > radius: shortened
        >>> reason, message = guarded.step_cut(u)
        >>> reason, message.startswith("a step was shortened by 2^-3")
        ('ball', True)
        >>> bool(np.linalg.norm(guarded.lift(v) - theta0) <= 1.0)
        True
        """
        return self._chart(point).cut

    def retraction(self, point, tangent_vector) -> np.ndarray:
        r"""The retraction chosen at construction (``"chart"`` by default).

        :meth:`retract` with the manifold's own kind; see
        :mod:`manifolds.output_manifold` for the formulas.

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

        The :math:`\zeta \in T_uM` with :math:`DR_u(\xi)[\zeta] = g`, for
        :math:`\xi \in T_uM` and :math:`g \in T_{R_u(\xi)}M` (derived in
        :mod:`manifolds.output_manifold`). The normal component of :math:`g` is
        discarded. At :math:`\xi = 0` it is the identity on :math:`T_uM`.

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
            overflows float64, or ``kind`` is unknown.
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
        >>> rng = np.random.default_rng(0)
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
            system = SquareSystem(system)
            s = system.singular_values
            if s[-1] <= self._rank_rtol * s[0]:
                raise np.linalg.LinAlgError(
                    "the differential of the second_order retraction is singular "
                    f"at `tangent_vector`: I - A has singular values in "
                    f"[{s[-1]:.3e}, {s[0]:.3e}] (rank_rtol {self._rank_rtol:.3e}); "
                    "`tangent_vector` is too long for the retraction to be a local "
                    "diffeomorphism, take a shorter one"
                )
        factorization = self._factorization(chart)

        def inverse_differential(v):
            w = self._pinv(target, v)  # J(theta')^+ g
            if kind == "second_order":
                w = system.solve(w)
            return factorization.apply(w)  # J(theta) w

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
            "solver": self._solver,
        }

    def exp(self, point, tangent_vector) -> np.ndarray:
        r"""The exponential map :math:`\exp_u(\xi) = F(\theta(1))`, by :func:`~manifolds.geodesics.solve_geodesic`.

        The geodesic starts at :math:`\theta(u)` with velocity :math:`J^+\xi` (see
        :mod:`manifolds.output_manifold`); a normal component of :math:`\xi` is
        discarded.

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
        r"""The logarithmic map :math:`\log_{u_a}(u_b) = J\,\theta'(0)`, by :func:`~manifolds.geodesics.shoot_geodesic`.

        The initial velocity of the geodesic from ``point_a`` to ``point_b`` (see
        :mod:`manifolds.output_manifold`).

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
        r"""The geodesic distance :math:`\|\log_{u_a}(u_b)\|_{u_a} = \sqrt{c}\, \|\log_{u_a}(u_b)\|_2`.

        The length of the geodesic found by shooting, minimizing for points close
        enough.

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

        >>> weighted = OutputManifold(output_map, theta0, metric_weight=1 / 6)
        >>> xi = weighted.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> distance = weighted.dist(u, weighted.exp(u, 0.2 * xi))
        >>> bool(np.isclose(distance, 0.2 * weighted.norm(u, xi)))
        True
        """
        return self.norm(point_a, self.log(point_a, point_b))

    def pair_mean(self, point_a, point_b) -> np.ndarray:
        r"""The midpoint :math:`\exp_{u_a}(\tfrac12 \log_{u_a} u_b)` of the geodesic.

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
        The midpoint of :math:`u` and :math:`\exp_u(\xi)` is :math:`\exp_u(\xi/2)`:

        >>> xi = 0.2 * manifold.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> middle = manifold.pair_mean(u, manifold.exp(u, xi))
        >>> bool(np.allclose(middle, manifold.exp(u, 0.5 * xi), atol=1e-8))
        True
        """
        return self.exp(point_a, 0.5 * self.log(point_a, point_b))

    def transport(self, point_a, point_b, tangent_vector_a) -> np.ndarray:
        r"""Vector transport by projection, :math:`P_{u_b}\xi = Q_bQ_b^\top \xi`.

        A vector transport (not parallel transport), independent of the metric
        weight.

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

        :math:`\theta = \theta_0 + \tfrac{\rho}{2} U^{1/p} g/\|g\|` with
        :math:`g \sim \mathcal{N}(0, I_p)`, :math:`U \sim \mathcal{U}(0, 1)`;
        :math:`\rho = 1` without a radius. Half the ball keeps small steps from
        the point inside the chart domain.

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
        >>> bounded = OutputManifold(output_map, theta0, radius=1.0)
        >>> v = bounded.random_point(rng=np.random.default_rng(1))
        >>> bool(np.linalg.norm(bounded.lift(v) - theta0) <= 0.5)
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
        r"""A random unit tangent vector :math:`Qg / \|Qg\|_u`, :math:`g \sim \mathcal{N}(0, I_p)`.

        Uniformly distributed on the unit sphere of :math:`T_u M` in the metric.

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

        >>> weighted = OutputManifold(output_map, theta0, metric_weight=1 / 6)
        >>> xi = weighted.random_tangent_vector(u, rng=np.random.default_rng(1))
        >>> round(weighted.norm(u, xi), 12), round(float(np.linalg.norm(xi)) ** 2, 12)
        (1.0, 6.0)
        >>> bool(np.allclose(weighted.projection(u, xi), xi))
        True
        """
        rng = self._rng if rng is None else check_generator(rng)
        factorization = self._factorization(self._chart(point))
        if self._solver == "krylov":  # J eta is tangent; no orthonormal basis
            vector = factorization.apply(rng.standard_normal(self._p))
        else:
            vector = factorization.Q @ rng.standard_normal(self._p)
        return vector / self.norm(point, vector)

    def zero_vector(self, point) -> np.ndarray:
        r"""The zero tangent vector at ``point``.

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
        >>> manifold.zero_vector(u)
        array([0., 0., 0., 0., 0., 0.])
        >>> bool(np.array_equal(manifold.exp(u, manifold.zero_vector(u)), u))
        True
        """
        self._vector(point, "point")
        return np.zeros(self._n)
