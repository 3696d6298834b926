"""The benchmark suite (``python -m benchmarks``) runs, writes its schema and fails on a miss.

No timing is asserted: the check mode runs every row at tiny sizes, and the
verdicts are tested with injected rows whose "timings" are constants.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import RESULTS
from benchmarks.__main__ import main
from benchmarks._harness import Row, Skip, Target
from benchmarks.rows_verify import differences

ROOT = Path(__file__).resolve().parents[1]
ROW_KEYS = {"name", "sizes", "ratio", "target", "passed", "status"}


def _check_schema(document: dict) -> None:
    assert {"date", "mode", "machine", "versions", "rows"} <= set(document)
    assert {"cpu_model", "cores", "blas"} <= set(document["machine"])
    assert {"python", "numpy", "scipy", "riemgn"} <= set(document["versions"])
    for row in document["rows"]:
        assert ROW_KEYS <= set(row), row
        if row["status"] in ("ran", "pass", "miss", "report"):
            assert math.isfinite(row["ratio"])
            assert {"repeats", "seconds"} <= set(row)


@pytest.fixture(scope="module")
def check_run(tmp_path_factory):
    """``python -m benchmarks --check`` without the verify row (its own test below)."""
    out = tmp_path_factory.mktemp("benchmarks") / "results.json"
    from benchmarks import all_rows

    names = ",".join(row.name for row in all_rows() if row.name != "verify")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--check",
            "--rows",
            names,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done, out


def test_the_check_mode_runs_every_row(check_run):
    done, out = check_run
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(out.read_text())
    _check_schema(document)
    assert document["mode"] == "check"
    statuses = {row["name"]: row["status"] for row in document["rows"]}
    assert "error" not in statuses.values(), statuses
    # Rows of optional peers may be skipped; the riemgn-only rows always run.
    for name in (
        "jacobian",
        "ntk",
        "chart",
        "gn_flow",
        "gn_trf",
        "scaling_gn_n",
        "memory_gn_krylov",
    ):
        assert statuses[name] == "ran", statuses
    memory = next(r for r in document["rows"] if r["name"] == "memory_gn_krylov")
    assert memory["residual"] <= 1e-6 and memory["peak_rss_gb"] > 0
    assert "ratio" in done.stdout and "target" in done.stdout


AT_MOST_2 = Target("<=", 2.0)


def _fake(name: str, ratio: float, target: Target | None = AT_MOST_2):
    def run(size: str) -> dict:
        return {
            "sizes": {"n": 1},
            "repeats": 1,
            "seconds": {"ours": ratio, "bound": 1.0},
            "ratio": ratio,
        }

    return Row(name, f"injected {name}", run, target)


def _failing(size: str) -> dict:
    raise RuntimeError("broken on purpose")


def _skipped(size: str) -> dict:
    raise Skip()


def _run(tmp_path, rows, *flags) -> tuple[int, dict]:
    out = tmp_path / "results.json"
    code = main([*flags, "--out", str(out)], rows=rows)
    return code, json.loads(out.read_text())


def test_a_missed_target_fails_the_run(tmp_path, capsys):
    rows = [_fake("fast", 1.5), _fake("slow", 3.0), _fake("reported", 9.0, None)]
    code, document = _run(tmp_path, rows)
    assert code == 1
    _check_schema(document)
    verdicts = {row["name"]: (row["status"], row["passed"]) for row in document["rows"]}
    assert verdicts == {
        "fast": ("pass", True),
        "slow": ("miss", False),
        "reported": ("report", None),
    }
    assert "FAILED: slow" in capsys.readouterr().out


def test_rows_that_meet_their_targets_pass(tmp_path):
    rows = [_fake("fast", 1.5), _fake("fast_enough", 40.0, Target(">=", 40.0))]
    code, document = _run(tmp_path, rows)
    assert code == 0
    assert [row["passed"] for row in document["rows"]] == [True, True]


def test_the_check_mode_asserts_no_timing(tmp_path):
    code, document = _run(tmp_path, [_fake("slow", 3.0)], "--check")
    assert code == 0
    assert document["rows"][0]["status"] == "ran"


@pytest.mark.parametrize("check", [False, True])
def test_an_error_or_a_non_finite_ratio_fails_every_mode(tmp_path, check):
    flags = ["--check"] if check else []
    rows = [_fake("nan", math.nan), Row("broken", "broken", _failing, Target("<=", 2))]
    code, document = _run(tmp_path, rows, *flags)
    assert code == 1
    rows_out = {row["name"]: row for row in document["rows"]}
    assert rows_out["nan"]["status"] == rows_out["broken"]["status"] == "error"
    assert "broken on purpose" in rows_out["broken"]["reason"]


def test_a_missing_peer_is_skipped_not_missed(tmp_path, capsys):
    code, document = _run(tmp_path, [Row("peer", "peer", _skipped, Target("<=", 1))])
    assert code == 0
    assert document["rows"][0]["status"] == "skipped"
    assert "pip install riemgn[benchmarks]" in capsys.readouterr().out


def test_the_check_mode_never_writes_the_committed_results(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--check", "--out", str(RESULTS)], rows=[_fake("x", 1.0)])
    assert raised.value.code == 2


def test_an_unknown_row_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--rows", "nope"], rows=[_fake("x", 1.0)])
    assert raised.value.code == 2
    assert "nope" in capsys.readouterr().err


def test_the_verify_comparison_sees_a_changed_number():
    reference = json.loads((ROOT / "benchmarks/reference/verify_full.json").read_text())
    assert differences(reference, reference) == []
    changed = json.loads(json.dumps(reference))
    changed["wall_time_seconds"] *= 2  # times are not results
    notes = changed["claims"][5]["notes"]
    notes[0] = notes[0].replace("7.21e+03", "2.97e+03")  # a wall-time ratio
    assert differences(reference, changed) == []
    claim = changed["claims"][0]
    value = next(v for v in claim["checks"] if isinstance(v.get("value"), float))
    value["value"] *= 1 + 1e-8
    found = differences(reference, changed)
    assert len(found) == 1 and ".claims[0].checks" in found[0]
