"""Timing ratios of the geometry layer (run by hand: ``python benchmarks/geometry.py``).

Each number is a ratio of two timings on the same machine, so that it means
something on a shared, noisy one:

* analytic two-layer Jacobian and H_nu v against AutogradOutputMap;
* closed-form NTK against J J^T;
* a projection with the cached QR factors against refactorizing J;
* building an OutputManifold at n = 1e5 and projecting there (seconds,
  for scale).
"""

from __future__ import annotations

import sys
import time

import autograd.numpy as anp
import numpy as np

from manifolds import AutogradOutputMap, OutputManifold
from manifolds.linalg import factorize
from riemgn.networks import TwoLayerNetwork


def per_call(fun, repeat: int = 20) -> float:
    fun()
    start = time.perf_counter()
    for _ in range(repeat):
        fun()
    return (time.perf_counter() - start) / repeat


def network(n: int, d: int, width: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    net = TwoLayerNetwork(d, width, alpha=1.0, activation="tanh")
    params = net.init_params(rng, "standard")
    return net, X, net.output_map(X), params


def main() -> int:
    net, X, analytic, params = network(200, 5, 8, seed=1)
    c, m, d = net.output_weights, 8, 5

    def fun(theta):
        W = anp.reshape(theta, (m, d))
        return anp.dot(anp.tanh(anp.dot(X, W.T)), c) / anp.sqrt(m)

    generic = AutogradOutputMap(fun, m * d)
    v, nu = np.ones(m * d), np.ones(200)
    rows = [
        (
            "Jacobian, autograd / analytic (n=200, p=40)",
            per_call(lambda: generic.jacobian(params), 5)
            / per_call(lambda: analytic.jacobian(params)),
        ),
        (
            "H_nu v, autograd / analytic",
            per_call(lambda: generic.weighted_hessian_vector(params, nu, v), 5)
            / per_call(lambda: analytic.weighted_hessian_vector(params, nu, v)),
        ),
    ]
    _, _, big, big_params = network(2000, 20, 50, seed=1)
    rows.append(
        (
            "NTK, J J^T / closed form (n=2000, p=1000)",
            per_call(lambda: big.jacobian(big_params) @ big.jacobian(big_params).T, 3)
            / per_call(lambda: big.neural_tangent_kernel(big_params), 3),
        )
    )
    _, _, tall, tall_params = network(2000, 10, 10, seed=2)
    manifold = OutputManifold(tall, tall_params)
    u, z = manifold.point(tall_params), np.ones(2000)

    def refactorized():
        return factorize(tall.jacobian(tall_params)).project(z)

    rows.append(
        (
            "projection, refactorized / cached QR (n=2000, p=100)",
            per_call(refactorized, 5) / per_call(lambda: manifold.projection(u, z)),
        )
    )
    for name, ratio in rows:
        print(f"{name:<55} {ratio:8.1f}x")
    _, _, huge, huge_params = network(100_000, 8, 8, seed=3)
    start = time.perf_counter()
    manifold = OutputManifold(huge, huge_params)
    u = manifold.point(huge_params)
    built = time.perf_counter() - start
    project = per_call(lambda: manifold.projection(u, np.ones(100_000)), 5)
    print(
        f"n=1e5, p=64: build + point {built:.2f} s, projection {project * 1e3:.1f} ms, "
        f"cache {manifold.cache_info['nbytes'] / 2**20:.0f} MiB in "
        f"{manifold.cache_info['entries']} chart(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
