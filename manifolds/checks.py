r"""Numerical checks of an output manifold's geometry, returned as numbers.

:func:`check_manifold` runs the identity tests and the Taylor tests that
pymanopt's ``tools.diagnostics`` and Manopt's ``checkgradient``,
``checkhessian`` and ``checkretraction`` perform, and returns a
:class:`ManifoldCheckResult`. Nothing is printed or plotted.

Taylor tests. Along a curve :math:`c(t)` from :math:`u` with
:math:`c'(0) = \xi`, the model errors behave like powers of :math:`t`:

* gradient: :math:`|h(R_u(t\xi)) - h(u) - t\langle \operatorname{grad} h,
  \xi\rangle| = O(t^2)` for any retraction;
* Hessian: :math:`|h(\exp_u(t\xi)) - h(u) - t\langle \operatorname{grad} h,
  \xi\rangle - \tfrac{t^2}{2}\langle \operatorname{Hess} h[\xi], \xi\rangle|
  = O(t^3)`, stepping with the exponential map;
* retraction: :math:`\|R_u(t\xi) - \exp_u(t\xi)\| = O(t^2)` for a first-order
  and :math:`O(t^3)` for a second-order retraction.

The slope of :math:`\log E` against :math:`\log t` is fitted by
:func:`fit_loglog_slope`, which looks for the longest window of consecutive
steps on which the points lie on a line, away from both round-off (small
:math:`t`) and the end of the asymptotic regime (large :math:`t`). pymanopt
2.2.1's ``identify_linear_piece`` raises under numpy >= 2.4, so the fit is
our own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from manifolds.exceptions import ManifoldError
from manifolds.linalg import KRYLOV_TOL
from manifolds.output_manifold import OutputManifold
from manifolds.validation import (
    as_finite_vector,
    check_generator,
    check_positive_int,
    check_positive_real,
    describe,
    norm,
)

__all__ = [
    "CheckVerdict",
    "ManifoldCheckResult",
    "TaylorCheck",
    "check_manifold",
    "fit_loglog_slope",
]

_EPS = float(np.finfo(np.float64).eps)
#: A Taylor error counts as measured only where it exceeds this many times
#: its round-off floor (the rounding of the terms that cancel in it).
RESOLUTION = 100.0
#: The fewest resolved steps a Taylor slope is fitted on.
_MIN_RESOLVED = 5
#: How far a fitted Taylor slope may fall short of its order.
SLOPE_TOLERANCE = 0.25
#: The projector identities hold to ``IDENTITY_FACTOR * eps`` (the orthogonal
#: factor of a QR factorization of J), the Weingarten identity to
#: ``IDENTITY_FACTOR * eps * max(1, cond J)`` (backward-stable solves with J,
#: whose errors grow at most like the condition number).
IDENTITY_FACTOR = 1e3
#: exp/log and dist are computed to the manifold's geodesic tolerances
#: (default 1e-11); they must agree to this, or IDENTITY_FACTOR * eps * cond J.
GEODESIC_TOLERANCE = 1e-8


@dataclass(frozen=True)
class TaylorCheck:
    """The errors of a Taylor test and the slope fitted to them.

    Attributes
    ----------
    steps : ndarray, shape (k,)
        The step lengths :math:`t`.
    errors : ndarray, shape (k,)
        The model errors :math:`E(t)`.
    slope : float
        The fitted slope of :math:`\\log E` against :math:`\\log t`; ``inf`` when
        every error is at round-off level (the model is exact).
    window : tuple of int
        ``(start, stop)``: the slice of ``steps`` the slope was fitted on.
    residual : float
        The root-mean-square deviation, in decades, of the fitted points from
        the line.
    reliable : bool
        Whether a window of at least ``min_points`` steps fitted a line
        within ``max_residual``. When it is False, the slope is the best
        available but the errors do not follow a power law (noise, or a
        broken model).
    floor : ndarray, shape (k,) or None
        Where :func:`check_manifold` made it: 100 times the
        round-off floor of each error (``eps`` times the size of the terms
        that cancel in it). Errors at or below it are not measurements and
        are left out of the fit; ``None`` when no floor was given.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import fit_loglog_slope
    >>> steps = np.logspace(-6, 0, 13)
    >>> check = fit_loglog_slope(steps, 0.5 * steps**2)
    >>> round(check.slope, 6), check.window, bool(check.reliable)
    (2.0, (0, 13), True)
    """

    steps: np.ndarray
    errors: np.ndarray
    slope: float
    window: tuple[int, int]
    residual: float
    reliable: bool = True
    floor: np.ndarray | None = None

    @property
    def n_resolved(self) -> int:
        """How many errors exceed their ``floor`` (all, without one)."""
        if self.floor is None:
            return int(self.errors.size)
        return int(np.count_nonzero(self.errors > self.floor))

    @property
    def resolved(self) -> bool:
        """Whether the slope was fitted on at least 5 steps above the floor,
        on a line (``reliable``)."""
        start, stop = self.window
        return bool(
            stop - start >= _MIN_RESOLVED
            and self.reliable
            and math.isfinite(self.slope)
        )


def fit_loglog_slope(
    steps, errors, *, min_points: int = 5, max_residual: float = 0.02
) -> TaylorCheck:
    r"""Fit the slope of :math:`\log_{10} E` against :math:`\log_{10} t` on its linear piece.

    On a window :math:`i = a, \dots, b - 1` of consecutive steps (sorted by
    length), the slope :math:`s` and intercept :math:`k` minimize

    .. math::

        \sum_{i=a}^{b-1} \left(\log_{10} E_i - s \log_{10} t_i - k\right)^2,
        \qquad
        \text{residual} = \Big(\tfrac{1}{b-a} \sum_{i=a}^{b-1}
        (\log_{10} E_i - s \log_{10} t_i - k)^2\Big)^{1/2},

    where :math:`t_i` are the steps and :math:`E_i` the errors; a model
    error :math:`E(t) = O(t^q)` gives :math:`s \approx q`.

    Among all windows of at least ``min_points`` consecutive steps whose
    least-squares line fits with a root-mean-square residual of at most
    ``max_residual`` decades, the longest is used (ties go to the smaller
    residual). If no window qualifies, the best-fitting window of
    ``min_points`` steps is used and its residual reported. Errors that are
    zero, or below ``1e-14`` times the largest error, are round-off and are
    left out.

    Parameters
    ----------
    steps : array_like, shape (k,)
        Positive step lengths.
    errors : array_like, shape (k,)
        Non-negative errors.
    min_points : int, default 5
        The shortest window.
    max_residual : float, default 0.02
        The largest acceptable RMS residual, in decades.

    Returns
    -------
    TaylorCheck

    Raises
    ------
    ValueError
        If the arrays differ in shape, or hold non-finite or negative values,
        or ``min_points < 2`` or ``max_residual <= 0``.
    TypeError
        If ``min_points`` is not an integer or ``max_residual`` not a number.

    Examples
    --------
    An error :math:`E(t) = t^3/2` on top of a round-off floor of
    :math:`10^{-13}`: the fit skips the short steps, where the floor
    dominates.

    >>> import numpy as np
    >>> from manifolds import fit_loglog_slope
    >>> steps = np.logspace(-6, 0, 13)
    >>> check = fit_loglog_slope(steps, 0.5 * steps**3 + 1e-13)
    >>> round(check.slope, 2), check.window, bool(check.reliable)
    (3.0, (5, 13), True)
    """
    min_points = check_positive_int("min_points", min_points, minimum=2)
    max_residual = check_positive_real("max_residual", max_residual)
    steps = as_finite_vector("steps", steps)
    errors = as_finite_vector("errors", errors, steps.shape[0])
    if np.any(steps <= 0):
        raise ValueError(f"`steps` must be positive, got {describe(steps)}")
    if np.any(errors < 0):
        raise ValueError(f"`errors` must be non-negative, got {describe(errors)}")
    order = np.argsort(steps)
    steps, errors = steps[order], errors[order]
    floor = 1e-14 * float(errors.max()) if errors.max() > 0 else math.inf
    usable = errors > floor
    if usable.sum() < min_points:
        return TaylorCheck(steps, errors, math.inf, (0, 0), 0.0)
    # Fit on the longest run of usable points only.
    x_all, y_all = np.log10(steps), np.log10(np.where(usable, errors, 1.0))
    best = None
    runs = np.split(
        np.arange(steps.size), np.flatnonzero(np.diff(usable.astype(int))) + 1
    )
    for run in runs:
        if not usable[run[0]] or run.size < min_points:
            continue
        for length in range(run.size, min_points - 1, -1):
            for start in range(run[0], run[-1] - length + 2):
                x, y = x_all[start : start + length], y_all[start : start + length]
                slope, intercept = np.polyfit(x, y, 1)
                residual = float(np.sqrt(np.mean((y - slope * x - intercept) ** 2)))
                key = (
                    residual <= max_residual,
                    length if residual <= max_residual else 0,
                    -residual,
                )
                if best is None or key > best[0]:
                    best = (key, float(slope), (start, start + length), residual)
    if best is None:
        return TaylorCheck(steps, errors, math.inf, (0, 0), 0.0)
    key, slope, window, residual = best
    return TaylorCheck(steps, errors, slope, window, residual, reliable=key[0])


@dataclass(frozen=True)
class CheckVerdict:
    """One row of :meth:`ManifoldCheckResult.verdicts`: a number and its verdict.

    Attributes
    ----------
    name : str
        What was measured, e.g. ``"Hessian Taylor slope (exp)"``.
    value : float
        The measured number (``nan`` for an unresolved slope).
    expected : str
        The criterion, e.g. ``"3 ± 0.25"`` or ``"<= 1.4e-13"``.
    status : {"pass", "fail", "unresolved"}
        ``"unresolved"`` when the measurement cannot decide (a Taylor error
        that stays at its round-off floor).
    note : str
        Why, for a row that did not pass; empty otherwise.

    Examples
    --------
    >>> import math
    >>> from manifolds import CheckVerdict
    >>> row = CheckVerdict("Hessian Taylor slope (exp)", math.nan, ">= 2.75", "unresolved")
    >>> row.status, math.isnan(row.value)
    ('unresolved', True)
    """

    name: str
    value: float
    expected: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class ManifoldCheckResult:
    """The numbers measured by :func:`check_manifold`.

    All errors are relative (dimensionless) unless noted.

    Attributes
    ----------
    projection_idempotence : float
        :math:`\\max \\|P(Pz) - Pz\\| / \\|z\\|` over random ambient :math:`z`.
    projection_symmetry : float
        :math:`\\max |a^\\top P b - b^\\top P a| / (\\|a\\|\\|b\\|)`.
    tangency : float
        :math:`\\max \\|P^\\perp \\xi\\| / \\|\\xi\\|` over random tangent vectors,
        Riemannian gradients and Weingarten vectors.
    weingarten_identity : float
        :math:`|\\langle W(\\xi,\\nu),\\zeta\\rangle - \\langle \\mathrm{II}(\\xi,\\zeta),
        \\nu\\rangle|`, relative to :math:`\\|W\\|\\|\\zeta\\| + \\|\\mathrm{II}\\|\\|\\nu\\|`.
    exp_log_error : float
        The larger of :math:`\\|\\log_u(\\exp_u \\xi) - \\xi\\| / \\|\\xi\\|` and
        :math:`\\|\\exp_u(\\log_u v) - v\\| / \\|v - u\\|`.
    dist_error : float
        :math:`|\\operatorname{dist}(u, \\exp_u(t\\xi)) - t\\|\\xi\\|| / (t\\|\\xi\\|)`.
    gradient : TaylorCheck
        The gradient Taylor test (expected slope 2).
    hessian : TaylorCheck
        The Hessian Taylor test, stepping with ``exp`` (expected slope 3).
    retraction : dict of str to TaylorCheck
        Retraction against ``exp``, for ``"chart"`` (expected slope 2) and
        ``"second_order"`` (expected slope 3).
    point : ndarray, shape (n_outputs,)
        The point the checks ran at.
    condition : float
        :math:`\\kappa(J)` at the point, which sets the identities'
        tolerances in :meth:`verdicts`.
    sweep_stop : float
        The first Taylor step whose geodesic or retraction left the chart,
        which ended the sweep; ``nan`` when every step stayed in it.
    solver_tolerance : float
        The relative tolerance of the manifold's iterative solves
        (:data:`manifolds.linalg.KRYLOV_TOL` for ``solver="krylov"``), 0 for
        the dense factorizations; it widens the identities' tolerances.

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold, check_manifold
    >>> X = np.random.default_rng(0).normal(size=(5, 2))
    >>> manifold = OutputManifold(
    ...     AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2), np.array([0.5, 0.1])
    ... )
    >>> result = check_manifold(
    ...     manifold, rng=np.random.default_rng(1), steps=np.logspace(-4, -1, 7)
    ... )
    >>> result.projection_idempotence < 1e-12, result.weingarten_identity < 1e-12
    (True, True)
    >>> {kind: round(slope, 1) for kind, slope in result.retraction_slopes.items()}
    {'chart': 2.0, 'second_order': 3.0}
    """

    projection_idempotence: float
    projection_symmetry: float
    tangency: float
    weingarten_identity: float
    exp_log_error: float
    dist_error: float
    gradient: TaylorCheck
    hessian: TaylorCheck
    retraction: dict = field(default_factory=dict)
    point: np.ndarray | None = None
    condition: float = math.nan
    sweep_stop: float = math.nan
    solver_tolerance: float = 0.0

    def verdicts(self) -> list[CheckVerdict]:
        r"""Each measured number against its criterion: pass, fail or unresolved.

        The projector identities and tangency, computed with the orthogonal
        factor of a QR factorization of :math:`J`, must hold to
        :math:`10^3\,\varepsilon`; the Weingarten identity, which solves
        with :math:`J`, to :math:`\tau = 10^3\,\varepsilon \max(1,
        \kappa(J))`; the exp/log and distance errors to
        :math:`\max(10^{-8}, \tau)`, with :math:`\kappa(J)` the condition
        number of :math:`J` at the point (``condition``); with iterative
        solves (``solver_tolerance`` > 0) each of these bounds is at least
        :math:`100\,\mathtt{solver\_tolerance}\max(1, \kappa(J))`. A Taylor slope
        must be at least its order less 0.25 (2 for the gradient and the
        chart retraction, 3 for the Hessian and the second-order retraction;
        a wrong derivative loses a whole order, while a steeper slope only
        means that the next Taylor coefficient is small), fitted on at least 5 steps whose error
        exceeds 100 times its round-off floor. With fewer, the slope is
        ``"unresolved"``: along the sampled steps the model is too accurate
        for float64 to show its error, or the steps leave the chart first,
        which says nothing against the geometry.

        Returns
        -------
        list of CheckVerdict
            In the order of the attributes.

        Examples
        --------
        >>> import autograd.numpy as anp
        >>> import numpy as np
        >>> from manifolds import AutogradOutputMap, OutputManifold, check_manifold
        >>> X = np.random.default_rng(0).normal(size=(5, 2))
        >>> manifold = OutputManifold(
        ...     AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2),
        ...     np.array([0.5, 0.1]),
        ... )
        >>> result = check_manifold(manifold, rng=np.random.default_rng(1))
        >>> [(v.name, v.status) for v in result.verdicts()][-4:]  # doctest: +NORMALIZE_WHITESPACE
        [('gradient Taylor slope', 'pass'), ('Hessian Taylor slope (exp)', 'pass'),
         ('chart retraction vs exp', 'pass'), ('second-order retraction vs exp', 'pass')]
        >>> result.status
        'pass'
        """
        kappa = self.condition if math.isfinite(self.condition) else 1.0
        # An iterative solve is accurate to its tolerance times cond J (the
        # condition being an estimate there, with a factor RESOLUTION of room).
        iterative = RESOLUTION * self.solver_tolerance * max(1.0, kappa)
        tau = max(IDENTITY_FACTOR * _EPS * max(1.0, kappa), iterative)
        geodesic = max(GEODESIC_TOLERANCE, tau)
        exact = max(IDENTITY_FACTOR * _EPS, iterative)  # orthogonal factors: no kappa
        rows = [
            _bounded("projection idempotence", self.projection_idempotence, exact),
            _bounded("projection symmetry", self.projection_symmetry, exact),
            _bounded("tangency", self.tangency, exact),
            _bounded("Weingarten identity", self.weingarten_identity, tau),
            _bounded("exp/log inverse error", self.exp_log_error, geodesic),
            _bounded("dist error", self.dist_error, geodesic),
            _slope("gradient Taylor slope", self.gradient, 2.0, self.sweep_stop),
            _slope("Hessian Taylor slope (exp)", self.hessian, 3.0, self.sweep_stop),
        ]
        if "chart" in self.retraction:
            rows.append(
                _slope(
                    "chart retraction vs exp",
                    self.retraction["chart"],
                    2.0,
                    self.sweep_stop,
                )
            )
        if "second_order" in self.retraction:
            rows.append(
                _slope(
                    "second-order retraction vs exp",
                    self.retraction["second_order"],
                    3.0,
                    self.sweep_stop,
                )
            )
        return rows

    @property
    def status(self) -> str:
        """``"fail"`` if a check fails, else ``"unresolved"`` if one is, else ``"pass"``."""
        statuses = {v.status for v in self.verdicts()}
        for status in ("fail", "unresolved"):
            if status in statuses:
                return status
        return "pass"

    @property
    def gradient_slope(self) -> float:
        """The fitted slope of the gradient Taylor test (2 when correct)."""
        return self.gradient.slope

    @property
    def hessian_slope(self) -> float:
        """The fitted slope of the Hessian Taylor test (3 when correct)."""
        return self.hessian.slope

    @property
    def retraction_slopes(self) -> dict:
        """The fitted slopes of each retraction against ``exp``."""
        return {kind: check.slope for kind, check in self.retraction.items()}


def _bounded(name: str, value: float, bound: float) -> CheckVerdict:
    expected = f"<= {bound:.1e}"
    if value <= bound:
        return CheckVerdict(name, value, expected, "pass")
    return CheckVerdict(
        name, value, expected, "fail", f"{value:.3e} exceeds {bound:.1e}"
    )


def _slope(
    name: str, check: TaylorCheck, order: float, sweep_stop: float = math.nan
) -> CheckVerdict:
    """A Taylor slope against its order: at least ``order - SLOPE_TOLERANCE``.

    Only a lower bound: a steeper slope means that the next coefficient of the
    Taylor expansion happens to be small along the sampled direction (the
    model is better than its order promises), never a wrong derivative,
    which shows as a slope one short of the order.
    """
    expected = f">= {order - SLOPE_TOLERANCE:g}"
    if not check.resolved:
        above = (
            check.errors > check.floor
            if check.floor is not None
            else np.ones(check.errors.size, bool)
        )
        note = (
            f"unresolved: the error exceeds {RESOLUTION:g}x its round-off floor "
            f"at only {int(above.sum())} of {check.errors.size} steps"
        )
        if above.sum() >= 2:
            x, y = np.log10(check.steps[above]), np.log10(check.errors[above])
            tail = float(np.polyfit(x, y, 1)[0])
            note += (
                f" (t in [{check.steps[above].min():.2g}, "
                f"{check.steps[above].max():.2g}], where it rises with slope "
                f"{tail:.2f})"
            )
        if above.sum() >= _MIN_RESOLVED and not check.reliable:
            note = (
                "unresolved: the errors above the round-off floor do not follow "
                f"a power law (RMS residual {check.residual:.2f} decades)"
            )
        if math.isfinite(sweep_stop):
            note += (
                f"; the sweep ended at t = {sweep_stop:.2g}, where the geodesic "
                "or a retraction left the chart"
            )
        return CheckVerdict(name, math.nan, expected, "unresolved", note)
    if check.slope >= order - SLOPE_TOLERANCE:
        return CheckVerdict(name, check.slope, expected, "pass")
    return CheckVerdict(
        name,
        check.slope,
        expected,
        "fail",
        f"slope {check.slope:.3f} < {order - SLOPE_TOLERANCE:g}: the model "
        f"error is of order {round(check.slope)}, not {order:g}",
    )


def _default_problem(manifold, point: np.ndarray, rng: np.random.Generator):
    r"""A non-quadratic cost with a normal gradient component: :math:`\sum_j \log\cosh(u_j - y_j)`."""
    import pymanopt

    scale = max(1.0, norm(point) / math.sqrt(point.size))
    target = point + scale * rng.standard_normal(point.size)

    @pymanopt.function.numpy(manifold)
    def cost(u):
        r = u - target
        return float(np.sum(np.logaddexp(r, -r) - math.log(2.0)))

    @pymanopt.function.numpy(manifold)
    def euclidean_gradient(u):
        return np.tanh(u - target)

    @pymanopt.function.numpy(manifold)
    def euclidean_hessian(u, v):
        e = np.exp(-2.0 * np.abs(u - target))  # sech^2 r = 4e^{-2|r|}/(1+e^{-2|r|})^2
        return v * 4.0 * e / (1.0 + e) ** 2

    return pymanopt.Problem(
        manifold,
        cost,
        euclidean_gradient=euclidean_gradient,
        euclidean_hessian=euclidean_hessian,
    )


def check_manifold(
    manifold,
    point=None,
    *,
    problem=None,
    rng: np.random.Generator | None = None,
    steps=None,
    n_samples: int = 5,
) -> ManifoldCheckResult:
    r"""Check the geometry of an :class:`~manifolds.OutputManifold` numerically.

    At a point :math:`u`, it measures the identities of the projector
    (:math:`P^2 = P = P^\top`), the tangency of what the manifold returns,
    the Weingarten identity :math:`\langle W(\xi,\nu),\zeta\rangle_u =
    \langle \mathrm{II}(\xi,\zeta),\nu\rangle_u`, the inverse pair
    :math:`\exp`/:math:`\log` and the distance, then three Taylor tests
    along :math:`\xi = J\delta` for a random unit vector :math:`\delta` of
    parameter space (so :math:`\|J^+\xi\| = 1`, and :math:`\|\xi\|` is a
    typical length on the manifold, not its smallest):

    .. math::

        E_{\mathrm{grad}}(t) &= \left|h(R_u(t\xi)) - h(u)
            - t\langle \operatorname{grad} h(u), \xi\rangle_u\right|
            = O(t^2), \\
        E_{\mathrm{Hess}}(t) &= \left|h(\exp_u(t\xi)) - h(u)
            - t\langle \operatorname{grad} h(u), \xi\rangle_u
            - \tfrac{t^2}{2}\langle \operatorname{Hess} h(u)[\xi], \xi\rangle_u\right|
            = O(t^3), \\
        E_R(t) &= \|R_u(t\xi) - \exp_u(t\xi)\|_2
            = O(t^2) \text{ (chart)}, \ O(t^3) \text{ (second order)},

    where :math:`R_u` is the manifold's own retraction in
    :math:`E_{\mathrm{grad}}` and each kind in turn in :math:`E_R`,
    :math:`\langle a, b\rangle_u = c\, a^\top b` is the manifold's metric
    (weight :math:`c`) and :math:`h` is the cost of ``problem``. Each slope
    is fitted by :func:`~manifolds.fit_loglog_slope` on the steps whose error
    exceeds 100 times its round-off floor, :math:`\varepsilon`
    times the sum of the magnitudes of the terms that cancel in it; the
    floors are in each ``TaylorCheck.floor``, and
    :meth:`ManifoldCheckResult.verdicts` calls a slope fitted on fewer than 5
    such steps unresolved. A step whose geodesic or retraction leaves the
    chart ends the sweep; the fits use the steps before it.

    Parameters
    ----------
    manifold : OutputManifold
        The manifold to check.
    point : ndarray, shape (n_outputs,), optional
        Where to check; by default a :meth:`~manifolds.OutputManifold.random_point`.
    problem : pymanopt.Problem, optional
        The cost for the gradient and Hessian Taylor tests. By default
        :math:`h(u) = \sum_j \log\cosh(u_j - y_j)` with a random target
        :math:`y` off the manifold, so that the gradient has a normal part and
        the Weingarten term of the Hessian is exercised.
    rng : numpy.random.Generator, optional
        The source of random points and directions. Pass a seeded generator
        for reproducible numbers.
    steps : array_like, shape (k,), optional
        Step lengths of the Taylor tests (at least 5), in units where the direction has
        :math:`\|J^+\xi\| = 1` (unit length in parameter space). By default
        ``logspace(-8, 0, 33)``, capped at a quarter of the radius.
    n_samples : int, default 5
        The number of random vectors for the identity checks.

    Returns
    -------
    ManifoldCheckResult

    Raises
    ------
    ValueError
        If ``point`` has the wrong shape or is not finite, ``steps`` holds
        fewer than 5 positive step lengths, or ``n_samples`` is not positive.
    TypeError
        If ``manifold`` is not an :class:`~manifolds.OutputManifold`, or
        ``rng`` is not a ``numpy.random.Generator``.
    ~manifolds.ManifoldError
        If fewer than 5 Taylor steps stay in the chart (pass shorter
        ``steps``); its subclasses propagate from the manifold when ``point``
        is not on it or the exp/log check fails.

    Examples
    --------
    Short steps keep the example fast; the default sweep spans
    :math:`10^{-8}` to :math:`1`.

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from manifolds import AutogradOutputMap, OutputManifold, check_manifold
    >>> X = np.random.default_rng(0).normal(size=(5, 2))
    >>> manifold = OutputManifold(
    ...     AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2), np.array([0.5, 0.1])
    ... )
    >>> result = check_manifold(
    ...     manifold, rng=np.random.default_rng(1), steps=np.logspace(-4, -1, 7)
    ... )
    >>> bool(abs(result.gradient_slope - 2) < 0.1), bool(abs(result.hessian_slope - 3) < 0.1)
    (True, True)
    """
    if not isinstance(manifold, OutputManifold):
        raise TypeError(
            "`manifold` must be a manifolds.OutputManifold, got "
            f"{type(manifold).__name__}"
        )
    rng = np.random.default_rng() if rng is None else check_generator(rng)
    n_samples = check_positive_int("n_samples", n_samples)
    u = (
        manifold.random_point(rng=rng)
        if point is None
        else as_finite_vector("point", point, manifold.ambient_dim)
    )
    if problem is None:
        problem = _default_problem(manifold, u, rng)
    idempotence, symmetry, tangency, weingarten = _identities(
        manifold, u, rng, n_samples
    )
    gradient = problem.riemannian_gradient(u)
    tangency = max(tangency, _off_tangent(manifold, u, gradient))

    # Taylor tests along a direction of unit length in parameter space.
    # xi = J delta for a random unit delta: unit length in parameter space, as
    # the steps are measured, and a typical length on M. (A random tangent
    # vector rescaled to |J^+ xi| = 1 instead lies along the smallest singular
    # directions: at cond J ~ 1e6 its output length is ~3e-5 and the Hessian
    # Taylor error stays below round-off for every step up to t = 0.1.)
    delta = rng.standard_normal(manifold.dim)
    xi = manifold.chart_to_tangent(u, delta / norm(delta))
    if steps is None:
        top = 1.0 if manifold.radius is None else min(1.0, manifold.radius / 4)
        steps = top * np.logspace(-8, 0, 33)
    steps = np.sort(as_finite_vector("steps", steps))
    if steps.size < 5 or steps[0] <= 0:
        raise ValueError(
            f"`steps` must hold at least 5 positive step lengths, got {describe(steps)}"
        )
    steps, taylor, sweep_stop = _taylor_sweep(manifold, u, problem, gradient, xi, steps)
    exp_log, dist_error = _geodesic_errors(
        manifold, u, float(steps[len(steps) * 3 // 4]), xi
    )
    return ManifoldCheckResult(
        projection_idempotence=idempotence,
        projection_symmetry=symmetry,
        tangency=tangency,
        weingarten_identity=weingarten,
        exp_log_error=float(exp_log),
        dist_error=float(dist_error),
        gradient=taylor["gradient"],
        hessian=taylor["hessian"],
        retraction={kind: taylor[kind] for kind in ("chart", "second_order")},
        point=u.copy(),
        condition=float(manifold.rank_info(manifold.lift(u)).condition_number),
        sweep_stop=sweep_stop,
        solver_tolerance=(
            KRYLOV_TOL if getattr(manifold, "solver", "dense") == "krylov" else 0.0
        ),
    )


def _off_tangent(manifold, u, vector) -> float:
    r""":math:`\|P^\perp v\| / \|v\|` (0 for :math:`v = 0`)."""
    size = norm(vector)
    if size == 0.0:
        return 0.0
    return norm(vector - manifold.projection(u, vector)) / size


def _identities(manifold, u, rng, n_samples: int):
    """The projector identities, tangency and the Weingarten identity at ``u``."""
    n = manifold.ambient_dim
    idempotence = symmetry = tangency = 0.0
    for _ in range(n_samples):
        a, b = rng.standard_normal(n), rng.standard_normal(n)
        pa, pb = manifold.projection(u, a), manifold.projection(u, b)
        idempotence = max(
            idempotence,
            norm(manifold.projection(u, pa) - pa) / norm(a),
        )
        symmetry = max(
            symmetry,
            abs(float(a @ pb - b @ pa)) / (norm(a) * norm(b)),
        )
    weingarten = 0.0
    for _ in range(n_samples):
        xi = manifold.random_tangent_vector(u, rng=rng)
        zeta = manifold.random_tangent_vector(u, rng=rng)
        z = rng.standard_normal(n)
        nu = z - manifold.projection(u, z)
        w = manifold.weingarten(u, xi, nu)
        second = manifold.second_fundamental_form(u, xi, zeta)
        lhs, rhs = (
            manifold.inner_product(u, w, zeta),
            manifold.inner_product(u, second, nu),
        )
        scale = manifold.norm(u, w) * manifold.norm(u, zeta) + manifold.norm(
            u, second
        ) * manifold.norm(u, nu)
        weingarten = max(weingarten, abs(lhs - rhs) / scale if scale > 0 else 0.0)
        tangency = max(
            tangency, _off_tangent(manifold, u, xi), _off_tangent(manifold, u, w)
        )
    return idempotence, symmetry, tangency, weingarten


def _taylor_sweep(manifold, u, problem, gradient, xi, steps):
    """The Taylor errors from the shortest step up, until a step leaves the chart."""
    cost0 = problem.cost(u)
    slope0 = manifold.inner_product(u, gradient, xi)
    curvature0 = manifold.inner_product(u, problem.riemannian_hessian(u, xi), xi)
    # A step whose geodesic or retraction leaves the chart (a ManifoldError)
    # ends the sweep, and the fits use the steps before.
    errors = {"gradient": [], "hessian": [], "chart": [], "second_order": []}
    floors = {kind: [] for kind in errors}
    reached = []
    sweep_stop = math.nan
    for t in steps:
        try:
            end = manifold.exp(u, t * xi)
            retracted = manifold.retraction(u, t * xi)
            by_kind = {
                kind: manifold.retract(u, t * xi, kind=kind)
                for kind in ("chart", "second_order")
            }
        except ManifoldError:
            sweep_stop = float(t)
            break
        reached.append(t)
        cost_r, cost_e = problem.cost(retracted), problem.cost(end)
        linear, quadratic = t * slope0, 0.5 * t**2 * curvature0
        errors["gradient"].append(abs(cost_r - cost0 - linear))
        errors["hessian"].append(abs(cost_e - cost0 - linear - quadratic))
        # The round-off floor of each error: eps times the terms that cancel.
        floors["gradient"].append(_EPS * (abs(cost_r) + abs(cost0) + abs(linear)))
        floors["hessian"].append(
            _EPS * (abs(cost_e) + abs(cost0) + abs(linear) + abs(quadratic))
        )
        for kind, point_t in by_kind.items():
            errors[kind].append(norm(point_t - end))
            floors[kind].append(_EPS * (norm(point_t) + norm(end)))
    if len(reached) < 5:
        raise ManifoldError(
            f"check_manifold: only {len(reached)} of the Taylor steps stay in the "
            "chart; pass shorter `steps`"
        )
    steps = np.asarray(reached)
    taylor = {kind: _resolved_fit(steps, errors[kind], floors[kind]) for kind in errors}
    return steps, taylor, sweep_stop


def _geodesic_errors(manifold, u, t: float, xi) -> tuple[float, float]:
    """The exp/log inverse error and the distance error at the step ``t``."""
    v = manifold.exp(u, t * xi)
    recovered = manifold.log(u, v)
    exp_log = max(
        manifold.norm(u, recovered - t * xi) / manifold.norm(u, t * xi),
        norm(manifold.exp(u, recovered) - v) / norm(v - u),
    )
    dist_error = abs(manifold.dist(u, v) - t * manifold.norm(u, xi)) / (
        t * manifold.norm(u, xi)
    )
    return exp_log, dist_error


def _resolved_fit(steps, errors, floors) -> TaylorCheck:
    """:func:`fit_loglog_slope` on the errors above ``RESOLUTION`` x their floor."""
    errors = np.asarray(errors, dtype=float)
    floor = RESOLUTION * np.asarray(floors, dtype=float)
    fit = fit_loglog_slope(steps, np.where(errors > floor, errors, 0.0))
    return TaylorCheck(
        fit.steps, errors, fit.slope, fit.window, fit.residual, fit.reliable, floor
    )
