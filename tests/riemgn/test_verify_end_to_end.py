"""The README's main job with the real claims: ``riemgn verify`` end to end.

One run of the ``quick`` preset of every claim, in two worker processes,
through the command line; then its report is checked against the schema,
its links and figures are checked on disk, and two of its claims are re-run
serially to show that ``--jobs`` does not change a number.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import jsonschema
import pytest

from riemgn.cli import main
from riemgn.verify import CLAIMS, run, schema

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "report"
    printed, progress = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(progress):
        code = main(["verify", "--out", str(out), "--jobs", "2"])
    data = json.loads((out / "report.json").read_text())
    return code, out, data, printed.getvalue()


def _without_timings(value):
    """``value`` with every wall-clock entry removed (they differ run to run)."""
    if isinstance(value, dict):
        return {
            key: _without_timings(item)
            for key, item in value.items()
            if "second" not in key and "wall_time" not in key
        }
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value


def test_every_claim_passes_the_quick_preset(quick_report):
    code, _, data, printed = quick_report
    assert [claim["id"] for claim in data["claims"]] == list(CLAIMS)
    assert list(CLAIMS) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    failing = {
        claim["id"]: claim["reason"]
        or [c["name"] for c in claim["checks"] if not c["passed"]]
        for claim in data["claims"]
        if claim["status"] != "pass"
    }
    assert failing == {}
    assert code == 0 and data["status"] == "pass"
    assert data["preset"] == "quick" and data["jobs"] == 2
    for claim_id in CLAIMS:
        assert re.search(rf"^{claim_id} .+\s+pass\s+.+ = ", printed, re.MULTILINE)


def test_the_report_validates_and_links_only_existing_figures(quick_report):
    _, out, data, _ = quick_report
    jsonschema.validate(data, schema())
    for claim in data["claims"]:
        assert claim["figures"] == [f"{claim['id']}.png"]
        png = out / claim["figures"][0]
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert png.stat().st_size > 20_000
        assert claim["checks"] and all(check["passed"] for check in claim["checks"])
    links = re.findall(r"\]\(([^)#][^)]*)\)", (out / "report.md").read_text())
    assert {f"C{k}.png" for k in range(1, 7)} <= set(links)
    assert all((out / link).is_file() for link in links)


def test_jobs_do_not_change_the_numbers_of_real_claims(quick_report):
    _, _, data, _ = quick_report
    claims = [CLAIMS["C3"], CLAIMS["C5"]]
    serial = run(claims, jobs=1, progress=False, plots=False)
    parallel = {claim["id"]: claim for claim in data["claims"]}
    for claim in json.loads(json.dumps(serial.as_dict()))["claims"]:
        other = parallel[claim["id"]]
        assert other["n_runs"] == claim["n_runs"] > 1
        assert _without_timings(claim["metrics"]) == _without_timings(other["metrics"])
        assert claim["checks"] == other["checks"]


def test_the_diabetes_data_run_through_the_command_line(tmp_path):
    out = tmp_path / "diabetes"
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        code = main(
            ["verify", "--data", "diabetes", "--claims", "C1,C2", "--out", str(out)]
        )
    data = json.loads((out / "report.json").read_text())
    jsonschema.validate(data, schema())
    assert data["data"] == "diabetes"
    assert [(c["id"], c["status"]) for c in data["claims"]] == [
        ("C1", "pass"),
        ("C2", "pass"),
    ]
    assert code == 0
    assert "diabetes features" in data["claims"][1]["metrics"]["data_kind"]


def test_the_breast_cancer_data_run_through_the_command_line(tmp_path):
    out = tmp_path / "breast_cancer"
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        code = main(["verify", "--data", "breast_cancer", "--out", str(out)])
    data = json.loads((out / "report.json").read_text())
    jsonschema.validate(data, schema())
    assert data["data_set"]["n_samples"] == 569 and data["data_set"]["n_features"] == 30
    assert data["data_set"]["claims"]["supported"] == ["C1"]
    assert sorted(data["data_set"]["claims"]["unsupported"]) == [
        "C2",
        "C3",
        "C4",
        "C5",
        "C6",
    ]
    assert [(c["id"], c["status"]) for c in data["claims"]] == [("C1", "pass")]
    assert code == 0
    assert any("breast cancer features" in note for note in data["claims"][0]["notes"])
    assert "Claims that do not, and why:" in (out / "report.md").read_text()


def test_the_full_preset_sweeps_the_ranges_the_issue_asks_for():
    import math

    full = {
        claim_id: claim.config("full", "synthetic")
        for claim_id, claim in CLAIMS.items()
    }

    def decades(values):
        # Spans of exactly 4 or 7 decades land on the bound: allow rounding.
        return math.log10(max(values) / min(values)) * (1 + 1e-9)

    # 5 seeds (independent problems) for every claim.
    for config in full.values():
        assert config.get("seeds", config.get("n_problems")) == 5
    # alpha over >= 4 decades.
    assert decades(full["C3"]["alphas"]) >= 4 and decades(full["C4"]["alphas"]) >= 4
    # cond(G0) and lambda_min(K0) over >= 7 decades, and the measured spans are
    # checked against 7 in the run itself.
    assert decades([10.0**e for e in full["C2"]["log10_conditions"]]) >= 7
    assert decades([10.0**e for e in full["C6"]["log10_conditions"]]) >= 7
    assert decades([10.0**e for e in full["C5"]["log10_lambda_mins"]]) >= 7
    assert full["C2"]["min_decades"] >= 7 and full["C5"]["min_decades"] >= 7
