"""Cost ratios of the dynamics (run by hand: ``python benchmarks/flows.py``).

Every number is a ratio measured on the same machine, or a count:

* kernel form, one LM velocity at n = 20, p = 2e5: the ``"svd"`` factorization
  of J against ``"eigh"`` of the closed-form kernel;
* Gauss-Newton flow at cond(G0) = 1e10: Jacobian evaluations with the normal
  equations against QR (the normal equations' velocity is noisy, so the
  adaptive solver chases the noise);
* the intrinsic RK4 flow against the parameter-space GN flow (DOP853) for the
  same accuracy on a small network: wall-time ratio.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from manifolds.linalg import kernel_factorization
from riemgn.dynamics.equivalence import compare_trajectories
from riemgn.dynamics.flows import gauss_newton_flow, riemannian_gradient_flow
from riemgn.losses import SquaredLoss
from riemgn.networks import TwoLayerNetwork

# The problem catalogue, imported after the packages: tests/manifolds would
# otherwise shadow the manifolds package.
sys.path.append("tests")
from problems import teacher_target, two_layer, two_layer_with_condition  # noqa: E402


def timed(fun, repeat=3):
    fun()
    start = time.perf_counter()
    for _ in range(repeat):
        result = fun()
    return (time.perf_counter() - start) / repeat, result


def kernel_form():
    rng = np.random.default_rng(0)
    n, d, width = 20, 1000, 200
    network = TwoLayerNetwork(d, width)
    params = network.init_params(rng, "standard")
    output_map = network.output_map(rng.standard_normal((n, d)) / np.sqrt(d))
    g = rng.standard_normal(n)
    J = output_map.jacobian(params)

    def with_eigh():
        K = output_map.neural_tangent_kernel(params)
        return kernel_factorization(J, kernel=K, solver="eigh").direction(g, 1e-3)

    def with_svd():
        return kernel_factorization(J, solver="svd").direction(g, 1e-3)

    t_eigh, a = timed(with_eigh)
    t_svd, b = timed(with_svd)
    print(
        f"kernel form at n={n}, p={J.shape[1]}: svd / eigh time = {t_svd / t_eigh:.1f}x, "
        f"directions agree to {np.linalg.norm(a - b) / np.linalg.norm(b):.1e}"
    )


def normal_equations():
    problem = two_layer_with_condition(
        1e10, n=40, d=2, width=2, seed=0, build_manifold=False
    )
    loss = SquaredLoss(teacher_target(problem, 0.1, seed=1))
    args = (problem.output_map, problem.params0, loss, (0.0, 0.5))
    counts = {
        solver: gauss_newton_flow(*args, solver=solver, t_eval=[0.5]).n_jacobian_evals
        for solver in ("qr", "normal_equations")
    }
    print(
        "GN flow at cond(G0) = 1e10: Jacobian evaluations, normal equations / QR = "
        f"{counts['normal_equations'] / counts['qr']:.0f}x ({counts})"
    )


def intrinsic_against_parameter_space():
    problem = two_layer(20, 3, 2, seed=5)
    rng = np.random.default_rng(11)
    loss = SquaredLoss(
        problem.output_map.value(problem.params0) + 0.5 * rng.standard_normal(20)
    )
    u0 = problem.manifold.point(problem.params0)
    t_rk4, intrinsic = timed(
        lambda: riemannian_gradient_flow(
            problem.manifold, loss, u0, (0.0, 1.0), step=0.025
        ),
        repeat=1,
    )
    t_gn, gn = timed(
        lambda: gauss_newton_flow(
            problem.output_map,
            problem.params0,
            loss,
            (0.0, 1.0),
            t_eval=intrinsic.times[1:],
        ),
        repeat=1,
    )
    error = compare_trajectories(gn, intrinsic).sup_deviation
    print(
        f"intrinsic RK4 (step 0.025) / GN flow (DOP853) wall time = {t_rk4 / t_gn:.1f}x, "
        f"sup deviation {error:.1e}"
    )


if __name__ == "__main__":
    kernel_form()
    normal_equations()
    intrinsic_against_parameter_space()
