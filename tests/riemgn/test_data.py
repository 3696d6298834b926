"""riemgn.data: controlled conditioning, teacher-student targets, the diabetes set."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from riemgn.data import (
    MissingExtraError,
    breast_cancer,
    conditioned_inputs,
    diabetes,
    digits,
    near_duplicate_inputs,
    teacher_student,
)
from riemgn.theory import neural_tangent_kernel


@pytest.mark.parametrize("cond", [1.0, 1e3, 1e8])
def test_conditioned_inputs_have_the_requested_condition_number(cond):
    X = conditioned_inputs(50, 4, cond, np.random.default_rng(1))
    s = np.linalg.svd(X, compute_uv=False)
    assert s[0] / s[-1] == pytest.approx(cond, rel=1e-8)
    assert s[0] == pytest.approx(np.sqrt(50), rel=1e-12)


def test_teacher_student_is_seeded_and_realizable_without_noise():
    a = teacher_student(30, 3, 2, cond=10.0, rng=np.random.default_rng(4), distance=0.3)
    b = teacher_student(30, 3, 2, cond=10.0, rng=np.random.default_rng(4), distance=0.3)
    np.testing.assert_array_equal(a.y, b.y)
    assert np.linalg.norm(a.teacher_params - a.params0) == pytest.approx(0.3)
    np.testing.assert_allclose(
        a.y, a.output_map.value(a.teacher_params), rtol=0, atol=0
    )
    noisy = teacher_student(
        400, 3, 2, noise=0.1, rng=np.random.default_rng(4), distance=0.3
    )
    residual = noisy.y - noisy.clean_targets
    assert np.std(residual) == pytest.approx(0.1, rel=0.15)


def test_teacher_student_init_schemes_and_given_inputs():
    X = np.random.default_rng(0).standard_normal((20, 2))
    centered = teacher_student(
        20, 2, 4, rng=np.random.default_rng(0), init="centered", X=X
    )
    np.testing.assert_array_equal(centered.X, X)
    assert np.abs(centered.output_map.value(centered.params0)).max() == 0.0
    with pytest.raises(ValueError, match="pass either X or cond"):
        teacher_student(20, 2, 4, rng=np.random.default_rng(0), cond=5.0, X=X)
    with pytest.raises(ValueError, match=r"X must have shape \(20, 3\)"):
        teacher_student(20, 3, 4, rng=np.random.default_rng(0), X=X)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"noise": -0.1}, ValueError, "noise"),
        ({"noise": float("nan")}, ValueError, "noise"),
        ({"cond": 0.5}, ValueError, "cond must be >= 1, got 0.5"),
        ({"distance": -1.0}, ValueError, "distance"),
        ({"rng": 3}, TypeError, "rng"),
    ],
)
def test_teacher_student_rejects_bad_arguments(kwargs, error, match):
    arguments = {"rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(error, match=match):
        teacher_student(20, 2, 2, **arguments)


def test_conditioned_inputs_rejects_more_dimensions_than_samples():
    with pytest.raises(ValueError, match="needs d <= n, got d = 5 > n = 3"):
        conditioned_inputs(3, 5, 10.0, np.random.default_rng(0))


def test_near_duplicates_set_the_smallest_kernel_eigenvalue():
    from riemgn.networks import TwoLayerNetwork

    network = TwoLayerNetwork(10, 10)
    params = network.init_params(np.random.default_rng(2))
    smallest = []
    for eta in (1e-1, 1e-2, 1e-3):
        X = near_duplicate_inputs(6, 10, eta, np.random.default_rng(3))
        assert np.linalg.norm(X[-1] - X[0]) == pytest.approx(eta)
        K = neural_tangent_kernel(network.output_map(X), params)
        smallest.append(np.linalg.eigvalsh(K)[0])
    slope = np.polyfit(np.log([1e-1, 1e-2, 1e-3]), np.log(smallest), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.1)  # lambda_min ~ eta^2


def test_diabetes_is_standardized():
    X, y = diabetes()
    assert X.shape == (442, 10) and y.shape == (442,)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-12)
    assert y.mean() == pytest.approx(0, abs=1e-12) and y.std() == pytest.approx(1)


def test_diabetes_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'riemgn\[data\]'"):
        diabetes()


def test_breast_cancer_has_standardized_features_and_plus_minus_one_labels():
    X, y = breast_cancer()
    assert X.shape == (569, 30) and y.shape == (569,)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-12)
    assert set(np.unique(y).tolist()) == {-1.0, 1.0}
    assert int(np.sum(y == 1.0)) == 357  # benign: the +1 of LogisticLoss
    X2, y2 = breast_cancer()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_digits_is_the_binary_task_3_against_8_with_plus_minus_one_labels():
    X, y = digits()
    assert X.shape == (357, 54) and y.shape == (357,)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0) * np.sqrt(54), 1, rtol=1e-12)
    assert set(np.unique(y).tolist()) == {-1.0, 1.0}
    assert int(np.sum(y == 1.0)) == 183  # the threes: the +1 of LogisticLoss
    assert np.linalg.matrix_rank(X) == 54  # full column rank: J can be too
    X2, y2 = digits()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("loader", [breast_cancer, digits])
def test_real_data_without_scikit_learn_names_the_extra(monkeypatch, loader):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'riemgn\[data\]'"):
        loader()
