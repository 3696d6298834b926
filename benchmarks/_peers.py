"""The optional peers: JAX (float64, CPU), optimistix and autograd.

Each loader raises :class:`benchmarks._harness.Skip` when the package is not
installed, so that the row prints "skipped: pip install riemgn[benchmarks]".
The two-layer output map is written again in ``jax.numpy``, exactly as
:class:`riemgn.networks.TwoLayerNetwork` defines it.
"""

from __future__ import annotations

import math

from benchmarks._harness import Skip


def jax():
    """``(jax, jax.numpy)`` with 64-bit floats on the CPU."""
    try:
        import jax as jax_module
    except ImportError as error:
        raise Skip() from error
    jax_module.config.update("jax_enable_x64", True)
    jax_module.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp

    return jax_module, jnp


def optimistix():
    try:
        import optimistix as optx
    except ImportError as error:
        raise Skip() from error
    jax()
    return optx


def autograd():
    try:
        import autograd as autograd_module
        import autograd.numpy as anp
    except ImportError as error:  # autograd is a dependency; kept for symmetry
        raise Skip() from error
    return autograd_module, anp


def jax_output(problem):
    """``F(theta, X)`` of the problem's network in ``jax.numpy``, and its arguments."""
    _, jnp = jax()
    network = problem.network
    m, d = network.width, network.input_dim
    scale = network.alpha / math.sqrt(m)
    c = jnp.asarray(network.output_weights)

    def F(theta, X):
        return jnp.tanh(X @ jnp.reshape(theta, (m, d)).T) @ c * scale

    return F, jnp.asarray(problem.X), jnp.asarray(problem.params0)
