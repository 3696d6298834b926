r"""
The scaling factor α
====================

The two-layer network of the paper,

.. math::

    f(x; W) = \frac{\alpha}{\sqrt m} \sum_{i=1}^m c_i\, \sigma(\langle w_i, x\rangle),

carries a scaling factor :math:`\alpha > 0`. Its output map is
:math:`F_\alpha = \alpha F_1`, so its output manifold is a scaled copy,
:math:`M_\alpha = \alpha M_1`: the larger :math:`\alpha`, the flatter the
manifold, and the less the parameters must move to reach a fixed target.
This tutorial measures both effects with
:class:`riemgn.networks.TwoLayerNetwork`:

* the norm of the second fundamental form, :math:`\|\II\| \propto 1/\alpha`
  (log-log slope :math:`-1`, exactly);
* the distance :math:`\sup_t \|\theta_t - \theta_0\|` travelled by the
  Gauss-Newton flow towards a fixed target, which shrinks like
  :math:`1/\alpha` from the *centered* initialization (the lazy regime) but
  not from the *standard* one.

It is a small version of claims C3 and C4 of ``riemgn verify``
(:doc:`../verification`).
"""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from manifolds import NotAnImmersionError, OutputManifold
from riemgn.data import teacher_student
from riemgn.flows import gauss_newton_flow
from riemgn.losses import SquaredLoss
from riemgn.theory import second_fundamental_form_norm

# %%
# One draw at every α
# -------------------
# :func:`riemgn.data.teacher_student` draws inputs (:math:`n = 30` in
# :math:`\R^3`), a network of width 2 (:math:`p = 6`), its initialization
# :math:`\theta_0` and a teacher :math:`\theta^*` at distance 0.5. Called
# with the same seed, it gives the same inputs, output weights,
# :math:`\theta_0` and teacher at every :math:`\alpha` and for both
# initializations:
#
# * ``"standard"``: :math:`w_i \sim N(0, I)`, so :math:`F_\alpha(\theta_0)`
#   is of size :math:`\alpha`;
# * ``"centered"``: the network :math:`f(x; W) - f(x; W_0)`, so
#   :math:`F_\alpha(\theta_0) = 0` at every :math:`\alpha`, with the same
#   Jacobian as the standard one.
#
# The target is **fixed**: the teacher's outputs at :math:`\alpha = 1` from
# the centered start, plus Gaussian noise of standard deviation 0.1 (so
# :math:`y` is off every :math:`M_\alpha`).

alphas = np.logspace(-2.0, 3.0, 6)
INITS = ("centered", "standard")


def draw(alpha, init):
    """The same draw (inputs, output weights, theta0, teacher) at any alpha."""
    return teacher_student(
        30,
        3,
        2,
        rng=np.random.default_rng(5),
        alpha=alpha,
        init=init,
        distance=0.5,
    )


reference = draw(1.0, "centered")
y = reference.clean_targets + 0.1 * np.random.default_rng(6).standard_normal(30)
loss = SquaredLoss(y)

# %%
# Curvature: :math:`\|\II\| \propto 1/\alpha`
# -------------------------------------------
# The second fundamental form of :math:`M` at :math:`u = F(\theta)` is
# :math:`\II(\xi, \zeta) = P_u^\perp D^2F(\theta)[J^\pinv\xi, J^\pinv\zeta]`,
# and :func:`riemgn.theory.second_fundamental_form_norm` maximizes
# :math:`\|\II(\xi, \xi)\|` over unit tangent vectors :math:`\xi`. Scaling
# :math:`F` by :math:`\alpha` scales :math:`J` by :math:`\alpha` and
# :math:`D^2F` by :math:`\alpha`, so
#
# .. math::
#
#     \|\II_\alpha\| = \frac{\alpha}{\alpha^2}\,\|\II_1\| = \frac{\|\II_1\|}{\alpha},
#
# an identity that holds to round-off: :math:`\alpha\|\II_\alpha\|` is the
# same number at every :math:`\alpha`.

curvature = []
for alpha in alphas:
    problem = draw(alpha, "centered")
    manifold = OutputManifold(problem.output_map, problem.params0)
    u0 = manifold.point(problem.params0)
    result = second_fundamental_form_norm(manifold, u0, rng=np.random.default_rng(7))
    curvature.append(result.value)
    print(
        f"alpha = {alpha:7g}: |II| = {result.value:.6e}, alpha |II| = "
        f"{alpha * result.value:.12f} (ascent converged: {result.converged})"
    )
curvature = np.array(curvature)
curvature_slope = np.polyfit(np.log(alphas), np.log(curvature), 1)[0]
print(f"log-log slope of |II| against alpha: {curvature_slope:.12f}")

# %%
# Distance travelled by the Gauss-Newton flow
# -------------------------------------------
# For each :math:`\alpha` and each initialization,
# :func:`riemgn.flows.gauss_newton_flow` integrates
# :math:`\theta' = -J^\pinv (F(\theta) - y)` on :math:`[0, 80]` inside the
# ball :math:`\|\theta - \theta_0\| \le \rho = 10` (``radius``), and stops
# with status ``converged`` once the output speed falls below ``gtol``.
# Fitting :math:`y` at scale :math:`\alpha` is fitting :math:`y/\alpha` on
# the unit-scale manifold :math:`M_1`:
#
# * from the centered start, :math:`F_1(\theta_0) = 0` and the target is
#   :math:`O(1/\alpha)` away, so once :math:`M_\alpha` looks flat over that
#   distance the parameters move by about :math:`\|J_1^\pinv y\|/\alpha`:
#   log-log slope :math:`-1`;
# * from the standard start the flow must first undo :math:`F_1(\theta_0)`,
#   of size 1 in these units: it travels :math:`O(1)` whatever
#   :math:`\alpha`;
# * for small :math:`\alpha` the target is far out of reach: the flow would
#   have to move :math:`\theta` by :math:`O(\|y\|/\alpha)` and it leaves the
#   ball (status ``left_region``). That is the flow reporting its end, not
#   an error, so these runs are kept and shown with open markers.
#
# Every trajectory's status is printed; ``success`` is True for
# ``converged`` and ``t_end``.

runs = {init: [] for init in INITS}
for init in INITS:
    for alpha in alphas:
        problem = draw(alpha, init)
        output_map, params0 = problem.output_map, problem.params0
        trajectory = gauss_newton_flow(
            output_map,
            params0,
            loss,
            (0.0, 80.0),
            rtol=1e-12,
            atol=1e-14,
            radius=10.0,
            gtol=1e-8,
        )
        travel = np.linalg.norm(trajectory.params - params0, axis=1).max()
        runs[init].append(
            {
                "alpha": alpha,
                "travel": travel,
                "status": trajectory.status.value,
                "success": trajectory.success,
                "initial_residual": np.linalg.norm(output_map.value(params0) - y),
                "final_loss": trajectory.losses[-1],
            }
        )
        print(
            f"{init:8s} alpha = {alpha:7g}: |F(theta0) - y| = "
            f"{runs[init][-1]['initial_residual']:9.3e}, status "
            f"{trajectory.status.value:11s} sup|theta_t - theta0| = {travel:.4e}, "
            f"final loss {trajectory.losses[-1]:.5f}"
        )

travel_slopes = {}
for init in INITS:
    fitted = [r for r in runs[init] if r["success"] and r["alpha"] >= 3.0]
    travel_slopes[init] = np.polyfit(
        np.log([r["alpha"] for r in fitted]),
        np.log([r["travel"] for r in fitted]),
        1,
    )[0]
    print(
        f"{init}: log-log slope of the travel against alpha (converged runs, "
        f"alpha >= 3): {travel_slopes[init]:.4f}"
    )

# %%
# What the figure shows: on the left, :math:`\|\II\|` falls exactly like
# :math:`1/\alpha`. In the middle, the initial residual
# :math:`\|F(\theta_0) - y\|` is the same at every :math:`\alpha` from the
# centered start, and grows like :math:`\alpha` from the standard one. On the
# right, the centered travel shrinks like :math:`1/\alpha` once the flow
# converges (slope about :math:`-1`), while the standard travel stays near
# 2: the standard start never enters the lazy regime. At
# :math:`\alpha \le 0.1` both flows leave the ball of radius 10 (open
# markers).

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
left.loglog(alphas, curvature, "o-", label=f"slope {curvature_slope:.6f}")
left.set_xlabel(r"scaling factor $\alpha$")
left.set_ylabel(r"$\|\mathrm{II}\|$ at $F(\theta_0)$")
left.set_title(r"Curvature of $M_\alpha$")
left.legend()

styles = {"centered": ("tab:green", "^"), "standard": ("tab:blue", "o")}
for init in INITS:
    colour, marker = styles[init]
    values = runs[init]
    middle.loglog(
        alphas,
        [r["initial_residual"] for r in values],
        "-",
        marker=marker,
        color=colour,
        label=init,
    )
    right.loglog(alphas, [r["travel"] for r in values], "-", color=colour, lw=0.8)
    for r in values:
        right.loglog(
            r["alpha"],
            r["travel"],
            marker,
            color=colour,
            mfc=colour if r["success"] else "none",
            ms=8,
        )
    right.plot(
        [], [], marker, color=colour, label=f"{init} (slope {travel_slopes[init]:.3f})"
    )
right.plot([], [], "o", color="gray", mfc="none", label="left the ball")
right.axhline(10.0, color="gray", ls=":", label=r"radius $\rho$")
middle.set_xlabel(r"scaling factor $\alpha$")
middle.set_ylabel(r"$\|F_\alpha(\theta_0) - y\|$")
middle.set_title("Initial residual")
middle.legend()
right.set_xlabel(r"scaling factor $\alpha$")
right.set_ylabel(r"$\sup_t \|\theta_t - \theta_0\|$")
right.set_title("Distance travelled by the GN flow")
right.legend(fontsize=8)

# %%
# The third initialization
# ------------------------
# The ``"symmetric"`` initialization also starts at :math:`F(\theta_0) = 0`,
# by pairing each neuron with a copy of opposite output weight. The paired
# Jacobian columns cancel, so :math:`\operatorname{rank} J(\theta_0) \le
# p/2`: :math:`F` is not an immersion there, the output manifold does not
# exist at :math:`\theta_0`, and :class:`manifolds.OutputManifold` refuses to
# build it, naming the rank and the likely cause. (The Gauss-Newton flow
# cannot start there either; Levenberg-Marquardt, with a damping that
# regularizes :math:`J^\T J`, can.)

symmetric = draw(1.0, "symmetric")
try:
    OutputManifold(symmetric.output_map, symmetric.params0)
except NotAnImmersionError as error:
    print(textwrap.fill(str(error), width=88))
