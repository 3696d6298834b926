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
    assert metrics["max_roundoff_ratio"] <= 10
    assert metrics["max_velocity_residual"] <= 1e-8
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
    assert "velocity residual / round-off scale (max)" in failed
    assert verdict.metrics["max_velocity_residual"] > 1e-4
    assert verdict.metrics["max_roundoff_ratio"] > 1e6
    # The deviation stalls at the size of the wrong velocity: the slopes of the
    # accurate schemes collapse (Euler's own error still dominates the 0.1 %).
    assert {"heun order (worst)", "rk4 order (worst)"} <= failed
    assert verdict.metrics["rk4_order"] < 1.0
    assert figure_problems(result.figure) == []


def test_an_overparameterized_trajectory_problem_is_inconclusive():
    # n = 4 < p = 6: F is no immersion, the GN flow and M do not exist.
    result = run_c1(**SMALL, trajectory_n=4)
    assert result.status is Status.INCONCLUSIVE
    assert "the Gauss-Newton flow needs p <= n" in result.verdict.reason


@pytest.mark.parametrize("key", ["roundoff_factor", "order_tolerance", "floor_margin"])
def test_the_criterion_states_the_preset_numbers(key):
    value = CLAIM.presets["quick"][key]
    assert f"{value:g}" in CLAIM.criterion


def test_a_check_too_coarse_to_see_an_error_is_inconclusive():
    # Demand a resolution finer than round-off allows: no verdict can be given.
    result = run_c1(**SMALL, max_resolution=1e-20)
    assert result.status is Status.INCONCLUSIVE
    assert "cannot see a relative velocity error below" in result.verdict.reason
    assert result.verdict.metrics["resolution"] > 1e-20


def test_flows_that_leave_the_ball_are_redrawn_then_inconclusive():
    # rho = 1e-3: every draw's GN flow leaves B(theta0, rho) at once.
    result = run_c1(**SMALL, radius=1e-3, max_draws=2)
    assert result.status is Status.INCONCLUSIVE
    assert "the GN reference ended by left_region" in result.verdict.reason
    (redrawn,) = result.verdict.metrics["trajectory_redrawn"]
    assert len(redrawn) == 2 and all("left_region" in r for r in redrawn)


def test_a_missing_residual_never_passes(monkeypatch):
    # A NaN residual must not vanish into a max(): the claim cannot pass.
    import riemgn.verify.c1_equivalence as c1

    monkeypatch.setattr(c1, "velocity_residual", lambda *args, **kw: float("nan"))
    result = run_c1(**SMALL)
    assert result.status is not Status.PASS
    assert "velocity residual / round-off scale (max)" in {
        check.name for check in result.verdict.failed
    }


@pytest.mark.parametrize("data", CLAIM.data)
@pytest.mark.parametrize("preset", ["quick", "full"])
def test_every_preset_is_a_typed_config(preset, data):
    config = CLAIM.config(preset, data)
    typed = CLAIM.config_type(**config)
    assert {key: getattr(typed, key) for key in config} == config
