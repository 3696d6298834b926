r"""
Conditioning sweep
==================

The Gauss-Newton (GN) flow :math:`\theta' = -J^\pinv \nabla h(F(\theta))` is
the Riemannian gradient flow of the loss on the output manifold :math:`M`
(:doc:`../theory`). A gradient flow on :math:`M` does not know how :math:`M`
is parametrized, so its speed cannot depend on the conditioning of the Gram
matrix :math:`G = J^\T J`: for the squared loss and targets on :math:`M`,
the excess risk decays like :math:`e^{-2t}` whatever :math:`\cond(G_0)` is.
The plain gradient flow :math:`\theta' = -J^\T \nabla h` has no such luck:
its slowest mode decays at the rate :math:`2\lambda_{\min}(G_0)`.

This tutorial sweeps :math:`\cond(G_0)` over about eight decades, runs both
flows on each problem, fits the exponential rate of the excess risk, and
plots the rates against :math:`\cond(G_0)`. It is a small version of claim
C2 of ``riemgn verify`` (:doc:`../verification`).
"""

import matplotlib.pyplot as plt
import numpy as np

from riemgn.data import teacher_student
from riemgn.flows import gauss_newton_flow, gradient_flow
from riemgn.losses import SquaredLoss
from riemgn.solvers import optimal_in_class_risk
from riemgn.theory import fit_exponential_rate, spectrum_summary

# %%
# Problems with a controlled condition number
# -------------------------------------------
# :func:`riemgn.data.teacher_student` draws inputs
# :math:`X = U \diag(s) V^\T` with :math:`\cond(X)` set by ``cond``
# (:func:`riemgn.data.conditioned_inputs`), a two-layer tanh student
# (:class:`riemgn.networks.TwoLayerNetwork`, here :math:`n = 40` samples in
# :math:`\R^2` and 2 neurons, so :math:`p = 4`) and its initialization
# :math:`\theta_0`. The Gram matrix inherits the conditioning of the inputs:
# :math:`\cond(G_0)` grows roughly like :math:`\cond(X)^2`. The same seed is
# used at every ``cond``, so only the singular values of :math:`X` change.
#
# To make the comparison sharp, the target is put along the *flattest*
# direction of :math:`G_0`: with :math:`v_{\min}` the right singular vector
# of :math:`J(\theta_0)` of the smallest singular value,
#
# .. math::
#
#     y = F(\theta_0 + \delta\, v_{\min}), \qquad \delta = 0.1 .
#
# The target is on :math:`M`, so the optimal in-class risk is
# :math:`h^* = 0`, and the residual starts in the gradient flow's slowest
# mode. :func:`riemgn.theory.spectrum_summary` reads the spectrum of
# :math:`G_0` off the singular values of :math:`J`, which resolves
# :math:`\lambda_{\min}` far below :math:`\varepsilon\lambda_{\max}`.

input_conditions = np.logspace(0.0, 4.0, 5)
DELTA = 0.1


def make_problem(input_condition, noise=0.0):
    """The student, its start and a target along the flattest direction of G0."""
    problem = teacher_student(
        40,
        2,
        2,
        cond=input_condition,
        rng=np.random.default_rng(3),
        distance=DELTA,
    )
    output_map, params0 = problem.output_map, problem.params0
    _, _, Vt = np.linalg.svd(output_map.jacobian(params0), full_matrices=False)
    y = output_map.value(params0 + DELTA * Vt[-1])
    y = y + noise * np.random.default_rng(4).standard_normal(y.size)
    return output_map, params0, SquaredLoss(y)


spectra = []
for input_condition in input_conditions:
    output_map, params0, _ = make_problem(input_condition)
    spectra.append(spectrum_summary(output_map, params0))
    print(
        f"cond(X) = {input_condition:8.0f}: cond(G0) = "
        f"{spectra[-1].condition_number:.2e}, "
        f"lambda_min(G0) = {spectra[-1].lambda_min:.2e}"
    )

# %%
# The two flows and their rates
# -----------------------------
# For the squared loss :math:`h(u) = \tfrac12\|u - y\|^2`,
# :func:`riemgn.flows.gauss_newton_flow` runs on :math:`[0, 40]`, and stops
# early (status ``converged``) once the output speed :math:`\|u'\|` falls to
# ``gtol``, far below the fit window. :func:`riemgn.flows.gradient_flow` is
# stiff exactly when it is interesting, so it uses the implicit BDF method by
# default; its time scale is :math:`1/\lambda_{\min}(G_0)`, so it runs on
# :math:`[0, 12/\lambda_{\min}(G_0)]`.
#
# :func:`riemgn.theory.fit_exponential_rate` fits
# :math:`h(u_t) - h^* \approx A e^{-rt}` by least squares on
# :math:`\log(h - h^*)`, over the samples between :math:`10^{-2}` and
# :math:`10^{-8}` times the initial excess, skipping the transient and
# stopping before round-off. Every returned
# :class:`riemgn.flows.Trajectory` carries a status: ``success`` is True
# when the flow ran as asked (``t_end`` or ``converged``), and a flow that
# blows up, loses rank or leaves its region says so instead of returning
# NaNs. Each one is checked below.
#
# What to expect:
#
# .. math::
#
#     r_{GN} = 2 \quad\text{for every } \cond(G_0), \qquad
#     r_{GF} \approx 2\lambda_{\min}(G_0).

N_SAMPLES = 401
WINDOW = (1e-2, 1e-8)


def run_both(output_map, params0, loss, lambda_min, h_star=0.0):
    """Both flows from params0; their trajectories and fitted excess-risk rates."""
    initial_excess = loss.value(output_map.value(params0)) - h_star
    gn_end, gf_end = 40.0, 12.0 / lambda_min
    gn = gauss_newton_flow(
        output_map,
        params0,
        loss,
        (0.0, gn_end),
        t_eval=np.linspace(0.0, gn_end, N_SAMPLES)[1:],
        gtol=1e-10 * np.sqrt(2.0 * initial_excess),
    )
    gf = gradient_flow(
        output_map,
        params0,
        loss,
        (0.0, gf_end),
        t_eval=np.linspace(0.0, gf_end, N_SAMPLES)[1:],
    )
    for trajectory in (gn, gf):
        if not trajectory.success:
            raise RuntimeError(f"{trajectory.method}: {trajectory.message}")
    fits = [
        fit_exponential_rate(t.times, t.losses - h_star, window=WINDOW)
        for t in (gn, gf)
    ]
    return gn, gf, fits


runs = []
print(" cond(G0)   lambda_min   GN rate  GN status   GF rate    GF rate/lambda_min")
for input_condition, spectrum in zip(input_conditions, spectra, strict=True):
    output_map, params0, loss = make_problem(input_condition)
    gn, gf, (gn_fit, gf_fit) = run_both(output_map, params0, loss, spectrum.lambda_min)
    runs.append((spectrum, gn, gf, gn_fit, gf_fit))
    print(
        f"{spectrum.condition_number:9.2e}  {spectrum.lambda_min:9.2e}  "
        f"{gn_fit.rate:8.5f}  {gn.status.value:9s}  {gf_fit.rate:9.3e}  "
        f"{gf_fit.rate / spectrum.lambda_min:8.4f}"
    )
print(
    "every flow ran as asked:",
    all(gn.success and gf.success for _, gn, gf, _, _ in runs),
)
print(
    "every fit is exponential (R^2 >= 0.999):",
    all(gn_fit.reliable and gf_fit.reliable for *_, gn_fit, gf_fit in runs),
)

gn_rates = np.array([run[3].rate for run in runs])
gf_rates = np.array([run[4].rate for run in runs])
conditions = np.array([run[0].condition_number for run in runs])
lambda_mins = np.array([run[0].lambda_min for run in runs])
gf_slope = np.polyfit(np.log(lambda_mins), np.log(gf_rates), 1)[0]
print(f"GN rates: max/min = {gn_rates.max() / gn_rates.min():.6f}")
print(f"log-log slope of the GF rate against lambda_min(G0): {gf_slope:.4f}")

# %%
# The GN rate is 2 at every condition number (to the digits printed), while
# the gradient flow's rate is :math:`2\lambda_{\min}(G_0)` and falls by the
# same eight decades as :math:`\cond(G_0)` grows: its log-log slope against
# :math:`\lambda_{\min}(G_0)` is 1. On the left, the relative excess risk
# against time: the GN curves (solid) lie on top of each other, while the
# gradient-flow curves (dashed) shift right by a decade of time per decade
# of :math:`\lambda_{\min}`.

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(runs)))
for colour, (spectrum, gn, gf, _, _) in zip(colours, runs, strict=True):
    for trajectory, style in ((gn, "-"), (gf, "--")):
        relative = trajectory.losses / trajectory.losses[0]
        keep = (trajectory.times > 0) & (relative > 1e-13)
        left.loglog(
            trajectory.times[keep],
            relative[keep],
            style,
            color=colour,
            label=f"cond(G0) = {spectrum.condition_number:.0e}"
            if style == "-"
            else None,
        )
left.plot([], [], "-", color="black", label="GN flow")
left.plot([], [], "--", color="black", label="gradient flow")
left.set_xlabel("time $t$")
left.set_ylabel(r"$(h(u_t) - h^*) / (h(u_0) - h^*)$")
left.set_title("Excess risk along the flows")
left.legend(fontsize=8)

right.loglog(conditions, gn_rates, "o", ms=8, label="GN flow")
right.loglog(conditions, gf_rates, "s", label="gradient flow")
right.loglog(
    conditions, 2.0 * lambda_mins, "x", color="black", label=r"$2\lambda_{\min}(G_0)$"
)
right.axhline(2.0, color="black", ls=":", lw=0.9, label="rate 2")
right.set_xlabel(r"$\mathrm{cond}(G_0)$")
right.set_ylabel(r"fitted rate of $h(u_t) - h^*$")
right.set_title("Rates against the conditioning")
right.legend(fontsize=8)

# %%
# A target off the manifold
# -------------------------
# With label noise the target leaves :math:`M`, the optimal in-class risk
# :math:`h^*` is positive, and the normal residual :math:`y - u^*` at the
# optimum meets the curvature of :math:`M`. Near :math:`u^*` the excess risk
# then decays at the rates of the Riemannian Hessian,
#
# .. math::
#
#     \Hess h(u^*)[\xi] = \xi + W\big(\xi, u^* - y\big),
#
# (:math:`W` the Weingarten map), which are no longer exactly 2 but still do
# not depend on the parametrization. :math:`h^*` comes from
# :func:`riemgn.solvers.optimal_in_class_risk`, a long Gauss-Newton run
# cross-checked against ``scipy.optimize.least_squares``.

output_map, params0, loss = make_problem(input_conditions[2], noise=0.03)
optimum = optimal_in_class_risk(output_map, params0, loss)
print(
    f"h* = {optimum.risk:.6g} (agrees with scipy's least squares: {optimum.consistent})"
)
gn, gf, (gn_fit, gf_fit) = run_both(
    output_map, params0, loss, spectra[2].lambda_min, h_star=optimum.risk
)
print(
    f"noisy targets, cond(G0) = {spectra[2].condition_number:.2e}: GN rate "
    f"{gn_fit.rate:.4f} ({gn.status.value}), gradient-flow rate {gf_fit.rate:.3e} "
    f"({gf.status.value})"
)
