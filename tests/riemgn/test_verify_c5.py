"""C5 (LM robust to an ill-conditioned kernel): passes, fails on altered input."""

from __future__ import annotations

import pytest

from riemgn.verify import Status, figure_problems, run
from riemgn.verify.c5_levenberg_marquardt import CLAIM

# The two ends of the quick sweep: lambda_min(K0) over six decades.
SMALL = {"log10_lambda_mins": [-2.0, -8.25]}


def _run(**overrides):
    config = {**SMALL, **overrides}
    report = run(
        [CLAIM], preset="quick", seed=0, progress=False, configs={"C5": config}
    )
    return report.results[0]


def test_kernel_tied_lm_keeps_its_rate_over_six_decades():
    result = _run()
    verdict = result.verdict
    assert result.status is Status.PASS, [c.text for c in verdict.failed]
    metrics = verdict.metrics
    assert metrics["n_params"] > metrics["n"]
    low, high = sorted(metrics["lambda_min"])
    assert high / low > 1e6
    for ratio in metrics["lm_ratio"]:
        assert ratio == pytest.approx(1.0, abs=0.02)
    # Gradient flow's rate is lambda_min(K0) along the flattest mode.
    for ratio in metrics["gf_rate_over_lambda_min"]:
        assert ratio == pytest.approx(1.0, abs=0.15)
    assert metrics["gf_slopes"][0] == pytest.approx(1.0, abs=0.15)
    assert figure_problems(result.figure) == []


def test_a_constant_damping_makes_the_lm_rate_collapse():
    result = _run(damping="constant")
    assert result.status is Status.FAIL
    failed = {check.name for check in result.verdict.failed}
    assert failed == {"LM rate / predicted 1/(1+eps) (worst)"}
    # Constant(1): rate lambda_min / (lambda_min + 1), about 6e-9 at the bottom.
    assert min(result.verdict.metrics["lm_ratio"]) < 1e-6
    assert figure_problems(result.figure) == []


def test_a_numerically_singular_kernel_is_inconclusive():
    # lambda_min / lambda_max below LM's rank_rtol = 1e-13: the kernel-tied
    # damping cannot regularize K + lambda I, and the flow refuses to start.
    result = _run(log10_lambda_mins=[-2.0, -14.5])
    assert result.status is Status.INCONCLUSIVE
    assert "numerically singular" in result.verdict.reason


@pytest.mark.parametrize("data", CLAIM.data)
@pytest.mark.parametrize("preset", ["quick", "full"])
def test_every_preset_is_a_typed_config(preset, data):
    config = CLAIM.config(preset, data)
    typed = CLAIM.config_type(**config)
    assert {key: getattr(typed, key) for key in config} == config
