"""The Dask backend: the same records and reports as a serial run, a lost worker, no extra.

The clusters are started here: a ``distributed.LocalCluster`` in the test
process, or ``dask scheduler`` and two ``dask worker`` processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import distributed  # the test extra installs riemgn[distributed]: never skipped
import pytest
from sweep_specs import SLOW, SPEC_24, table, without_times

from benchmarks.rows_verify import differences
from riemgn.cli import main
from riemgn.data import MissingExtraError
from riemgn.sweeps import parse_spec, run_sweep
from riemgn.verify._dask import dask_executor


@pytest.fixture
def local_cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        yield cluster
    finally:
        cluster.close()


def test_a_sweep_on_a_local_cluster_gives_the_serial_records(tmp_path, local_cluster):
    spec = parse_spec(SPEC_24)
    serial = run_sweep(spec, tmp_path / "serial", progress=False)
    dask = run_sweep(
        spec,
        tmp_path / "dask",
        progress=False,
        dask={"scheduler": local_cluster.scheduler_address},
    )
    assert dask.failed == 0 and dask.n_points == 24
    assert without_times(dask.records) == without_times(serial.records)
    assert table(tmp_path / "dask") == table(tmp_path / "serial")


def test_a_killed_worker_loses_nothing_after_resume(tmp_path, local_cluster):
    spec = parse_spec(SLOW)
    reference = run_sweep(spec, tmp_path / "reference", jobs=2, progress=False)
    out = tmp_path / "out"
    with distributed.Client(local_cluster) as client:
        pids = list(client.run(os.getpid).values())

    def kill_one_worker():
        deadline = time.monotonic() + 120
        folder = out / "records"
        while time.monotonic() < deadline:
            if folder.is_dir() and len(list(folder.glob("*.json"))) >= 3:
                os.kill(pids[0], signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    options = {"scheduler": local_cluster.scheduler_address}
    first = run_sweep(spec, out, progress=False, dask=options)
    killer.join()
    # The lost worker's task is rescheduled (or, past Dask's allowed failures,
    # recorded as failed); either way resuming completes the sweep.
    again = run_sweep(spec, out, resume=True, progress=False, dask=options)
    assert again.skipped == 12 - first.failed
    assert again.failed == 0
    records = sorted((out / "records").glob("*.json"))
    assert len(records) == 12  # exactly one record per grid point
    assert table(out) == without_times(reference.records)


def _stop(processes):
    for process in processes:
        process.kill()
    for process in processes:
        process.wait(timeout=30)


def test_a_lost_scheduler_fails_the_unfinished_points_and_resume_completes(
    tmp_path,
):
    spec_file = tmp_path / "slow.toml"
    spec_file.write_text(SLOW)
    reference = run_sweep(parse_spec(SLOW), tmp_path / "reference", progress=False)
    (tmp_path / "first").mkdir()
    address, processes = _dask_processes(tmp_path / "first")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "riemgn.cli", "sweep", "run", str(spec_file)]
    command += ["--out", str(out), "--no-progress", "--scheduler"]
    sweep = subprocess.Popen(
        [*command, address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        deadline = time.monotonic() + 120
        while len(_records(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        processes[0].kill()  # the scheduler
        stdout, err = sweep.communicate(timeout=120)
    finally:
        sweep.kill()
        _stop(processes)
    records = [json.loads(p.read_text()) for p in _records(out)]
    failed = [r for r in records if r["status"] == "failed"]
    assert len(records) == 12 and 1 <= len(failed) <= 10  # lost, not run
    assert sweep.returncode == len(failed), err
    assert all("Dask scheduler was lost" in r["error"] for r in failed)
    assert "--resume (with a running scheduler) finishes the sweep" in err
    assert "Traceback" not in err  # the client's reconnection is not logged
    (tmp_path / "second").mkdir()
    address, processes = _dask_processes(tmp_path / "second")
    try:
        resumed = subprocess.run(
            [*command, address, "--resume"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        _stop(processes)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(failed)} run, {12 - len(failed)} already recorded" in resumed.stdout
    assert len(_records(out)) == 12  # exactly one record per grid point
    assert table(out) == without_times(reference.records)


def _records(out):
    folder = out / "records"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _report(directory):
    return json.loads((directory / "report.json").read_text())


def _dask_processes(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    processes = [
        subprocess.Popen(
            [
                *dask,
                "--scheduler-file",
                str(scheduler_file),
                "--port",
                "0",
                "--dashboard-address",
                ":0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        )
    address = json.loads(scheduler_file.read_text())["address"]
    with distributed.Client(address) as client:
        client.wait_for_workers(2, timeout=60)
    return address, processes


def test_verify_on_a_cluster_gives_the_serial_report(tmp_path, capsys):
    arguments = ["verify", "--claims", "C2,C3", "--no-plots", "--out"]
    assert main([*arguments, str(tmp_path / "serial")]) == 0
    assert (
        main([*arguments, str(tmp_path / "local"), "--cluster", "local", "--jobs", "2"])
        == 0
    )
    assert "Dask scheduler tcp://" in capsys.readouterr().err
    address, processes = _dask_processes(tmp_path)
    try:
        assert main([*arguments, str(tmp_path / "remote"), "--scheduler", address]) == 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    serial = _report(tmp_path / "serial")
    assert differences(serial, _report(tmp_path / "local")) == []
    assert differences(serial, _report(tmp_path / "remote")) == []


def test_without_distributed_the_dask_options_say_how_to_install(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(MissingExtraError, match=r"pip install 'riemgn\[distributed\]'"):
        dask_executor(2, cluster="local")
    with pytest.raises(SystemExit) as exit:
        main(
            [
                "verify",
                "--claims",
                "C3",
                "--cluster",
                "local",
                "--out",
                str(tmp_path / "out"),
            ]
        )
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "riemgn[distributed]" in err[-1]
    with pytest.raises(ValueError, match="exactly one"):
        dask_executor(2)


def test_two_dask_options_are_a_usage_error(tmp_path, capsys):
    spec_file = tmp_path / "sweep.toml"
    spec_file.write_text('experiment = "solver"\nseeds = [0]\n')
    command = ["sweep", "run", str(spec_file), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit:
        main([*command, "--cluster", "local", "--scheduler", "tcp://h:1"])
    assert exit.value.code == 2
    assert "--cluster, --scheduler" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
