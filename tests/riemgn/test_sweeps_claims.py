"""The claims' per-run measurements as sweep experiments, and their report.

Each experiment must return the claim's own numbers (the same code, the
same draw), so that a sweep extends ``riemgn verify`` without changing it.
"""

from __future__ import annotations

import math

import pytest

from riemgn.cli import main
from riemgn.sweeps import EXPERIMENTS, SpecError, load_spec, parse_spec, run_point
from riemgn.verify import CLAIMS


def _result(experiment, seed, **values):
    config = EXPERIMENTS[experiment].config(values)
    record = run_point(
        experiment=experiment, config=config, seed=seed, key="k", retries=0
    )
    assert record["status"] == "ok", record["error"]
    return record["result"]


def _quick(claim_id, **lists):
    from riemgn.sweeps._claims import _claim

    module = _claim(claim_id)
    return module.Config(**{**CLAIMS[claim_id].config("quick"), **lists})


def test_the_c1_experiment_is_the_claims_pointwise_run():
    from riemgn.verify import c1_equivalence as c1

    result = _result("c1", 4, input_condition=100.0)
    run = c1.pointwise_residuals(
        config=_quick("C1"), input_condition=100.0, data="synthetic", entropy=(4,)
    )
    assert result["cond_G0"] == run.condition
    for loss in c1.LOSSES:
        assert result[f"residual_{loss}"] == run.residual[loss]
        assert result[f"ratio_{loss}"] == run.ratio[loss]
        assert result[f"scale_{loss}"] == run.scale[loss]
    assert result["worst_ratio"] == max(run.ratio.values()) < 10  # C1's criterion
    # Only the settings the pointwise measurement reads are parameters.
    assert "t_end" not in EXPERIMENTS["c1"].parameters
    assert "n_points" not in EXPERIMENTS["c1_trajectory"].parameters


def test_the_c1_trajectory_experiment_is_the_claims_run_at_one_step():
    from riemgn.verify import c1_equivalence as c1

    comparison = c1.trajectory_errors(
        config=_quick("C1"), data="synthetic", entropy=(0,)
    )
    for scheme in comparison.schemes:
        for step, error in list(zip(scheme.steps, scheme.errors, strict=True))[1:3]:
            result = _result("c1_trajectory", 0, scheme=scheme.scheme, step=step)
            # The reference is sampled on this step's grid only: the same
            # steps of the integrator, so the same deviation.
            assert result["error"] == error
            assert result["cond_G0"] == comparison.condition
            assert result["status"] == result["reference_status"] == "t_end"
            assert result["error_over_floor"] > 10  # C1's floor margin


def test_the_c2_experiment_is_the_claims_run():
    from riemgn.verify import c2_conditioning as c2

    result = _result("c2", 1, log10_condition=4.0)
    run = c2.run_condition(config=_quick("C2"), entropy=(1,), target=1e4, noise=0.0)
    assert result["cond_G0"] == run.condition
    assert (result["gn_rate"], result["gd_rate"]) == (run.gn.rate, run.gd.rate)
    assert result["gd_rate_over_lambda_min"] == run.gd.rate / run.lambda_min
    # GN's rate is 2 (the squared loss's excess) at cond(G0) ~ 1e4.
    assert abs(result["gn_rate"] - 2.0) < 1e-3


def test_the_c3_experiment_is_the_claims_run():
    from riemgn.verify import c3_scaling as c3

    result = _result("c3", 2, alpha=10.0)
    run = c3.scaling_run(alpha=10.0, config=_quick("C3"), entropy=(2,))
    assert result["curvature"] == run.curvature
    assert result["movement"] == run.movement
    assert result["status"] == run.status


def test_the_c4_experiment_is_the_claims_draw_at_one_alpha():
    from riemgn.verify import c4_initialization as c4

    claim = c4.run_scheme(scheme="symmetric", config=_quick("C4"), entropy=(5,))
    for run in claim.runs:
        result = _result("c4", 5, scheme="symmetric", alpha=run.alpha)
        assert result["rank"] == run.rank
        assert (result["rate"], result["travel"]) == (run.rate, run.travel)
        assert result["flow"] == run.flow and result["gn_refused"] == run.gn_refused
        assert result["damping"] == run.damping


def test_the_c6_experiment_is_the_claims_own_run():
    from riemgn.verify import c6_first_order as c6

    result = _result("c6", 3, log10_condition=2.0)
    run = c6.run_condition(
        config=_quick("C6", log10_conditions=[2.0], seeds=1),
        entropy=(3,),
        condition_target=100.0,
    )
    assert result["cond_G0"] == run.condition
    assert (result["gn_iterations"], result["gd_iterations"]) == (
        run.gn.iterations,
        run.gd.iterations,
    )
    assert result["gd_iterations"] > 100 * result["gn_iterations"]


def test_the_c5_experiment_is_the_claims_own_run():
    from riemgn.verify import c5_levenberg_marquardt as c5

    config = EXPERIMENTS["c5"].config({"log10_lambda_min": -4.0})
    assert "window" not in config and "min_decades" not in config
    result = _result("c5", 2, log10_lambda_min=-4.0)
    run = c5.run_lambda_min(
        config=_quick("C5", log10_lambda_mins=[-4.0], seeds=1),
        log10_lambda_min=-4.0,
        entropy=(2,),
    )
    assert result["lambda_min"] == run.lambda_min
    assert result["lm_rate"] == run.lm.rate and result["gf_rate"] == run.gf.rate
    # The claim's criterion holds on this run: LM at 1/(1+eps), GF at lambda_min.
    assert abs(result["lm_ratio"] - 1.0) < 0.02
    assert abs(result["gf_rate_over_lambda_min"] - 1.0) < 0.1


@pytest.mark.parametrize(
    "experiment, options, key",
    [
        ("c5", 'gf_method = "Euler"', "gf_method"),
        ("c4", 'scheme = "random"', "scheme"),
        ("c1_trajectory", 'step = "small"', "step"),
        ("c1_trajectory", 'scheme = "rk5"', "scheme"),
        ("c2", "noisy_log10_condition = 3.0", "noisy_log10_condition"),
        ("c3", "curvature_tolerance = 1e-9", "curvature_tolerance"),
        ("c1", "t_end = 2.0", "t_end"),
        # Out of range: refused before anything runs, not a NaN row or an
        # IndexError in the claim's code.
        ("c1_trajectory", "step = 0.0", "step = 0.0 must be a finite float > 0"),
        ("c1", "n_points = 0", "n_points = 0 must be an int >= 1"),
        ("c1", "input_condition = 0.5", "input_condition = 0.5 must be"),
        ("c4", "alpha = -1.0", "alpha = -1.0 must be a finite float > 0"),
        ("c2", "noise = -0.1", "noise = -0.1 must be a finite float >= 0"),
        ("c6", "gd_budget = 0", "gd_budget = 0 must be an int >= 1"),
    ],
)
def test_a_claim_spec_with_a_bad_option_is_refused(tmp_path, experiment, options, key):
    path = tmp_path / "claim.toml"
    path.write_text(f'experiment = "{experiment}"\nseeds = [0]\n[options]\n{options}\n')
    with pytest.raises(SpecError, match=key) as error:
        load_spec(path)
    assert str(path) in str(error.value)


def test_a_grid_value_out_of_range_is_refused(tmp_path):
    path = tmp_path / "alpha.toml"
    path.write_text(
        'experiment = "c3"\nseeds = [0]\n[grid]\n'
        "alpha = {start = 0.0, stop = 1.0, num = 3}\n"
    )
    with pytest.raises(
        SpecError, match=r"grid.alpha\[0\] = 0.0 must be a finite float > 0"
    ):
        load_spec(path)


def test_a_step_longer_than_the_horizon_fails_with_its_reason():
    config = EXPERIMENTS["c1_trajectory"].config({"step": 2.0})
    record = run_point(
        experiment="c1_trajectory", config=config, seed=0, key="k", retries=0
    )
    assert record["status"] == "failed"
    assert "step = 2.0 must be at most t_end = 1.0" in record["error"]


def _slopes(text: str, axis: str) -> dict[str, list[float]]:
    """``{series: slopes}`` of the report's table against ``axis``."""
    table = text.split(f"Against {axis}:")[1].split("\n\n")[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = [math.nan if c == "-" else float(c) for c in cells[1:]]
    return rows


def test_the_report_gives_each_schemes_order_against_its_step(tmp_path):
    spec = tmp_path / "orders.toml"
    spec.write_text(
        'experiment = "c1_trajectory"\nseeds = [0]\n[grid]\n'
        'scheme = ["euler", "heun", "rk4"]\nstep = [0.05, 0.025, 0.0125]\n'
    )
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec), "--out", str(out)]) == 0
    assert main(["sweep", "report", str(out)]) == 0
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "c1_trajectory_vs_step.png"
    ]
    slopes = _slopes((out / "report.md").read_text(), "step")
    for scheme, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        assert abs(slopes[f"scheme = {scheme}"][0] - order) < 0.3  # C1's tolerance


def test_a_log10_axis_is_fitted_against_its_power_of_ten():
    from riemgn.sweeps.report import _series, _slope_lines

    spec = parse_spec(
        'experiment = "c2"\nseeds = [0]\n[grid]\nlog10_condition = [2.0, 4.0, 6.0]\n'
    )
    rows = [
        {
            "config": dict(point.config),
            "result": {
                "gn_rate": 2.0,
                "gd_rate": 10.0 ** -point.config["log10_condition"],
                "gd_rate_over_lambda_min": None,
            },
        }
        for point in spec.points()
    ]
    lines = _slope_lines(spec, _series(spec, rows), list(spec.experiment.plotted))
    slopes = _slopes("\n".join(lines), "10^log10_condition")
    gn, gd = slopes["all"][:2]
    assert abs(gn) < 1e-12 and abs(gd + 1.0) < 1e-12
    assert math.isnan(slopes["all"][2])  # no measurement: no slope


def test_every_claim_has_an_experiment():
    names = {name.removesuffix("_trajectory") for name in EXPERIMENTS}
    assert {claim.lower() for claim in CLAIMS} <= names
    for experiment in EXPERIMENTS.values():
        assert set(experiment.plotted) <= set(experiment.outputs)
        assert set(experiment.measured_x) <= set(experiment.outputs)
