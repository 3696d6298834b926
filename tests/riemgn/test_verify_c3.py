"""C3 (effect of the scaling factor): the claim passes, and fails when broken."""

from types import SimpleNamespace

import numpy as np
import pytest

import riemgn.verify.c3_scaling as c3
from riemgn.verify import Status, figure_problems, run
from riemgn.verify.c3_scaling import CLAIM


def run_c3(**config):
    report = run([CLAIM], progress=False, configs={"C3": config})
    return report.results[0]


def test_the_quick_preset_passes_with_a_complete_figure():
    result = run_c3()
    verdict = result.verdict
    assert result.status is Status.PASS, [c.text for c in verdict.checks]
    metrics = verdict.metrics
    assert abs(metrics["curvature_slope"] + 1) <= 1e-9
    assert abs(metrics["movement_slope"] + 1) <= 0.1
    statuses = metrics["statuses"][0]
    assert statuses[0] != "converged" and statuses[-1] == "converged"
    assert figure_problems(result.figure) == []


def test_a_standard_initialization_breaks_the_movement_law():
    # F(theta0) = alpha F_1(theta0) runs away from the fixed target as alpha
    # grows: the parameters must move by O(1), not O(1/alpha).
    result = run_c3(init="standard", alphas=[0.01, 1.0, 10.0, 100.0])
    verdict = result.verdict
    assert result.status is Status.FAIL
    failed = {check.name for check in verdict.failed}
    assert "sup |theta_t - theta0| slope vs alpha (worst)" in failed
    assert verdict.metrics["movement_slope"] > -0.5
    # The curvature law does not depend on the initialization.
    assert "|II| slope vs alpha (worst)" not in failed
    assert figure_problems(result.figure) == []


def test_a_curvature_in_parameter_units_fails_the_claim(monkeypatch):
    # A plausible bug: the normal curvature along unit *parameter* directions,
    # |P_perp D2F[a, a]| with |a| = 1, which grows like alpha instead.
    def wrong(manifold, u, *, rng=None, n_starts=8):
        params = manifold.lift(u)
        value = 0.0
        for a in np.eye(params.size):
            second = manifold.output_map.second_derivative(params, a, a)
            normal = second - manifold.projection(u, second)
            value = max(value, float(np.linalg.norm(normal)))
        return SimpleNamespace(value=value)

    monkeypatch.setattr(c3, "second_fundamental_form_norm", wrong)
    result = run_c3(alphas=[0.1, 1.0, 10.0, 100.0])
    verdict = result.verdict
    assert result.status is Status.FAIL
    assert "|II| slope vs alpha (worst)" in {check.name for check in verdict.failed}
    assert abs(verdict.metrics["curvature_slope"] - 1.0) < 1e-6


def test_no_converged_run_is_inconclusive():
    # A region so small that every flow leaves it at once.
    result = run_c3(radius=1e-4, alphas=[0.1, 10.0])
    verdict = result.verdict
    assert result.status is Status.INCONCLUSIVE
    assert "no run converged" in verdict.reason
    assert set(verdict.metrics["statuses"][0]) == {"left_region"}
    assert figure_problems(result.figure) == []


def test_the_criterion_states_the_preset_numbers():
    quick = CLAIM.presets["quick"]
    for key in ("curvature_tolerance", "movement_tolerance", "fit_alpha_min"):
        assert f"{quick[key]:g}" in CLAIM.criterion
    alphas = CLAIM.presets["full"]["alphas"]
    assert np.log10(max(alphas) / min(alphas)) >= 4
    assert CLAIM.presets["full"]["n_problems"] >= 5


@pytest.mark.parametrize("data", CLAIM.data)
@pytest.mark.parametrize("preset", ["quick", "full"])
def test_every_preset_is_a_typed_config(preset, data):
    config = CLAIM.config(preset, data)
    typed = CLAIM.config_type(**config)
    assert {key: getattr(typed, key) for key in config} == config
