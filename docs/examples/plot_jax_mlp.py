r"""
A deeper JAX network through JaxOutputMap
=========================================

:class:`manifolds.JaxOutputMap` turns any model written with ``jax.numpy``
into a :class:`manifolds.OutputMap`: the parameters may be any pytree (here
the model object itself, in the style of Equinox), and every derivative the
geometry needs, :math:`J`, :math:`Jv`, :math:`J^\T w`, :math:`D^2F[v, w]`
and :math:`H_\nu v`, comes from JAX's forward and reverse modes, compiled,
in float64. This tutorial writes a three-layer perceptron as a small
Equinox-style module, makes its output manifold in three lines, checks the
geometry, and fits a regression problem with the Gauss-Newton and
Levenberg-Marquardt iterations of :mod:`riemgn.solvers`.
"""

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from manifolds import JaxOutputMap, OutputManifold, check_manifold
from riemgn.losses import SquaredLoss
from riemgn.solvers import gauss_newton, levenberg_marquardt

# %%
# An Equinox-style module
# -----------------------
# An Equinox module is a dataclass whose fields are the parameters and
# which JAX treats as a pytree, so that a model *is* its parameters and can
# be called. The same takes a few lines of plain JAX: frozen dataclasses
# registered with ``jax.tree_util.register_dataclass``. (With Equinox
# installed, ``mlp = eqx.nn.MLP(2, "scalar", 5, 2, activation=jnp.tanh,
# key=...)`` works the same way once its non-array fields, such as the
# activation, are split off: ``params, static = eqx.partition(mlp,
# eqx.is_inexact_array)`` and ``fun = lambda p: jax.vmap(eqx.combine(p,
# static))(X)``.) The network is
#
# .. math::
#
#     f(x; \theta) = w_3^\T \tanh\big(W_2 \tanh(W_1 x + b_1) + b_2\big) + b_3,
#     \qquad W_1 \in \R^{5 \times 2},\ W_2 \in \R^{5 \times 5},\ w_3 \in \R^5,
#
# with :math:`p = 15 + 30 + 6 = 51` parameters, initialized with the usual
# :math:`1/\sqrt{\text{fan-in}}` scale and zero biases.


@dataclass(frozen=True)
class Linear:
    """x -> W x + b, an Equinox-style layer: its fields are its parameters."""

    weight: jax.Array
    bias: jax.Array

    def __call__(self, x):
        return x @ self.weight.T + self.bias


@dataclass(frozen=True)
class MLP:
    """tanh layers, then a linear read-out: a pytree of its layers."""

    layers: list

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = jnp.tanh(layer(x))
        return self.layers[-1](x)[..., 0]


# Both are pytrees: JAX flattens an MLP into its layers' arrays.
jax.tree_util.register_dataclass(Linear, data_fields=["weight", "bias"], meta_fields=[])
jax.tree_util.register_dataclass(MLP, data_fields=["layers"], meta_fields=[])


def init_mlp(widths, rng):
    """Weights N(0, 1/fan_in), zero biases, as a numpy-valued MLP."""
    layers = [
        Linear(rng.standard_normal((out, fan_in)) / np.sqrt(fan_in), np.zeros(out))
        for fan_in, out in zip(widths[:-1], widths[1:], strict=True)
    ]
    return MLP(layers)


# %%
# Data: :math:`n = 200` inputs in :math:`[-2, 2]^2` and noisy labels
# :math:`y_j = \sin(2x_{j1})\cos(x_{j2}) + 0.05\,\epsilon_j`. The inputs are
# a numpy array, so the model's computation stays in float64.

rng = np.random.default_rng(0)
n = 200
X = rng.uniform(-2.0, 2.0, size=(n, 2))
y = np.sin(2 * X[:, 0]) * np.cos(X[:, 1]) + 0.05 * rng.standard_normal(n)
model0 = init_mlp((2, 5, 5, 1), np.random.default_rng(3))

# %%
# The output manifold in three lines
# ----------------------------------
# ``fun`` maps the parameter pytree to the outputs on the data;
# :meth:`~manifolds.JaxOutputMap.ravel` gives the flat vector
# :math:`\theta_0` (the leaves in pytree order) and
# :meth:`~manifolds.JaxOutputMap.unravel` the model back.

output_map = JaxOutputMap(lambda model: model(X), model0)
theta0 = output_map.ravel(model0)
manifold = OutputManifold(output_map, theta0, rng=np.random.default_rng(1))

print(f"n = {output_map.n_outputs} outputs, p = {output_map.n_params} parameters")
print(f"a {manifold.dim}-dimensional manifold in R^{manifold.ambient_dim}")
print("unravel(theta0) is an MLP:", type(output_map.unravel(theta0)).__name__)

# %%
# Checking the geometry
# ---------------------
# The Taylor tests of :func:`manifolds.check_manifold` (see the tutorial on
# custom models): slopes 2 and 3 mean that the Riemannian gradient and
# Hessian built from JAX's derivatives are right, Weingarten term included.

start = time.perf_counter()
check = check_manifold(
    manifold, rng=np.random.default_rng(2), steps=np.logspace(-4.0, -1.0, 10)
)
print(f"gradient Taylor slope   {check.gradient_slope:.3f} (expect 2)")
print(f"Hessian Taylor slope    {check.hessian_slope:.3f} (expect 3)")
print(f"chart retraction slope  {check.retraction_slopes['chart']:.3f} (expect 2)")
print(f"verdict: {check.status} ({time.perf_counter() - start:.1f} s)")

# %%
# Gauss-Newton and Levenberg-Marquardt
# ------------------------------------
# The solvers of :mod:`riemgn.solvers` take any output map. The Gauss-Newton
# step :math:`\theta_{k+1} = \theta_k - t_k J^\pinv (F(\theta_k) - y)` is a
# Riemannian gradient step on the manifold, read in parameters. A deep
# network's Jacobian is badly conditioned, though (its smallest singular
# values come from near-redundant neurons), and the undamped steps soon
# reach a point where :math:`J` loses numerical rank: the iteration stops
# there, with the status ``rank_loss``, far from a fit. The
# Levenberg-Marquardt iteration damps the same steps,
# :math:`(J^\T J + \lambda_k I)\,\delta = -J^\T (F(\theta_k) - y)`, with a
# trust-region rule for :math:`\lambda_k`, and goes on to fit the data.

loss = SquaredLoss(y)
sigma0 = np.linalg.svd(output_map.jacobian(theta0), compute_uv=False)
print(f"cond J(theta0) = {sigma0[0] / sigma0[-1]:.2e}")
gn = gauss_newton(output_map, theta0, loss, line_search=True, max_iter=100)
lm = levenberg_marquardt(output_map, theta0, loss, max_iter=200)
print(gn)
print(lm)
sigma_lm = np.linalg.svd(output_map.jacobian(lm.params), compute_uv=False)

# %%
# On the left, the loss along both iterations: Gauss-Newton stops at the
# cross (rank loss), Levenberg-Marquardt goes on. In the middle, the
# singular values of :math:`J` at the start and at the fit: they spread
# over several decades, which is why the damping matters. The same spread
# makes the output manifold strongly curved (its second fundamental form
# scales with :math:`1/\sigma_{min}(J)`), which is also what slows
# pymanopt's optimizers on it (they run on this manifold like on any other,
# with costs written in JAX through ``pymanopt.function.jax``). On the right, the
# fitted network on the slice :math:`x_2 = 0` against :math:`\sin(2x_1)`.

model = output_map.unravel(lm.params)
grid = np.column_stack([np.linspace(-2.0, 2.0, 200), np.zeros(200)])
fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
gn_loss = gn.history.as_dict()["loss"]
lm_loss = lm.history.as_dict()["loss"]
left.semilogy(lm_loss, "-", label="Levenberg-Marquardt")
left.semilogy(gn_loss, "-", label="Gauss-Newton (line search)")
left.semilogy(len(gn_loss) - 1, gn_loss[-1], "kx", ms=10, label="rank loss")
left.set_xlabel("iteration $k$")
left.set_ylabel(r"$h(F(\theta_k))$")
left.legend()
middle.semilogy(sigma0, "o", ms=3, label=r"$\theta_0$")
middle.semilogy(sigma_lm, "s", ms=3, label="after LM")
middle.set_xlabel("index $i$")
middle.set_ylabel(r"$\sigma_i(J)$")
middle.legend()
right.plot(X[:, 0][np.abs(X[:, 1]) < 0.2], y[np.abs(X[:, 1]) < 0.2], "k.", ms=4)
right.plot(grid[:, 0], np.sin(2 * grid[:, 0]), "k--", label=r"$\sin(2x_1)$")
right.plot(grid[:, 0], np.asarray(model0(grid)), label="MLP at start")
right.plot(grid[:, 0], np.asarray(model(grid)), label="MLP fitted")
right.set_xlabel("$x_1$ (with $x_2 = 0$; dots: data with $|x_2| < 0.2$)")
right.legend(fontsize=8)
