"""C2: GN's rate does not depend on cond(G0); gradient flow's follows lambda_min."""

import pytest

from riemgn.verify import CLAIMS, Status, figure_problems, run
from riemgn.verify.c2_conditioning import CLAIM, GN_RATE_TARGET

# A smaller sweep for the altered runs: still six decades of cond(G0).
SMALL = {"log10_conditions": [2.0, 5.0, 8.25]}


def _run(data="synthetic", plots=False, **config):
    report = run(
        [CLAIM], data=data, progress=False, plots=plots, configs={"C2": config}
    )
    return report.results[0]


def test_registered():
    assert CLAIMS["C2"] is CLAIM
    assert CLAIM.data == ("synthetic", "diabetes")


@pytest.mark.parametrize("data", ["synthetic", "diabetes"])
def test_quick_preset_passes_with_a_complete_figure(data):
    result = _run(data=data, plots=True)
    verdict = result.verdict
    assert result.status is Status.PASS, [c.text for c in verdict.failed]
    metrics = verdict.metrics
    assert metrics["cond_decades"] >= 6
    assert max(metrics["gn_rates"]) / min(metrics["gn_rates"]) <= 1.1
    assert all(abs(r - GN_RATE_TARGET) < 0.2 for r in metrics["gn_rates"])
    assert metrics["h_star_max_difference_over_tolerance"] <= 1
    # The noisy run's rate is measured and reported, not checked.
    assert len(metrics["noisy_gn_rate"]) == 1 and verdict.notes
    assert metrics["data_kind"].endswith("teacher targets")
    assert figure_problems(result.figure) == []


def test_gradient_flow_in_the_gn_arm_fails():
    # The "GN" arm runs the gradient flow: its rate now follows lambda_min.
    result = _run(gn_flow="gradient", **SMALL)
    assert result.status is Status.FAIL
    failed = {check.name for check in result.verdict.failed}
    assert "GN rate max/min" in failed


def test_gauss_newton_in_the_gd_arm_breaks_the_slope():
    # The "GD" arm runs the GN flow: its rate no longer follows lambda_min.
    result = _run(gd_flow="gauss_newton", **SMALL)
    assert result.status is Status.FAIL
    failed = {check.name for check in result.verdict.failed}
    assert "GD rate vs lambda_min(G0) log-log slope" in failed
    assert "GN rate max/min" not in failed


def test_a_narrow_sweep_fails_the_span():
    result = _run(log10_conditions=[2.0, 3.0])
    assert result.status is Status.FAIL
    assert [c.name for c in result.verdict.failed] == ["cond(G0) decades spanned"]


def test_a_single_condition_is_inconclusive():
    result = _run(log10_conditions=[3.0])
    assert result.status is Status.INCONCLUSIVE
    assert "distinct cond(G0)" in result.verdict.reason


def test_unknown_flow_is_refused():
    with pytest.raises(ValueError, match="gn_flow"):
        CLAIM.tasks({**CLAIM.config("quick"), "gn_flow": "euler"}, seed=0)


@pytest.mark.parametrize("data", CLAIM.data)
@pytest.mark.parametrize("preset", ["quick", "full"])
def test_every_preset_is_a_typed_config(preset, data):
    config = CLAIM.config(preset, data)
    typed = CLAIM.config_type(**config)
    assert {key: getattr(typed, key) for key in config} == config
