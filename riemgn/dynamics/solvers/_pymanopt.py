"""The pymanopt adapter: pymanopt's optimizers on the output manifold, as a solver."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from manifolds.validation import (
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    describe,
)
from riemgn._checks import DOMAIN_ERRORS, check_loss, safe_norm
from riemgn._checks import QUIET as _QUIET
from riemgn.dynamics.solvers._common import _LOSS_METHODS
from riemgn.dynamics.solvers._results import (
    SOLVER_MESSAGES,
    SolverError,
    SolverHistory,
    SolverResult,
    SolverStatus,
)

__all__ = ["riemannian_gradient_descent", "riemannian_optimize"]

_EPS = float(np.finfo(np.float64).eps)
RIEMANNIAN_OPTIMIZERS = ("steepest_descent", "conjugate_gradient", "trust_regions")
#: The phrases of pymanopt's stopping reasons that are a success, and their status.
_PYMANOPT_STOPS = {
    "min grad norm": SolverStatus.CONVERGED_GTOL,
    "min step_size": SolverStatus.CONVERGED_XTOL,
}


def _pymanopt_status(stopping_criterion: str) -> SolverStatus:
    """The status of pymanopt's stopping reason, found in its text.

    pymanopt 2.2.1 reports why it stopped only as the text of
    ``OptimizerResult.stopping_criterion`` (written by
    ``Optimizer._check_stopping_criterion``); :data:`_PYMANOPT_STOPS` holds
    the phrases of its two tests that are a success.
    """
    text = (stopping_criterion or "").lower()
    for phrase, status in _PYMANOPT_STOPS.items():
        if phrase in text:
            return status
    return SolverStatus.MAX_ITER  # max iterations, max time or max cost evaluations


def _pymanopt_history(log, final_point) -> SolverHistory:
    iterations = (log or {}).get("iterations")
    if not iterations or not iterations.get("cost"):
        return SolverHistory.empty()
    points = [np.asarray(point, dtype=np.float64) for point in iterations["point"]]
    points.append(np.asarray(final_point, dtype=np.float64))
    k = len(iterations["cost"])
    gradient_norm = iterations.get("gradient_norm", [math.nan] * k)
    return SolverHistory(
        loss=iterations["cost"],
        gradient_norm=gradient_norm,
        step_norm=np.linalg.norm(np.diff(np.stack(points), axis=0), axis=1),
        damping=np.full(k, math.nan),
        gain_ratio=np.full(k, math.nan),
        accepted=np.ones(k, dtype=bool),
    )


def _boundary_probe(manifold, problem, point: np.ndarray):
    """Whether ``point`` lies on the boundary of a safeguarded manifold's region.

    A step of output length sqrt(eps) x the manifold's scale along -grad h
    is retracted: near the boundary it moves theta by about that length x
    cond(J) / sigma_max and is cut; inside, it is not. Returns the manifold's
    record of the cut (or of an earlier cut from ``point``), or None.
    """
    try:
        gradient = np.asarray(problem.riemannian_gradient(point), dtype=np.float64)
        size = safe_norm(gradient)
        if size > 0 and math.isfinite(size):
            length = math.sqrt(_EPS) * max(safe_norm(point), manifold.typical_dist)
            manifold.retraction(point, -(length / size) * gradient)
    except DOMAIN_ERRORS + (ValueError,):
        pass  # a failure here is itself a cut, recorded below if at all
    return manifold.step_cut(point)


class _BestPoints:
    """The lowest-loss points a pymanopt optimizer evaluated, with valid charts.

    Wraps a problem's cost so that every point the optimizer evaluates is
    offered; keeps the ``keep`` best. :meth:`best` returns the best one whose
    chart exists (pymanopt may evaluate the cost at a point where the
    geometry then fails, e.g. a rank-deficient one).
    """

    def __init__(self, manifold, loss, start: np.ndarray, keep: int = 8):
        self._manifold, self._loss, self._keep = manifold, loss, keep
        self._start = start
        self._points: list[tuple[float, int, np.ndarray]] = []
        self.n_values = 0
        self.n_gradients = 0

    def value(self, point) -> float:
        try:
            value = float(self._loss.value(point))
        except OverflowError:
            return math.inf
        return value if math.isfinite(value) else math.inf

    def offer(self, point, value: float) -> None:
        self.n_values += 1
        if not math.isfinite(value):
            return
        entry = (value, self.n_values, np.array(point, dtype=np.float64))
        self._points.append(entry)
        self._points.sort(key=lambda item: item[:2])
        del self._points[self._keep :]

    def best(self) -> tuple[np.ndarray, float]:
        for value, _, point in self._points:
            try:
                self._manifold.projection(point, np.zeros_like(point))
            except DOMAIN_ERRORS + (ValueError,):
                continue  # the geometry fails there: not a usable iterate
            return point, value
        return self._start, self.value(self._start)

    def problem(self, problem) -> _TrackedProblem:
        return _TrackedProblem(problem, self)


class _TrackedProblem:
    """A pymanopt problem whose cost and gradient calls are counted and offered.

    pymanopt's optimizers use a problem only through ``manifold``, ``cost``,
    ``riemannian_gradient``, ``riemannian_hessian`` and ``preconditioner``;
    everything but the first two calls is passed through.
    """

    def __init__(self, problem, tracker: _BestPoints):
        self._problem, self._tracker = problem, tracker
        self.manifold = problem.manifold

    def cost(self, point):
        value = self._problem.cost(point)
        self._tracker.offer(point, float(value))
        return value

    def riemannian_gradient(self, point):
        self._tracker.n_gradients += 1
        return self._problem.riemannian_gradient(point)

    def __getattr__(self, name):
        return getattr(self._problem, name)


def riemannian_optimize(
    manifold,
    loss,
    u0=None,
    *,
    optimizer="steepest_descent",
    max_iterations: int | None = None,
    min_gradient_norm: float | None = None,
    verbosity: int = 0,
    throw: bool = False,
) -> SolverResult:
    r"""Minimize a loss on an output manifold with one of pymanopt's optimizers.

    Formerly :func:`riemgn.solvers.riemannian_gradient_descent`, still
    available under that name (renamed because it runs conjugate gradient
    and trust regions as well). A thin wrapper: it builds
    ``loss.problem(manifold)``, runs the optimizer from ``u0`` and translates
    pymanopt's public ``OptimizerResult`` (its ``stopping_criterion`` and
    ``log``) into a :class:`SolverResult`. Steepest descent iterates

    .. math::

        u_{k+1} = R_{u_k}\bigl(-t_k \operatorname{grad} h(u_k)\bigr),
        \qquad \operatorname{grad} h(u) = \tfrac1c P_u \nabla h(u),

    where :math:`R` is the manifold's retraction, :math:`P_u` the projector
    onto :math:`T_uM`, :math:`c` the metric weight and :math:`t_k` pymanopt's
    line-search step. It treats :math:`M` only through the manifold
    interface, which makes it the intrinsic reference for
    :func:`riemgn.solvers.gauss_newton` (for ``SquaredLoss(y)``, one
    Gauss-Newton step of size 1 is one such step with the chart retraction
    and :math:`t = c`).

    Parameters
    ----------
    manifold : manifolds.OutputManifold
        The output manifold :math:`M`.
    loss : loss on outputs
        :math:`h`, with ``loss.n_outputs == manifold.ambient_dim`` and a
        ``problem(manifold)`` method returning a ``pymanopt.Problem``.
    u0 : ndarray, shape (n_outputs,), optional
        The start, a point of :math:`M`; default ``manifold.reference_point``.
    optimizer : {"steepest_descent", "conjugate_gradient", "trust_regions"} or pymanopt optimizer
        A name, or a configured ``pymanopt.optimizers.optimizer.Optimizer``
        (then ``max_iterations``, ``min_gradient_norm`` and ``verbosity`` must
        be left at their defaults).
    max_iterations : int, optional
        pymanopt's iteration budget; default 1000.
    min_gradient_norm : float, optional
        Stop when the Riemannian gradient norm falls below it; default 1e-8.
    verbosity : int, default 0
        pymanopt's verbosity.
    throw : bool, default False
        Raise :class:`riemgn.solvers.SolverError` instead of returning an
        unsuccessful result.

    Returns
    -------
    SolverResult
        ``params = manifold.lift(u)``, ``outputs = u``, where :math:`u` is the
        best point the optimizer reached: its final iterate, or a point at
        which it evaluated a lower loss (the message says so). Progress is
        never lost to an exception: every point pymanopt evaluates the cost
        at is offered to a record of the best ones, and when a domain error
        stops the optimizer (even trust regions, which keeps no log) the
        best of them whose geometry exists is returned.

        The status says why it stopped:

        * ``converged_gtol``: the gradient test; ``converged_xtol``: the
          step-size test; ``max_iter``: the iteration, time or
          cost-evaluation budget;
        * ``rank_loss``: :math:`J` lost rank (``NotAnImmersionError`` or a
          singular system), or, on a manifold built with
          ``safeguard=True``, the optimizer stopped against the boundary
          :math:`\kappa(J) = \kappa_{max}` of the safeguarded region;
        * ``left_region``: a chart left the ball :math:`B(\theta_0, \rho)`,
          or the optimizer stopped against the ball with ``safeguard=True``;
        * ``non_finite``: the model or the loss overflowed.

        On a safeguarded manifold, a run that ends other than by the
        gradient test is probed: a step of output length
        :math:`\sqrt{\varepsilon}` times the manifold's scale along
        :math:`-\operatorname{grad} h` is retracted from the returned point,
        and if it (or an earlier step from that point) is cut, the run
        stopped against the boundary, not at a critical point
        (:meth:`manifolds.OutputManifold.step_cut` holds the cut). Any other
        error propagates. The history comes from pymanopt's iteration log,
        one row per logged iterate (steepest descent and conjugate gradient
        log; trust regions does not, and its history is empty; a configured
        optimizer logs only if built with ``log_verbosity=1``).
        ``n_iter`` is pymanopt's iteration count, or after an exception the
        logged iterations (the gradient evaluations for an optimizer without
        a log). ``n_value_evals`` is pymanopt's ``cost_evaluations`` (-1 when
        not reported; the cost evaluations counted here after an exception)
        and ``n_jacobian_evals`` is -1 (the manifold's charts evaluate
        :math:`J`).

    Raises
    ------
    TypeError
        If ``manifold`` is not an :class:`~manifolds.OutputManifold` or
        ``optimizer`` is neither a known name nor a pymanopt optimizer.
    ValueError
        If the loss has another number of outputs than the manifold, ``u0``
        is not a finite point of the manifold (``manifolds.NotOnManifoldError``
        is a ``ValueError``), :math:`h(u_0)` is not finite, or an option is
        out of range or combined with a configured optimizer.
    SolverError
        With ``throw=True``, if the optimizer does not succeed.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import OutputManifold
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 1)
    >>> params0 = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((5, 2)))
    >>> manifold = OutputManifold(output_map, params0, rng=rng)
    >>> loss = SquaredLoss(output_map.value(params0 + 0.2))
    >>> result = riemannian_optimize(manifold, loss, optimizer="trust_regions")
    >>> result.status.value, result.loss < 1e-16
    ('converged_gtol', True)
    """
    return _optimize(
        "riemannian_optimize",
        manifold,
        loss,
        u0,
        _Options(optimizer, max_iterations, min_gradient_norm, verbosity, throw),
    )


def riemannian_gradient_descent(
    manifold,
    loss,
    u0=None,
    *,
    optimizer="steepest_descent",
    max_iterations: int | None = None,
    min_gradient_norm: float | None = None,
    verbosity: int = 0,
    throw: bool = False,
) -> SolverResult:
    """The historical name of :func:`riemgn.solvers.riemannian_optimize`.

    The same function under its first name (it runs conjugate gradient and
    trust regions as well as steepest descent); the result's ``method``
    starts with ``"riemannian_gradient_descent/"``.

    Parameters
    ----------
    manifold, loss, u0, optimizer, max_iterations, min_gradient_norm, verbosity, throw
        As for :func:`riemgn.solvers.riemannian_optimize`.

    Returns
    -------
    SolverResult
        As for :func:`riemgn.solvers.riemannian_optimize`.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import OutputManifold
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = TwoLayerNetwork(2, 1)
    >>> params0 = net.init_params(rng)
    >>> output_map = net.output_map(rng.standard_normal((5, 2)))
    >>> manifold = OutputManifold(output_map, params0, rng=rng)
    >>> loss = SquaredLoss(output_map.value(params0 + 0.2))
    >>> result = riemannian_gradient_descent(manifold, loss, optimizer="trust_regions")
    >>> result.method, result.status.value
    ('riemannian_gradient_descent/trust_regions', 'converged_gtol')
    """
    return _optimize(
        "riemannian_gradient_descent",
        manifold,
        loss,
        u0,
        _Options(optimizer, max_iterations, min_gradient_norm, verbosity, throw),
    )


class _Options(NamedTuple):
    optimizer: object
    max_iterations: int | None
    min_gradient_norm: float | None
    verbosity: int
    throw: bool


def _optimize(prefix, manifold, loss, u0, options) -> SolverResult:
    from manifolds import OutputManifold

    if not isinstance(manifold, OutputManifold):
        raise TypeError(
            f"`manifold` must be a manifolds.OutputManifold, got {describe(manifold)}"
        )
    n = manifold.ambient_dim
    check_loss(loss, n, where="the manifold", require=_LOSS_METHODS)
    if not isinstance(options.throw, bool):
        raise TypeError(f"`throw` must be a bool, got {describe(options.throw)}")
    optimizer, name = _make_optimizer(options)
    if u0 is None:
        u0 = manifold.reference_point
    u0 = as_finite_vector("u0", u0, n)
    params0 = manifold.lift(u0)  # raises NotOnManifoldError if u0 is not on M
    try:
        value0 = float(loss.value(u0))
    except OverflowError as error:
        raise ValueError(f"the loss is not finite at `u0`: {error}") from None
    if not math.isfinite(value0):
        raise ValueError(f"the loss is not finite at `u0`, h(u0) = {value0}")
    tracker = _BestPoints(manifold, loss, u0)
    run = _Adapter(
        f"{prefix}/{name}", name, manifold, tracker, u0, params0, value0, options.throw
    )
    problem = tracker.problem(loss.problem(manifold))
    try:
        with np.errstate(**_QUIET):
            outcome = optimizer.run(problem, initial_point=u0)
    except (*DOMAIN_ERRORS, ValueError) as error:
        return run.after_error(error, optimizer)
    return run.after_run(outcome, problem)


def _make_optimizer(options):
    """The pymanopt optimizer and its name, from a name or a configured one."""
    import pymanopt
    from pymanopt.optimizers.optimizer import Optimizer

    optimizer = options.optimizer
    if isinstance(optimizer, Optimizer):
        given = {
            "max_iterations": options.max_iterations,
            "min_gradient_norm": options.min_gradient_norm,
            "verbosity": None if options.verbosity == 0 else options.verbosity,
        }
        for name, value in given.items():
            if value is not None:
                raise ValueError(
                    f"`{name}` = {value!r} cannot be combined with a configured "
                    f"optimizer {type(optimizer).__name__}; set it on the optimizer"
                )
        return optimizer, type(optimizer).__name__
    classes = {
        "steepest_descent": pymanopt.optimizers.SteepestDescent,
        "conjugate_gradient": pymanopt.optimizers.ConjugateGradient,
        "trust_regions": pymanopt.optimizers.TrustRegions,
    }
    if not isinstance(optimizer, str) or optimizer not in classes:
        raise TypeError(
            f"`optimizer` must be one of {RIEMANNIAN_OPTIMIZERS} or a pymanopt "
            f"optimizer instance, got {describe(optimizer)}"
        )
    max_iterations, min_gradient_norm = (
        options.max_iterations,
        options.min_gradient_norm,
    )
    configured = classes[optimizer](
        max_iterations=check_positive_int(
            "max_iterations", 1000 if max_iterations is None else max_iterations
        ),
        min_gradient_norm=check_positive_real(
            "min_gradient_norm",
            1e-8 if min_gradient_norm is None else min_gradient_norm,
        ),
        verbosity=check_positive_int("verbosity", options.verbosity, minimum=0),
        log_verbosity=1,
    )
    return configured, optimizer


def _logged_points(optimizer) -> tuple[dict | None, list]:
    """The iteration log of an optimizer whose ``run`` raised, and its points.

    pymanopt 2.2.1 has no public access to the log of a run that raised
    (``OptimizerResult.log`` exists only for a run that returned), so this
    one place reads the optimizer's ``_log``.
    """
    log = getattr(optimizer, "_log", None)
    return log, ((log or {}).get("iterations") or {}).get("point") or []


class _Adapter:
    """One run of the adapter: its start, and the translation of its end."""

    def __init__(self, method, name, manifold, tracker, u0, params0, value0, throw):
        self.method, self.name = method, name
        self.manifold, self.tracker = manifold, tracker
        self.u0, self.params0, self.value0 = u0, params0, value0
        self.throw = throw

    def finish(self, point, status, detail, *, iterations, evaluations, history):
        params = self.manifold.lift(point)
        value = self.tracker.value(point)
        if not (math.isfinite(value) and np.all(np.isfinite(params))):
            status, detail = (
                SolverStatus.NON_FINITE,
                (
                    f"the final iterate's loss or parameters are not finite ({detail}); "
                    "returning the start"
                ),
            )
            point, params = self.u0, self.params0
            value, history = self.value0, SolverHistory.empty()
        message = SOLVER_MESSAGES[status] + (f": {detail}" if detail else "")
        result = SolverResult(
            params=params,
            outputs=point,
            loss=value,
            status=status,
            message=message,
            n_iter=iterations,
            n_value_evals=evaluations,
            n_jacobian_evals=-1,
            history=history,
            method=self.method,
        )
        if self.throw and not result.success:
            raise SolverError(result)
        return result

    def after_error(self, error, optimizer) -> SolverResult:
        """The best point evaluated when a domain error stopped the optimizer.

        Only domain errors become a status: the manifold's own, a singular
        system, an overflow, or a model that is not finite at a new chart
        (NonFiniteError, a ValueError and an OverflowError). Any other
        error is a bug: re-raised.
        """
        from manifolds.exceptions import (
            ManifoldError,
            NotAnImmersionError,
            OutsideBallError,
        )

        if isinstance(error, OutsideBallError):
            status = SolverStatus.LEFT_REGION
        elif isinstance(error, (NotAnImmersionError, np.linalg.LinAlgError)):
            status = SolverStatus.RANK_LOSS
        elif isinstance(error, (ManifoldError, OverflowError)):
            status = SolverStatus.NON_FINITE
        else:
            raise error
        log, logged = _logged_points(optimizer)
        point, value = self.tracker.best()
        return self.finish(
            point,
            status,
            f"{error}; returning the best point evaluated (loss {value:.6g}, "
            f"start {self.value0:.6g})",
            iterations=len(logged) if logged else self.tracker.n_gradients,
            evaluations=self.tracker.n_values,
            history=_pymanopt_history(log, point) if logged else SolverHistory.empty(),
        )

    def after_run(self, outcome, problem) -> SolverResult:
        """The result of a run that returned, from pymanopt's public result."""
        point = np.asarray(outcome.point, dtype=np.float64)
        status = _pymanopt_status(outcome.stopping_criterion)
        detail = f"pymanopt {self.name}: {outcome.stopping_criterion}"
        final = point
        best, best_value = self.tracker.best()
        if best_value < self.tracker.value(point):
            detail += (
                f"; returning a point it evaluated with a lower loss ({best_value:.6g} "
                f"< {self.tracker.value(point):.6g} at its final iterate)"
            )
            point = best
        manifold = self.manifold
        cut = None
        if manifold.safeguard and status is not SolverStatus.CONVERGED_GTOL:
            cut = _boundary_probe(manifold, problem, point) or _boundary_probe(
                manifold, problem, final
            )
        if cut is not None:
            reason, what = cut
            status = {
                "ball": SolverStatus.LEFT_REGION,
                "rank": SolverStatus.RANK_LOSS,
            }.get(reason, SolverStatus.NON_FINITE)
            detail = (
                f"stopped against the boundary of the safeguarded region ({what}); "
                f"{detail}"
            )
        evaluations = outcome.cost_evaluations
        return self.finish(
            point,
            status,
            detail,
            iterations=int(outcome.iterations),
            evaluations=-1 if evaluations is None else int(evaluations),
            history=_pymanopt_history(outcome.log, np.asarray(outcome.point)),
        )
