"""Targets off the manifold: pymanopt's optimizers and riemannian_gradient_descent.

The README example with its target replaced by ``rng.standard_normal(40)``,
which lies off the manifold. Before the safeguard and the best-point
tracking, TrustRegions raised NotAnImmersionError on 3 seeds of 3 and the
wrapper returned the start with ``n_iter 0``.
"""

from __future__ import annotations

import numpy as np
import pymanopt
import pytest

from manifolds import NotAnImmersionError, OutputManifold
from riemgn import SquaredLoss
from riemgn.networks import TwoLayerNetwork
from riemgn.solvers import SolverStatus, gauss_newton, riemannian_gradient_descent

SEEDS = range(5)
OPTIMIZERS = {
    "steepest_descent": pymanopt.optimizers.SteepestDescent,
    "conjugate_gradient": pymanopt.optimizers.ConjugateGradient,
    "trust_regions": pymanopt.optimizers.TrustRegions,
}
# The statuses riemannian_gradient_descent documents.
DOCUMENTED = {
    SolverStatus.CONVERGED_GTOL,
    SolverStatus.CONVERGED_XTOL,
    SolverStatus.MAX_ITER,
    SolverStatus.RANK_LOSS,
    SolverStatus.LEFT_REGION,
    SolverStatus.NON_FINITE,
}


def readme_problem(seed: int, **manifold_options):
    """The README example, its target drawn at random (off the manifold)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3))
    network = TwoLayerNetwork(3, 4, alpha=1.0, activation="tanh")
    params0 = network.init_params(rng, "standard")
    manifold = OutputManifold(
        network.output_map(X), params0, rng=rng, **manifold_options
    )
    y = rng.standard_normal(40)
    return network, X, params0, manifold, SquaredLoss(y)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_the_wrapper_keeps_progress_on_the_plain_manifold(seed, optimizer):
    _, _, params0, manifold, loss = readme_problem(seed)
    start = loss.value(manifold.point(params0))
    result = riemannian_gradient_descent(
        manifold, loss, optimizer=optimizer, max_iterations=100
    )
    assert result.status in DOCUMENTED
    assert result.loss < start
    assert result.loss == pytest.approx(loss.value(result.outputs), rel=1e-12)
    # The returned point is a point of the manifold with its geometry.
    assert np.allclose(manifold.point(result.params), result.outputs, atol=1e-9)
    if result.status is SolverStatus.RANK_LOSS:
        assert "symmetric" not in result.message
        assert result.n_iter > 0


def test_trust_regions_rank_loss_reports_progress_and_the_measured_cause():
    # Seed 0: TrustRegions meets a rank-deficient J after a few iterations.
    _, _, params0, manifold, loss = readme_problem(0)
    with pytest.raises(NotAnImmersionError):
        pymanopt.optimizers.TrustRegions(verbosity=0, max_iterations=100).run(
            loss.problem(manifold), initial_point=manifold.point(params0)
        )
    result = riemannian_gradient_descent(
        manifold, loss, optimizer="trust_regions", max_iterations=100
    )
    assert result.status is SolverStatus.RANK_LOSS
    assert result.n_iter > 0 and result.n_value_evals > 0
    assert result.loss < 0.6 * loss.value(manifold.point(params0))
    assert "best point evaluated" in result.message
    assert "neuron" in result.message and "saturated" in result.message
    assert "symmetric" not in result.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("radius", [None, 3.0])
def test_pymanopt_optimizers_run_on_the_safeguarded_manifold(seed, radius):
    _, _, params0, manifold, loss = readme_problem(seed, safeguard=True, radius=radius)
    u0 = manifold.point(params0)
    start = loss.value(u0)
    for name, optimizer in OPTIMIZERS.items():
        result = optimizer(verbosity=0, max_iterations=60).run(
            loss.problem(manifold), initial_point=u0
        )
        assert result.cost < start, name
        theta = manifold.lift(result.point)
        if radius is not None:
            assert np.linalg.norm(theta - params0) <= radius
        assert manifold.rank_info(theta).condition_number <= manifold.max_condition


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("radius", [None, 3.0])
def test_the_wrapper_reports_the_boundary_of_the_safeguarded_region(seed, radius):
    _, _, params0, manifold, loss = readme_problem(seed, safeguard=True, radius=radius)
    start = loss.value(manifold.point(params0))
    for name in OPTIMIZERS:
        result = riemannian_gradient_descent(
            manifold, loss, optimizer=name, max_iterations=60
        )
        assert result.status in DOCUMENTED, name
        assert result.loss < start, name
        cut = manifold.step_cut(result.outputs)
        if result.status in (SolverStatus.RANK_LOSS, SolverStatus.LEFT_REGION):
            # The status names the boundary that stopped it, as measured at
            # the point returned or, when a lower trial point is returned, at
            # the optimizer's final iterate.
            assert "boundary of the safeguarded region" in result.message
            if "returning a point it evaluated" not in result.message:
                assert cut is not None, (name, result.message)
                expected = "rank" if result.status is SolverStatus.RANK_LOSS else "ball"
                assert cut[0] == expected
        if radius is not None:
            # Within 3 of theta0 the loss cannot fall far: every run stops
            # against the ball, none claims convergence.
            assert result.status is SolverStatus.LEFT_REGION, (name, result.message)


def test_a_point_off_the_boundary_is_not_reported_as_boundary():
    # A target on the manifold: the optimizer converges inside the region.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    network = TwoLayerNetwork(3, 4)
    params0 = network.init_params(rng)
    manifold = OutputManifold(network.output_map(X), params0, safeguard=True)
    loss = SquaredLoss(manifold.point(params0 + 0.3 * rng.standard_normal(12)))
    result = riemannian_gradient_descent(manifold, loss, optimizer="trust_regions")
    assert result.status is SolverStatus.CONVERGED_GTOL
    assert result.loss < 1e-20


# --------------------------------------------------------------------------
# Rank-loss messages state what was measured.


def saturated_params(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3))
    network = TwoLayerNetwork(3, 4)
    params = network.init_params(rng, "standard")
    params[6:9] = [-1762.0, 208.0, -302.0]  # neuron 2, as measured in the issue
    return network.output_map(X), params


def test_a_saturated_neuron_is_named_and_the_symmetric_start_is_not_blamed():
    output_map, params = saturated_params()
    with pytest.raises(NotAnImmersionError) as error:
        OutputManifold(output_map, params)
    message = str(error.value)
    assert "symmetric" not in message
    assert "neuron 2 is saturated" in message
    assert "|w_2| = 1800" in message
    # The same account from the parameter-space solver.
    result = gauss_newton(output_map, params, SquaredLoss(np.zeros(40)))
    assert result.status is SolverStatus.RANK_LOSS
    assert "neuron 2 is saturated" in result.message
    assert "symmetric" not in result.message


def test_the_symmetric_initialization_is_named_when_neurons_are_paired():
    rng = np.random.default_rng(0)
    network = TwoLayerNetwork(3, 4)
    params = network.init_params(rng, "symmetric")
    output_map = network.output_map(rng.standard_normal((40, 3)))
    with pytest.raises(NotAnImmersionError) as error:
        OutputManifold(output_map, params)
    message = str(error.value)
    assert "symmetric initialization" in message
    assert "0 and 2, 1 and 3" in message
    assert "saturated" not in message


def test_duplicate_inputs_are_named():
    rng = np.random.default_rng(1)
    network = TwoLayerNetwork(3, 4)
    params = network.init_params(rng)
    X = np.repeat(rng.standard_normal((5, 3)), 8, axis=0)  # 5 distinct of 40
    with pytest.raises(NotAnImmersionError) as error:
        OutputManifold(network.output_map(X), params)
    assert "only 5 distinct inputs among the 40 for 12 parameters" in str(error.value)
    assert "symmetric" not in str(error.value)


def test_a_failing_model_diagnosis_does_not_hide_the_rank_loss():
    output_map, params = saturated_params()

    class Broken:
        def __init__(self, inner):
            self._inner = inner
            self.n_params, self.n_outputs = inner.n_params, inner.n_outputs

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def describe_rank_loss(self, params, J, tolerance):
            raise RuntimeError("diagnosis bug")

    with pytest.raises(NotAnImmersionError) as error:
        OutputManifold(Broken(output_map), params)
    message = str(error.value)
    assert "smallest singular value" in message
    assert "describe_rank_loss raised RuntimeError: diagnosis bug" in message
