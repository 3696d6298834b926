"""The verify framework and the ``riemgn`` command line, on stand-in claims.

The real claims have their own tests (test_verify_c1.py ... c6); here cheap
stand-ins from ``verify_dummy`` exercise the runner, the report files, the
schema, the exit codes and the usage errors.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import sys

import jsonschema
import numpy as np
import pytest
import verify_dummy

import riemgn.verify as verify
from riemgn.cli import main
from riemgn.verify import Check, Status, Verdict, figure_problems, run, schema


@pytest.fixture
def dummy_claims(monkeypatch):
    """Replace the registry by stand-ins: C7 passes, C8 supports synthetic only."""
    claims = {
        "C7": verify_dummy.make("C7"),
        "C8": verify_dummy.make("C8", data=("synthetic",)),
    }
    monkeypatch.setattr(verify, "CLAIMS", claims)
    return claims


def _markdown_links(path: pathlib.Path) -> list[str]:
    text = (path / "report.md").read_text()
    return re.findall(r"\]\(([^)#][^)]*)\)", text)


def test_checks_and_verdicts_decide_by_numbers():
    assert Check.within("order", 2.1, target=2, tolerance=0.25).passed
    assert not Check.within("order", 1.7, target=2, tolerance=0.25).passed
    assert not Check.below("residual", float("nan"), 1.0).passed
    assert Check.above("ratio", 3.0, 2.0).criterion == ">= 2"
    verdict = Verdict([Check.below("a", 1.0, 2.0), Check.above("b", 1.0, 2.0)], {}, "a")
    assert verdict.status is Status.FAIL and [c.name for c in verdict.failed] == ["b"]
    assert Verdict.inconclusive("left the region").status is Status.INCONCLUSIVE
    with pytest.raises(ValueError, match="key 'c' is not the name of a check"):
        Verdict([Check.below("a", 1.0, 2.0)], {}, "c")


def test_verify_writes_a_schema_valid_report_and_exits_0(
    dummy_claims, tmp_path, capsys
):
    out = tmp_path / "report"
    assert main(["verify", "--out", str(out), "--seed", "5"]) == 0
    printed = capsys.readouterr()
    assert re.search(r"C7 dummy pass\s+pass\s+max_abs_x = ", printed.out)
    assert "C7 dummy pass: pass (4 runs" in printed.err  # the progress line
    data = json.loads((out / "report.json").read_text())
    jsonschema.validate(data, schema())
    assert data["status"] == "pass" and data["seed"] == 5
    assert [c["id"] for c in data["claims"]] == ["C7", "C8"]
    claim = data["claims"][0]
    assert claim["figures"] == ["C7.png"]
    # the reported numbers are the runs' numbers, not constants
    assert claim["checks"][0]["value"] == max(abs(x) for x in claim["metrics"]["xs"])
    for link in _markdown_links(out):
        assert (out / link).is_file(), link
    png = (out / "C7.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_failed_and_inconclusive_claims_exit_1_with_their_reasons(
    monkeypatch, tmp_path, capsys
):
    claims = {
        "C7": verify_dummy.make("C7", mode="fail"),
        "C8": verify_dummy.make("C8", mode="inconclusive"),
        "C9": verify_dummy.make("C9", mode="raise"),
    }
    monkeypatch.setattr(verify, "CLAIMS", claims)
    assert main(["verify", "--out", str(tmp_path), "--no-plots"]) == 1
    out = capsys.readouterr().out
    assert "C7 failed: max_abs_x = " in out and "needs <= 0.001" in out
    assert "C8 inconclusive: every run left the region" in out
    assert "C9 inconclusive: 4 of 4 runs raised an error" in out
    assert "FloatingPointError: deliberate failure in a run" in out
    data = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(data, schema())
    assert [c["status"] for c in data["claims"]] == [
        "fail",
        "inconclusive",
        "inconclusive",
    ]
    assert data["status"] == "fail"
    assert all(c["figures"] == [] for c in data["claims"])
    assert not list(tmp_path.glob("*.png"))
    assert _markdown_links(tmp_path) == []


def test_an_inconclusive_claim_is_never_a_pass_in_the_schema():
    data = {"status": "pass", "reason": None, "checks": []}
    claim_schema = {"$defs": schema()["$defs"], **schema()["$defs"]["claim"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**_claim_stub(), **data}, claim_schema)
    jsonschema.validate(
        {**_claim_stub(), "status": "inconclusive", "reason": "all runs blew up"},
        claim_schema,
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**_claim_stub(), "status": "inconclusive", "reason": None}, claim_schema
        )


def _claim_stub() -> dict:
    return {
        "id": "C1",
        "title": "t",
        "statement": "s",
        "criterion": "c",
        "status": "fail",
        "reason": None,
        "key": None,
        "checks": [],
        "metrics": {},
        "notes": [],
        "figures": [],
        "config": {},
        "n_runs": 0,
        "wall_time_seconds": 0.0,
    }


def test_an_existing_report_is_kept_unless_overwrite(dummy_claims, tmp_path, capsys):
    assert main(["verify", "--out", str(tmp_path), "--claims", "C7"]) == 0
    before = (tmp_path / "report.json").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["verify", "--out", str(tmp_path), "--claims", "C8"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "already holds a report (report.json, report.md)" in err
    assert "--overwrite" in err
    assert (tmp_path / "report.json").read_text() == before
    assert (
        main(["verify", "--out", str(tmp_path), "--claims", "C8", "--overwrite"]) == 0
    )
    data = json.loads((tmp_path / "report.json").read_text())
    assert [c["id"] for c in data["claims"]] == ["C8"]
    assert not (tmp_path / "C7.png").exists()  # the old report's figure went with it
    assert (tmp_path / "C8.png").is_file()


def test_an_interrupted_overwrite_keeps_the_previous_report(
    dummy_claims, tmp_path, capsys, monkeypatch
):
    assert main(["verify", "--out", str(tmp_path), "--claims", "C7"]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(verify, "run", interrupted)
    assert main(["verify", "--out", str(tmp_path), "--overwrite"]) == 130
    assert "a report already there is unchanged" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def _broken(claim, **parts):
    return dataclasses.replace(claim, **parts)


def _raise(*args, **kwargs):
    raise KeyError("deliberate")


def test_a_claim_whose_setup_or_figure_raises_is_reported_not_a_traceback(
    tmp_path, capsys
):
    from riemgn.verify._common import new_figure

    def unrenderable(config, results, verdict):
        fig, (ax,) = new_figure(1)
        ax.plot([1, 2])
        ax.set(title=r"$\notacommand{x}$", xlabel="x", ylabel="y")
        return fig

    claims = [
        _broken(verify_dummy.make("C7"), tasks=_raise),
        _broken(verify_dummy.make("C8"), figure=_raise),
        _broken(verify_dummy.make("C9"), figure=unrenderable),
    ]
    report = run(claims, progress=False)
    setup, drawing, rendering = report.results
    assert setup.status is Status.INCONCLUSIVE and setup.n_runs == 0
    assert (
        "the runs could not be set up: KeyError: 'deliberate'" in setup.verdict.reason
    )
    assert drawing.status is Status.PASS and drawing.figure is None
    assert "no figure: drawing it raised KeyError" in drawing.verdict.notes[0]
    verify.write_report(report, tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(data, schema())
    assert [c["figures"] for c in data["claims"]] == [[], [], []]
    assert "no figure: rendering it raised" in data["claims"][2]["notes"][0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]
    assert all((tmp_path / link).is_file() for link in _markdown_links(tmp_path))


def test_checks_refuse_non_finite_bounds():
    with pytest.raises(ValueError, match="check 'x': bound must be finite, got nan"):
        Check.below("x", 5.0, float("nan"))
    with pytest.raises(
        ValueError, match="check 'x': tolerance must be finite, got inf"
    ):
        Check.within("x", 1.0, target=1.0, tolerance=float("inf"))
    with pytest.raises(ValueError, match="check 'x': tolerance must be >= 0, got -0.1"):
        Check.within("x", 1.0, target=1.0, tolerance=-0.1)
    with pytest.raises(ValueError, match="at_least = 2.0 exceeds at_most = 1.0"):
        Check("x", 1.0, at_least=2.0, at_most=1.0)
    with pytest.raises(TypeError, match="check 'x': bound must be a real number"):
        Check.above("x", 1.0, "3")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (
            ["--claims", "C7,C42"],
            "argument --claims: unknown claim 'C42' (known: C7, C8)",
        ),
        (["--claims", ","], "expected claim ids such as C1,C3"),
        (["--jobs", "0"], "argument --jobs: must be >= 1, got 0"),
        (["--jobs", "-2"], "argument --jobs: must be >= 1, got -2"),
        (["--jobs", "two"], "argument --jobs: expected an integer, got 'two'"),
        (["--seed", "-1"], "argument --seed: must be >= 0, got -1"),
        (["--preset", "medium"], "invalid choice: 'medium'"),
        (
            ["--data", "diabetes", "--claims", "C8"],
            "--data diabetes is not supported by C8",
        ),
        (
            ["--data", "breast_cancer", "--claims", "C8"],
            "--data breast_cancer is not supported by C8",
        ),
        (["--data", "mnist"], "invalid choice: 'mnist'"),
    ],
)
def test_bad_options_are_one_line_errors_with_exit_code_2(
    dummy_claims, argv, match, tmp_path, capsys
):
    with pytest.raises(SystemExit) as info:
        main(["verify", "--out", str(tmp_path / "out"), *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("riemgn verify: error: ") and match in err
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_a_usage_error(dummy_claims, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for out, match in [
        (blocker, "exists and is not a directory"),
        (blocker / "sub", "is not writable"),
    ]:
        with pytest.raises(SystemExit) as info:
            main(["verify", "--out", str(out)])
        assert info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"--out '{out}'" in err and match in err


def test_diabetes_without_scikit_learn_names_the_extra(
    dummy_claims, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit) as info:
        main(["verify", "--data", "diabetes"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "needs scikit-learn" in err and "pip install 'riemgn[data]'" in err


def test_diabetes_runs_only_the_claims_that_support_it(dummy_claims, tmp_path):
    assert main(["verify", "--data", "diabetes", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["data"] == "diabetes" and [c["id"] for c in data["claims"]] == ["C7"]


def test_jobs_give_identical_results(tmp_path):
    claim = verify_dummy.make("C7", runs=6)
    serial = run([claim], seed=11, progress=False, plots=False)
    parallel = run([claim], seed=11, jobs=2, progress=False, plots=False)
    assert serial.results[0].verdict == parallel.results[0].verdict
    other = run([claim], seed=12, progress=False, plots=False)
    assert other.results[0].verdict != serial.results[0].verdict


def test_run_rejects_bad_arguments():
    claim = verify_dummy.make("C7")
    with pytest.raises(
        ValueError, match="unknown configuration keys for C7: \\['nope'\\]"
    ):
        run([claim], configs={"C7": {"nope": 1}}, progress=False)
    with pytest.raises(ValueError, match="preset must be one of"):
        run([claim], preset="slow", progress=False)
    with pytest.raises(ValueError, match="`jobs` must be >= 1, got 0"):
        run([claim], jobs=0, progress=False)
    with pytest.raises(ValueError, match="C7 does not support data 'diabetes'"):
        run(
            [verify_dummy.make("C7", data=("synthetic",))],
            data="diabetes",
            progress=False,
        )
    with pytest.raises(ValueError, match="claims is empty"):
        run([], progress=False)


@dataclasses.dataclass(frozen=True)
class _DummyConfig:
    runs: int
    scale: float
    mode: str

    def __post_init__(self):
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")


def test_a_config_type_reaches_the_claim_typed_and_the_report_as_a_dict(tmp_path):
    seen = []

    def tasks(config, *, data, seed):
        seen.append(config)
        return verify_dummy.tasks(dataclasses.asdict(config), data=data, seed=seed)

    def evaluate(config, results):
        seen.append(config)
        return verify_dummy.evaluate(dataclasses.asdict(config), results)

    claim = dataclasses.replace(
        verify_dummy.make("C7", runs=3),
        tasks=tasks,
        evaluate=evaluate,
        config_type=_DummyConfig,
    )
    report = run([claim], seed=5, progress=False, plots=False)
    plain = run([verify_dummy.make("C7", runs=3)], seed=5, progress=False, plots=False)
    assert seen == [_DummyConfig(runs=3, scale=1.0, mode="pass")] * 2
    assert report.results[0].config == {"runs": 3, "scale": 1.0, "mode": "pass"}
    assert report.results[0].verdict == plain.results[0].verdict
    # a bad override fails before any run starts
    seen.clear()
    with pytest.raises(ValueError, match="scale must be > 0"):
        run([claim], configs={"C7": {"scale": -1.0}}, progress=False)
    assert seen == []


def test_a_report_without_claims_is_not_a_pass():
    from riemgn.verify import Report

    empty = Report((), "quick", "synthetic", 0, 1, True, 0.0, {})
    assert empty.status is Status.INCONCLUSIVE and empty.exit_code == 1


def test_figure_problems_finds_what_a_paper_figure_lacks():
    from riemgn.verify._common import new_figure

    fig, axes = new_figure(2)
    axes[0].plot([1, 2], label="a")
    axes[0].plot([2, 1], label="b")
    problems = figure_problems(fig)
    assert "no title (figure suptitle or a title on every axes)" in problems
    assert "axes 0 has no x label" in problems and "axes 1 shows no data" in problems
    assert "axes 0 has 2 labelled series but no legend" in problems


def test_version_help_and_bare_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    from riemgn import __version__

    assert capsys.readouterr().out.strip() == f"riemgn {__version__}"
    with pytest.raises(SystemExit) as info:
        main(["verify", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--claims",
        "--preset",
        "--data",
        "--seed",
        "--out",
        "--jobs",
        "--no-plots",
        "--overwrite",
        "exit codes",
        "report.json",
    ):
        assert option in text
    assert main([]) == 2


def test_manifold_summary_prints_measured_geometry(capsys):
    argv = ["manifold", "--width", "3", "--alpha", "2", "--n", "30", "--d", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "rank J(theta0) = 6 of 6" in out
    assert "immersion: yes, dim M = 6 in R^30" in out
    curvature = float(re.search(r"\|II\| at F\(theta0\) = (\S+)", out).group(1))
    assert main([*argv[:4], "4", *argv[5:]]) == 0
    doubled = capsys.readouterr().out
    # M_alpha = alpha M_1: doubling alpha halves the curvature
    ratio = curvature / float(
        re.search(r"\|II\| at F\(theta0\) = (\S+)", doubled).group(1)
    )
    assert ratio == pytest.approx(2.0, rel=1e-3)
    residual = float(re.search(r"\|F\(theta0\) - y\| = (\S+)", out).group(1))
    assert residual > 0
    cond = float(re.search(r"cond\(G0\) = cond\(J\^T J\) = (\S+)", out).group(1))
    assert np.isfinite(cond) and cond >= 1


def test_manifold_summary_of_the_symmetric_initialization(capsys):
    assert main(["manifold", "--init", "symmetric", "--width", "4", "--n", "30"]) == 0
    out = capsys.readouterr().out
    assert "rank J(theta0) = 6 of 12" in out
    assert "|F(theta0)| = 0\n" in out
    assert "cond(G0) = cond(J^T J) = inf (J is rank-deficient)" in out
    assert "immersion: no: " in out and "symmetric initialization" in out


def test_manifold_check_runs_the_diagnostics(capsys):
    assert (
        main(["manifold", "--n", "25", "--width", "2", "--seed", "3", "--check"]) == 0
    )
    out = capsys.readouterr().out
    slope = float(re.search(r"gradient Taylor slope\s+(\S+)", out).group(1))
    assert slope == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--width", "0"], "argument --width: must be >= 1, got 0"),
        (["--alpha", "-1"], "argument --alpha: must be a finite number > 0, got -1"),
        (["--alpha", "nan"], "argument --alpha: must be a finite number > 0, got nan"),
        (["--activation", "relu"], "invalid choice: 'relu'"),
        (["--d", "50", "--n", "40"], "--d must be <= --n, got d = 50 > n = 40"),
        (["--init", "symmetric", "--width", "3"], "`width` must be even, got width=3"),
    ],
)
def test_manifold_rejects_bad_options(argv, match, capsys):
    with pytest.raises(SystemExit) as info:
        main(["manifold", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err, err


def test_console_script_and_python_dash_m_agree():
    result = subprocess.run(
        [sys.executable, "-m", "riemgn", "manifold", "--n", "20", "--width", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "immersion: yes, dim M = 6 in R^20" in result.stdout


def test_slopes_and_maxima_never_drop_a_missing_value():
    from riemgn.verify._common import farthest, largest, log_slope

    assert log_slope([1.0, 10.0, 100.0], [2.0, 20.0, 200.0]) == pytest.approx(1.0)
    assert np.isnan(log_slope([1.0, 10.0, 100.0], [2.0, np.nan, 200.0]))
    assert np.isnan(log_slope([1.0, 10.0, 100.0], [2.0, 0.0, 200.0]))
    assert np.isnan(log_slope([1.0, 1.0], [2.0, 3.0]))
    assert np.isnan(largest([0.0, np.nan, 1.0])) and np.isnan(largest([]))
    assert np.isnan(farthest([-1.0, np.nan], -1.0))


@pytest.mark.parametrize("zero", ["0", "0.00", "0e0", "-0"])
def test_manifold_accepts_zero_noise_in_any_spelling(zero, capsys):
    argv = ["manifold", "--width", "2", "--alpha", "1", "--n", "10", "--d", "2"]
    assert main([*argv, "--noise", zero]) == 0
    assert "immersion: yes" in capsys.readouterr().out


def test_unsupported_data_errors_print_the_claims_reason(capsys, tmp_path):
    from riemgn.verify import CLAIMS

    with pytest.raises(SystemExit) as info:
        main(["verify", "--data", "breast_cancer", "--claims", "C2,C5"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for claim in ("C2", "C5"):
        assert CLAIMS[claim].unsupported_reason("breast_cancer") in err
    assert "strongly convex" in err


@pytest.mark.parametrize("data", ["diabetes", "breast_cancer", "digits"])
def test_every_claim_supports_each_data_or_says_why(data):
    from riemgn.verify import CLAIMS
    from riemgn.verify._common import data_support

    support = data_support(data)
    assert support["supported"] == [c.id for c in CLAIMS.values() if data in c.data]
    assert set(support["supported"]) | set(support["unsupported"]) == set(CLAIMS)
    for claim_id, reason in support["unsupported"].items():
        assert data in CLAIMS[claim_id].unsupported, (claim_id, data)
        assert len(reason) > 40 and reason == CLAIMS[claim_id].unsupported[data]


def test_the_supported_claims_per_data_set():
    from riemgn.verify._common import data_support

    assert data_support("breast_cancer")["supported"] == ["C1"]
    assert data_support("digits")["supported"] == ["C1"]
    assert data_support("synthetic")["unsupported"] == {}


def test_the_report_lists_supported_and_unsupported_claims(dummy_claims, tmp_path):
    assert main(["verify", "--data", "diabetes", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(data, schema())
    assert data["data_set"]["claims"]["supported"] == ["C7"]
    reason = data["data_set"]["claims"]["unsupported"]["C8"]
    assert reason
    text = (tmp_path / "report.md").read_text()
    assert "Claims that run on the diabetes data: C7." in text
    assert f"- C8: {reason}." in text


def test_data_no_claim_runs_on_is_a_usage_error_with_the_reasons(capsys, monkeypatch):
    claims = {
        "C7": verify_dummy.make("C7", data=("synthetic",)),
        "C8": verify_dummy.make("C8", data=("synthetic",)),
    }
    monkeypatch.setattr(verify, "CLAIMS", claims)
    with pytest.raises(SystemExit) as info:
        main(["verify", "--data", "digits"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no claim runs on it yet" in err
    assert claims["C7"].unsupported_reason("digits") in err


def test_c1_runs_and_passes_on_the_digits(tmp_path):
    """``riemgn verify --data digits`` passes C1 (3 against 8, one neuron), ~6 s."""
    from riemgn.verify import CLAIMS

    assert "digits" in CLAIMS["C1"].data
    assert CLAIMS["C1"].unsupported_reason("digits") is None
    out = tmp_path / "digits"
    assert (
        main(["verify", "--data", "digits", "--claims", "C1", "--out", str(out)]) == 0
    )
    data = json.loads((out / "report.json").read_text())
    jsonschema.validate(data, schema())
    (claim,) = data["claims"]
    assert claim["status"] == "pass"
    assert data["data_set"]["n_samples"] == 357
    metrics = claim["metrics"]
    assert metrics["trajectory_redrawn"] == [[]]  # the first draw stays on M
    for scheme, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        assert abs(metrics[f"{scheme}_order"] - order) <= 0.3


def test_config_of_unsupported_data_names_the_reason_and_the_schema_checks_it():
    from riemgn.verify import CLAIMS
    from riemgn.verify._common import data_set_description

    with pytest.raises(ValueError, match="C5 does not support data 'digits' \\(the"):
        CLAIMS["C5"].config("quick", "digits")
    data_set = data_set_description("breast_cancer")
    data_schema = schema()["properties"]["data_set"]
    jsonschema.validate(data_set, data_schema)
    broken = {**data_set, "claims": {"supported": ["C1"]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, data_schema)
