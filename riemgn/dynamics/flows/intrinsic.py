r"""The intrinsic Riemannian gradient flow :math:`u' = -\operatorname{grad} h(u)` on a manifold.

The flow is integrated on the manifold itself, through its interface only,
the way pymanopt's optimizers reach a manifold: ``euclidean_to_riemannian_gradient``,
``retraction``, ``norm`` and, for schemes of order above one,
``retraction_differential_inverse``. It never forms a parameter-space
velocity :math:`J^+\nabla h`, so comparing it with the Gauss-Newton flow in
parameter space tests the equivalence of the two (claim C1) instead of
re-deriving it.

Developer notes
---------------
*Retraction Runge-Kutta (Munthe-Kaas).* Near :math:`u_k`, write the flow in
the tangent space :math:`T_{u_k}M` through the retraction,
:math:`u(t_k + \tau) = R_{u_k}(\xi(\tau))`. Differentiating gives the
pulled-back ODE

.. math::

    \xi' = f(\xi) = \big(DR_{u_k}(\xi)\big)^{-1}\big[-\operatorname{grad}
    h(R_{u_k}(\xi))\big], \qquad \xi(0) = 0,

an ODE on the fixed vector space :math:`T_{u_k}M`. One step of an explicit
Runge-Kutta scheme with tableau :math:`(a_{ij}, b_i)` applied to it reads

.. math::

    \xi_i = h\sum_{j<i} a_{ij} k_j, \quad
    k_i = \big(DR_{u_k}(\xi_i)\big)^{-1}\big[-\operatorname{grad} h(R_{u_k}(\xi_i))\big],
    \quad u_{k+1} = R_{u_k}\Big(h \sum_i b_i k_i\Big),

where :math:`k_1 = -\operatorname{grad} h(u_k)` (:math:`DR_{u_k}(0)` is the
identity on :math:`T_{u_k}M`). Because the scheme is the classical one on a
smooth ODE, and :math:`R_{u_k}` is smooth, the order is the scheme's
classical order, for the chart and the second-order retraction alike.

*Why the inverse differential.* If the stage vectors are carried back to
:math:`T_{u_k}M` by projection, :math:`k_i = P_{u_k}[-\operatorname{grad}
h(U_i)]`, then :math:`k_i` differs from :math:`f(\xi_i)` by :math:`O(\|\xi_i\|)
= O(h)` for a first-order retraction (the chart retraction), the local error
is :math:`O(h^2)`, and Heun and RK4 both collapse to **order 1**. With a
second-order retraction, projection transport gives at most order 2.

*Schemes.* Butcher tableaux (:math:`c \mid A`, then :math:`b`):

* ``"euler"``, order 1: :math:`c = (0)`, :math:`b = (1)`. It needs no inverse
  differential: :math:`u_{k+1} = R_{u_k}(-h\operatorname{grad} h(u_k))`.
* ``"heun"`` (explicit trapezoid), order 2: :math:`c = (0, 1)`,
  :math:`a_{21} = 1`, :math:`b = (\tfrac12, \tfrac12)`.
* ``"rk4"`` (classical), order 4: :math:`c = (0, \tfrac12, \tfrac12, 1)`,
  :math:`a_{21} = \tfrac12`, :math:`a_{32} = \tfrac12`, :math:`a_{43} = 1`,
  :math:`b = (\tfrac16, \tfrac13, \tfrac13, \tfrac16)`.

*Adaptive steps.* With ``step="adaptive"`` the embedded Heun-Euler pair
controls the local error in **output space**: the Euler result
:math:`R_{u_k}(hk_1)` is Heun's second stage point, so the estimate
:math:`u^{heun}_{k+1} - u^{euler}_{k+1}` costs nothing extra. Parameter-space
solvers control the error in :math:`\theta`, where :math:`J^+` amplifies
directions that barely move :math:`u`; here the error is measured where the
dynamics live. The step is advanced with the Heun result (local
extrapolation).

*Events.* The manifold raises; the flow turns the exception into a status and
stops at the last good sample: :class:`~manifolds.OutsideBallError`
is ``left_region``, :class:`~manifolds.NotAnImmersionError` is
``rank_loss``, a non-finite gradient, loss or output map (or an overflow) is
``blow_up``, and a singular inverse differential
(``numpy.linalg.LinAlgError``), a point the manifold cannot lift or a failed
geodesic is ``solver_failed``. Only these *domain* errors become a status:
a ``TypeError``, a wrong shape or any other ``ValueError`` (a bug in the
loss or the manifold) propagates with its own message. A model that is
not finite at a new chart raises the manifold's ``NonFiniteError``, an
``OverflowError``, and is read as ``blow_up``. A sample is recorded only once its Riemannian gradient is
known, so every recorded array is finite.

*Convergence at rest.* The loss is a Lyapunov function of the flow,
:math:`\tfrac{d}{dt}h(u) = -\|\operatorname{grad} h(u)\|_u^2 \le 0`. With
the adaptive step, whose error control bounds every step's error, a step
that does not decrease the loss shows that the decrease it should bring is
below the error of the computation (the local error tolerance, or the
rounding of :math:`h`). As for the parameter-space flows, a step is *at
rest* when, besides, :math:`u` moved by at most ``REST_MOTION = 10`` error
tolerances (the RMS of :math:`\Delta u_i / (atol + rtol|u_i|)`): near a
minimum with :math:`h^* > 0` the loss stops changing in float64 well before
the state does. With the default ``ftol = 0`` the flow stops with
``converged`` after five consecutive steps at rest (``REST_STEPS``),
unless the end is less than one step away. A
fixed step has no error control, and a step beyond the scheme's stability
region makes the loss *grow*: there a step is at rest only when the loss
is unchanged to rounding (:math:`|\Delta h| \le \max(ftol, 4\epsilon)\,h`)
and :math:`\|\Delta u\| \le 10 \cdot 4\epsilon\,\|u\|`; otherwise the run
goes on to ``t1``, whose step count is checked against ``max_steps`` up
front.

*Cost.* Each stage costs one retraction (one evaluation of :math:`F`), one
Riemannian gradient at the new point (one factorization of :math:`J`
there; :class:`~manifolds.OutputManifold` caches it) and one inverse
differential, which on :class:`~manifolds.OutputManifold` re-evaluates
:math:`F` once to find the cached chart of the stage point and reuses its
factors (plus :math:`p` second derivatives and a :math:`p \times p` solve for
the second-order retraction).

*Shared charts.* Every point is factorized once: the first stage is at the
step's start, whose chart and gradient the step before computed (the
reference chart for the first step), the inverse differentials reuse the
charts of the base point and of the stage point, and the step's end is the
next step's start. A scheme with :math:`s` stages therefore factorizes
:math:`s` new points per step, :math:`s - 1` stage points and the end
(``tests/riemgn/test_flows_reuse.py`` counts them); the adaptive pair, two
per accepted step and one per rejected one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from manifolds.exceptions import (
    ManifoldError,
    NotOnManifoldError,
)
from manifolds.validation import (
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    describe,
)
from riemgn._checks import (
    DOMAIN_ERRORS,
    check_loss,
    check_rtol,
    check_t_span,
    safe_norm,
)
from riemgn._checks import (
    QUIET as _QUIET,
)
from riemgn.dynamics.flows._integrate import (
    REST_MOTION,
    REST_STEPS,
    RestTest,
    finite_record,
    status_of,
)
from riemgn.dynamics.flows.trajectory import FLOW_MESSAGES, FlowStatus, Trajectory

__all__ = ["SCHEMES", "riemannian_gradient_flow"]


@dataclass(frozen=True)
class _Tableau:
    """An explicit Runge-Kutta tableau: strictly lower ``a``, weights ``b``."""

    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    order: int


#: The explicit Runge-Kutta schemes, by name (see the module notes).
SCHEMES = {
    "euler": _Tableau(a=((),), b=(1.0,), order=1),
    "heun": _Tableau(a=((), (1.0,)), b=(0.5, 0.5), order=2),
    "rk4": _Tableau(
        a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
        b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
        order=4,
    ),
}

# Controller constants of the adaptive Heun-Euler pair (Hairer, Norsett and
# Wanner, Solving ODEs I, II.4).
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 5.0
# How many times an event inside a trial step may shrink an adaptive step
# (by 4 each time) before it is reported.
_EVENT_RETRIES = 4


class _NonFinite(Exception):
    """A quantity of the flow is no longer finite."""


# The relative rounding of a loss value: a fixed-step run rests only when the
# loss changes by less than this (or ftol) over REST_STEPS steps.
_ROUNDING = 4 * float(np.finfo(np.float64).eps)


def _manifold_call(function, *args):
    """Call a manifold method with numpy's floating-point warnings silenced.

    Domain errors (``ManifoldError``, ``LinAlgError``, ``OverflowError``, the
    last including the manifold's error for a model that is not finite)
    reach the caller, which makes them a status; any other error, a wrong
    shape for instance, is a bug and propagates unchanged.
    """
    with np.errstate(**_QUIET):
        return function(*args)


def _finite_vector(what: str, value, n: int) -> np.ndarray:
    """A float64 vector of shape (n,); ``_NonFinite`` if it holds NaN or inf."""
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (n,):
        raise ValueError(f"{what} returned shape {value.shape}, expected ({n},)")
    if not np.all(np.isfinite(value)):
        raise _NonFinite(f"{what} is not finite")
    return value


class _Flow:
    """The manifold, the loss and the counts of one run."""

    def __init__(self, manifold, loss, n: int):
        self.manifold = manifold
        self.loss = loss
        self.n = n
        self.second_order = getattr(manifold, "retraction_kind", None) == "second_order"
        self.n_retractions = 0
        self.n_gradients = 0
        self.n_inverses = 0

    def gradient(self, u: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            euclidean = self.loss.gradient(u)
        euclidean = _finite_vector("`loss.gradient`", euclidean, self.n)
        self.n_gradients += 1
        gradient = _manifold_call(
            self.manifold.euclidean_to_riemannian_gradient,
            u,
            euclidean,
        )
        return _finite_vector("the Riemannian gradient", gradient, self.n)

    def retract(self, u: np.ndarray, xi: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(xi)):
            raise _NonFinite("the step's tangent vector is not finite")
        self.n_retractions += 1
        point = _manifold_call(self.manifold.retraction, u, xi)
        return _finite_vector("the retraction", point, self.n)

    def pull_back(
        self, u: np.ndarray, xi: np.ndarray, vector: np.ndarray
    ) -> np.ndarray:
        self.n_inverses += 1
        zeta = _manifold_call(
            self.manifold.retraction_differential_inverse,
            u,
            xi,
            vector,
        )
        return _finite_vector(
            "the inverse differential of the retraction", zeta, self.n
        )

    def norm(self, u: np.ndarray, gradient: np.ndarray) -> float:
        value = _manifold_call(self.manifold.norm, u, gradient)
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise TypeError(
                f"`manifold.norm` must return a float, got {describe(value)}"
            )
        value = float(value)
        if not math.isfinite(value):
            raise _NonFinite(f"the Riemannian gradient norm is {value}")
        return value

    def loss_value(self, u: np.ndarray) -> float:
        with np.errstate(**_QUIET):
            value = float(self.loss.value(u))
        if not math.isfinite(value):
            raise _NonFinite(f"the loss is not finite: h(u) = {value}")
        return value

    def stages(self, u, k1, h, tableau: _Tableau):
        """The stage vectors ``k_i`` in T_uM and their points ``U_i`` (U_1 = u)."""
        ks, points = [k1], [u]
        for row in tableau.a[1:]:
            with np.errstate(**_QUIET):
                xi = h * sum(a * k for a, k in zip(row, ks, strict=True) if a != 0.0)
            U = self.retract(u, xi)
            ks.append(self.pull_back(u, xi, -self.gradient(U)))
            points.append(U)
        return ks, points

    def step(self, u, k1, h, tableau: _Tableau) -> np.ndarray:
        ks, _ = self.stages(u, k1, h, tableau)
        with np.errstate(**_QUIET):
            xi = h * sum(b * k for b, k in zip(tableau.b, ks, strict=True))
        return self.retract(u, xi)

    def counts(self) -> dict:
        # A gradient at a new point factorizes that point's J once (the chart
        # is cached); at a point already factorized it costs none, so this
        # is an upper bound. The second-order retraction adds a (p, p) SVD
        # solve per inverse differential.
        inverse_solves = self.n_inverses if self.second_order else 0
        return {
            "n_value_evals": self.n_retractions + self.n_inverses,
            "n_jacobian_evals": self.n_gradients,
            "n_linear_solves": self.n_gradients + inverse_solves,
        }


def _status_of(error: BaseException) -> FlowStatus:
    # A singular inverse differential, NotOnManifoldError and GeodesicError
    # are failures of the integration; non-finite values or an overflow are
    # blow_up.
    return status_of(error, solver_errors=(np.linalg.LinAlgError, ManifoldError))


# The domain errors that end a run with a status; anything else propagates.
_EVENTS = (_NonFinite, *DOMAIN_ERRORS)


def _event_message(error, t: float, h: float) -> tuple[FlowStatus, str]:
    status = _status_of(error)
    return status, (
        f"{FLOW_MESSAGES[status]} at t = {t:.6g}, in the step to t = {t + h:.6g}: "
        f"{type(error).__name__}: {error}"
    )


# ----------------------------------------------------------------------
# Validation


def _check_manifold(manifold, tableau: _Tableau, scheme: str) -> int | None:
    """Check the interface; return the manifold's ``ambient_dim`` if it has one."""
    needed = ["euclidean_to_riemannian_gradient", "retraction", "norm"]
    missing = [name for name in needed if not callable(getattr(manifold, name, None))]
    if missing:
        raise TypeError(
            f"`manifold` must provide {', '.join(needed)}, got "
            f"{type(manifold).__name__} without {', '.join(missing)}"
        )
    if tableau.order > 1 and not callable(
        getattr(manifold, "retraction_differential_inverse", None)
    ):
        raise TypeError(
            f"scheme {scheme!r} needs manifold.retraction_differential_inverse to "
            f"carry its stages back to the tangent space, and "
            f"{type(manifold).__name__} has none; use scheme='euler'"
        )
    n = getattr(manifold, "ambient_dim", None)
    return None if n is None else int(n)


def _start(flow: _Flow, u0: np.ndarray):
    """The loss and the Riemannian gradient at ``u0``, with errors that name it."""
    try:
        value = flow.loss_value(u0)
    except (_NonFinite, OverflowError) as error:
        raise ValueError(f"the loss is not finite at `u0`: {error}") from None
    try:
        gradient = flow.gradient(u0)
        params = _lift(flow.manifold, u0)
    except NotOnManifoldError as error:
        raise NotOnManifoldError(f"`u0` is not on the manifold: {error}") from error
    except ManifoldError as error:
        raise type(error)(f"the flow cannot start at `u0`: {error}") from error
    except (_NonFinite, OverflowError, np.linalg.LinAlgError) as error:
        raise ValueError(f"the flow cannot start at `u0`: {error}") from None
    return value, gradient, params


def _lift(manifold, u):
    lift = getattr(manifold, "lift", None)
    if lift is None:
        return None
    params = np.asarray(_manifold_call(lift, u), dtype=np.float64)
    if not np.all(np.isfinite(params)):
        raise _NonFinite("the lift theta(u) is not finite")
    return params


# ----------------------------------------------------------------------
# The flow


def riemannian_gradient_flow(
    manifold,
    loss,
    u0,
    t_span,
    *,
    step: float | str,
    scheme: str | None = None,
    gtol: float | None = None,
    ftol: float | None = 0.0,
    max_steps: int = 100_000,
    rtol: float | None = None,
    atol: float | None = None,
    first_step: float | None = None,
) -> Trajectory:
    r"""Integrate the Riemannian gradient flow :math:`u' = -\operatorname{grad} h(u)` intrinsically.

    A retraction Runge-Kutta scheme (Munthe-Kaas) on ``manifold``: each step
    works in :math:`T_{u_k}M`,

    .. math::

        \xi_i = h\sum_{j<i} a_{ij} k_j, \qquad
        k_i = \big(DR_{u_k}(\xi_i)\big)^{-1}\big[-\operatorname{grad}
        h(R_{u_k}(\xi_i))\big], \qquad
        u_{k+1} = R_{u_k}\Big(h\sum_i b_i k_i\Big),

    where

    * :math:`R` is ``manifold.retraction`` and :math:`(DR_{u_k}(\xi))^{-1}`
      is ``manifold.retraction_differential_inverse``;
    * :math:`\operatorname{grad} h(u) = \tfrac1c P_u\nabla h(u)` is
      ``manifold.euclidean_to_riemannian_gradient(u, loss.gradient(u))``;
    * :math:`(a_{ij}, b_i)` is the scheme's Butcher tableau and :math:`h` the
      step (see the module notes for the tableaux).

    The order is the scheme's classical order: 1 (``"euler"``), 2
    (``"heun"``), 4 (``"rk4"``), for any smooth retraction. Carrying the
    stages back by projection instead would drop Heun and RK4 to order 1
    with the chart retraction.

    Parameters
    ----------
    manifold : manifolds.OutputManifold or pymanopt-style manifold
        Used only through ``euclidean_to_riemannian_gradient``,
        ``retraction``, ``norm``, ``retraction_differential_inverse`` (schemes
        of order above one) and, if present, ``lift`` (to record
        :math:`\theta(u)`) and ``retraction_kind``.
    loss : loss on outputs
        E.g. :class:`riemgn.losses.SquaredLoss`, with ``n_outputs`` equal to
        the manifold's ``ambient_dim``.
    u0 : ndarray, shape (n_outputs,)
        The initial point, on the manifold (e.g. ``manifold.point(theta0)``).
    t_span : tuple of float
        ``(t0, t1)`` with ``t0 < t1``.
    step : float or "adaptive"
        A fixed step :math:`h > 0`: the samples are :math:`t_0 + kh`, and the
        last step is shortened to end exactly at ``t1``. ``"adaptive"``: the
        embedded Heun-Euler pair with error control in output space; every
        accepted step is a sample.
    scheme : {"euler", "heun", "rk4"}, optional
        The Runge-Kutta scheme; ``"rk4"`` by default with a fixed step. The
        adaptive step uses ``"heun"`` (the default there, and the only
        choice).
    gtol : float, optional
        Stop with ``converged`` at the first sample where the Riemannian
        gradient norm :math:`\|\operatorname{grad} h(u)\|_u = \|u'\|_u` is at
        most ``gtol``.
    ftol : float or None, default 0.0
        Stop with ``converged`` when the flow is at rest: in each of five
        consecutive steps (``REST_STEPS``) the loss decreased by at most
        ``ftol`` :math:`h` and :math:`u` moved by at most ten times the
        step's resolution (its error tolerance; rounding for a fixed step).
        The default 0 fires only once the flow no longer changes at working
        precision (see the module notes). ``None`` disables the test.
    max_steps : int, default 100000
        The budget of steps. A fixed step that needs more raises at once; an
        adaptive run that exhausts it ends with ``solver_failed``.
    rtol, atol : float, optional
        The adaptive step's tolerances (defaults ``1e-6`` and ``1e-9``): a
        step is accepted when the RMS over outputs of :math:`|u^{heun}_i -
        u^{euler}_i| / (atol + rtol \max(|u_i|, |u^{heun}_i|))` is at most 1.
        Only with ``step="adaptive"``; ``rtol`` must be at least
        :math:`100\epsilon \approx 2.2 \times 10^{-14}`, which float64 can
        meet. A step size that falls below the spacing of the floats near
        :math:`t` ends the run with ``solver_failed`` ("step size
        underflow").
    first_step : float, optional
        The adaptive step's first trial step; estimated from
        :math:`\|u_0\|/\|\operatorname{grad} h(u_0)\|` by default.

    Returns
    -------
    Trajectory
        ``times``, ``outputs``, ``losses`` and ``params`` (``manifold.lift``
        of each sample, from the cached charts; ``None`` for a manifold
        without ``lift``), ``extras["gradient_norm"]`` (the Riemannian
        gradient norm at each sample), the status and message, and the
        counts: ``n_value_evals`` counts the retractions and inverse
        differentials (one evaluation of :math:`F` each on an
        :class:`~manifolds.OutputManifold`), ``n_jacobian_evals`` the
        Riemannian gradients (each factorizes :math:`J` at most once at its
        point, so this is an upper bound on the QR factorizations), and
        ``n_linear_solves`` those factorizations plus, for the second-order
        retraction, one :math:`p \times p` solve per inverse differential.
        ``method`` is ``"riemannian/<scheme>/<retraction_kind>"``.

        The run stops at the last good sample with status ``left_region``
        (a retraction left the ball), ``rank_loss`` (:math:`J` lost rank at a
        new point), ``blow_up`` (a gradient, loss or output is not finite) or
        ``solver_failed`` (a singular inverse differential, or an exhausted
        adaptive budget); the message names the event, the time and the
        manifold's error text.

    Raises
    ------
    ValueError
        For a reversed or non-finite ``t_span``, a ``step`` that is not
        positive (or below the spacing of the floats in ``t_span``), an
        unknown ``scheme``, a loss whose ``n_outputs`` does not match the
        manifold, a non-finite loss at ``u0``, ``rtol``/``atol`` with a fixed
        step, an ``rtol`` below :math:`100\epsilon`, or more than
        ``max_steps`` fixed steps.
    manifolds.NotOnManifoldError
        If ``u0`` is not on the manifold (likewise
        :class:`manifolds.OutsideBallError` and
        :class:`manifolds.NotAnImmersionError` if the flow cannot start at
        ``u0``).
    TypeError
        If ``manifold`` or ``loss`` lacks a method the flow needs.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import OutputManifold
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2))
    >>> network = TwoLayerNetwork(2, 3)
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(X)
    >>> manifold = OutputManifold(F, theta0)
    >>> y = F.value(theta0 + 0.1 * rng.normal(size=6))
    >>> trajectory = riemannian_gradient_flow(
    ...     manifold, SquaredLoss(y), manifold.point(theta0), (0.0, 5.0), step=0.1
    ... )
    >>> trajectory.method, trajectory.status.value, len(trajectory)
    ('riemannian/rk4/chart', 't_end', 51)
    >>> bool(trajectory.losses[-1] < 1e-4 * trajectory.losses[0])
    True
    """
    adaptive = isinstance(step, str)
    if adaptive:
        if step != "adaptive":
            raise ValueError(
                f"`step` must be a positive number or 'adaptive', got {describe(step)}"
            )
        scheme = "heun" if scheme is None else scheme
        if scheme != "heun":
            raise ValueError(
                "`step='adaptive'` uses the embedded Heun-Euler pair: pass "
                f"scheme='heun' or leave it out, got scheme={describe(scheme)}"
            )
    else:
        step = check_positive_real("step", step)
        scheme = "rk4" if scheme is None else scheme
        for name, value in (("rtol", rtol), ("atol", atol), ("first_step", first_step)):
            if value is not None:
                raise ValueError(
                    f"`{name}` only applies with step='adaptive', got {name}="
                    f"{describe(value)} with the fixed step {step:g}"
                )
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(
            f"`scheme` must be one of {tuple(SCHEMES)}, got {describe(scheme)}"
        )
    tableau = SCHEMES[scheme]
    n = _check_manifold(manifold, tableau, scheme)
    n = check_loss(loss, n, where="the manifold's points")
    u0 = as_finite_vector("u0", u0, n).copy()
    t0, t1 = check_t_span(t_span)
    if gtol is not None:
        gtol = check_positive_real("gtol", gtol)
    if ftol is not None:
        ftol = check_positive_real("ftol", ftol, allow_zero=True)
    max_steps = check_positive_int("max_steps", max_steps)

    if adaptive:
        rtol = 1e-6 if rtol is None else check_rtol("rtol", rtol)
        atol = 1e-9 if atol is None else check_positive_real("atol", atol)
        if first_step is not None:
            first_step = check_positive_real("first_step", first_step)
    else:
        spacing = float(np.spacing(max(abs(t0), abs(t1))))
        if step < 16 * spacing:
            raise ValueError(
                f"`step` = {step:g} is below 16 x the spacing {spacing:.3g} of the "
                f"floats in t_span = ({t0:g}, {t1:g}): t + step would not advance "
                "the time; take a larger step or shift `t_span` towards 0"
            )
        ratio = (t1 - t0) / step
        if not ratio <= max_steps:
            shown = f"{math.ceil(ratio)}" if math.isfinite(ratio) else "more than 1e308"
            raise ValueError(
                f"`step` = {step:g} needs {shown} steps over t_span = ({t0:g}, "
                f"{t1:g}), more than max_steps = {max_steps}; take a larger step or "
                "raise `max_steps`"
            )
        n_steps = _n_steps(t0, t1, step)
        if n_steps > max_steps:
            raise ValueError(
                f"`step` = {step:g} needs {n_steps} steps over t_span = ({t0:g}, "
                f"{t1:g}), more than max_steps = {max_steps}; take a larger step or "
                "raise `max_steps`"
            )

    flow = _Flow(manifold, loss, n)
    kind = getattr(manifold, "retraction_kind", "retraction")
    method = f"riemannian/{'heun-euler' if adaptive else scheme}/{kind}"
    loss0, gradient, params0 = _start(flow, u0)
    record = _Recorder(
        flow, gtol, ftol, adaptive=adaptive, t_end=t1, rtol=rtol, atol=atol
    )
    try:
        converged = record.add(t0, u0, loss0, gradient, params0)
    except _EVENTS as error:
        raise ValueError(f"the flow cannot start at `u0`: {error}") from None
    if converged is not None:
        status, message = FlowStatus.CONVERGED, converged
    elif adaptive:
        status, message = _run_adaptive(
            flow, record, gradient, (t0, t1), rtol, atol, first_step, max_steps
        )
    else:
        times = _step_grid(t0, t1, step)
        status, message = _run_fixed(flow, record, gradient, tableau, times)
    return record.trajectory(status, message, method)


class _Recorder:
    """The samples of a run; a sample is added once its gradient is known."""

    def __init__(
        self,
        flow: _Flow,
        gtol: float | None,
        ftol: float | None,
        *,
        adaptive: bool,
        t_end: float,
        rtol: float | None = None,
        atol: float | None = None,
    ):
        self.flow, self.gtol, self.ftol = flow, gtol, ftol
        self.t_end = t_end
        self.rtol, self.atol = rtol, atol
        # A fixed step beyond the scheme's stability region makes the loss
        # grow: that is no rest. There only a loss unchanged to rounding (or
        # within ftol) is calm; the adaptive step bounds the growth by its
        # error control, so any step that does not decrease the loss is.
        self.adaptive = adaptive
        self.rest = None  # the rest test, from the first sample on
        self.times, self.outputs, self.losses, self.params, self.norms = (
            [] for _ in range(5)
        )

    def add(self, t, u, loss, gradient, params) -> str | None:
        """Record a sample; return the ``converged`` message if a test is met."""
        norm = self.flow.norm(u, gradient)
        previous = self.losses[-1] if self.losses else None
        self.times.append(t)
        self.outputs.append(u)
        self.losses.append(loss)
        self.params.append(params)
        self.norms.append(norm)
        opening = f"{FLOW_MESSAGES[FlowStatus.CONVERGED]} at t = {t:.6g}"
        if self.gtol is not None and norm <= self.gtol:
            return f"{opening}: |grad h(u)| = {norm:.3e} <= gtol = {self.gtol:.3e}"
        if self.ftol is not None and previous is None:
            self.rest = RestTest(self.ftol, self.t_end, loss)
        elif self.ftol is not None:
            # A fixed step also needs the loss unchanged to rounding (or ftol).
            steady = self.adaptive or abs(previous - loss) <= max(
                self.ftol, _ROUNDING
            ) * abs(previous)
            motion = self.motion(self.outputs[-2], u)
            step = t - self.times[-2]
            # Within a step of the end the run finishes instead (t_end).
            if self.rest.at_rest(t, step, loss, motion, steady):
                return (
                    f"{opening}: in {REST_STEPS} consecutive steps the loss (now "
                    f"h = {loss:.6e}) set no new low by more than ftol = "
                    f"{self.ftol:g} times itself and u moved by at most "
                    f"{REST_MOTION:g} times the step's resolution (its error "
                    "tolerance, or rounding for a fixed step): the flow is at rest"
                )
        return None

    def motion(self, old: np.ndarray, new: np.ndarray) -> float:
        """A step's motion in units of its resolution: the error tolerance, or rounding."""
        with np.errstate(**_QUIET):
            size = max(safe_norm(old), safe_norm(new))
            if self.adaptive:  # in norm: a small output has no tolerance of its own
                tolerance = self.atol * math.sqrt(old.size) + self.rtol * size
                return safe_norm(new - old) / tolerance
            change = safe_norm(new - old)
            return 0.0 if change == 0 else change / (_ROUNDING * size)

    def sample(self, t, u, gradient) -> str | None:
        """Evaluate the loss and the lift at a new point, then record it."""
        loss = self.flow.loss_value(u)
        return self.add(t, u, loss, gradient, _lift(self.flow.manifold, u))

    def trajectory(self, status, message, method) -> Trajectory:
        arrays = {
            "times": np.array(self.times),
            "outputs": np.array(self.outputs),
            "losses": np.array(self.losses),
            "params": None if self.params[0] is None else np.array(self.params),
            "gradient_norm": np.array(self.norms),
        }
        # Every sample was checked when it was recorded; this guards the rule.
        keep, status, message = finite_record(arrays, len(self.times), status, message)
        kept = {k: None if v is None else v[:keep] for k, v in arrays.items()}
        return Trajectory(
            times=kept["times"],
            outputs=kept["outputs"],
            losses=kept["losses"],
            params=kept["params"],
            status=status,
            message=message,
            method=method,
            extras={"gradient_norm": kept["gradient_norm"]},
            **self.flow.counts(),
        )


def _n_steps(t0: float, t1: float, step: float) -> int:
    """The number of steps of the grid ``t0 + k step`` that covers ``[t0, t1]``.

    A last step shorter than ``1e-9 * step`` (a rounding artifact of
    ``(t1 - t0) / step``) is merged into the one before it.
    """
    return max(1, math.ceil((t1 - t0) / step - 1e-9))


def _step_grid(t0: float, t1: float, step: float) -> np.ndarray:
    """The times ``t0 + k step``, the last one moved to ``t1``."""
    n_steps = _n_steps(t0, t1, step)
    times = t0 + step * np.arange(n_steps + 1, dtype=np.float64)
    times[-1] = t1
    return times


def _run_fixed(flow, record, gradient, tableau, times):
    u = record.outputs[0]
    for k in range(times.size - 1):
        t, h = float(times[k]), float(times[k + 1] - times[k])
        try:
            u_new = flow.step(u, -gradient, h, tableau)
            gradient_new = flow.gradient(u_new)
            converged = record.sample(float(times[k + 1]), u_new, gradient_new)
        except _EVENTS as error:
            return _event_message(error, t, h)
        u, gradient = u_new, gradient_new
        if converged is not None:
            return FlowStatus.CONVERGED, converged
    return FlowStatus.T_END, (
        f"{FLOW_MESSAGES[FlowStatus.T_END]} (t = {times[-1]:.6g}) after "
        f"{times.size - 1} steps"
    )


def _rms(x: np.ndarray) -> float:
    """The root mean square; ``inf`` (not a warning) when it overflows."""
    x = np.asarray(x, dtype=np.float64)
    return safe_norm(x) / math.sqrt(x.size) if x.size else 0.0


def _run_adaptive(flow, record, gradient, t_span, rtol, atol, first_step, max_steps):
    t0, t1 = t_span
    heun = SCHEMES["heun"]
    u, t = record.outputs[0], t0
    if first_step is None:
        # Hairer, Norsett and Wanner's first guess: 1% of |u| / |u'|, scaled.
        with np.errstate(**_QUIET):
            scale = atol + rtol * np.abs(u)
            d0, d1 = _rms(u / scale), _rms(gradient / scale)
            first_step = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        if not (math.isfinite(first_step) and first_step > 0):
            first_step = 1e-6  # an overflowed estimate: start small, grow fast
    h = min(first_step, t1 - t0)
    n_steps = n_rejected = 0
    retries = _EVENT_RETRIES
    retried = False
    # The end counts as reached within the rounding of the accumulated times.
    end_tolerance = 1e-12 * (t1 - t0) + 4 * np.spacing(max(abs(t0), abs(t1)))
    while True:
        if t1 - t <= end_tolerance:
            break
        if n_steps >= max_steps:
            return FlowStatus.SOLVER_FAILED, (
                f"{FLOW_MESSAGES[FlowStatus.SOLVER_FAILED]}: the step budget "
                f"max_steps = {max_steps} ran out at t = {t:.6g}"
            )
        h = min(h, t1 - t)
        if not h > 10 * np.spacing(abs(t)) or t + h == t:
            return FlowStatus.SOLVER_FAILED, (
                f"{FLOW_MESSAGES[FlowStatus.SOLVER_FAILED]}: step size underflow at "
                f"t = {t:.6g}: the step {h:.3e} is below the spacing of the floats "
                f"near t; rtol = {rtol:g} and atol = {atol:g} cannot be met"
            )
        try:
            ks, points = flow.stages(u, -gradient, h, heun)
            u_new = flow.retract(u, h * (heun.b[0] * ks[0] + heun.b[1] * ks[1]))
        except _EVENTS as error:
            if retries > 0:  # the trial step may be too long: retry shorter
                retries -= 1
                retried = True
                h /= 4
                continue
            return _event_message(error, t, h)
        # Heun against Euler, whose result R_u(h k1) is Heun's second stage point.
        with np.errstate(**_QUIET):
            scale = atol + rtol * np.maximum(np.abs(u), np.abs(u_new))
            error = _rms((u_new - points[1]) / scale)
        if not error <= 1.0:  # NaN included
            n_rejected += 1
            h *= max(_MIN_FACTOR, _SAFETY * error**-0.5)
            continue
        try:
            gradient_new = flow.gradient(u_new)
            converged = record.sample(t + h, u_new, gradient_new)
        except _EVENTS as error:
            return _event_message(error, t, h)
        n_steps += 1
        t, u, gradient = t + h, u_new, gradient_new
        if converged is not None:
            return FlowStatus.CONVERGED, converged
        factor = _MAX_FACTOR if error == 0 else _SAFETY * error**-0.5
        # The event retries count per accepted step; right after one, do not
        # grow the step back into the event.
        growth = 1.0 if retried else _MAX_FACTOR
        retries, retried = _EVENT_RETRIES, False
        h *= min(growth, max(_MIN_FACTOR, factor))
    if len(record.times) > 1:
        record.times[-1] = t1  # absorb the rounding of the accumulated times
    return FlowStatus.T_END, (
        f"{FLOW_MESSAGES[FlowStatus.T_END]} (t = {t1:.6g}) after {n_steps} "
        f"accepted and {n_rejected} rejected steps"
    )
