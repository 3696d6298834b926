"""check_manifold returns the Taylor slopes and identity errors as numbers.

The slopes are those of pymanopt's ``check_gradient``/``check_hessian`` and
Manopt's ``checkretraction``: 2 for the gradient, 3 for the Hessian stepping
with ``exp``, 2 for the chart retraction and 3 for the second-order one
against ``exp``. The broken manifolds at the end show that each number can
fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from problems import two_layer

from manifolds import OutputManifold, check_manifold, fit_loglog_slope

ACTIVATIONS = ["tanh", "sigmoid", "softplus", "gelu", "silu", "erf"]


def assert_geometry_is_correct(result):
    assert result.projection_idempotence <= 1e-13
    assert result.projection_symmetry <= 1e-13
    assert result.tangency <= 1e-12
    assert result.weingarten_identity <= 1e-10
    # A Taylor slope may exceed its order (a small next coefficient along
    # the sampled direction); a wrong derivative loses a whole order.
    assert result.gradient_slope >= 2.0 - 0.1
    assert result.hessian_slope >= 3.0 - 0.15
    assert result.retraction_slopes["chart"] >= 2.0 - 0.1
    assert result.retraction_slopes["second_order"] >= 3.0 - 0.15
    assert result.status == "pass", [v for v in result.verdicts() if v.status != "pass"]
    assert result.exp_log_error <= 1e-8
    assert result.dist_error <= 1e-8
    # Each slope was fitted on at least a decade of steps above the round-off
    # floor (5 steps of the default sweep). Along xi = J delta the error of a
    # smooth model mixes t^3 and t^4 terms, so the straight piece can be
    # short. The steps come from logspace: a window of exactly one decade can
    # give 9.999999999999998.
    for check in (result.gradient, result.hessian, *result.retraction.values()):
        start, stop = check.window
        assert check.resolved
        assert check.steps[stop - 1] / check.steps[start] >= 10 * (1 - 1e-9)
        assert np.all(check.errors[start:stop] > check.floor[start:stop])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_check_manifold_slopes_for_every_activation(activation):
    problem = two_layer(n=20, d=3, width=2, activation=activation, seed=31)
    result = check_manifold(problem.manifold, rng=np.random.default_rng(0))
    assert_geometry_is_correct(result)


@pytest.mark.parametrize("retraction", ["chart", "second_order"])
def test_check_manifold_with_weighted_metric_and_radius(retraction):
    problem = two_layer(
        n=20,
        d=3,
        width=2,
        seed=32,
        metric_weight=1 / 20,
        radius=2.0,
        retraction=retraction,
    )
    result = check_manifold(problem.manifold, rng=np.random.default_rng(1))
    assert_geometry_is_correct(result)


def test_check_manifold_at_a_given_point_is_reproducible():
    problem = two_layer(n=20, d=3, width=2, seed=33)
    u = problem.manifold.point(problem.params0)
    first = check_manifold(problem.manifold, u, rng=np.random.default_rng(2))
    second = check_manifold(problem.manifold, u, rng=np.random.default_rng(2))
    assert np.array_equal(first.point, u)
    assert first.gradient_slope == second.gradient_slope
    assert first.hessian_slope == second.hessian_slope


class NoWeingarten(OutputManifold):
    def weingarten(self, point, tangent_vector, normal_vector):
        return np.zeros_like(tangent_vector)


class UnweightedGradient(OutputManifold):
    def euclidean_to_riemannian_gradient(self, point, euclidean_gradient):
        return self.projection(point, euclidean_gradient)  # forgets the 1/c


class SloppySecondOrder(OutputManifold):
    def retract(self, point, tangent_vector, *, kind=None):
        if kind == "second_order":
            # Drops the -1/2 J^+ D^2F[eta, eta] correction but keeps the name.
            return super().retract(point, tangent_vector, kind="chart")
        return super().retract(point, tangent_vector, kind=kind)


def broken(cls, **options):
    problem = two_layer(n=20, d=3, width=2, seed=34, build_manifold=False)
    return cls(
        problem.output_map, problem.params0, rng=np.random.default_rng(0), **options
    )


def test_a_missing_weingarten_term_breaks_the_hessian_slope():
    result = check_manifold(broken(NoWeingarten), rng=np.random.default_rng(3))
    assert result.gradient_slope == pytest.approx(2.0, abs=0.1)
    assert result.hessian_slope == pytest.approx(2.0, abs=0.15)
    assert result.weingarten_identity > 0.1
    failed = {v.name for v in result.verdicts() if v.status == "fail"}
    assert failed == {"Weingarten identity", "Hessian Taylor slope (exp)"}
    assert result.status == "fail"


def test_a_gradient_in_the_wrong_metric_breaks_the_gradient_slope():
    result = check_manifold(
        broken(UnweightedGradient, metric_weight=0.25), rng=np.random.default_rng(4)
    )
    assert result.gradient_slope == pytest.approx(1.0, abs=0.1)
    failed = {v.name for v in result.verdicts() if v.status == "fail"}
    assert "gradient Taylor slope" in failed and result.status == "fail"


def test_a_first_order_retraction_called_second_order_is_caught():
    result = check_manifold(broken(SloppySecondOrder), rng=np.random.default_rng(5))
    assert result.retraction_slopes["second_order"] == pytest.approx(2.0, abs=0.1)
    failed = {v.name for v in result.verdicts() if v.status == "fail"}
    assert failed == {"second-order retraction vs exp"}


def test_fit_loglog_slope_finds_the_linear_piece():
    steps = np.logspace(-8, 0, 33)
    # t^3 with a round-off floor below and a saturation above.
    errors = np.maximum(
        steps**3 / (1 + 10 * steps**2), 1e-15 * (1 + np.sin(np.arange(33)))
    )
    fit = fit_loglog_slope(steps, errors)
    assert fit.slope == pytest.approx(3.0, abs=0.02)
    start, stop = fit.window
    # steps[12] is 10**-5 up to rounding (9.999999999999999e-06 on some builds).
    assert steps[start] >= 1e-5 * (1 - 1e-9) and steps[stop - 1] <= 0.5
    exact = fit_loglog_slope(steps, np.zeros(33))
    assert math.isinf(exact.slope)


def test_fit_loglog_slope_rejects_bad_input():
    with pytest.raises(ValueError, match="`steps` must be positive"):
        fit_loglog_slope([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="`errors` must have shape"):
        fit_loglog_slope([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="`errors` must be finite"):
        fit_loglog_slope([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="`errors` must be non-negative"):
        fit_loglog_slope([1.0, 2.0], [1.0, -1.0])


def test_check_manifold_rejects_bad_arguments():
    problem = two_layer(n=20, d=3, width=2, seed=35)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        check_manifold(problem.manifold, rng=0)
    with pytest.raises(ValueError, match=r"`point` must have shape \(20,\)"):
        check_manifold(problem.manifold, np.ones(3), rng=np.random.default_rng(0))


def test_check_manifold_at_large_alpha_and_at_p_equal_n():
    # alpha = 1000 used to overflow cosh in the default cost's Hessian; at
    # p == n the longest default steps leave the immersion region.
    for problem in (
        two_layer(n=20, d=2, width=2, alpha=1000.0, seed=3),
        two_layer(n=4, d=2, width=2, seed=3),
    ):
        result = check_manifold(problem.manifold, rng=np.random.default_rng(0))
        assert result.gradient_slope == pytest.approx(2.0, abs=0.1)
        assert result.hessian_slope == pytest.approx(3.0, abs=0.15)
        assert result.gradient.reliable and result.hessian.reliable


def test_fit_loglog_slope_flags_noise_as_unreliable():
    steps = np.logspace(-8, 0, 33)
    noise = np.exp(np.random.default_rng(0).standard_normal(33))
    assert not fit_loglog_slope(steps, noise).reliable
    assert fit_loglog_slope(steps, steps**2).reliable
