r"""
A custom model through AutogradOutputMap
========================================

Nothing in :mod:`manifolds` is specific to the paper's two-layer network.
Any smooth model :math:`f(x; \theta)` written with ``autograd.numpy`` gives
an output map :math:`F(\theta) = (f(x_1;\theta), \dots, f(x_n;\theta))`, and
where :math:`F` is an immersion (:math:`p \le n`, :math:`\operatorname{rank}
J = p`) its image is an embedded :math:`p`-dimensional submanifold of
:math:`\R^n`. This tutorial writes a small network of its own, wraps it in
:class:`manifolds.AutogradOutputMap`, builds the
:class:`manifolds.OutputManifold`, checks its geometry numerically with
:func:`manifolds.check_manifold`, and then fits data on the manifold with
pymanopt's trust-region method and with the Gauss-Newton flow.
"""

import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np
import pymanopt

from manifolds import AutogradOutputMap, OutputManifold, check_manifold
from riemgn.flows import gauss_newton_flow
from riemgn.losses import SquaredLoss
from riemgn.solvers import optimal_in_class_risk
from riemgn.theory import fit_exponential_rate, spectrum_summary

# %%
# The model
# ---------
# A one-hidden-layer tanh network with biases and trainable output weights,
#
# .. math::
#
#     f(x; \theta) = \sum_{i=1}^m v_i \tanh(\langle w_i, x\rangle + b_i),
#     \qquad \theta = (W, b, v) \in \R^{md + 2m},
#
# with :math:`m = 3` neurons on inputs in :math:`\R^2`: :math:`p = 12`
# parameters. Unlike :class:`riemgn.networks.TwoLayerNetwork`, it has biases
# and its output layer is trained. The only requirement is that the function
# be written with ``autograd.numpy`` (``anp``), so that autograd can
# differentiate it: :class:`manifolds.AutogradOutputMap` then provides
# :math:`J`, :math:`Jv`, :math:`J^\T w`, :math:`D^2F[v, w]` and
# :math:`H_\nu v` exactly, by forward and reverse mode.
#
# The data are teacher-student: :math:`n = 30` Gaussian inputs, a teacher
# :math:`\theta^*` at distance 0.5 from the student's start
# :math:`\theta_0`, and labels :math:`y = F(\theta^*) + 0.05\,\epsilon` with
# Gaussian :math:`\epsilon`. The noise puts :math:`y` off the manifold.

m, d, n = 3, 2, 30
p = m * d + 2 * m


def model(params, X):
    """f(x; theta) for every row x of X, written with autograd.numpy."""
    W = anp.reshape(params[: m * d], (m, d))
    b = params[m * d : m * d + m]
    v = params[m * d + m :]
    return anp.tanh(X @ W.T + b) @ v


rng = np.random.default_rng(1)
X = rng.standard_normal((n, d))
params0 = rng.standard_normal(p)
output_map = AutogradOutputMap(lambda params: model(params, X), n_params=p)

direction = rng.standard_normal(p)
teacher = params0 + 0.5 * direction / np.linalg.norm(direction)
y = output_map.value(teacher) + 0.05 * rng.standard_normal(n)

gram = spectrum_summary(output_map, params0)
print(f"n = {output_map.n_outputs} outputs, p = {output_map.n_params} parameters")
print(f"J(theta0): rank {gram.rank} of {p}, cond(G0) = {gram.condition_number:.3e}")

# %%
# The output manifold
# -------------------
# :class:`manifolds.OutputManifold` takes the map and a reference point
# :math:`\theta_0`, checks that :math:`J(\theta_0)` has full column rank, and
# gives pymanopt the geometry of :math:`M = F(B(\theta_0, \rho))`. Its
# points are output vectors :math:`u \in \R^{30}`; each has a chart, the
# preimage :math:`\theta(u)` and the thin QR factorization :math:`J = QR`,
# from which the projector :math:`P_u = QQ^\T`, the pseudo-inverse
# :math:`J^\pinv = R^{-1}Q^\T` and the second fundamental form
# :math:`\II(\xi, \zeta) = P_u^\perp D^2F[J^\pinv \xi, J^\pinv \zeta]` follow.
# The manifold's own generator (``rng``) is seeded too: pymanopt asks for
# random points and tangent vectors without passing a generator.

manifold = OutputManifold(output_map, params0, rng=np.random.default_rng(3))
u0 = manifold.point(params0)
print(f"a {manifold.dim}-dimensional manifold in R^{manifold.ambient_dim}")

# %%
# Checking the geometry
# ---------------------
# :func:`manifolds.check_manifold` returns numbers, not plots: identity
# checks of the projector and the Weingarten map, the inverse pair
# :math:`\exp`/:math:`\log`, and Taylor tests. Along the geodesic
# :math:`\exp_u(t\xi)` from :math:`u`, with a cost :math:`h` (by default
# :math:`\sum_j \log\cosh(u_j - y_j)` for a random target off :math:`M`),
#
# .. math::
#
#     \big|h(R_u(t\xi)) - h(u) - t\langle \grad h, \xi\rangle\big| &= O(t^2),
#
#     \big|h(\exp_u(t\xi)) - h(u) - t\langle \grad h, \xi\rangle
#       - \tfrac{t^2}{2}\langle \Hess h[\xi], \xi\rangle\big| &= O(t^3),
#
# and the retractions against the exponential map,
# :math:`\|R_u(t\xi) - \exp_u(t\xi)\| = O(t^2)` for the first-order chart
# retraction :math:`F(\theta + J^\pinv \xi)` and :math:`O(t^3)` for the
# second-order one. The slopes are fitted on the straight part of each
# log-log curve, away from round-off at small :math:`t`. A Hessian slope of
# 3 means that the Riemannian Hessian, including its Weingarten term, is
# right. The step lengths are in units of parameter distance; the geodesic
# solves behind :math:`\exp` dominate the cost, so a short range is used.

check = check_manifold(
    manifold, u0, rng=np.random.default_rng(2), steps=np.logspace(-4.0, -1.0, 10)
)
print(f"projector idempotence error   {check.projection_idempotence:.1e}")
print(f"projector symmetry error      {check.projection_symmetry:.1e}")
print(f"tangency error                {check.tangency:.1e}")
print(f"Weingarten identity error     {check.weingarten_identity:.1e}")
print(f"exp/log inverse error         {check.exp_log_error:.1e}")
print(f"distance error                {check.dist_error:.1e}")
print(f"gradient Taylor slope         {check.gradient_slope:.3f} (expect 2)")
print(f"Hessian Taylor slope          {check.hessian_slope:.3f} (expect 3)")
for kind, slope in check.retraction_slopes.items():
    print(
        f"{kind + ' retraction slope':30s}{slope:.3f} (expect {2 if kind == 'chart' else 3})"
    )
taylor_checks = {
    "gradient": check.gradient,
    "Hessian": check.hessian,
    "chart retraction": check.retraction["chart"],
    "second-order retraction": check.retraction["second_order"],
}
print(
    "every slope fitted on a straight piece:",
    all(c.reliable for c in taylor_checks.values()),
)

# %%
# The identities hold to round-off (the :math:`\exp`/:math:`\log` pair to the
# tolerance of its boundary-value solve), and each error curve below has
# the slope of its order: the model's derivatives, and the geometry built on
# them, are right. The thick segments mark the fitted windows.

fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
for (label, taylor), marker in zip(taylor_checks.items(), "osD^", strict=True):
    start, stop = taylor.window
    (line,) = ax.loglog(
        taylor.steps, taylor.errors, marker + "-", ms=4, lw=0.8, alpha=0.6
    )
    ax.loglog(
        taylor.steps[start:stop],
        taylor.errors[start:stop],
        "-",
        lw=3,
        color=line.get_color(),
        label=f"{label}: slope {taylor.slope:.2f}",
    )
ax.set_xlabel("step length $t$")
ax.set_ylabel("model error $E(t)$")
ax.set_title("Taylor tests of check_manifold")
ax.legend(fontsize=8)

# %%
# Least squares with pymanopt's trust regions
# -------------------------------------------
# The cost :math:`h(u) = \tfrac12\|u - y\|^2` is written in the output
# :math:`u`: the manifold turns its Euclidean gradient and Hessian into the
# Riemannian ones, :math:`\grad h(u) = P_u(u - y)` and
# :math:`\Hess h(u)[\xi] = P_u\xi + W(\xi, P_u^\perp(u - y))`, with the
# Weingarten map :math:`W`. :class:`riemgn.losses.SquaredLoss` provides the
# value, gradient and Hessian-vector product (its ``problem`` method builds
# the same ``pymanopt.Problem``); here the cost also records every value it
# is asked for, since ``TrustRegions`` keeps no log. It evaluates the cost
# once at the start and once per iteration, at the proposed point, and
# accepts a proposal only if the cost decreases (up to round-off near the
# end), so the running minimum of the recorded values is the cost of the
# current iterate.

loss = SquaredLoss(y)
recorded = []


@pymanopt.function.numpy(manifold)
def cost(u):
    value = loss.value(u)
    recorded.append(value)
    return value


@pymanopt.function.numpy(manifold)
def euclidean_gradient(u):
    return loss.gradient(u)


@pymanopt.function.numpy(manifold)
def euclidean_hessian(u, v):
    return loss.hessian_vector(u, v)


problem = pymanopt.Problem(
    manifold,
    cost,
    euclidean_gradient=euclidean_gradient,
    euclidean_hessian=euclidean_hessian,
)
optimizer = pymanopt.optimizers.TrustRegions(verbosity=0)
result = optimizer.run(problem, initial_point=u0)
print(result.stopping_criterion.split(",")[0])
print(
    f"final cost {result.cost:.10f}, Riemannian gradient norm {result.gradient_norm:.1e}"
)
print(f"{len(recorded)} cost evaluations")

# %%
# The optimal in-class risk :math:`h^* = \min_{u \in M} h(u)` comes from
# :func:`riemgn.solvers.optimal_in_class_risk`, a long Gauss-Newton iteration
# started at the trust-region result, cross-checked against
# ``scipy.optimize.least_squares``; ``consistent`` says whether they agree.

optimum = optimal_in_class_risk(output_map, manifold.lift(result.point), loss)
print(f"h* = {optimum.risk:.10f} (scipy agrees: {optimum.consistent})")

# %%
# The same fit by the Gauss-Newton flow
# -------------------------------------
# The flows of :mod:`riemgn.flows` accept any :class:`manifolds.OutputMap`,
# this one included. :func:`riemgn.flows.gauss_newton_flow` integrates
# :math:`\theta' = -J^\pinv (F(\theta) - y)`, which in output space is the
# Riemannian gradient flow :math:`u' = -\grad h(u)` on the same manifold.
# Near :math:`u^*` its excess risk decays exponentially at the rates of
# :math:`\Hess h(u^*)` (close to 2: the residual is small), which
# :func:`riemgn.theory.fit_exponential_rate` measures. Its status is checked,
# and both end points are compared with the optimal in-class predictor
# :math:`u^*`: the trust-region result is as close as its stopping rule
# (Riemannian gradient norm below :math:`10^{-6}`) allows.

flow = gauss_newton_flow(
    output_map,
    params0,
    loss,
    (0.0, 20.0),
    t_eval=np.linspace(0.0, 20.0, 201)[1:],
    rtol=1e-7,
    gtol=1e-9,
)
print(flow)
print(f"flow ran as asked: {flow.success}")
excess_flow = flow.losses - optimum.risk
flow_fit = fit_exponential_rate(flow.times, excess_flow, window=(1e-2, 1e-10))
print(
    f"fitted rate of the excess risk: {flow_fit.rate:.4f} "
    f"(exponential: {flow_fit.reliable})"
)
print(
    "distance to u* of the GN flow's end point: "
    f"{np.linalg.norm(flow.final_outputs - optimum.outputs):.1e}, "
    f"of the trust-region result: {np.linalg.norm(result.point - optimum.outputs):.1e}"
)

# %%
# On the left, the excess risk of the trust-region iterates: slow progress
# while the iterate is far from the optimum (the trust region limits the
# steps), then the fast local convergence of a second-order method, down
# to :math:`10^{-13}` within a few iterations.
# On the right, the Gauss-Newton flow reaches the same optimum along a
# straight line in a log plot, with the fitted rate printed above:
# exponential convergence of the last iterate, down to round-off.

excess_tr = np.minimum.accumulate(recorded) - optimum.risk
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
keep = excess_tr > 1e-15
left.semilogy(np.arange(len(recorded))[keep], excess_tr[keep], "o-")
left.set_xlabel("trust-region iteration $k$")
left.set_ylabel(r"$h(u_k) - h^*$")
left.set_title("pymanopt TrustRegions on the output manifold")
keep = excess_flow > 1e-15
right.semilogy(flow.times[keep], excess_flow[keep], "-", label="GN flow")
right.semilogy(
    flow.times[keep],
    np.exp(flow_fit.log_intercept - flow_fit.rate * flow.times[keep]),
    "k--",
    lw=0.8,
    label=f"fit: rate {flow_fit.rate:.3f}",
)
right.legend()
right.set_xlabel("time $t$")
right.set_ylabel(r"$h(u_t) - h^*$")
right.set_title("Gauss-Newton flow")
