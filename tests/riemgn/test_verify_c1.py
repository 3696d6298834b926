"""C1 (GN flow = Riemannian gradient flow): the claim passes, and fails when broken."""

import pytest

from manifolds import OutputManifold
from riemgn.verify import Status, figure_problems, run
from riemgn.verify.c1_equivalence import CLAIM

# A smaller experiment for the tests that alter it.
SMALL = {"input_conditions": [1.0, 1e2, 1e4], "n_points": 2}


def run_c1(data="synthetic", **config):
    report = run([CLAIM], progress=False, data=data, configs={"C1": config})
    return report.results[0]


def test_the_quick_preset_passes_with_a_complete_figure():
    result = run_c1()
    verdict = result.verdict
    assert result.status is Status.PASS, [c.text for c in verdict.checks]
    metrics = verdict.metrics
    assert metrics["max_velocity_residual"] <= 1e-10
    assert metrics["condition_decades"] >= 5
    for scheme, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        assert abs(metrics[f"{scheme}_order"] - order) <= 0.3
    assert figure_problems(result.figure) == []


def test_the_diabetes_data_pass():
    result = run_c1("diabetes", **SMALL, t_end=0.5, steps=[0.05, 0.025, 0.0125])
    verdict = result.verdict
    assert result.status is Status.PASS, [c.text for c in verdict.checks]
    assert verdict.metrics["trajectory_condition"][0] > 1.0
    assert figure_problems(result.figure) == []


def test_a_wrong_projector_fails_the_claim(monkeypatch):
    # P_u off by 0.1 %: both the pointwise identity and the orders must break.
    project = OutputManifold._project
    monkeypatch.setattr(
        OutputManifold,
        "_project",
        lambda self, chart, vector: 1.001 * project(self, chart, vector),
    )
    result = run_c1(**SMALL)
    verdict = result.verdict
    assert result.status is Status.FAIL
    failed = {check.name for check in verdict.failed}
    assert "velocity residual (max)" in failed
    assert verdict.metrics["max_velocity_residual"] > 1e-4
    # The deviation stalls at the size of the wrong velocity: the slopes of the
    # accurate schemes collapse (Euler's own error still dominates the 0.1 %).
    assert {"heun order (worst)", "rk4 order (worst)"} <= failed
    assert verdict.metrics["rk4_order"] < 1.0
    assert figure_problems(result.figure) == []


def test_an_overparameterized_trajectory_problem_is_inconclusive():
    # n = 4 < p = 6: F is no immersion, the GN flow and M do not exist.
    result = run_c1(**SMALL, trajectory_n=4)
    assert result.status is Status.INCONCLUSIVE
    assert "NotAnImmersionError" in result.verdict.reason


@pytest.mark.parametrize("key", ["residual_bound", "order_tolerance", "floor_margin"])
def test_the_criterion_states_the_preset_numbers(key):
    value = CLAIM.presets["quick"][key]
    assert f"{value:g}" in CLAIM.criterion
