"""The safeguarded retraction: what it guarantees, inside and on the boundary."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest

from manifolds import AutogradOutputMap, NotAnImmersionError, OutputManifold

X = np.random.default_rng(0).normal(size=(8, 2))
THETA0 = np.array([0.3, -0.2])


def tanh_map():
    return AutogradOutputMap(lambda w: anp.tanh(X @ w), n_params=2)


def manifolds_pair(**options):
    plain = OutputManifold(tanh_map(), THETA0, **options)
    guarded = OutputManifold(tanh_map(), THETA0, safeguard=True, **options)
    return plain, guarded


def test_inside_the_region_it_is_the_plain_retraction_bit_for_bit():
    plain, guarded = manifolds_pair(radius=2.0)
    u = plain.point(THETA0)
    rng = np.random.default_rng(1)
    for _ in range(10):
        xi = 0.1 * plain.random_tangent_vector(u, rng=rng)
        assert np.array_equal(guarded.retraction(u, xi), plain.retraction(u, xi))
        assert np.array_equal(
            guarded.retract(u, xi, kind="second_order"),
            plain.retract(u, xi, kind="second_order"),
        )
    assert guarded.step_cut(u) is None


def test_it_is_a_retraction_at_an_interior_point():
    _, guarded = manifolds_pair(radius=2.0)
    u = guarded.point(THETA0)
    xi = guarded.random_tangent_vector(u, rng=np.random.default_rng(2))
    assert np.array_equal(guarded.retraction(u, guarded.zero_vector(u)), u)
    t = 1e-6
    forward, backward = guarded.retraction(u, t * xi), guarded.retraction(u, -t * xi)
    velocity = (forward - backward) / (2 * t)
    assert np.allclose(velocity, xi, atol=1e-8)


def test_a_long_step_is_halved_into_the_ball():
    plain, guarded = manifolds_pair(radius=1.0)
    u = guarded.point(THETA0)
    xi = guarded.chart_to_tangent(u, np.array([5.0, 0.0]))
    with pytest.raises(Exception, match="leaves the ball"):
        plain.retraction(u, xi)
    v = guarded.retraction(u, xi)
    theta = guarded.lift(v)
    # |J^+ xi| = 5: halved three times to 0.625 <= 1 (2.5 and 1.25 leave).
    assert np.allclose(theta, THETA0 + np.array([0.625, 0.0]))
    reason, message = guarded.step_cut(u)
    assert reason == "ball"
    assert message.startswith("a step was shortened by 2^-3")
    assert "radius = 1" in message


def test_steps_never_leave_the_region():
    _, guarded = manifolds_pair(radius=3.0)
    rng = np.random.default_rng(3)
    u = guarded.point(THETA0)
    for _ in range(40):
        xi = 50.0 * guarded.random_tangent_vector(u, rng=rng)
        u = guarded.retraction(u, xi)
        theta = guarded.lift(u)
        assert np.linalg.norm(theta - THETA0) <= 3.0
        assert guarded.rank_info(theta).condition_number <= guarded.max_condition


def test_on_the_boundary_it_is_not_a_retraction():
    # Walk to the sphere |theta - theta0| = 1, then step outward: every
    # outward step, however short, is cut, so DR(0) != id there.
    _, guarded = manifolds_pair(radius=1.0)
    u = guarded.point(THETA0)
    outward = np.array([1.0, 0.0])
    for _ in range(80):
        u = guarded.retraction(u, guarded.chart_to_tangent(u, outward))
    theta = guarded.lift(u)
    assert 1.0 - 1e-12 < np.linalg.norm(theta - THETA0) <= 1.0
    for length in (1e-3, 1e-6):
        xi = guarded.chart_to_tangent(u, length * outward)
        v = guarded.retraction(u, xi)
        assert np.linalg.norm(guarded.lift(v) - theta) < length
    assert guarded.step_cut(u)[0] == "ball"
    # Inward steps are not cut.
    xi = guarded.chart_to_tangent(u, -1e-3 * outward)
    assert np.allclose(guarded.lift(guarded.retraction(u, xi)), theta - [1e-3, 0.0])


def test_a_step_into_rank_loss_is_cut():
    # A map whose second Jacobian column vanishes at w[0] = 1.
    def fun(w):
        return anp.concatenate(
            [X[:, 0] * w[0], (1.0 - w[0]) ** 3 * anp.tanh(X[:, 1] * w[1])]
        )

    output_map = AutogradOutputMap(fun, n_params=2)
    plain = OutputManifold(output_map, np.array([0.0, 0.5]))
    guarded = OutputManifold(
        output_map, np.array([0.0, 0.5]), safeguard=True, max_condition=1e4
    )
    u = guarded.point(np.array([0.0, 0.5]))
    xi = guarded.chart_to_tangent(u, np.array([1.0, 0.0]))  # onto w[0] = 1
    v = plain.retraction(plain.point(np.array([0.0, 0.5])), xi)
    with pytest.raises(NotAnImmersionError, match="rank-deficient"):
        plain.projection(v, v)  # the geometry at the plain step's end fails
    v = guarded.retraction(u, xi)
    theta = guarded.lift(v)
    assert theta[0] < 1.0
    assert guarded.rank_info(theta).condition_number <= 1e4
    assert guarded.step_cut(u)[0] == "rank"


def test_arguments_are_checked():
    with pytest.raises(TypeError, match="`safeguard` must be a bool"):
        OutputManifold(tanh_map(), THETA0, safeguard="yes")
    with pytest.raises(ValueError, match="`max_condition` = 1e\\+20 must be below"):
        OutputManifold(tanh_map(), THETA0, safeguard=True, max_condition=1e20)
    with pytest.raises(ValueError, match="cond J\\(theta0\\) = .* > `max_condition`"):
        OutputManifold(tanh_map(), THETA0, safeguard=True, max_condition=1.01)
    assert OutputManifold(tanh_map(), THETA0).safeguard is False


def test_default_max_condition_follows_a_coarse_rank_rtol():
    # The default 1e8 is capped at 0.5 / rank_rtol, so a coarse rank
    # tolerance alone is accepted, with or without the safeguard.
    assert OutputManifold(tanh_map(), THETA0).max_condition == 1e8
    for safeguard in (False, True):
        coarse = OutputManifold(tanh_map(), THETA0, rank_rtol=0.1, safeguard=safeguard)
        assert coarse.max_condition == 5.0
