r"""
Overparameterized Levenberg–Marquardt
=====================================

With more parameters than samples (:math:`p \ge n`) the outputs no longer
form a :math:`p`-dimensional manifold: the output map is a submersion, the
Gram matrix :math:`J^\T J` is singular, and the Gauss-Newton flow does not
exist. What remains is the empirical neural tangent kernel
:math:`K = JJ^\T` (:math:`n \times n`, of rank :math:`n`) and the
Levenberg-Marquardt (LM) flow

.. math::

    \theta' = -J^\T (K + \lambda_t I)^{-1} \nabla h, \qquad
    u' = -K (K + \lambda_t I)^{-1} \nabla h .

In output space its eigen-rates are :math:`\lambda_i / (\lambda_i +
\lambda_t)`, with :math:`\lambda_i` the eigenvalues of :math:`K`. A damping
tied to the kernel, :math:`\lambda_t = \varepsilon\,\lambda_{\min}(K_t)`,
keeps every one of them at least :math:`1/(1+\varepsilon)`, however small
:math:`\lambda_{\min}(K)` is, whereas the gradient flow
:math:`u' = -K\nabla h` crawls at the rate :math:`\lambda_{\min}(K)` along
the kernel's flattest direction. This tutorial makes
:math:`\lambda_{\min}(K_0)` small over several decades and measures both. It
is a small version of claim C5 of ``riemgn verify``
(:doc:`../verification`).
"""

import matplotlib.pyplot as plt
import numpy as np

from riemgn.damping import Constant, KernelTied
from riemgn.data import near_duplicate_inputs
from riemgn.flows import gradient_flow, levenberg_marquardt_flow
from riemgn.losses import SquaredLoss
from riemgn.networks import TwoLayerNetwork
from riemgn.theory import fit_exponential_rate, spectrum_summary

# %%
# An ill-conditioned kernel from near-duplicate inputs
# ----------------------------------------------------
# The network is a two-layer tanh network
# (:class:`riemgn.networks.TwoLayerNetwork`) of width 10 on :math:`n = 6`
# inputs in :math:`\R^{10}`: :math:`p = 100 \ge n`.
# :func:`riemgn.data.near_duplicate_inputs` draws standard normal inputs and
# puts the last one within :math:`\eta` of the first, which makes
# :math:`\lambda_{\min}(K_0)` of order :math:`\eta^2` and leaves the rest of
# the spectrum alone. The same seed is used at every :math:`\eta`, so the
# inputs, output weights and :math:`\theta_0` are the same and only
# :math:`\eta` changes. :func:`riemgn.theory.spectrum_summary` with
# ``kernel="ntk"`` reads the spectrum of :math:`K_0` off the singular values
# of :math:`J`.
#
# The target puts the initial residual along the eigenvector
# :math:`u_{\min}` of :math:`K_0`'s smallest eigenvalue
# :math:`\sigma_{\min}^2 = \lambda_{\min}(K_0)`,
#
# .. math::
#
#     y = F(\theta_0) + s\,\sigma_{\min}\, u_{\min}, \qquad s = 0.01,
#
# so that each flow runs at its slowest rate from the start, and the
# parameters move only about :math:`s`, which keeps the kernel nearly fixed.

n, d, width = 6, 10, 10
etas = np.logspace(-0.5, -4.0, 8)


def make_problem(eta):
    """Inputs with a near-duplicate pair, theta0, and the hard target."""
    rng = np.random.default_rng(11)
    X = near_duplicate_inputs(n, d, eta, rng)
    network = TwoLayerNetwork(d, width, activation="tanh")
    params0 = network.init_params(rng, "standard")
    output_map = network.output_map(X)
    U, s, _ = np.linalg.svd(output_map.jacobian(params0), full_matrices=False)
    y = output_map.value(params0) + 0.01 * s[-1] * U[:, -1]
    return output_map, params0, SquaredLoss(y)


spectra = []
for eta in etas:
    output_map, params0, _ = make_problem(eta)
    spectra.append(spectrum_summary(output_map, params0, kernel="ntk"))
    print(
        f"eta = {eta:.1e}: lambda_min(K0) = {spectra[-1].lambda_min:.3e}, "
        f"lambda_max(K0) = {spectra[-1].lambda_max:.3f}, "
        f"cond(K0) = {spectra[-1].condition_number:.1e}"
    )
print(f"n = {output_map.n_outputs}, p = {output_map.n_params}")

# %%
# Three flows
# -----------
# For the squared loss :math:`h(u) = \tfrac12\|u - y\|^2` the residual
# :math:`\|u_t - y\|` decays along :math:`u_{\min}` at
#
# .. math::
#
#     r_{LM} &= \frac{\lambda_{\min}}{\lambda_{\min} + \lambda_t}
#            = \frac{1}{1+\varepsilon}
#     \quad (\lambda_t = \varepsilon\lambda_{\min}(K_t)),
#
#     r_{GF} &= \lambda_{\min}(K_0),
#
#     r_{const} &= \frac{\lambda_{\min}}{\lambda_{\min} + \lambda}
#     \quad (\lambda_t = \lambda).
#
# :func:`riemgn.flows.levenberg_marquardt_flow` runs with
# :class:`riemgn.damping.KernelTied` (:math:`\varepsilon = 1`, predicted rate
# 1/2, from :meth:`riemgn.damping.KernelTied.predicted_rate`) and, as a foil,
# with the constant damping :class:`riemgn.damping.Constant`
# (:math:`\lambda = 10^{-2}`), both on :math:`[0, 20(1+\varepsilon)]`. Since
# :math:`p > n`, it works in the kernel form: only :math:`n\times n` and
# :math:`n\times p` arrays, never a :math:`p \times p` one.
# :func:`riemgn.flows.gradient_flow` runs on :math:`[0, 20/\lambda_{\min}(K_0)]`.
#
# :func:`riemgn.theory.fit_exponential_rate` fits the rate of the residual
# between :math:`10^{-1}` and :math:`10^{-5}` of its initial value. A
# residual too slow to fall through that window (the constant damping at
# small :math:`\lambda_{\min}`) gets its average rate
# :math:`-\log(r_T/r_0)/T` instead. Every trajectory's status is checked.

EPSILON = 1.0
kernel_tied = KernelTied(EPSILON)
constant = Constant(1e-2)
WINDOW = (1e-1, 1e-5)


def residual_rate(trajectory, y):
    """The fitted rate of |u_t - y| (or its average rate), and the curve."""
    if not trajectory.success:
        raise RuntimeError(f"{trajectory.method}: {trajectory.message}")
    residual = np.linalg.norm(trajectory.outputs - y, axis=1)
    try:
        rate = fit_exponential_rate(trajectory.times, residual, window=WINDOW).rate
    except ValueError:  # the residual did not reach the bottom of the window
        rate = -np.log(residual[-1] / residual[0]) / trajectory.final_time
    return rate, residual / residual[0]


def run(flow, output_map, params0, loss, t_end, **options):
    return flow(
        output_map,
        params0,
        loss,
        (0.0, t_end),
        t_eval=np.linspace(0.0, t_end, 201)[1:],
        **options,
    )


results = []
lm_end = 20.0 / kernel_tied.predicted_rate()
for eta, spectrum in zip(etas, spectra, strict=True):
    output_map, params0, loss = make_problem(eta)
    lm_options = {"rtol": 1e-10, "atol": 1e-14}
    trajectories = {
        "lm": run(
            levenberg_marquardt_flow,
            output_map,
            params0,
            loss,
            lm_end,
            damping=kernel_tied,
            **lm_options,
        ),
        "constant": run(
            levenberg_marquardt_flow,
            output_map,
            params0,
            loss,
            lm_end,
            damping=constant,
            **lm_options,
        ),
        "gf": run(gradient_flow, output_map, params0, loss, 20.0 / spectrum.lambda_min),
    }
    results.append(
        {
            "lambda_min": spectrum.lambda_min,
            **{
                name: (trajectory, *residual_rate(trajectory, loss.y))
                for name, trajectory in trajectories.items()
            },
        }
    )
print("LM integrates with:", results[0]["lm"][0].method)
print(
    " lambda_min(K0)  LM rate  x(1+eps)   GF rate   GF/lambda_min  const rate  predicted"
)
for r in results:
    print(
        f"   {r['lambda_min']:9.3e}  {r['lm'][1]:8.5f}  {r['lm'][1] * (1 + EPSILON):7.4f}"
        f"  {r['gf'][1]:9.3e}  {r['gf'][1] / r['lambda_min']:8.4f}     "
        f"{r['constant'][1]:9.3e}  {constant.predicted_rate(r['lambda_min']):9.3e}"
    )
print(
    "every flow ran as asked:",
    all(r[name][0].success for r in results for name in ("lm", "constant", "gf")),
)
lambda_mins = np.array([r["lambda_min"] for r in results])
lm_rates = np.array([r["lm"][1] for r in results])
gf_rates = np.array([r["gf"][1] for r in results])
gf_slope = np.polyfit(np.log(lambda_mins), np.log(gf_rates), 1)[0]
print(
    f"lambda_min(K0) spans {np.log10(lambda_mins.max() / lambda_mins.min()):.1f} "
    f"decades; LM rate / (1/(1+eps)) in [{(lm_rates * (1 + EPSILON)).min():.5f}, "
    f"{(lm_rates * (1 + EPSILON)).max():.5f}]"
)
print(f"log-log slope of the GF rate against lambda_min(K0): {gf_slope:.4f}")

# %%
# The kernel-tied LM rate is :math:`1/(1+\varepsilon) = 0.5` at every
# :math:`\lambda_{\min}(K_0)`, across seven decades, while the gradient flow's
# rate is :math:`\lambda_{\min}(K_0)` itself (log-log slope 1), and the
# constant damping follows :math:`\lambda_{\min}/(\lambda_{\min}+\lambda)`:
# fast while :math:`\lambda_{\min} \gg \lambda`, as slow as the gradient
# flow once :math:`\lambda_{\min} \ll \lambda`. On the left, the residual
# against time for every other problem: the LM curves (solid) coincide; the
# gradient-flow curves (dashed) need a time :math:`\propto
# 1/\lambda_{\min}`; the constant-damping curves (dotted) barely leave 1
# once :math:`\lambda_{\min} \ll 10^{-2}`.

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
shown = results[::2]
colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(shown)))
for colour, r in zip(colours, shown, strict=True):
    for name, style in (("lm", "-"), ("gf", "--"), ("constant", ":")):
        trajectory, _, residual = r[name]
        keep = (trajectory.times > 0) & (residual > 1e-7)
        left.loglog(
            trajectory.times[keep],
            residual[keep],
            style,
            color=colour,
            label=rf"$\lambda_{{\min}}(K_0)$ = {r['lambda_min']:.0e}"
            if name == "lm"
            else None,
        )
left.plot([], [], "-", color="black", label=r"LM, $\varepsilon\lambda_{\min}(K_t)$")
left.plot([], [], ":", color="black", label=r"LM, constant $10^{-2}$")
left.plot([], [], "--", color="black", label="gradient flow")
left.set_xlabel("time $t$")
left.set_ylabel(r"$\|u_t - y\| / \|u_0 - y\|$")
left.set_title(r"Residual along $K_0$'s flattest direction")
left.legend(fontsize=7, loc="lower left")

grid = np.geomspace(lambda_mins.min(), lambda_mins.max(), 50)
right.loglog(
    lambda_mins, lm_rates, "o", ms=8, label=r"LM, kernel-tied ($\varepsilon = 1$)"
)
right.loglog(lambda_mins, gf_rates, "s", label="gradient flow")
right.loglog(
    lambda_mins,
    [r["constant"][1] for r in results],
    "^",
    label=r"LM, constant $10^{-2}$",
)
right.axhline(
    kernel_tied.predicted_rate(), color="black", ls=":", label=r"$1/(1+\varepsilon)$"
)
right.loglog(grid, grid, "k--", lw=0.8, label=r"$\lambda_{\min}(K_0)$")
right.loglog(
    grid,
    constant.predicted_rate(grid),
    "-.",
    color="gray",
    lw=0.8,
    label=r"$\lambda_{\min}/(\lambda_{\min}+\lambda)$",
)
right.set_xlabel(r"$\lambda_{\min}(K_0)$")
right.set_ylabel(r"rate of $\|u_t - y\|$")
right.set_title("Rates against the smallest kernel eigenvalue")
right.legend(fontsize=8, loc="lower right")
