"""The matrix-free output manifold (``solver="krylov"``) against the dense one."""

import numpy as np
import pytest

from manifolds import OutputManifold
from manifolds.checks import check_manifold
from riemgn.data import conditioned_inputs
from riemgn.networks import TwoLayerOutputMap

RTOL = 1e-8


class _NoJacobian(TwoLayerOutputMap):
    """A map whose Jacobian may not be formed: only products are allowed."""

    forbid = False

    def jacobian(self, params):
        if self.forbid:
            raise AssertionError("the Jacobian was formed under solver='krylov'")
        return super().jacobian(params)


def _map(cond, n=400, d=10, m=20, seed=0):
    rng = np.random.default_rng(seed)
    X = conditioned_inputs(n, d, cond, rng)
    a = rng.choice([-1.0, 1.0], size=m)
    output_map = _NoJacobian(X, a, alpha=1.0, activation="tanh")
    theta = 0.5 * rng.standard_normal(output_map.n_params)
    return output_map, theta, rng


def _pair(cond, **sizes):
    output_map, theta, rng = _map(cond, **sizes)
    dense = OutputManifold(output_map, theta, solver="dense")
    output_map.forbid = True
    krylov = OutputManifold(output_map, theta, solver="krylov")
    return dense, krylov, theta, rng


def _close(a, b, rtol=RTOL):
    assert np.linalg.norm(a - b) <= rtol * np.linalg.norm(b)


@pytest.mark.parametrize("cond", [1.0, 1e3])
def test_krylov_agrees_with_dense(cond):
    dense, krylov, theta, rng = _pair(cond)
    assert (dense.solver, krylov.solver) == ("dense", "krylov")
    u = krylov.point(theta)
    w = rng.standard_normal(u.shape)
    xi = dense.projection(u, w)
    _close(krylov.projection(u, w), xi)
    _close(
        krylov.euclidean_to_riemannian_gradient(u, w),
        dense.euclidean_to_riemannian_gradient(u, w),
    )
    _close(krylov.tangent_to_chart(u, xi), dense.tangent_to_chart(u, xi))
    _close(
        krylov.euclidean_to_riemannian_hessian(u, w, xi, 0.3 * w),
        dense.euclidean_to_riemannian_hessian(u, w, xi, 0.3 * w),
    )
    step = 1e-2 * xi / np.linalg.norm(xi)
    _close(krylov.retraction(u, step), dense.retraction(u, step))
    # the Gauss-Newton direction towards a target: the projection of the residual
    _close(krylov.projection(u, w - u), dense.projection(u, w - u))


def test_condition_estimates_and_rank():
    dense, krylov, theta, _ = _pair(1e3)
    krylov.output_map.forbid = False
    expected = dense.rank_info(theta)
    krylov.output_map.forbid = True
    info = krylov.rank_info(theta)
    assert info.rank == expected.rank == theta.size
    estimate, exact = info.singular_values[0], expected.singular_values[0]
    assert abs(estimate - exact) <= 0.1 * exact  # a sketched estimate (1.7% here)
    assert np.isfinite(krylov.typical_dist)


def test_check_manifold_on_krylov():
    _, krylov, theta, _ = _pair(10.0, n=60, d=3, m=4)
    check_manifold(krylov, rng=np.random.default_rng(3))


def test_pymanopt_runs_on_krylov():
    pymanopt = pytest.importorskip("pymanopt")
    _, krylov, theta, rng = _pair(10.0, n=60, d=3, m=4)
    target = krylov.point(theta) + 0.01 * rng.standard_normal(krylov.ambient_dim)

    @pymanopt.function.numpy(krylov)
    def cost(u):
        return 0.5 * float(np.sum((u - target) ** 2))

    @pymanopt.function.numpy(krylov)
    def gradient(u):
        return u - target

    @pymanopt.function.numpy(krylov)
    def hessian(u, v):
        return v

    problem = pymanopt.Problem(
        krylov, cost, euclidean_gradient=gradient, euclidean_hessian=hessian
    )
    start = krylov.point(theta)
    for optimizer in (
        pymanopt.optimizers.SteepestDescent(max_iterations=5, verbosity=0),
        pymanopt.optimizers.TrustRegions(max_iterations=5, verbosity=0),
    ):
        result = optimizer.run(problem, initial_point=start)
        assert result.cost <= cost(start)


def test_bad_solver_names_the_argument():
    output_map, theta, _ = _map(1.0, n=40, d=2, m=3)
    with pytest.raises(ValueError, match="`solver`"):
        OutputManifold(output_map, theta, solver="qr")
    assert OutputManifold(output_map, theta).solver == "dense"


def test_exp_log_lift_and_random_vectors_without_a_jacobian():
    dense, krylov, theta, rng = _pair(10.0, n=60, d=3, m=4)
    u = krylov.point(theta)
    xi = 0.05 * krylov.random_tangent_vector(u, rng=rng)
    _close(krylov.projection(u, xi), xi, rtol=1e-9)
    v = krylov.exp(u, xi)
    krylov.output_map.forbid = False
    expected = dense.exp(u, xi)
    krylov.output_map.forbid = True
    _close(v, expected, rtol=1e-7)
    _close(krylov.log(u, v), xi, rtol=1e-6)
    # a point the krylov manifold never made: lifted by matrix-free least squares
    fresh = krylov.output_map.value(theta + 1e-3 * rng.standard_normal(theta.size))
    _close(krylov.output_map.value(krylov.lift(fresh)), fresh, rtol=1e-9)


def test_intrinsic_flow_on_a_krylov_manifold():
    from riemgn.dynamics.flows import riemannian_gradient_flow
    from riemgn.losses import SquaredLoss

    dense, krylov, theta, rng = _pair(10.0, n=60, d=3, m=4)
    target = krylov.output_map.value(theta + 0.05 * rng.standard_normal(theta.size))
    runs = []
    for manifold in (dense, krylov):
        krylov.output_map.forbid = manifold is krylov
        runs.append(
            riemannian_gradient_flow(
                manifold,
                SquaredLoss(target),
                manifold.point(theta),
                (0.0, 0.5),
                step=0.05,
            )
        )
    assert runs[0].status.value == runs[1].status.value == "t_end"
    _close(runs[1].outputs[-1], runs[0].outputs[-1], rtol=1e-8)
