r"""The Gauss-Newton flow is the Riemannian gradient flow on the output manifold.

Pointwise, the output velocity of the GN flow is minus the Riemannian
gradient:

.. math::

    J\theta'_{GN} = -\tfrac1c JJ^+\nabla h = -\tfrac1c P_u \nabla h
    = -\operatorname{grad} h(u),

because :math:`JJ^+ = QQ^\top = P_u` for a Jacobian of full column rank
(THEORY §3, claim C1).
:func:`riemgn.equivalence.velocity_residual` measures this identity at a
point: it computes :math:`\theta'_{GN}` with the very routine the flow uses,
and the gradient with the manifold's
:meth:`~manifolds.OutputManifold.euclidean_to_riemannian_gradient`.

Along whole trajectories, :func:`riemgn.equivalence.compare_trajectories`
measures the output deviation between two flows (e.g. the GN flow and the
intrinsic :func:`~riemgn.flows.riemannian_gradient_flow`) on a common time
grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.interpolate

from manifolds.linalg import default_rank_rtol, gauss_newton_direction
from manifolds.validation import (
    as_finite_array,
    as_finite_vector,
    check_positive_real,
    describe,
)
from riemgn._checks import check_loss, safe_norm
from riemgn.dynamics.flows.trajectory import Trajectory

__all__ = ["TrajectoryComparison", "compare_trajectories", "velocity_residual"]


def velocity_residual(manifold, loss, u, *, solver: str = "qr") -> float:
    r"""The relative mismatch between the GN output velocity and the Riemannian gradient.

    .. math::

        r(u) = \frac{\|J\theta'_{GN} + \operatorname{grad} h(u)\|}
                    {\|\operatorname{grad} h(u)\|},
        \qquad \theta'_{GN} = -\tfrac1c J^+ \nabla h(u),

    where :math:`J = J(\theta(u))` at the chart :math:`\theta(u)` of
    :math:`u`, :math:`\operatorname{grad} h(u) = \tfrac1c P_u\nabla h(u)` is
    computed by the manifold, :math:`c` is its metric weight and the norms
    are Euclidean (the weight cancels). The two sides are computed
    independently: :math:`\theta'_{GN}` from a fresh factorization of
    :math:`J` by the flow's routine, the gradient from the manifold's chart.

    Parameters
    ----------
    manifold : OutputManifold
        The output manifold, a :class:`manifolds.OutputManifold`.
    loss : loss on outputs
        E.g. :class:`~riemgn.losses.SquaredLoss`.
    u : ndarray, shape (n_outputs,)
        A point of the manifold.
    solver : {"qr", "lstsq", "normal_equations"}, default "qr"
        How the GN velocity is computed (see
        :func:`~riemgn.flows.gauss_newton_flow`).

    Returns
    -------
    float
        :math:`r(u)`; the absolute :math:`\|J\theta'_{GN}\|` when the gradient
        vanishes.

    Raises
    ------
    manifolds.NotOnManifoldError
        If ``u`` is not on the manifold.
    ValueError
        If the loss does not match the manifold's outputs, or ``u`` has the
        wrong shape or is not finite.
    TypeError
        If ``manifold`` is not an output manifold (it lacks ``lift``,
        ``output_map`` or ``euclidean_to_riemannian_gradient``), or ``loss``
        is not a loss on outputs.
    OverflowError
        If the velocities at ``u`` exceed the float64 range.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds import OutputManifold
    >>> from riemgn import SquaredLoss, TwoLayerNetwork
    >>> rng = np.random.default_rng(0)
    >>> network = TwoLayerNetwork(3, 2)
    >>> theta0 = network.init_params(rng, "standard")
    >>> F = network.output_map(rng.normal(size=(15, 3)))
    >>> manifold = OutputManifold(F, theta0)
    >>> u = manifold.point(theta0)
    >>> loss = SquaredLoss(rng.normal(size=15))
    >>> bool(velocity_residual(manifold, loss, u) < 1e-12)
    True
    """
    if not all(
        callable(getattr(manifold, name, None))
        for name in ("lift", "euclidean_to_riemannian_gradient")
    ) or not hasattr(manifold, "output_map"):
        raise TypeError(
            "`manifold` must be an OutputManifold (with lift, output_map and "
            f"euclidean_to_riemannian_gradient), got {describe(manifold)}"
        )
    n = manifold.ambient_dim
    check_loss(loss, n, where="the manifold's points")
    u = as_finite_vector("u", u, n)
    params = manifold.lift(u)
    J = np.asarray(manifold.output_map.jacobian(params), dtype=np.float64)
    euclidean_gradient = np.asarray(loss.gradient(u), dtype=np.float64)
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(euclidean_gradient))):
        raise ValueError(
            "the Jacobian J(theta(u)) or the loss gradient is not finite at `u`"
        )
    c = manifold.metric_weight
    rank_rtol = default_rank_rtol(*J.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        velocity = (
            -gauss_newton_direction(
                J, euclidean_gradient, solver=solver, rank_rtol=rank_rtol
            )
            / c
        )
        output_velocity = J @ velocity
    gradient = manifold.euclidean_to_riemannian_gradient(u, euclidean_gradient)
    scale = safe_norm(gradient)
    with np.errstate(over="ignore", invalid="ignore"):
        mismatch = safe_norm(output_velocity + gradient)
    if not (math.isfinite(scale) and math.isfinite(mismatch)):
        raise OverflowError(
            f"the velocities at `u` overflow float64 (|grad h(u)| = {scale:.3e}); "
            "the residual cannot be computed"
        )
    return mismatch / scale if scale > 0 else mismatch


@dataclass(frozen=True)
class TrajectoryComparison:
    r"""The output deviation of two trajectories on a common time grid.

    Returned by :func:`riemgn.equivalence.compare_trajectories`.

    .. math::

        \Delta(t_k) = \|u_a(t_k) - u_b(t_k)\|_2, \qquad
        \Delta = \max_k \Delta(t_k),

    where :math:`u_a, u_b` are the outputs of the two trajectories and
    :math:`t_k` the common grid ``times``.

    Attributes
    ----------
    times : ndarray, shape (k,)
        The common grid.
    deviations : ndarray, shape (k,)
        :math:`\|u_a(t) - u_b(t)\|` at each time.
    sup_deviation : float
        :math:`\max_t \|u_a(t) - u_b(t)\|`.
    time_of_sup : float
        Where the maximum is reached.
    interpolated : bool
        Whether the outputs were interpolated (cubic splines) onto ``times``
        rather than sampled there.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn.dynamics.flows import Trajectory
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> a = Trajectory(t, np.c_[t, t], t, None, "t_end", "")
    >>> b = Trajectory(t, np.c_[t, t + 0.5 * t**2], t, None, "t_end", "")
    >>> comparison = compare_trajectories(a, b)
    >>> comparison.deviations
    array([0.     , 0.03125, 0.125  , 0.28125, 0.5    ])
    >>> comparison.sup_deviation, comparison.time_of_sup, comparison.interpolated
    (0.5, 1.0, False)
    """

    times: np.ndarray
    deviations: np.ndarray
    sup_deviation: float
    time_of_sup: float
    interpolated: bool


def _common_times(a: np.ndarray, b: np.ndarray, rtol: float):
    # Match each time of a with the nearest of b.
    index = (
        np.clip(np.searchsorted(b, a), 1, len(b) - 1)
        if len(b) > 1
        else np.zeros(len(a), int)
    )
    candidates = (
        np.stack([index - 1, index]) if len(b) > 1 else np.stack([index, index])
    )
    nearest = candidates[
        np.argmin(np.abs(b[candidates] - a), axis=0), np.arange(len(a))
    ]
    scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    match = np.abs(b[nearest] - a) <= rtol * scale
    return np.flatnonzero(match), nearest[match]


def compare_trajectories(
    trajectory_a: Trajectory,
    trajectory_b: Trajectory,
    *,
    times=None,
    rtol: float = 1e-9,
) -> TrajectoryComparison:
    r"""The sup-norm output deviation :math:`\sup_t \|u_a(t) - u_b(t)\|` of two trajectories.

    .. math::

        \Delta = \max_{t \in \mathcal{T}} \|u_a(t) - u_b(t)\|,

    where :math:`\mathcal{T}` is the common time grid: by default the times
    the two trajectories share (matched to ``rtol``), which is exact and is
    what to use to measure an integrator's order (run one flow with
    ``t_eval`` equal to the other's times); or the given ``times``, onto which
    both are interpolated by cubic splines (accurate to the fourth order in
    the sampling interval, no better).

    Parameters
    ----------
    trajectory_a, trajectory_b : Trajectory
        The two trajectories (:class:`riemgn.flows.Trajectory`, same number
        of outputs).
    times : ndarray, shape (k,), optional
        An explicit grid inside both trajectories' time ranges.
    rtol : float, default 1e-9
        The relative tolerance to which sample times are considered equal.

    Returns
    -------
    TrajectoryComparison
        The grid, the deviations on it and their maximum (a
        :class:`riemgn.equivalence.TrajectoryComparison`).

    Raises
    ------
    ValueError
        If the outputs differ in size, if the trajectories share fewer than
        two sample times (and no ``times`` is given), if ``times`` is not
        increasing or leaves a trajectory's range, or if a trajectory has
        fewer than 4 samples to interpolate.
    TypeError
        If a trajectory is not a :class:`riemgn.flows.Trajectory`.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn.dynamics.flows import Trajectory
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> a = Trajectory(t, np.c_[t, t], t, None, "t_end", "")
    >>> b = Trajectory(t, np.c_[t, t + 0.5 * t**2], t, None, "t_end", "")
    >>> compare_trajectories(a, b).sup_deviation
    0.5
    """
    for name, trajectory in (
        ("trajectory_a", trajectory_a),
        ("trajectory_b", trajectory_b),
    ):
        if not isinstance(trajectory, Trajectory):
            raise TypeError(
                f"`{name}` must be a Trajectory, got {type(trajectory).__name__}"
            )
    if trajectory_a.outputs.shape[1] != trajectory_b.outputs.shape[1]:
        raise ValueError(
            "the trajectories have different numbers of outputs: "
            f"{trajectory_a.outputs.shape[1]} and {trajectory_b.outputs.shape[1]}"
        )
    rtol = check_positive_real("rtol", rtol)
    ta, tb = trajectory_a.times, trajectory_b.times
    if times is None:
        ia, ib = _common_times(ta, tb, rtol)
        if ia.size < 2:
            raise ValueError(
                f"the trajectories share {ia.size} sample time(s) (to rtol = {rtol:g}); "
                "run one flow with t_eval equal to the other's times, or pass `times` "
                "to interpolate"
            )
        grid = ta[ia]
        deviations = np.linalg.norm(
            trajectory_a.outputs[ia] - trajectory_b.outputs[ib], axis=1
        )
        interpolated = False
    else:
        grid = as_finite_array("times", times, ndim=1)
        low = max(ta[0], tb[0])
        high = min(ta[-1], tb[-1])
        if (
            grid.size < 1
            or grid[0] < low
            or grid[-1] > high
            or np.any(np.diff(grid) <= 0)
        ):
            raise ValueError(
                f"`times` must be increasing and inside both trajectories' ranges "
                f"[{low:g}, {high:g}]"
            )
        values = []
        for trajectory in (trajectory_a, trajectory_b):
            if len(trajectory) < 4:
                raise ValueError(
                    "interpolation needs at least 4 samples per trajectory, got "
                    f"{len(trajectory)}"
                )
            spline = scipy.interpolate.CubicSpline(
                trajectory.times, trajectory.outputs, axis=0
            )
            values.append(spline(grid))
        deviations = np.linalg.norm(values[0] - values[1], axis=1)
        interpolated = True
    worst = int(np.argmax(deviations))
    deviations.flags.writeable = False
    return TrajectoryComparison(
        times=grid,
        deviations=deviations,
        sup_deviation=float(deviations[worst]),
        time_of_sup=float(grid[worst]),
        interpolated=interpolated,
    )
