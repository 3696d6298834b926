"""pymanopt's own optimizers minimize a loss on an OutputManifold.

The reference is the optimum that ``scipy.optimize.least_squares`` finds in
parameter space from the same start: the loss on the manifold and the
least-squares objective are the same function, reached through different
coordinates.
"""

from __future__ import annotations

import numpy as np
import pymanopt
import pytest
import scipy.optimize
from problems import two_layer


@pytest.fixture(scope="module")
def setup():
    problem = two_layer(n=30, d=3, width=2, seed=21)
    rng = np.random.default_rng(22)
    teacher = problem.params0 + 0.3 * rng.standard_normal(problem.params0.size)
    # Not realizable: the optimum has a non-zero normal residual.
    y = problem.output_map.value(teacher) + 0.05 * rng.standard_normal(30)
    reference = scipy.optimize.least_squares(
        lambda theta: problem.output_map.value(theta) - y,
        problem.params0,
        jac=problem.output_map.jacobian,
        method="trf",
        ftol=1e-15,
        xtol=1e-15,
        gtol=1e-15,
    )
    assert reference.success
    h_star = 0.5 * float(reference.fun @ reference.fun)
    assert h_star > 1e-3
    manifold = problem.manifold

    @pymanopt.function.autograd(manifold)
    def cost(u):
        return 0.5 * ((u - y) ** 2).sum()

    return (
        manifold,
        pymanopt.Problem(manifold, cost),
        manifold.point(problem.params0),
        h_star,
        y,
    )


def relative_excess(result, h_star):
    return abs(result.cost - h_star) / h_star


def test_trust_regions_reaches_the_least_squares_optimum_to_1e8(setup):
    manifold, problem, u0, h_star, _ = setup
    optimizer = pymanopt.optimizers.TrustRegions(verbosity=0, min_gradient_norm=1e-12)
    result = optimizer.run(problem, initial_point=u0)
    assert relative_excess(result, h_star) <= 1e-8
    assert (
        manifold.norm(result.point, problem.riemannian_gradient(result.point)) <= 1e-8
    )


@pytest.mark.parametrize(
    "optimizer",
    [
        pymanopt.optimizers.SteepestDescent(
            verbosity=0, max_iterations=3000, min_gradient_norm=1e-9
        ),
        pymanopt.optimizers.ConjugateGradient(
            verbosity=0, max_iterations=3000, min_gradient_norm=1e-9
        ),
    ],
    ids=["SteepestDescent", "ConjugateGradient"],
)
def test_first_order_optimizers_reach_the_optimum_to_1e4(setup, optimizer):
    _, problem, u0, h_star, _ = setup
    result = optimizer.run(problem, initial_point=u0)
    assert result.iterations <= 3000
    assert relative_excess(result, h_star) <= 1e-4


def test_trust_regions_on_the_squared_loss_problem_with_analytic_derivatives(setup):
    from riemgn.losses import SquaredLoss

    manifold, _, u0, h_star, y = setup
    problem = SquaredLoss(y).problem(manifold)
    optimizer = pymanopt.optimizers.TrustRegions(verbosity=0, min_gradient_norm=1e-12)
    result = optimizer.run(problem, initial_point=u0)
    assert relative_excess(result, h_star) <= 1e-8
    with pytest.raises(ValueError, match="points have 30 outputs but `y` has 29"):
        SquaredLoss(y[:-1]).problem(manifold)


@pytest.mark.parametrize(
    "cond_x", [1e2, 1e3, 1e4], ids=["condG~1e5", "condG~1e7", "condG~1e9"]
)
def test_optimizers_on_the_manifold_do_not_feel_the_conditioning_of_G(cond_x):
    """Steepest descent on M needs about 20 iterations whatever cond(J^T J) is.

    The Riemannian gradient of the squared loss is P_u (u - y): the
    parametrization, and so cond(G), never enters (THEORY §3).
    """
    from riemgn.losses import SquaredLoss

    problem = two_layer(n=30, d=4, width=2, cond_x=cond_x, seed=21)
    rng = np.random.default_rng(22)
    teacher = problem.params0 + 0.3 * rng.standard_normal(8)
    y = problem.output_map.value(teacher) + 0.05 * rng.standard_normal(30)
    reference = scipy.optimize.least_squares(
        lambda theta: problem.output_map.value(theta) - y,
        problem.params0,
        jac=problem.output_map.jacobian,
        ftol=1e-15,
        xtol=1e-15,
        gtol=1e-15,
    )
    h_star = 0.5 * float(reference.fun @ reference.fun)
    loss_problem = SquaredLoss(y).problem(problem.manifold)
    u0 = problem.manifold.point(problem.params0)
    trust = pymanopt.optimizers.TrustRegions(verbosity=0, min_gradient_norm=1e-12)
    result = trust.run(loss_problem, initial_point=u0)
    assert abs(result.cost - h_star) <= 1e-8 * h_star
    descent = pymanopt.optimizers.SteepestDescent(verbosity=0, min_gradient_norm=1e-9)
    result = descent.run(loss_problem, initial_point=u0)
    assert result.iterations <= 60
    assert abs(result.cost - h_star) <= 1e-8 * h_star
