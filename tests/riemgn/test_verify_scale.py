"""``riemgn verify --preset scale`` (issue 16): sizes, solver and skipped claims.

The suite never runs the preset itself (minutes); it checks the configured
sizes, the solver ``"auto"`` resolves to, the report's ``sizes`` fields on a
toy claim, and that C3 and C4 are refused with their reason.
"""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from manifolds.linalg import DENSE_BUDGET, resolve_solver
from riemgn.cli import main
from riemgn.verify import CLAIMS, Check, Claim, Task, Verdict, run, schema
from riemgn.verify._common import problem_sizes
from riemgn.verify.report import write_report
from riemgn.verify.runner import PRESETS, SCALE_SKIPPED

SCALED = ("C1", "C2", "C5", "C6")


def test_scale_is_a_preset_of_c1_c2_c5_c6_only():
    assert "scale" in PRESETS
    for claim_id, claim in CLAIMS.items():
        assert ("scale" in claim.presets) == (claim_id in SCALED), claim_id
        assert (claim_id in SCALE_SKIPPED) == (claim_id not in SCALED), claim_id


@pytest.mark.parametrize("claim_id", SCALED)
def test_scale_sizes_are_n_4000_and_p_1000_and_the_config_is_valid(claim_id):
    claim = CLAIMS[claim_id]
    config = claim.config("scale")
    claim.config_type(**config)  # every key is a field of the claim's Config
    sizes = problem_sizes(config)
    assert sizes
    for size in sizes:
        assert size["n"] >= 4000 and size["p"] >= 1000, size
        assert size["solver"] == resolve_solver("auto", size["n"], size["p"])
    # C5 is overparameterized, p >= 10 n: the dense J (1.28 GB) exceeds the
    # budget and "auto" is matrix-free; the others are dense at p = 1000.
    expected = "krylov" if claim_id == "C5" else "dense"
    assert {s["solver"] for s in sizes} == {expected}
    if claim_id == "C5":
        assert all(s["p"] >= 10 * s["n"] for s in sizes)
    assert 8 * 4000 * 1000 <= DENSE_BUDGET < 8 * 4000 * 40000


@pytest.mark.parametrize("claim_id", SCALED)
def test_scale_keeps_each_claims_criterion(claim_id):
    claim = CLAIMS[claim_id]
    scale, quick = claim.config("scale"), claim.config("quick")
    for key in ("min_decades", "roundoff_factor", "order_tolerance", "floor_margin"):
        if key in quick:
            assert scale[key] == quick[key], key


@pytest.mark.parametrize("claim_id", sorted(SCALE_SKIPPED))
def test_a_claim_without_scale_is_refused_with_its_reason(claim_id, capsys, tmp_path):
    with pytest.raises(ValueError, match=f"does not run {claim_id}"):
        run([CLAIMS[claim_id]], preset="scale", plots=False, progress=False)
    with pytest.raises(SystemExit) as exit:
        main(
            [
                "verify",
                "--preset",
                "scale",
                "--claims",
                claim_id,
                "--out",
                str(tmp_path / "out"),
            ]
        )
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert f"--preset scale does not run {claim_id}" in err
    assert SCALE_SKIPPED[claim_id][:40] in err


def test_c6_scale_inputs_reach_its_smallest_condition():
    # Divided by sqrt(d), the inputs keep tanh out of saturation: at input
    # conditioning 1 the scale problem's cond(G0) is below the sweep's first
    # target (1e2). With unit-variance inputs it is above 1e4, and GD could not
    # reach its target at three conditions within the budget.
    from riemgn.data import conditioned_inputs, teacher_student
    from riemgn.verify._common import gram_condition

    config = CLAIMS["C6"].config("scale")
    n, d, width = config["n"], config["d"], config["width"]
    assert config["input_scale"] == pytest.approx(d**-0.5, rel=1e-15)
    conditions = {}
    for scale in (config["input_scale"], 1.0):
        rng = np.random.default_rng(0)
        X = scale * conditioned_inputs(n, d, 1.0, rng)
        problem = teacher_student(n, d, width, rng=rng, X=X, distance=0.1)
        conditions[scale] = gram_condition(problem.output_map, problem.params0)
    assert conditions[config["input_scale"]] < 10 ** min(config["log10_conditions"])
    assert conditions[1.0] > 1e4


def test_scale_runs_on_synthetic_data_only():
    with pytest.raises(ValueError, match="synthetic data only"):
        run(
            [CLAIMS["C1"]], preset="scale", data="diabetes", plots=False, progress=False
        )


def _toy_claim():
    def evaluate(config, results):
        return Verdict([Check.below("error", results[0], 1e-6)], {})

    sizes = {"n": 4000, "d": 10, "width": 100}
    return Claim(
        id="C9",
        title="Sizes",
        statement="A toy claim with scale-sized settings.",
        criterion="error <= 1e-6",
        presets={"quick": sizes, "full": sizes, "scale": sizes},
        tasks=lambda config, *, data, seed: [Task("zero", float, {})],
        evaluate=evaluate,
        figure=lambda config, results, verdict: None,
    )


def test_the_report_states_n_p_the_solver_and_the_time(tmp_path):
    report = run([_toy_claim()], preset="scale", plots=False, progress=False)
    write_report(report, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    jsonschema.validate(data, schema())
    (claim,) = data["claims"]
    assert data["preset"] == "scale"
    assert claim["sizes"] == [
        {"problem": "flows", "n": 4000, "p": 1000, "solver": "dense"}
    ]
    assert claim["wall_time_seconds"] >= 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "flows: n = 4000, p = 1000, solver `dense`" in text


def test_c5_scale_spectrum_without_the_svd_matches_it(monkeypatch):
    # At scale C5 takes lambda_min(K0), its eigenvector and lambda_max(K0)
    # from the closed-form kernel, never from the SVD of the dense J.
    from riemgn.data import near_duplicate_inputs
    from riemgn.networks import TwoLayerNetwork
    from riemgn.verify import c5_levenberg_marquardt as c5

    rng = np.random.default_rng(0)
    network = TwoLayerNetwork(10, 30)
    theta0 = network.init_params(rng, "standard")
    F = network.output_map(near_duplicate_inputs(40, 10, 1e-3, rng) / np.sqrt(10))
    dense = c5._kernel_spectrum(F, theta0)
    monkeypatch.setattr(c5, "_dense", lambda output_map: False)
    kernel = c5._kernel_spectrum(F, theta0)
    assert dense[0] < 1e-6 * dense[2]  # an ill-conditioned kernel
    assert kernel[0] == pytest.approx(dense[0], rel=1e-7)
    assert abs(abs(kernel[1] @ dense[1]) - 1.0) < 1e-8
    assert kernel[2] == pytest.approx(dense[2], rel=1e-10)
    assert kernel[3] == pytest.approx(dense[3], rel=1e-7)
    config = CLAIMS["C5"].config("scale")
    spanned = max(config["log10_lambda_mins"]) - min(config["log10_lambda_mins"])
    assert spanned - 2 * np.log10(1.2) > config["min_decades"]
