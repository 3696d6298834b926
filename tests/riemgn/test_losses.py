"""Losses on outputs: values and derivatives against autograd, and validation."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from riemgn.losses import SquaredLoss


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
