"""C4 (effect of the initialization): passes on a small sweep, fails on altered input."""

from __future__ import annotations

import pytest

from riemgn.networks import TwoLayerNetwork
from riemgn.verify import Status, figure_problems, run
from riemgn.verify.c4_initialization import CLAIM, RANK_RTOL

# Two decades of alpha, one replicate: the quick preset's checks, a third of its runs.
SMALL = {"alphas": [1.0, 100.0], "seeds": 1}


def _run(**overrides):
    config = {**SMALL, **overrides}
    report = run(
        [CLAIM], preset="quick", seed=0, progress=False, configs={"C4": config}
    )
    return report.results[0]


def test_small_sweep_passes_with_measured_numbers():
    result = _run()
    verdict = result.verdict
    assert result.status is Status.PASS, [c.text for c in verdict.failed]
    metrics = verdict.metrics
    p = metrics["n_params"]
    assert metrics["symmetric_rank"] == [p // 2, p // 2]
    assert metrics["standard_rank"] == metrics["centered_rank"] == [p, p]
    assert all(metrics["symmetric_gn_refused"])
    assert "rank" in metrics["symmetric_gn_refusal"]
    assert metrics["rank_rtol"] == RANK_RTOL
    # F_alpha = alpha F_1: the standard initial output grows exactly like alpha.
    small, large = metrics["standard_output_norm"]
    assert large / small == pytest.approx(100.0, rel=1e-12)
    for rate in metrics["centered_rate"]:
        assert rate == pytest.approx(2.0, abs=0.05)
    # The centered flow is lazy: it moves about 100 times less at alpha = 100.
    first, last = metrics["centered_travel"]
    assert 50 < first / last < 200
    assert figure_problems(result.figure) == []


def test_replacing_the_symmetric_scheme_by_the_standard_one_fails(monkeypatch):
    original = TwoLayerNetwork.init_params

    def no_symmetric(self, rng, scheme="standard"):
        return original(self, rng, "standard" if scheme == "symmetric" else scheme)

    monkeypatch.setattr(TwoLayerNetwork, "init_params", no_symmetric)
    result = _run()
    assert result.status is Status.FAIL
    failed = {check.name for check in result.verdict.failed}
    assert "symmetric rank J(theta0) - p/2 (max)" in failed
    assert "symmetric GN refusals (fraction)" in failed
    assert "centered/symmetric |F(theta0)| / (alpha sqrt n) (max)" in failed
    assert figure_problems(result.figure) == []


def test_a_region_too_small_for_any_centered_flow_is_inconclusive():
    result = _run(radius=1e-4)
    assert result.status is Status.INCONCLUSIVE
    assert "no centered Gauss-Newton run" in result.verdict.reason
    assert "radius" in result.verdict.reason
    assert figure_problems(result.figure) == []


@pytest.mark.parametrize("data", CLAIM.data)
@pytest.mark.parametrize("preset", ["quick", "full"])
def test_every_preset_is_a_typed_config(preset, data):
    config = CLAIM.config(preset, data)
    typed = CLAIM.config_type(**config)
    assert {key: getattr(typed, key) for key in config} == config
