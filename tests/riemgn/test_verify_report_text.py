"""The text of ``riemgn verify``: numbers, notation, metrics and the data set (issue 13).

A reader compares each printed value with its bound, so a value just
outside a bound must never print as the bound, and an exact value must
print exactly. The report shows no Python ``dict``, writes ``±`` everywhere,
states the rank tolerance that was used, and describes real data.
"""

from __future__ import annotations

import json
import math
import re

import jsonschema
import numpy as np
import pytest

from riemgn.verify import CLAIMS, Check, Claim, Task, Verdict, run, schema
from riemgn.verify._core import _format
from riemgn.verify.report import markdown, write_report

BOUNDS = [1.1, 1e-10, 0.05, 2.0, -1.0, 1000.0, 6.0, 0.3, 1e-12, 123456.789]


def _neighbours(bound: float) -> list[float]:
    """Values on both sides of ``bound``: 1 to 3 ulps away, and relatively 1e-3 to 1e-15."""
    values = []
    for direction in (-math.inf, math.inf):
        value = bound
        for _ in range(3):
            value = float(np.nextafter(value, direction))
            values.append(value)
    for exponent in range(3, 16):
        for sign in (-1.0, 1.0):
            values.append(bound + sign * abs(bound) * 10.0**-exponent)
    return [v for v in values if v != bound]


def _significant_digits(text: str) -> int:
    mantissa = text.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.lstrip("0"))


@pytest.mark.parametrize("bound", BOUNDS)
def test_a_value_near_a_bound_never_prints_as_the_bound(bound):
    for value in _neighbours(bound):
        for check in (
            Check.below("x", value, bound),
            Check.above("x", value, bound),
            Check.within("x", value, target=bound, tolerance=0.25 * abs(bound)),
        ):
            shown = float(check.value_text)
            assert shown != bound, (value, check.value_text)
            # and it sits on the same side of every bound as the value
            for reference in check.references:
                assert (shown > reference) == (value > reference), check.text
                assert (shown < reference) == (value < reference), check.text
            assert check.text == f"x = {check.value_text}, needs {check.criterion}"
            assert _significant_digits(check.value_text) <= 17


@pytest.mark.parametrize("bound", BOUNDS)
def test_a_value_equal_to_its_bound_prints_exactly(bound):
    check = Check.below("x", bound, bound)
    assert float(check.value_text) == bound
    assert check.criterion == f"<= {check.value_text}"


def test_exact_values_print_cleanly_and_rounded_ones_show_four_digits():
    assert _format(2.0) == "2"
    assert _format(0.05) == "0.05"
    assert _format(1e-10) == "1e-10"
    assert _format(30000.0) == "30000"
    assert _format(-0.5) == "-0.5"
    assert _format(0.0) == "0"
    # rounded: the trailing zeros say that the digits are rounded
    assert _format(1.0000031) == "1.000"
    assert _format(0.49999999) == "0.5000"
    assert _format(2.208183319529766e-06) == "2.208e-06"
    assert _format(3143.3333333333335) == "3143"
    assert _format(None) == "n/a" and _format(float("nan")) == "nan"


def test_digits_grow_to_resolve_the_distance_from_the_target():
    # far from the bound: 4 significant digits
    assert Check.below("GN rate max/min", 1.0000031, 1.1).value_text == "1.000"
    # within 4e-7 of the target: the digits that show the distance
    check = Check.within("GN rate", 2.0000004, target=2.0, tolerance=0.2)
    assert check.value_text == "2.0000004"
    gap = abs(float(check.value_text) - 2.0)
    assert gap == pytest.approx(4e-7, rel=0.05)
    # a value within 2 ulps of the target prints all the digits it needs
    close = float(np.nextafter(np.nextafter(-1.0, 0.0), 0.0))
    text = Check.within("slope", close, target=-1.0, tolerance=1e-9).value_text
    assert float(text) == close


def test_wall_times_print_with_three_significant_digits():
    assert _format(0.9223851040005684, digits=3) == "0.922"
    assert _format(25.50143098999979, digits=3) == "25.5"
    assert _format(1.0000001, digits=3) == "1.00"


def test_the_notation_is_plus_minus_everywhere():
    assert Check.within("order", 1.9, target=2.0, tolerance=0.3).criterion == "2 ± 0.3"
    for claim in CLAIMS.values():
        assert "+-" not in claim.criterion and "+-" not in claim.statement, claim.id
        assert "-/+" not in claim.criterion and "+/-" not in claim.criterion


# --------------------------------------------------------------------------
# report.md: no dict, every number by the rule


def _toy_claim():
    def measure(n):
        return sum(0.5**k for k in range(n))

    def evaluate(config, results):
        error = abs(results[0] - 2.0)
        return Verdict(
            [
                Check.below("error", error, 1e-6),
                Check.within("limit", results[0], target=2.0, tolerance=0.2),
            ],
            {
                "limit": results[0],
                "seconds": {"lm": 0.9223851040005684, "gf": 1.8821552939989488},
                "gd_seconds": [0.081011043, 3.836582199],
                "runs": [{"name": "a", "value": 0.123456789}],
                "missing": None,
            },
            key="limit",
        )

    return Claim(
        id="C0",
        title="Geometric series",
        statement="1 + 1/2 + 1/4 + ... = 2.",
        criterion="|S_n - 2| <= 1e-6",
        presets={"quick": {"n": 30, "nested": {"a": 1.5}}, "full": {"n": 50}},
        tasks=lambda config, *, data, seed: [Task("S_n", measure, {"n": config["n"]})],
        evaluate=evaluate,
        figure=lambda config, results, verdict: None,
    )


def _measured_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- `")]


def test_the_markdown_report_shows_no_dict_and_flattens_objects(tmp_path):
    report = run([_toy_claim()], plots=False, progress=False)
    write_report(report, tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    measured = _measured_lines(text)
    assert measured, text
    for line in measured:
        assert "{" not in line and "': " not in line, line
    assert "- `seconds.lm`: 0.922" in measured
    assert "- `seconds.gf`: 1.88" in measured
    assert "- `gd_seconds`: [0.0810, 3.84]" in measured
    assert "- `runs`: [name = a, value = 0.1235]" in measured
    assert "- `missing`: n/a (not finite)" in measured
    # the limit is 2 - 2^-29: as the check prints it, not rounded to 2
    limit = 2.0 - 0.5**29
    assert f"- `limit`: {_format(limit, near=[1.8, 2.0, 2.2])}" in measured
    assert float(_format(limit, near=[1.8, 2.0, 2.2])) != 2.0
    configuration = next(line for line in text.splitlines() if "Configuration:" in line)
    assert "{" not in configuration and "': " not in configuration
    assert "`nested` = a = 1.5" in configuration
    # no float of report.json leaks with its 17 digits
    assert "0.9223851040005684" not in text and "1.8821552939989488" not in text
    assert "+-" not in text and "+-" not in report.table()


def test_the_markdown_of_the_c5_shaped_seconds_metric_has_no_dict_repr():
    data = {
        "status": "pass",
        "preset": "quick",
        "data": "synthetic",
        "seed": 0,
        "jobs": 1,
        "wall_time_seconds": 3.0,
        "created": "2026-01-01T00:00:00+00:00",
        "environment": {"python": "3", "platform": "linux", "packages": {}},
        "claims": [
            {
                "id": "C5",
                "title": "LM",
                "statement": "s",
                "criterion": "c",
                "status": "pass",
                "reason": None,
                "key": "ratio",
                "checks": [
                    Check.within(
                        "ratio", 0.9999992111948294, target=1, tolerance=0.02
                    ).as_dict()
                ],
                "metrics": {
                    "seconds": {"lm": 0.92238510, "foil": 0.795376, "gf": 1.88}
                },
                "notes": [],
                "figures": [],
                "config": {"window": [0.1, 1e-05], "radius": None},
                "n_runs": 4,
                "wall_time_seconds": 3.7123,
            }
        ],
    }
    text = markdown(data)
    measured = _measured_lines(text)
    assert measured == [
        "- `seconds.lm`: 0.922",
        "- `seconds.foil`: 0.795",
        "- `seconds.gf`: 1.88",
    ]
    assert "| ratio | 0.99999921 | 1 ± 0.02 | yes |" in text
    assert "4 runs in 3.71 s." in text
    assert "`window` = [0.1, 1e-05]; `radius` = none." in text


# --------------------------------------------------------------------------
# C4: one rank tolerance


def test_c4_config_metrics_checks_and_refusal_state_the_same_rank_tolerance():
    claim = CLAIMS["C4"]
    preset = claim.config("quick")["rank_rtol"]
    assert f"rank tolerance {preset:g} sigma_max" in claim.criterion
    # a tolerance of neither default (1e-8 in the flow, 1e-10 in the preset):
    # only the configured value can appear in the refusal
    config = {"alphas": [1.0, 100.0], "seeds": 1, "rank_rtol": 3e-9}
    report = run([claim], progress=False, plots=False, configs={"C4": config})
    result = report.results[0]
    assert result.config["rank_rtol"] == 3e-9
    metrics = result.verdict.metrics
    assert metrics["rank_rtol"] == 3e-9
    assert all(metrics["symmetric_gn_refused"])
    stated = re.findall(r"rank_rtol = ([0-9.e+-]+)", metrics["symmetric_gn_refusal"])
    assert stated and all(float(value) == 3e-9 for value in stated)
    descriptions = [
        c.description for c in result.verdict.checks if "rank J(theta0)" in c.name
    ]
    assert len(descriptions) == 2
    assert all(d == "numerical rank with rank_rtol = 3e-09" for d in descriptions)


# --------------------------------------------------------------------------
# The diabetes report


SYNTHETIC_ONLY = {"n", "d", "trajectory_n", "trajectory_d", "distance", "noise"}


def test_the_diabetes_configuration_omits_synthetic_only_settings():
    for preset in ("quick", "full"):
        diabetes = CLAIMS["C1"].config(preset, "diabetes")
        synthetic = CLAIMS["C1"].config(preset, "synthetic")
        assert SYNTHETIC_ONLY <= set(synthetic)
        assert not SYNTHETIC_ONLY & set(diabetes), preset
        # C2 runs on the full data set: its n and d are the data's
        c2 = CLAIMS["C2"].config(preset, "diabetes")
        assert (c2["n"], c2["d"]) == (442, 10)


@pytest.fixture(scope="module")
def diabetes_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("diabetes") / "report"
    configs = {
        "C1": {
            "input_conditions": [1.0, 1e2, 1e4],
            "n_points": 2,
            "t_end": 0.5,
            "steps": [0.05, 0.025, 0.0125],
        },
        "C2": {"log10_conditions": [4.0, 7.0, 10.25]},
    }
    claims = [CLAIMS["C1"], CLAIMS["C2"]]
    report = run(claims, data="diabetes", progress=False, plots=False, configs=configs)
    write_report(report, out)
    return json.loads((out / "report.json").read_text()), (
        out / "report.md"
    ).read_text()


def test_the_diabetes_report_describes_the_data_set(diabetes_report):
    from riemgn.data import diabetes

    data, text = diabetes_report
    jsonschema.validate(data, schema())
    X, y = diabetes()
    described = data["data_set"]
    assert described["name"] == "diabetes"
    assert (
        "scikit-learn" in described["source"] and "load_diabetes" in described["source"]
    )
    assert (described["n_samples"], described["n_features"]) == X.shape == (442, 10)
    # the preprocessing it states is what the data went through
    preprocessing = " ".join(described["preprocessing"])
    assert "standard deviation" in preprocessing and "no subsampling" in preprocessing
    assert np.allclose(X.mean(axis=0), 0.0) and np.allclose(X.std(axis=0), 1.0)
    assert np.isclose(y.mean(), 0.0) and np.isclose(y.std(), 1.0)
    assert "## Data" in text and "n = 442 samples, d = 10 features" in text
    assert "scikit-learn's bundled diabetes data set" in text
    # each claim says how it used the data
    notes = {claim["id"]: " ".join(claim["notes"]) for claim in data["claims"]}
    assert "442 samples and 10 features" in notes["C1"] and "target" in notes["C1"]
    assert "442 samples and 10 features" in notes["C2"]
    assert (
        "teacher" in notes["C2"] and "not from the data set's own target" in notes["C2"]
    )


def test_the_diabetes_report_shows_only_the_settings_that_apply(diabetes_report):
    data, text = diabetes_report
    c1 = next(claim for claim in data["claims"] if claim["id"] == "C1")
    assert not SYNTHETIC_ONLY & set(c1["config"])
    c1_section = text[text.index("## C1") : text.index("## C2")]
    configuration = next(
        line for line in c1_section.splitlines() if "Configuration:" in line
    )
    for key in SYNTHETIC_ONLY:
        assert f"`{key}` =" not in configuration
    assert "`n` = 40" not in text and "`d` = 2;" not in text


def test_a_synthetic_report_describes_generated_data():
    report = run([_toy_claim()], plots=False, progress=False)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["data_set"]["name"] == "synthetic"
    assert "generated" in data["data_set"]["source"]
    assert "n_samples" not in data["data_set"]
    assert "## Data" in markdown(data)
