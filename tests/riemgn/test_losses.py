"""Losses on outputs: values and derivatives against autograd, and validation."""

from __future__ import annotations

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from problems import two_layer

from riemgn import losses
from riemgn.losses import LogisticLoss, PseudoHuberLoss, SquaredLoss


@pytest.mark.parametrize("mean", [False, True])
def test_squared_loss_matches_autograd(mean):
    rng = np.random.default_rng(0)
    y, u, v = rng.standard_normal((3, 7))
    loss = SquaredLoss(y, mean=mean)
    scale = 1 / 7 if mean else 1.0

    def reference(w):
        return 0.5 * scale * anp.sum((w - y) ** 2)

    assert loss.value(u) == pytest.approx(reference(u), rel=1e-14)
    assert np.allclose(loss.gradient(u), autograd.grad(reference)(u), rtol=1e-14)
    hvp = autograd.hessian_vector_product(reference)(u, v)
    assert np.allclose(loss.hessian_vector(u, v), hvp, rtol=1e-14)
    assert loss.value(y) == loss.minimum == 0.0


def test_squared_loss_rejects_bad_targets_and_outputs():
    with pytest.raises(ValueError, match="`y` must be finite"):
        SquaredLoss(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="`y` must be finite"):
        SquaredLoss(np.array([np.inf, 1.0]))
    with pytest.raises(
        ValueError, match=r"`y` must have shape \(k,\), got shape \(2, 2\)"
    ):
        SquaredLoss(np.ones((2, 2)))
    loss = SquaredLoss(np.ones(3))
    with pytest.raises(
        ValueError, match=r"`u` must have shape \(3,\), got shape \(4,\)"
    ):
        loss.value(np.ones(4))
    with pytest.raises(ValueError, match="`u` must be finite"):
        loss.gradient(np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"`v` must have shape \(3,\)"):
        loss.hessian_vector(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="`mean` must be a bool"):
        SquaredLoss(np.ones(3), mean="yes")


@pytest.mark.parametrize("mean", [False, True])
def test_squared_loss_rejects_empty_targets(mean):
    # mean=True used to raise a bare ZeroDivisionError (1 / 0); mean=False
    # silently accepted a loss on zero outputs.
    with pytest.raises(
        ValueError, match=r"`y` must have at least one entry, got shape \(0,\)"
    ):
        SquaredLoss(np.ones(0), mean=mean)
    with pytest.raises(ValueError, match="`y` must have at least one entry"):
        SquaredLoss([], mean=mean)


# ----------------------------------------------------------------------
# All three losses: derivatives, convexity, minimum, stability, problem()

N = 7


def _squared(rng, mean):
    y = rng.standard_normal(N)
    scale = 1 / N if mean else 1.0

    def reference(w):
        return 0.5 * scale * anp.sum((w - y) ** 2)

    return SquaredLoss(y, mean=mean), reference


def _logistic(rng, mean):
    y = rng.choice([-1.0, 1.0], size=N)
    scale = 1 / N if mean else 1.0

    def reference(w):
        return scale * anp.sum(anp.logaddexp(0.0, -y * w))

    return LogisticLoss(y, mean=mean), reference


def _pseudo_huber(delta):
    def build(rng, mean):
        y = rng.standard_normal(N)
        scale = 1 / N if mean else 1.0

        def reference(w):
            return scale * delta**2 * anp.sum(anp.sqrt(1 + ((w - y) / delta) ** 2) - 1)

        return PseudoHuberLoss(y, delta, mean=mean), reference

    return build


CASES = {
    "squared": _squared,
    "logistic": _logistic,
    "pseudo_huber_delta=1": _pseudo_huber(1.0),
    "pseudo_huber_delta=0.3": _pseudo_huber(0.3),
    "pseudo_huber_delta=4": _pseudo_huber(4.0),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    return CASES[request.param]


@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_loss_matches_autograd(case, mean, seed):
    rng = np.random.default_rng(seed)
    loss, reference = case(rng, mean)
    u = 2.0 * rng.standard_normal(N)
    v = rng.standard_normal(N)

    def hvp_reference(w):
        return autograd.grad(lambda x: anp.dot(autograd.grad(reference)(x), v))(w)

    assert loss.value(u) == pytest.approx(reference(u), rel=1e-12, abs=0)
    np.testing.assert_allclose(
        loss.gradient(u), autograd.grad(reference)(u), rtol=1e-12, atol=0
    )
    np.testing.assert_allclose(
        loss.hessian_vector(u, v), hvp_reference(u), rtol=1e-12, atol=0
    )
    assert isinstance(loss.value(u), float)
    assert loss.gradient(u).shape == loss.hessian_vector(u, v).shape == (N,)
    assert loss.n_outputs == N
    assert loss.mean is mean


@pytest.mark.parametrize("seed", [4, 5])
def test_derivatives_match_central_differences(case, seed):
    rng = np.random.default_rng(seed)
    loss, _ = case(rng, False)
    u = 2.0 * rng.standard_normal(N)
    v = rng.standard_normal(N)
    step = 1e-5
    slope = (loss.value(u + step * v) - loss.value(u - step * v)) / (2 * step)
    assert slope == pytest.approx(loss.gradient(u) @ v, rel=1e-7, abs=1e-9)
    curvature = (loss.gradient(u + step * v) - loss.gradient(u - step * v)) / (2 * step)
    np.testing.assert_allclose(
        loss.hessian_vector(u, v), curvature, rtol=1e-7, atol=1e-9
    )


@pytest.mark.parametrize("spread", [1.0, 30.0, 1e6])
def test_losses_are_convex(case, spread):
    rng = np.random.default_rng(6)
    loss, _ = case(rng, False)
    for _ in range(20):
        a, b, v = spread * rng.standard_normal((3, N))
        assert v @ loss.hessian_vector(a, v) >= 0.0
        midpoint = loss.value(0.5 * (a + b))
        assert midpoint <= 0.5 * (loss.value(a) + loss.value(b)) * (1 + 1e-12)
        # The gradient is monotone: <grad h(a) - grad h(b), a - b> >= 0.
        assert (loss.gradient(a) - loss.gradient(b)) @ (a - b) >= 0.0
        assert loss.value(a) >= loss.minimum


@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize("delta", [1e-3, 1.0, 1e3])
def test_pseudo_huber_attains_its_minimum_at_the_targets(mean, delta):
    y = np.random.default_rng(7).standard_normal(5)
    loss = PseudoHuberLoss(y, delta, mean=mean)
    assert loss.value(y) == loss.minimum == 0.0
    np.testing.assert_array_equal(loss.gradient(y), np.zeros(5))
    scale = 0.2 if mean else 1.0
    np.testing.assert_allclose(loss.hessian_vector(y, np.ones(5)), scale)
    assert loss.value(y + 1e-3) > 0.0


def test_pseudo_huber_is_accurate_for_tiny_residuals():
    # The naive sqrt(1 + t^2) - 1 cancels to 0 for |t| < 1e-8.
    loss = PseudoHuberLoss(np.zeros(2), 2.0)
    u = np.array([1e-10, -3e-9])
    expected = 0.5 * float(u @ u)
    assert loss.value(u) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(loss.gradient(u), u, rtol=1e-15)


def test_pseudo_huber_interpolates_squared_and_absolute_losses():
    delta = 0.5
    loss = PseudoHuberLoss(np.zeros(2), delta)
    far = np.array([1e8, -1e8])
    assert loss.value(far) == pytest.approx(delta * 2e8 - 2 * delta**2, rel=1e-15)
    np.testing.assert_allclose(loss.gradient(far), [delta, -delta], rtol=1e-15)


@pytest.mark.parametrize("mean", [False, True])
def test_logistic_infimum_is_approached_but_not_attained(mean):
    y = np.array([1.0, -1.0, -1.0, 1.0])
    loss = LogisticLoss(y, mean=mean)
    assert loss.minimum == 0.0
    scales = [0.0, 1.0, 5.0, 10.0, 20.0, 30.0]
    values = [loss.value(t * y) for t in scales]
    assert all(value > loss.minimum for value in values)
    assert np.all(np.diff(values) < 0)
    # log(1 + e^{-t}) ~ e^{-t}: the value tends to 0 as the margins grow.
    s = 0.25 if mean else 1.0
    assert values[-1] == pytest.approx(s * 4 * np.exp(-30.0), rel=1e-12)
    assert loss.value(800.0 * y) == 0.0  # e^{-800} rounds to 0
    assert np.all(np.abs(loss.gradient(30.0 * y)) < 1e-12)


def _extreme_outputs(loss):
    signs = np.resize([1.0, -1.0, -1.0], loss.n_outputs)
    return 1e300 * signs


@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize(
    "build",
    [
        lambda y, mean: LogisticLoss(np.sign(y) + (y == 0), mean=mean),
        lambda y, mean: PseudoHuberLoss(y, 1.0, mean=mean),
        lambda y, mean: PseudoHuberLoss(y, 1e-200, mean=mean),
        lambda y, mean: PseudoHuberLoss(y, 1e5, mean=mean),
    ],
    ids=[
        "logistic",
        "pseudo_huber",
        "pseudo_huber_tiny_delta",
        "pseudo_huber_huge_delta",
    ],
)
def test_stable_at_huge_outputs(build, mean):
    y = np.random.default_rng(8).standard_normal(6)
    loss = build(y, mean)
    u = _extreme_outputs(loss)
    v = np.ones(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            value = loss.value(u)
            gradient = loss.gradient(u)
            hvp = loss.hessian_vector(u, v)
    assert np.isfinite(value) and value > 0
    assert np.all(np.isfinite(gradient)) and np.all(np.isfinite(hvp))
    assert np.all(hvp >= 0)
    s = 1 / 6 if mean else 1.0
    if isinstance(loss, LogisticLoss):
        wrong = loss.y * u < 0
        # log(1 + e^{|t|}) = |t| for a wrong margin, 0 for a right one.
        assert value == pytest.approx(s * np.sum(np.abs(u[wrong])), rel=1e-15)
        np.testing.assert_array_equal(gradient, np.where(wrong, -s * loss.y, 0.0))
        np.testing.assert_array_equal(hvp, 0.0)
    else:
        delta = loss.delta
        assert value == pytest.approx(s * delta * np.sum(np.abs(u - y)), rel=1e-12)
        np.testing.assert_allclose(gradient, s * delta * np.sign(u), rtol=1e-15)


def test_squared_loss_derivatives_are_finite_at_huge_outputs():
    # Its value, ~1e600, is not representable; the derivatives are.
    loss = SquaredLoss(np.zeros(3))
    u = 1e300 * np.array([1.0, -1.0, 1.0])
    np.testing.assert_array_equal(loss.gradient(u), u)
    np.testing.assert_array_equal(loss.hessian_vector(u, np.ones(3)), np.ones(3))
    assert loss.value(1e150 * np.ones(3)) == pytest.approx(1.5e300)


# ----------------------------------------------------------------------
# Validation

ALL_LOSSES = {
    "squared": lambda y, **kw: SquaredLoss(y, **kw),
    "logistic": lambda y, **kw: LogisticLoss(y, **kw),
    "pseudo_huber": lambda y, **kw: PseudoHuberLoss(y, **kw),
}


@pytest.fixture(params=list(ALL_LOSSES), ids=list(ALL_LOSSES))
def build(request):
    return ALL_LOSSES[request.param]


def test_every_loss_rejects_bad_targets(build):
    with pytest.raises(ValueError, match="`y` must be finite"):
        build(np.array([1.0, np.nan, -1.0]))
    with pytest.raises(ValueError, match="`y` must be finite"):
        build(np.array([1.0, -np.inf]))
    with pytest.raises(
        ValueError, match=r"`y` must have shape \(k,\), got shape \(2, 2\)"
    ):
        build(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"`y` must have shape \(k,\), got shape \(\)"):
        build(1.0)
    with pytest.raises(ValueError, match=r"`y` must have at least one entry"):
        build(np.ones(0))
    with pytest.raises(ValueError, match="`y` must be real"):
        build(np.array([1.0 + 1j, 1.0]))


def test_every_loss_rejects_a_non_bool_mean(build):
    for mean in ("yes", 1, 0, None):
        with pytest.raises(TypeError, match=r"`mean` must be a bool, got "):
            build(np.ones(3), mean=mean)


def test_every_loss_rejects_bad_outputs_and_directions(build):
    loss = build(np.array([1.0, -1.0, 1.0]))
    for method in (loss.value, loss.gradient):
        with pytest.raises(
            ValueError, match=r"`u` must have shape \(3,\), got shape \(4,\)"
        ):
            method(np.ones(4))
        with pytest.raises(
            ValueError, match=r"`u` must have shape \(3,\), got shape \(3, 1\)"
        ):
            method(np.ones((3, 1)))
        with pytest.raises(ValueError, match="`u` must be finite"):
            method(np.array([1.0, np.nan, 0.0]))
        with pytest.raises(ValueError, match="`u` must be finite"):
            method(np.array([1.0, np.inf, 0.0]))
    with pytest.raises(
        ValueError, match=r"`u` must have shape \(3,\), got shape \(2,\)"
    ):
        loss.hessian_vector(np.ones(2), np.ones(3))
    with pytest.raises(
        ValueError, match=r"`v` must have shape \(3,\), got shape \(2,\)"
    ):
        loss.hessian_vector(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="`v` must be finite"):
        loss.hessian_vector(np.ones(3), np.array([0.0, np.nan, 1.0]))


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([1.0, -1.0, 1.0, 0.5], "got 0.5 at index 3$"),
        ([0.0, 1.0], "got 0.0 at index 0$"),
        ([1.0, 2.0, -2.0], r"got 2.0 at index 1 \(2 bad labels in all\)"),
        ([-1.0, 1.0 + 1e-15], "got 1.000000000000001 at index 1"),
    ],
)
def test_logistic_loss_rejects_labels_other_than_plus_minus_one(labels, message):
    with pytest.raises(
        ValueError, match="`y` must hold only -1 and \\+1 labels, " + message
    ):
        LogisticLoss(np.array(labels))


def test_logistic_loss_rejects_boolean_labels():
    # True/False are not the labels +1/-1 (nor 1.0/0.0): booleans are refused.
    with pytest.raises(
        ValueError, match="`y` must be a real numeric array, got booleans"
    ):
        LogisticLoss(np.array([True, False]))


def test_logistic_loss_accepts_integer_labels():
    loss = LogisticLoss([1, -1, -1])
    assert loss.y.dtype == np.float64
    np.testing.assert_array_equal(loss.y, [1.0, -1.0, -1.0])


@pytest.mark.parametrize(
    ("delta", "error", "message"),
    [
        (0.0, ValueError, "`delta` must be > 0, got 0.0"),
        (-1.0, ValueError, "`delta` must be > 0, got -1.0"),
        (np.nan, ValueError, "`delta` must be finite, got nan"),
        (np.inf, ValueError, "`delta` must be finite, got inf"),
        ("1", TypeError, "`delta` must be a real number, got '1'"),
        (True, TypeError, "`delta` must be a real number, got True"),
        (np.ones(1), TypeError, "`delta` must be a real number"),
    ],
)
def test_pseudo_huber_loss_rejects_a_bad_delta(delta, error, message):
    with pytest.raises(error, match=message):
        PseudoHuberLoss(np.zeros(3), delta)


def test_targets_are_a_read_only_copy(build):
    y = np.array([1.0, -1.0, 1.0])
    loss = build(y)
    y[0] = -1.0
    assert loss.y[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        loss.y[0] = 5.0


def test_reprs():
    assert repr(SquaredLoss(np.ones(3))) == "SquaredLoss(n=3, mean=False)"
    assert repr(LogisticLoss(np.ones(2), mean=True)) == "LogisticLoss(n=2, mean=True)"
    assert (
        repr(PseudoHuberLoss(np.ones(4), 0.5))
        == "PseudoHuberLoss(n=4, delta=0.5, mean=False)"
    )
    assert PseudoHuberLoss(np.ones(4), 2).delta == 2.0


def test_all_lists_the_three_losses():
    assert sorted(losses.__all__) == ["LogisticLoss", "PseudoHuberLoss", "SquaredLoss"]


# ----------------------------------------------------------------------
# pymanopt problems on an output manifold


@pytest.fixture(scope="module")
def small_manifold():
    return two_layer(n=10, d=2, width=2).manifold


@pytest.mark.parametrize(
    "build_loss",
    [
        lambda rng: SquaredLoss(rng.standard_normal(10)),
        lambda rng: SquaredLoss(rng.standard_normal(10), mean=True),
        lambda rng: LogisticLoss(rng.choice([-1.0, 1.0], size=10)),
        lambda rng: PseudoHuberLoss(rng.standard_normal(10), 0.7, mean=True),
    ],
    ids=["squared", "squared_mean", "logistic", "pseudo_huber_mean"],
)
def test_problem_on_an_output_manifold(small_manifold, build_loss):
    manifold = small_manifold
    rng = np.random.default_rng(9)
    loss = build_loss(rng)
    problem = loss.problem(manifold)
    u = manifold.random_point(rng=rng)
    xi = manifold.random_tangent_vector(u, rng=rng)
    assert problem.cost(u) == loss.value(u)
    np.testing.assert_allclose(
        problem.riemannian_gradient(u),
        manifold.euclidean_to_riemannian_gradient(u, loss.gradient(u)),
        rtol=1e-13,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        problem.riemannian_hessian(u, xi),
        manifold.euclidean_to_riemannian_hessian(
            u, loss.gradient(u), loss.hessian_vector(u, xi), xi
        ),
        rtol=1e-12,
        atol=1e-14,
    )


def test_problem_rejects_a_manifold_of_the_wrong_size(small_manifold, build):
    with pytest.raises(ValueError, match="points have 10 outputs but `y` has 9"):
        build(np.ones(9)).problem(small_manifold)
