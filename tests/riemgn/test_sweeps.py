"""``riemgn sweep run``: specifications, durable records, resume, failures.

Each test sweeps the cheap ``solver`` experiment (n = 12 to 20 samples).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from sweep_specs import SLOW, SPEC_24, table, without_times

from riemgn.cli import main
from riemgn.sweeps import (
    EXPERIMENTS,
    SpecError,
    load_spec,
    parse_spec,
    run_point,
    run_sweep,
)


def test_a_sweep_gives_identical_records_serially_and_in_the_pool(tmp_path):
    spec = parse_spec(SPEC_24)
    assert len(spec.points()) == 24
    serial = run_sweep(spec, tmp_path / "serial", progress=False)
    pool = run_sweep(spec, tmp_path / "pool", jobs=2, progress=False)
    assert serial.failed == pool.failed == 0
    assert without_times(serial.records) == without_times(pool.records)
    assert table(tmp_path / "serial") == table(tmp_path / "pool")
    keys = {r["key"] for r in serial.records}
    assert len(keys) == 24  # one record, one key per point
    assert sorted(p.name for p in (tmp_path / "pool" / "records").iterdir()) == sorted(
        f"{k}.json" for k in keys
    )
    csv_lines = (tmp_path / "pool" / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 25 and csv_lines[0].startswith("key,seed,status")


def test_resume_runs_only_the_missing_points(tmp_path):
    spec = parse_spec(SPEC_24)
    full = run_sweep(spec, tmp_path / "full", progress=False)
    out = tmp_path / "partial"
    run_sweep(spec, out, progress=False)
    removed = sorted((out / "records").iterdir())[:5]
    for path in removed:
        path.unlink()
    with pytest.raises(ValueError, match="holds 19 record"):
        run_sweep(spec, out, progress=False)  # records there: resume or refuse
    again = run_sweep(spec, out, resume=True, progress=False)
    assert (again.ran, again.skipped) == (5, 19)
    assert table(out) == table(tmp_path / "full") == without_times(full.records)


FAILING = """
experiment = "solver"
seeds = [0, 1, 2]
[options]
n = 20
target = 1e-6
[grid]
width = [1, 2, 30]   # p = 60 > n = 20: the optimal risk, and the point, raise
"""


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    spec_file = tmp_path / "failing.toml"
    spec_file.write_text(FAILING)
    out = tmp_path / "out"
    code = main(["sweep", "run", str(spec_file), "--out", str(out), "--retries", "2"])
    assert code == 3  # three points failed (width 30, three seeds)
    records = [
        json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()
    ]
    assert len(records) == 9
    failed = [r for r in records if r["status"] == "failed"]
    assert [r["config"]["width"] for r in failed] == [30, 30, 30]
    for record in failed:
        assert record["result"] is None
        assert "p <= n" in record["error"] and record["error"].startswith("ValueError")
        assert "Traceback (most recent call last)" in record["traceback"]
        assert record["attempts"] == 3  # the first and two retries
    assert all(
        r["result"]["status"] == "callback_stop" for r in records if r not in failed
    )
    assert "9 points, 9 run, 0 already recorded, 3 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('experiment = "flows"\nseeds = [0]', "experiment = 'flows'"),
        ('experiment = "flow"\nseeds = [0]\n[grid]\nwidht = [1, 2]', "grid.widht"),
        ('experiment = "flow"\nseeds = [0]\n[options]\nsteps = 3', "options.steps"),
        ('experiment = "flow"\nseeds = [0]\n[grid]\nalpha = []', "grid.alpha is empty"),
        (
            'experiment = "flow"\nseeds = [0]\n[grid]\nalpha = {start = 1, stop = 2, num = 0}',
            "grid.alpha is empty",
        ),
        ('experiment = "flow"\nseeds = [0]\n[grid]\nwidth = [1, 2.5]', "grid.width[1]"),
        ('experiment = "flow"\nseeds = [0]\n[options]\nalpha = "big"', "options.alpha"),
        ('experiment = "flow"\nseeds = [0]\n[options]\nflow = "adam"', "options.flow"),
        ('experiment = "flow"\nseeds = []', "seeds is empty"),
        ('experiment = "flow"\nseeds = [0]\ngird = 1', "unknown key 'gird'"),
        ('experiment = "flow"\nseeds = [0\n', "not a valid TOML file"),
    ],
)
def test_an_invalid_spec_names_the_key_and_the_file(tmp_path, text, key):
    spec_file = tmp_path / "bad.toml"
    spec_file.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    message = str(caught.value)
    assert key in message and str(spec_file) in message, message


def test_a_file_that_is_not_toml_is_a_usage_error(tmp_path, capsys):
    spec_file = tmp_path / "sweep.json"
    spec_file.write_text('{"experiment": "flow", "seeds": [0]}')
    with pytest.raises(SystemExit) as exit:
        main(["sweep", "run", str(spec_file), "--out", str(tmp_path / "out")])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "not a valid TOML file" in err and str(spec_file) in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_run_sweep_rejects_bad_arguments(tmp_path):
    spec = parse_spec('experiment = "solver"\nseeds = [0]\n[options]\nn = 12\n')
    with pytest.raises(TypeError, match="spec"):
        run_sweep(SPEC_24, tmp_path / "a")
    with pytest.raises(ValueError, match="jobs"):
        run_sweep(spec, tmp_path / "b", jobs=0)
    with pytest.raises(ValueError, match="retries"):
        run_sweep(spec, tmp_path / "c", retries=-1)
    with pytest.raises(ValueError, match="`dask`"):
        run_sweep(spec, tmp_path / "d", progress=False, dask={"clutser": "local"})


def test_a_point_is_determined_by_its_inputs():
    config = EXPERIMENTS["flow"].config({"n": 12, "t_end": 2.0})
    first = run_point(experiment="flow", config=config, seed=4, key="k", retries=0)
    second = run_point(experiment="flow", config=config, seed=4, key="k", retries=0)
    assert first["status"] == "ok"
    assert without_times([first]) == without_times([second])


def _sweep_process(spec_file, out, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "riemgn.cli",
            "sweep",
            "run",
            str(spec_file),
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def _records(out):
    folder = out / "records"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_an_interrupted_sweep_resumes_to_the_uninterrupted_table(
    tmp_path, signum, code
):
    spec_file = tmp_path / "slow.toml"
    spec_file.write_text(SLOW)
    reference = run_sweep(load_spec(spec_file), tmp_path / "reference", progress=False)
    out = tmp_path / "out"
    process = _sweep_process(spec_file, out, "--jobs", "2")
    deadline = time.monotonic() + 120
    while len(_records(out)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "--resume finishes the sweep" in err
    interrupted = len(_records(out))
    assert 3 <= interrupted < 12, interrupted
    resumed = _sweep_process(spec_file, out, "--resume")
    stdout, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"{12 - interrupted} run, {interrupted} already recorded" in stdout
    assert len(_records(out)) == 12  # exactly one record per point
    assert not [p for p in (out / "records").iterdir() if p.name.startswith(".")]
    assert table(out) == without_times(reference.records)


def test_the_example_specs_are_valid():
    examples = sorted(
        (pathlib.Path(__file__).parents[2] / "examples" / "sweeps").glob("*.toml")
    )
    assert examples
    for spec_file in examples:
        assert load_spec(spec_file).points()


def test_the_report_draws_each_result_and_lists_the_failures(tmp_path, capsys):
    spec_file = tmp_path / "failing.toml"
    spec_file.write_text(FAILING + "input_condition = [1.0, 10.0]\n")
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec_file), "--out", str(out)]) == 6
    assert main(["sweep", "report", str(out)]) == 0
    figures = sorted(p.name for p in (out / "figures").iterdir())
    # cond(G0) and the numeric axes with more than one value
    assert figures == [
        "solver_vs_cond_G0.png",
        "solver_vs_input_condition.png",
        "solver_vs_width.png",
    ]
    assert all((out / "figures" / name).stat().st_size > 10_000 for name in figures)
    text = (out / "report.md").read_text()
    assert "points: 18; recorded: 18; failed: 6; missing: 0" in text
    assert text.count("p <= n") == 6  # each failed point with its error
    for name in figures:
        assert f"(figures/{name})" in text
    assert "report.md" in capsys.readouterr().out


def test_a_report_needs_a_sweep(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["sweep", "report", str(tmp_path)])
    assert exit.value.code == 2
    assert "spec.toml is missing" in capsys.readouterr().err


def test_a_killed_pool_worker_fails_its_points_and_resume_completes(tmp_path):
    import multiprocessing
    import threading

    spec = parse_spec(SLOW)
    reference = run_sweep(spec, tmp_path / "reference", progress=False)
    out = tmp_path / "out"
    before = set(multiprocessing.active_children())

    def kill_a_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(_records(out)) >= 2:
                workers = set(multiprocessing.active_children()) - before
                if workers:
                    os.kill(next(iter(workers)).pid, signal.SIGKILL)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    first = run_sweep(spec, out, jobs=2, progress=False)
    killer.join()
    assert first.failed >= 1  # the pool broke: the points in flight or queued
    lost = [r for r in first.records if r["status"] == "failed"]
    assert all("its worker was lost" in r["error"] for r in lost)
    again = run_sweep(spec, out, resume=True, jobs=2, progress=False)
    assert again.ran == first.failed and again.failed == 0
    assert len(_records(out)) == 12
    assert table(out) == without_times(reference.records)


def test_a_second_sweep_on_the_same_directory_is_refused(tmp_path):
    from riemgn.verify._outdir import OutputLock

    spec = parse_spec('experiment = "solver"\nseeds = [0]\n[options]\nn = 12\n')
    out = tmp_path / "out"
    with OutputLock(out):  # another sweep holds it
        with pytest.raises(ValueError, match="out"):
            run_sweep(spec, out, progress=False)
    assert not (out / "records").exists()
    assert run_sweep(spec, out, progress=False).failed == 0  # free again
