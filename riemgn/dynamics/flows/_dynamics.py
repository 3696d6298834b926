r"""The right-hand sides of the parameter-space flows, with their evaluation cache.

A :class:`Dynamics` evaluates :math:`\theta' = v(\theta)` and what the
events need (the outputs, the loss, :math:`\|u'\|`, the damping); a
:class:`Counter` counts the evaluations of :math:`F` and :math:`J`. The
Gauss-Newton, Levenberg-Marquardt and gradient-flow fields live here. The
formulas and the notes on caching are in :mod:`riemgn.dynamics.flows.parameter`.

*One factorization per Jacobian.* The Gauss-Newton field factorizes
:math:`J` once per evaluation, for the rank check and :math:`J^+\nabla h`,
and keeps the factorization with the cached evaluation (within
``FACTORS_BUDGET`` bytes, the newest always), so that the rank event at an
accepted state reuses it instead of evaluating and factorizing :math:`J`
again. The event only needs the *sign* of
:math:`\log(\sigma_{min}/\sigma_{max}) - \log(\text{margin})` there (the
driver compares it with 0): the condition bound that the core's rank check
already proved certifies it (``condition_at_most``), with no SVD, and
only a state near the threshold, or root finding (which needs the
values), takes the exact singular values of :math:`R`. The returned value
then differs from the exact one, but never its sign, so every run is the
same bit for bit.

*Levenberg-Marquardt for* :math:`p \le n`. At small sizes the kernel's
eigenvalues are the squared singular values of :math:`J` and the direction
is the QR of the stacked :math:`[J; \sqrt\lambda I]`; from
``FACTORED_LM_WORK`` :math:`= np^2` on, :math:`J` is factorized once and both
come from its triangular factor (:meth:`~manifolds.linalg.JacobianFactorization.damped_solve`),
a different rounding (relative differences of order :math:`10^{-9}` in a
flow's outputs) at a fraction of the cost.

*The reference kernel.* In the matrix-free kernel form (:math:`p > n`) from
``REFERENCE_KERNEL_N`` on, Levenberg-Marquardt diagonalizes the kernel once,
at the first point, and every later evaluation solves by CG and finds
:math:`\lambda_{min}(K_t)` preconditioned with it
(:class:`~manifolds.linalg.ReferenceKernel`). A solve or eigenvalue
iteration that fails takes a new reference at that point and is redone
there, exactly; one that needed more than ``REFERENCE_REFRESH_ITERATIONS``
CG iterations moves the reference to the next point. The gradient flow's
Rosenbrock-W steps (``GradientFlow.w_solver``) solve through a reference
kernel the same way.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from manifolds.linalg import (
    DENSE_BUDGET,
    KRYLOV_TOL,
    JacobianFactorization,
    JacobianOperator,
    KrylovConvergenceError,
    RankDeficiencyError,
    ReferenceKernel,
    factorize,
    gauss_newton_direction,
    kernel_factorization,
    singular_values,
    stacked_lm_direction,
)
from riemgn._checks import DOMAIN_ERRORS, safe_norm
from riemgn._checks import QUIET as _QUIET
from riemgn.dynamics.damping import DampingState, _NonFiniteDamping, evaluate_damping
from riemgn.dynamics.flows._integrate import FlowBreakdown, status_of
from riemgn.dynamics.flows.trajectory import FlowStatus

#: The bytes of factorizations kept with the cached evaluations (the newest
#: evaluation always keeps its own).
FACTORS_BUDGET = 64 * 2**20


def krylov_tolerance(rtol: float) -> float:
    """The Krylov tolerance of a flow integrated to ``rtol``: ``1e-4 rtol`` in [1e-14, KRYLOV_TOL].

    A solve stopped at a tolerance is a piecewise smooth function of the
    state, with jumps of that size where the iteration count changes. An
    adaptive integrator's error estimate must not see them: with the core's
    1e-12 at cond(J) = 1e6, a DOP853 Gauss-Newton flow at ``rtol = 1e-10``
    took 24713 evaluations instead of the dense flow's 149; at 1e-14, 157.
    """
    return min(KRYLOV_TOL, max(1e-4 * rtol, 1e-14))


#: From this n on, the matrix-free kernel form (p > n) of Levenberg-Marquardt
#: reuses one kernel eigendecomposition across points (module notes).
REFERENCE_KERNEL_N = 1000
#: CG iterations after which the next point takes a new reference.
REFERENCE_REFRESH_ITERATIONS = 20


def w_tolerance(rtol: float) -> float:
    """The CG tolerance of a Rosenbrock-W step's solves at ``rtol``: ``1e-2 rtol`` in [1e-14, 1e-6].

    An inexact solve perturbs a stage by about the tolerance relative to the
    state, below the step's error control. Measured at n = 4000, p = 40000
    (C5's scale problem, rtol 1e-8): 1e-10 and 1e-12 give the same 122
    steps and rates equal to 1e-6, with 2.1 and 2.8 CG iterations a solve.
    """
    return min(1e-6, max(1e-2 * rtol, 1e-14))


#: From this n p^2 on, Levenberg-Marquardt (p <= n) factorizes J once per point.
#: verify's problems (p <= 20, n <= 442) stay below it, on the stacked QR.
FACTORED_LM_WORK = 2**24


def domain_call(what: str, function, *args):
    """``function(*args)``; a domain error (an overflow, say) becomes a FlowBreakdown."""
    try:
        return function(*args)
    except DOMAIN_ERRORS as error:
        raise FlowBreakdown(
            status_of(error), f"{what}: {type(error).__name__}: {error}"
        ) from None


def reference_kernel(output_map, params, tol, progress=None) -> ReferenceKernel:
    """The reference kernel at ``params``: the closed form when it fits, else products.

    A kernel that is not finite, or whose eigendecomposition fails, is a
    :class:`FlowBreakdown`, not an error of the caller.
    """
    n = output_map.n_outputs
    operator = JacobianOperator(output_map, params)
    closed_form = getattr(output_map, "neural_tangent_kernel", None)
    kernel = None
    not_finite = FlowBreakdown(
        FlowStatus.BLOW_UP,
        f"the kernel K(theta) is not finite at |theta| = {safe_norm(params):.3e}",
    )
    with np.errstate(**_QUIET):
        if callable(closed_form) and 8 * n * n <= DENSE_BUDGET:
            kernel = np.asarray(
                domain_call("K(theta)", closed_form, params), dtype=np.float64
            )
            if kernel.shape != (n, n) or not np.all(np.isfinite(kernel)):
                raise not_finite
        try:  # without a closed form, K is formed from products
            return domain_call(
                "the kernel's eigendecomposition",
                lambda: ReferenceKernel(
                    operator, kernel=kernel, tol=tol, progress=progress
                ),
            )
        except ValueError:  # the formed kernel is not finite
            if kernel is not None:
                raise
            raise not_finite from None


class Counter:
    """Counts evaluations of F and J on an output map."""

    def __init__(self, output_map):
        self.map = output_map
        self.n_value = 0
        self.n_jacobian = 0
        self.n_solves = 0

    def value(self, params):
        self.n_value += 1
        with np.errstate(**_QUIET):
            value = np.asarray(
                domain_call("F(theta)", self.map.value, params), dtype=np.float64
            )
        n = self.map.n_outputs
        if value.shape != (n,):
            raise ValueError(
                f"`output_map.value` returned shape {value.shape}, expected ({n},)"
            )
        if not np.all(np.isfinite(value)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                f"F(theta) is not finite at |theta| = {safe_norm(params):.3e}",
            )
        return value

    def jacobian(self, params):
        self.n_jacobian += 1
        with np.errstate(**_QUIET):
            J = np.asarray(
                domain_call("J(theta)", self.map.jacobian, params), dtype=np.float64
            )
        shape = (self.map.n_outputs, self.map.n_params)
        if J.shape != shape:
            raise ValueError(
                f"`output_map.jacobian` returned shape {J.shape}, expected {shape}"
            )
        if not np.all(np.isfinite(J)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                f"J(theta) is not finite at |theta| = {safe_norm(params):.3e}",
            )
        return J


@dataclass
class Evaluation:
    """The right-hand side at one state, with what the events need."""

    velocity: np.ndarray  # theta'
    outputs: np.ndarray  # u
    output_speed: float  # |J theta'|
    loss: float
    sigma_ratio: float = math.nan  # sigma_min / sigma_max of J, when computed
    damping: float = math.nan
    lambda_min: float = math.nan
    # The factorization of J (Gauss-Newton), kept within FACTORS_BUDGET bytes,
    # and the lower bound of sigma_ratio certified from it, once computed.
    factorization: object = None
    ratio_bound: float = math.nan


class Dynamics:
    """A parameter-space velocity field with an evaluation cache."""

    name = ""

    def __init__(self, counter: Counter, loss, params0: np.ndarray):
        self.counter = counter
        self.loss = loss
        self.params0 = params0
        self._cache: OrderedDict[bytes, Evaluation] = OrderedDict()

    def evaluate(self, t: float, params: np.ndarray) -> Evaluation:
        params = np.asarray(params, dtype=np.float64)
        key = params.tobytes()
        evaluation = self._cache.get(key)
        if evaluation is None:
            if not np.all(np.isfinite(params)):
                raise FlowBreakdown(FlowStatus.BLOW_UP, "theta is no longer finite")
            try:
                with np.errstate(**_QUIET):
                    evaluation = self._evaluate(t, params)
            except DOMAIN_ERRORS as error:
                raise FlowBreakdown(
                    status_of(error), f"{type(error).__name__}: {error}"
                ) from None
            if not (
                np.all(np.isfinite(evaluation.velocity))
                and math.isfinite(evaluation.output_speed)
            ):
                raise FlowBreakdown(
                    FlowStatus.BLOW_UP,
                    f"the velocity theta' is not finite at t = {t:.6g}",
                )
            self._cache[key] = evaluation
            if len(self._cache) > 16:
                self._cache.popitem(last=False)
            factors = evaluation.factorization
            if factors is not None and 16 * factors.nbytes > FACTORS_BUDGET:
                self._trim_factors()
        return evaluation

    def _trim_factors(self) -> None:
        """Drop the factorizations of older evaluations beyond ``FACTORS_BUDGET``."""
        total = 0
        for age, evaluation in enumerate(reversed(self._cache.values())):
            if evaluation.factorization is not None:
                total += evaluation.factorization.nbytes
                if age and total > FACTORS_BUDGET:
                    evaluation.factorization = None

    def __call__(self, t, params):
        return self.evaluate(t, params).velocity

    def blow_up_detail(self, params) -> str:
        """What a blow-up message adds about the state (nothing by default)."""
        return ""

    def _evaluate(self, t: float, params: np.ndarray) -> Evaluation:
        raise NotImplementedError

    def _outputs_and_gradient(self, params):
        u = self.counter.value(params)
        g = np.asarray(self.loss.gradient(u), dtype=np.float64)
        if g.shape != u.shape:
            raise ValueError(
                f"`loss.gradient` returned shape {g.shape}, expected {u.shape}"
            )
        value = float(self.loss.value(u))
        if not (np.all(np.isfinite(g)) and math.isfinite(value)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                f"the loss h(u) = {value:.3e} or its gradient is not finite at "
                f"|u| = {safe_norm(u):.3e}",
            )
        return u, g, value


def _certified_ratio(factorization, margin: float) -> float:
    """A lower bound of the exact ``sigma_ratio``, proved cheaply, or 0.

    The core's ``condition_at_most`` decides from the condition bound its rank
    check already proved (no SVD when that bound suffices); it answers for
    the exact condition number, so ``condition <= 1 / (2 margin)`` gives a
    ratio of at least ``2 margin (1 - 2 eps)``.
    """
    return 1.5 * margin if factorization.condition_at_most(0.5 / margin) else 0.0


class GaussNewton(Dynamics):
    """The Gauss-Newton field: one factorization of :math:`J` per evaluation."""

    def __init__(
        self,
        counter,
        loss,
        params0,
        *,
        solver,
        rank_rtol,
        metric_weight,
        progress=None,
        krylov_tol=KRYLOV_TOL,
    ):
        super().__init__(counter, loss, params0)
        self.solver = solver
        self.progress = progress
        self.krylov_tol = krylov_tol
        self.rank_rtol = rank_rtol
        self.metric_weight = metric_weight
        self.name = f"gauss_newton/{solver}"

    def _evaluate(self, t, params):
        u, g, value = self._outputs_and_gradient(params)
        if self.solver == "krylov":
            return self._evaluate_krylov(params, u, g, value)
        J = self.counter.jacobian(params)
        self.counter.n_solves += 1
        factorization, ratio = None, math.nan
        try:
            if self.solver == "qr":
                # gauss_newton_direction(solver="qr"), keeping the factors
                # (J is finite and rank_rtol checked: no second validation).
                factorization = JacobianFactorization(J, rank_rtol=self.rank_rtol)
                factorization.check_rank()
                eta = factorization.pinv(g)
            else:
                eta, ratio = gauss_newton_direction(
                    J,
                    g,
                    solver=self.solver,
                    rank_rtol=self.rank_rtol,
                    return_sigma_ratio=True,
                )
        except RankDeficiencyError as error:
            raise FlowBreakdown(FlowStatus.RANK_LOSS, str(error)) from None
        velocity = -eta / self.metric_weight
        return Evaluation(
            velocity,
            u,
            safe_norm(J @ velocity),
            value,
            sigma_ratio=ratio,
            factorization=factorization,
        )

    def _evaluate_krylov(self, params, u, g, value):
        """The field matrix-free: LSMR with products of J only (``manifolds._krylov``)."""
        self.counter.n_solves += 1
        factorization = self._krylov_factors(params)
        try:
            factorization.check_rank()
            eta = factorization.pinv(g)
        except RankDeficiencyError as error:
            raise FlowBreakdown(FlowStatus.RANK_LOSS, str(error)) from None
        velocity = -eta / self.metric_weight
        return Evaluation(
            velocity,
            u,
            safe_norm(factorization.apply(velocity)),
            value,
            factorization=factorization,
        )

    def _krylov_factors(self, params):
        operator = JacobianOperator(self.counter.map, params)
        return factorize(
            operator,
            rank_rtol=self.rank_rtol,
            tol=self.krylov_tol,
            progress=self.progress,
        )

    def blow_up_detail(self, params) -> str:
        return (
            f"; sigma_min/sigma_max of J is {self.sigma_ratio(params):.3e} there "
            f"(rank_rtol = {self.rank_rtol:.1e}): J^+ amplifies by 1/sigma_min, so "
            "the velocity blows up as J approaches rank loss"
        )

    def _factors_at(self, params):
        """The cached evaluation at ``params`` (or None) and a factorization of J there."""
        params = np.asarray(params, dtype=np.float64)
        evaluation = self._cache.get(params.tobytes())
        if evaluation is not None and evaluation.factorization is not None:
            return evaluation, evaluation.factorization
        if self.solver == "krylov":
            return evaluation, self._krylov_factors(params)
        J = self.counter.jacobian(params)
        return evaluation, JacobianFactorization(J, rank_rtol=self.rank_rtol)

    def sigma_ratio(self, params) -> float:
        r""":math:`\sigma_{min}/\sigma_{max}` of :math:`J(\theta)`, exact."""
        evaluation = self._cache.get(np.asarray(params, dtype=np.float64).tobytes())
        if evaluation is not None and not math.isnan(evaluation.sigma_ratio):
            return evaluation.sigma_ratio
        evaluation, factorization = self._factors_at(params)
        ratio = factorization.sigma_ratio
        if evaluation is not None:
            evaluation.sigma_ratio = ratio
        return ratio

    def rank_margin(self, params, margin: float, *, exact: bool = False) -> float:
        r""":math:`\log(\sigma_{min}/\sigma_{max} / \text{margin})`, or a certified lower bound.

        With ``exact=False`` a positive value may be a lower bound of the
        exact one (from :func:`_certified_ratio`): its sign is the exact
        value's sign, and the sign is all the event check uses. ``margin``
        is the flow's one threshold (the bound is kept for it).
        """
        evaluation = self._cache.get(np.asarray(params, dtype=np.float64).tobytes())
        known = evaluation is not None and not math.isnan(evaluation.sigma_ratio)
        if not (exact or known):
            bound = math.nan if evaluation is None else evaluation.ratio_bound
            if math.isnan(bound):
                evaluation, factorization = self._factors_at(params)
                bound = _certified_ratio(factorization, margin)
                if evaluation is None and not bound / margin > 1.0 + 1e-12:
                    # A new state: the exact ratio from the same factors.
                    return math.log(max(factorization.sigma_ratio, 1e-300) / margin)
                if evaluation is not None:
                    evaluation.ratio_bound = bound
            if bound / margin > 1.0 + 1e-12:
                return math.log(bound / margin)
        return math.log(max(self.sigma_ratio(params), 1e-300) / margin)


class LevenbergMarquardt(Dynamics):
    def __init__(
        self,
        counter,
        loss,
        params0,
        *,
        schedule,
        kernel_solver,
        rank_rtol,
        solver="dense",
        progress=None,
        krylov_tol=KRYLOV_TOL,
    ):
        super().__init__(counter, loss, params0)
        self.solver = solver
        self.progress = progress
        self.krylov_tol = krylov_tol
        self.schedule = schedule
        self.rank_rtol = rank_rtol
        self.kernel_solver = kernel_solver
        closed_form = getattr(counter.map, "neural_tangent_kernel", None)
        self.closed_form = closed_form if callable(closed_form) else None
        n, p = counter.map.n_outputs, counter.map.n_params
        self.kernel_form = p > n
        # One factorization of J per point from this size on (module notes).
        self.factored = not self.kernel_form and n * p * p >= FACTORED_LM_WORK
        if solver == "krylov":
            self.factored = True
            form = "kernel_krylov" if self.kernel_form else "krylov"
        else:
            form = "kernel" if self.kernel_form else "stacked_qr"
        self.referenced = (
            solver == "krylov" and self.kernel_form and n >= REFERENCE_KERNEL_N
        )
        if self.referenced:
            form = "kernel_reference"
        self._reference = None
        self.n_references = 0
        self.name = "levenberg_marquardt/" + form

    def _referenced_factors(self, params):
        """The kernel form at ``params`` with the reference kernel (module notes)."""
        operator = JacobianOperator(self.counter.map, params)
        if self._reference is None:
            self._reference = reference_kernel(
                self.counter.map, params, self.krylov_tol, self.progress
            )
            self.n_references += 1
        factorization = self._reference.at(operator)
        return operator, factorization, factorization.kernel_eigenvalues

    def _krylov_factors(self, params):
        """The matrix-free factorization at ``params``, with the kernel eigenvalues.

        The kernel form takes the map's closed-form kernel when it has one
        and the ``(n, n)`` array fits ``DENSE_BUDGET`` (exact eigenvalues, and
        :math:`J^\top` by vjp); otherwise the eigenvalues are estimates (see
        :class:`~manifolds.linalg.KrylovFactorization` and
        :class:`~manifolds.linalg.KrylovKernelFactorization`).
        """
        operator = JacobianOperator(self.counter.map, params)
        n = self.counter.map.n_outputs
        if not self.kernel_form:
            factorization = factorize(
                operator,
                rank_rtol=self.rank_rtol,
                tol=self.krylov_tol,
                progress=self.progress,
            )
            return operator, factorization, factorization.singular_values**2
        kernel = None
        if self.closed_form is not None and 8 * n * n <= DENSE_BUDGET:
            kernel = np.asarray(self.closed_form(params), dtype=np.float64)
        factorization = kernel_factorization(
            operator, kernel=kernel, tol=self.krylov_tol, progress=self.progress
        )
        return operator, factorization, factorization.kernel_eigenvalues

    def _dense_factors(self, params):
        """J, its factorization for the direction (or None) and the kernel eigenvalues."""
        J = self.counter.jacobian(params)
        factorization = None
        if self.kernel_form:
            kernel = None
            if self.kernel_solver == "eigh" and self.closed_form is not None:
                kernel = np.asarray(self.closed_form(params), dtype=np.float64)
            factorization = kernel_factorization(
                J, kernel=kernel, solver=self.kernel_solver
            )
            eigenvalues = factorization.kernel_eigenvalues
        elif self.factored:
            factorization = JacobianFactorization(J)
            eigenvalues = factorization.singular_values**2
        else:
            eigenvalues = singular_values(J) ** 2
        if not np.all(np.isfinite(eigenvalues)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                "the kernel eigenvalues sigma_i(J)^2 overflow: "
                f"max |J_ij| = {float(np.max(np.abs(J))):.3e}",
            )
        return J, factorization, eigenvalues

    def _evaluate(self, t, params):
        if self.referenced:
            try:
                evaluation, info = self._evaluate_at(t, params)
            except KrylovConvergenceError:  # too far from the reference: a new one here
                self._reference = None
                evaluation, info = self._evaluate_at(t, params)
            if info is not None and info.iterations > REFERENCE_REFRESH_ITERATIONS:
                self._reference = None
            return evaluation
        return self._evaluate_at(t, params)[0]

    def _evaluate_at(self, t, params):
        """The evaluation at ``params`` and the last Krylov solve's info (or None)."""
        u, g, value = self._outputs_and_gradient(params)
        self.counter.n_solves += 1
        if self.referenced:
            J, factorization, eigenvalues = self._referenced_factors(params)
        elif self.solver == "krylov":
            J, factorization, eigenvalues = self._krylov_factors(params)
            if not np.all(np.isfinite(eigenvalues)):
                raise FlowBreakdown(
                    FlowStatus.BLOW_UP, "the kernel eigenvalues are not finite"
                )
        else:
            J, factorization, eigenvalues = self._dense_factors(params)
        state = DampingState(params, u, g, value, eigenvalues)
        try:
            lam = evaluate_damping(self.schedule, t, state)
        except _NonFiniteDamping as error:  # a bad schedule's errors propagate
            raise FlowBreakdown(FlowStatus.BLOW_UP, str(error)) from None
        tolerance = self.rank_rtol * eigenvalues[0]
        if eigenvalues[-1] <= tolerance and lam <= tolerance:
            ratio = eigenvalues[-1] / eigenvalues[0] if eigenvalues[0] > 0 else 0.0
            raise FlowBreakdown(
                FlowStatus.RANK_LOSS,
                f"lambda_min/lambda_max of the kernel = "
                f"{ratio:.3e} <= rank_rtol = "
                f"{self.rank_rtol:.3e} and the damping {lam:.3e} is too small to "
                "regularize it: the system K + lambda I is numerically singular",
            )
        try:
            if self.kernel_form:  # dense or matrix-free: the same interface
                velocity = -factorization.direction(g, lam)
            elif self.factored:
                velocity = -factorization.damped_solve(g, lam)
            else:
                velocity = -stacked_lm_direction(J, g, lam)
        except np.linalg.LinAlgError as error:
            if self.referenced and isinstance(error, KrylovConvergenceError):
                raise  # _evaluate takes a new reference
            raise FlowBreakdown(status_of(error), str(error)) from None
        info = getattr(factorization, "last_info", None)
        return Evaluation(
            velocity,
            u,
            safe_norm(J @ velocity),  # a jvp when J is an operator
            value,
            damping=lam,
            lambda_min=float(eigenvalues[-1]),
        ), info


#: A Rosenbrock-W step retried this many times from one state takes a new
#: reference there (GradientFlow.w_solver).
W_REFRESH_RETRIES = 2


class GradientFlow(Dynamics):
    name = "gradient"

    def __init__(
        self, counter, loss, params0, *, solver="dense", krylov_tol=KRYLOV_TOL
    ):
        super().__init__(counter, loss, params0)
        self.solver = solver
        self.krylov_tol = krylov_tol
        self._w_reference = None
        self._w_state = (b"", 0)  # the last state w_solver was called at, and count
        self.n_references = 0

    def w_solver(self, t, params, c):
        r"""The map :math:`v \mapsto (I + cJ^\top J)^{-1}v` of a Rosenbrock-W step.

        :math:`A = -J^\top J` at the step's state is the Gauss-Newton part
        of the right-hand side's Jacobian :math:`-(J^\top J + H_{\nabla h})`
        (a W-method keeps its order with any :math:`A`), applied through the
        kernel: :math:`v - J^\top(K + I/c)^{-1}Jv`, by CG preconditioned
        with a reference kernel's eigendecomposition
        (:meth:`~manifolds.linalg.ReferencedKernelFactorization.woodbury`),
        no :math:`p \times p` array. The reference moves to the current
        state when CG fails or slows (``REFERENCE_REFRESH_ITERATIONS``), or
        a step from it has been retried ``W_REFRESH_RETRIES`` times.
        """
        params = np.asarray(params, dtype=np.float64)
        key = params.tobytes()
        count = self._w_state[1] + 1 if key == self._w_state[0] else 0
        self._w_state = (key, count)
        if self._w_reference is None or count >= W_REFRESH_RETRIES:
            self._w_reference = self._reference_at(params)
            self._w_state = (key, 0)
        operator = JacobianOperator(self.counter.map, params)
        step = {"here": self._w_reference.at(operator), "fresh": False}

        def apply(v):
            with np.errstate(**_QUIET):
                try:
                    x = step["here"].woodbury(c)(v)
                except KrylovConvergenceError as error:
                    if step["fresh"]:  # exact preconditioner, and still no
                        raise FlowBreakdown(status_of(error), str(error)) from None
                    # A new reference here, for this step's stages and after.
                    self._w_reference = self._reference_at(params)
                    step.update(here=self._w_reference.at(operator), fresh=True)
                    x = step["here"].woodbury(c)(v)
            info = step["here"].last_info
            if info is not None and info.iterations > REFERENCE_REFRESH_ITERATIONS:
                self._w_reference = None  # the next step takes a new one
            return x

        return apply

    def _reference_at(self, params):
        reference = reference_kernel(self.counter.map, params, self.krylov_tol)
        self.n_references += 1
        return reference

    def _evaluate(self, t, params):
        u, g, value = self._outputs_and_gradient(params)
        if self.solver == "krylov":  # two products, no J
            J = JacobianOperator(self.counter.map, params)
        else:
            J = self.counter.jacobian(params)
        velocity = -(J.T @ g)
        return Evaluation(velocity, u, safe_norm(J @ velocity), value)

    def jacobian(self, t, params):
        r"""The Jacobian :math:`-(J^\top \nabla^2 h\, J + H_{\nabla h})` of :math:`-J^\top\nabla h`."""
        try:
            with np.errstate(**_QUIET):
                jacobian = self._jacobian(params)
        except DOMAIN_ERRORS as error:
            raise FlowBreakdown(
                status_of(error), f"{type(error).__name__}: {error}"
            ) from None
        if not np.all(np.isfinite(jacobian)):
            raise FlowBreakdown(
                FlowStatus.BLOW_UP,
                "the Jacobian of the right-hand side is not finite at |theta| = "
                f"{safe_norm(params):.3e}",
            )
        return jacobian

    def _jacobian(self, params):
        params = np.asarray(params, dtype=np.float64)
        u = self.counter.value(params)
        g = self.loss.gradient(u)
        J = self.counter.jacobian(params)
        p = params.size
        curvature = np.empty((p, p))
        for k in range(p):
            e = np.zeros(p)
            e[k] = 1.0
            curvature[:, k] = self.counter.map.weighted_hessian_vector(params, g, e)
        loss_curvature = np.column_stack(
            [self.loss.hessian_vector(u, J[:, k]) for k in range(p)]
        )
        return -(J.T @ loss_curvature + curvature)
