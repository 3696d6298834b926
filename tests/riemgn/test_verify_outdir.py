"""``riemgn verify --out``: one run at a time, and a report replaced whole or not at all.

The command runs in a subprocess whenever a signal, a second process or a
pipe is part of the test. The subprocess is this module's :func:`_child`:
``riemgn verify`` with the stand-in claims of ``verify_dummy``, made to
pause at a chosen point (a marker file tells the test it got there) so that
the signal lands there deterministically:

- ``run``: inside a claim's runs (in a worker process with ``--jobs 2``);
- ``figure``: after the first figure is saved, before the second;
- ``json``: after the figures, before ``report.json`` is written;
- ``markdown``: after ``report.json`` is written, before ``report.md``;
- ``table``: just after the table is printed.

The hooks wrap the steps around the code under test (a figure's
``savefig``, ``Report.as_dict``, the ``markdown`` function that the writer
calls, standard output), not that code itself. Processes are found through
``/proc``; every test kills its process group at the end, so a failure
leaves nothing running. Waits poll with generous deadlines and nothing is
timed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import verify_dummy

import riemgn.verify as verify
from riemgn.cli import main

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent
# First on the child's path: tests/ holds folders named manifolds and riemgn,
# which would otherwise shadow the packages (an editable install is found last).
ROOT = TESTS.parent
DEADLINE = 30.0  # seconds, for every wait; nothing takes that long unless broken
PAUSE = 60.0  # seconds a paused child waits for its release, at most

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and uses POSIX signals"
)


# --------------------------------------------------------------------------
# The child process.


def _await(path: str | None) -> None:
    """Wait until ``path`` exists (``None``: never), for ``PAUSE`` seconds at most."""
    deadline = time.monotonic() + PAUSE
    while time.monotonic() < deadline:
        if path is not None and os.path.exists(path):
            return
        time.sleep(0.02)


def _pause(marker: str, release: str | None) -> None:
    pathlib.Path(marker).write_text(str(os.getpid()))
    _await(release)


def _paused_draw(marker, release, entropy, scale, mode):
    """A dummy run that pauses first (module level: workers import it)."""
    _pause(marker, release)
    return verify_dummy.draw(entropy, scale, mode)


def _paused_tasks(marker, release):
    def tasks(config, *, data, seed):
        return [
            dataclasses.replace(
                task,
                function=_paused_draw,
                kwargs={"marker": marker, "release": release, **task.kwargs},
            )
            for task in verify_dummy.tasks(config, data=data, seed=seed)
        ]

    return tasks


class _PauseAfter:
    """Standard output that pauses once it has written ``needle``."""

    def __init__(self, stream, needle, pause):
        self._stream, self._needle, self._pause = stream, needle, pause

    def write(self, text):
        count = self._stream.write(text)
        if self._needle in text:
            self._stream.flush()
            self._pause()
        return count

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _child(spec_text: str) -> None:
    """Run ``riemgn verify`` with stand-in claims C7, C8, pausing at ``point``."""
    import riemgn.cli
    import riemgn.verify.report as report
    import riemgn.verify.report._writing as writing

    spec = json.loads(spec_text)
    point, marker, release = spec["point"], spec["marker"], spec.get("release")

    def pause(*args, **kwargs):
        _pause(marker, release)

    claims = {"C7": verify_dummy.make("C7"), "C8": verify_dummy.make("C8")}
    if point == "run":
        claims["C7"] = dataclasses.replace(
            claims["C7"], tasks=_paused_tasks(marker, release)
        )
    elif point == "figure":

        def figure(config, results, verdict):
            fig = verify_dummy.figure(config, results, verdict)
            save = fig.savefig

            def savefig(*args, **kwargs):
                save(*args, **kwargs)
                pause()

            fig.savefig = savefig
            return fig

        claims["C7"] = dataclasses.replace(claims["C7"], figure=figure)
    elif point == "json":
        as_dict = report.Report.as_dict

        def paused_as_dict(self, *args, **kwargs):
            pause()
            return as_dict(self, *args, **kwargs)

        report.Report.as_dict = paused_as_dict
    elif point == "markdown":
        markdown = writing.markdown

        def paused_markdown(data):
            pause()
            return markdown(data)

        writing.markdown = paused_markdown
    elif point == "table":
        sys.stdout = _PauseAfter(sys.stdout, "------", pause)
    verify.CLAIMS = claims
    if spec["after"] is not None:  # start once another child has got somewhere
        _await(spec["after"])
    sys.argv = ["riemgn", *spec["argv"]]
    riemgn.cli.main_entry()


def _start(tmp_path, argv, point=None, *, release=False, after=None):
    """Start :func:`_child` in a new session (its own process group).

    With ``after``, a path, the child runs ``riemgn verify`` only once that
    path exists (its interpreter starts at once).
    """
    marker = tmp_path / f"marker-{point}"
    spec = {
        "point": point,
        "marker": str(marker),
        "release": str(tmp_path / "release") if release else None,
        "after": None if after is None else str(after),
        "argv": ["verify", *argv],
    }
    code = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(TESTS)!r}, {str(HERE)!r}]; "
        "import test_verify_outdir; test_verify_outdir._child(sys.argv[1])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return process, marker


def _wait_for(path: pathlib.Path, process) -> None:
    deadline = time.monotonic() + DEADLINE
    while not path.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the child ended before {path.name}: {out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {path.name} after {DEADLINE} s")
        time.sleep(0.02)


def _kill_group(process) -> None:
    """Kill whatever is left of the child's process group (test cleanup)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.communicate(timeout=DEADLINE)
    except (subprocess.TimeoutExpired, ValueError):
        pass


# --------------------------------------------------------------------------
# Processes, from /proc.


def _stat(pid: int) -> list[str] | None:
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields from the third, state, on


def _descendants(pid: int) -> dict[int, str]:
    """The descendants of ``pid``, each with its start time (against pid reuse)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                parents[int(entry)] = (int(fields[1]), fields[19])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, start) in parents.items():
            if ppid == parent and child not in found:
                found[child] = start
                frontier.append(child)
    return found


def _alive(pid: int, start: str) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[19] == start and fields[0] not in "ZX"


def _assert_all_gone(processes: dict[int, str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        alive = {pid for pid, start in processes.items() if _alive(pid, start)}
        if not alive:
            return
        if time.monotonic() > deadline:
            commands = {
                pid: pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()[:120]
                for pid in alive
            }
            pytest.fail(f"processes outlived the run: {commands}")
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Report directories.


@pytest.fixture
def dummy_claims(monkeypatch):
    claims = {"C7": verify_dummy.make("C7"), "C8": verify_dummy.make("C8")}
    monkeypatch.setattr(verify, "CLAIMS", claims)
    return claims


def _snapshot(directory: pathlib.Path) -> dict[str, bytes | None]:
    """Every path below ``directory``, with its bytes (``None`` for a directory)."""
    return {
        str(p.relative_to(directory)): None if p.is_dir() else p.read_bytes()
        for p in sorted(directory.rglob("*"))
    }


def _old_report(tmp_path, capsys) -> tuple[pathlib.Path, dict]:
    """A report of seed 1 with a file of the user's beside it, and its snapshot."""
    out = tmp_path / "out"
    assert main(["verify", "--out", str(out), "--seed", "1"]) == 0
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    return out, _snapshot(out)


def _assert_clean(out: pathlib.Path) -> None:
    """No temporary file or directory, and no lock file, in or beside ``out``."""
    paths = [*out.parent.iterdir(), *out.rglob("*")]
    assert not [p for p in paths if ".tmp" in p.name], paths
    assert not (out.parent / f".{out.name}.lock").exists()


def _assert_complete(out: pathlib.Path, seed: int) -> None:
    data = json.loads((out / "report.json").read_text())
    assert data["seed"] == seed and [c["id"] for c in data["claims"]] == ["C7", "C8"]
    for claim in data["claims"]:
        for figure in claim["figures"]:
            assert (out / figure).read_bytes().startswith(b"\x89PNG")
    markdown = (out / "report.md").read_text()
    assert "| [C8](#c8) |" in markdown and f"seed {seed}," in markdown  # same run


# --------------------------------------------------------------------------
# The tests.


def test_a_second_run_on_the_same_out_refuses_while_the_first_holds_it(tmp_path):
    """Seen: two runs into one empty --out both exit 0; the later one wins."""
    out = tmp_path / "out"
    first, marker = _start(
        tmp_path, ["--out", str(out), "--seed", "1"], "run", release=True
    )
    # the second starts once the first is running its claims
    second, _ = _start(tmp_path, ["--out", str(out), "--seed", "2"], after=marker)
    try:
        _wait_for(marker, first)
        _, err = second.communicate(timeout=DEADLINE)
        assert second.returncode == 2, err
        assert str(out) in err and "another riemgn verify holds it" in err
        assert "Traceback" not in err
        (tmp_path / "release").write_text("")
        _, err = first.communicate(timeout=DEADLINE)
        assert first.returncode == 0, err
    finally:
        _kill_group(second)
        _kill_group(first)
    _assert_complete(out, seed=1)  # the report of the run that held the lock
    _assert_clean(out)


INTERRUPTS = [
    ("run", "2", signal.SIGTERM),
    ("run", "2", signal.SIGINT),  # at a terminal: to the whole process group
    ("figure", "1", signal.SIGTERM),
    ("json", "1", signal.SIGINT),
    ("markdown", "1", signal.SIGTERM),
]


@pytest.mark.parametrize(
    ("point", "jobs", "signum"),
    INTERRUPTS,
    ids=[f"{p}-jobs{j}-{s.name}" for p, j, s in INTERRUPTS],
)
def test_an_interrupt_leaves_the_old_report_and_no_process_behind(
    dummy_claims, tmp_path, capsys, point, jobs, signum
):
    """Seen: Ctrl-C while writing mixes reports and leaves ``*.png.tmp``;
    SIGTERM of ``--jobs 2`` leaves the workers and the resource tracker."""
    out, before = _old_report(tmp_path, capsys)
    argv = ["--out", str(out), "--overwrite", "--seed", "2", "--jobs", jobs]
    child, marker = _start(tmp_path, argv, point)
    try:
        _wait_for(marker, child)
        descendants = _descendants(child.pid)
        if jobs == "2":
            assert len(descendants) >= 2, descendants  # workers, resource tracker
        if signum == signal.SIGINT and jobs == "2":
            os.killpg(child.pid, signum)
        else:
            child.send_signal(signum)
        _, err = child.communicate(timeout=DEADLINE)
        _assert_all_gone(descendants)
    finally:
        _kill_group(child)
    assert child.returncode == 128 + signum, err
    assert "Traceback" not in err, err
    assert f"interrupted by {signum.name}" in err and str(out) in err
    assert "a report already there is unchanged" in err
    assert _snapshot(out) == before
    _assert_clean(out)


def test_a_killed_parent_takes_its_workers_and_the_resource_tracker_along(tmp_path):
    """Seen: SIGKILL of ``riemgn verify --jobs 2`` leaves its processes running."""
    out = tmp_path / "out"
    child, marker = _start(tmp_path, ["--out", str(out), "--jobs", "2"], "run")
    try:
        _wait_for(marker, child)
        descendants = _descendants(child.pid)
        assert len(descendants) >= 2, descendants
        child.kill()
        child.communicate(timeout=DEADLINE)
        _assert_all_gone(descendants)
    finally:
        _kill_group(child)


def test_a_failed_write_leaves_the_old_report_byte_for_byte(
    dummy_claims, tmp_path, capsys
):
    """Seen: a write failing at the end exits 1 but has replaced the figures
    and leaves ``.tmp`` files."""
    out = tmp_path / "out"
    assert main(["verify", "--out", str(out), "--seed", "1"]) == 0
    (out / "report.json").unlink()
    (out / "report.json").mkdir()  # where the new report.json must go
    (out / "report.json" / "keep.txt").write_text("mine")
    before = _snapshot(out)
    capsys.readouterr()
    assert main(["verify", "--out", str(out), "--overwrite", "--seed", "2"]) == 1
    err = capsys.readouterr().err
    assert "could not write the report" in err and "report.json" in err
    assert _snapshot(out) == before
    _assert_clean(out)


def test_an_empty_out_is_a_usage_error(dummy_claims, tmp_path, capsys, monkeypatch):
    """Seen: ``--out ''`` writes the report into the current directory."""
    monkeypatch.chdir(tmp_path)
    for out, match in [("", "--out '' is empty"), (".", "the current directory")]:
        with pytest.raises(SystemExit) as info:
            main(["verify", "--out", out])
        assert info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and match in err, err
    assert os.listdir(tmp_path) == []


def test_an_interrupt_after_the_table_finds_the_report_complete(tmp_path):
    """Seen: SIGINT just after the table prints gives a traceback, and the
    report was not yet written."""
    out = tmp_path / "out"
    child, marker = _start(tmp_path, ["--out", str(out), "--seed", "3"], "table")
    try:
        _wait_for(marker, child)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=DEADLINE)
    finally:
        _kill_group(child)
    assert child.returncode == 130, err
    assert "Traceback" not in err, err
    assert "interrupted by SIGINT: the report in" in err and "is complete" in err
    _assert_complete(out, seed=3)
    _assert_clean(out)


def test_a_closed_stdout_ends_quietly_with_the_report_written(tmp_path):
    """``riemgn verify | head -0``: the reader is gone before the table."""
    out = tmp_path / "out"
    child, _ = _start(tmp_path, ["--out", str(out), "--seed", "4"])
    try:
        child.stdout.close()  # nobody reads the table
        err = child.stderr.read()
        child.wait(timeout=DEADLINE)
    finally:
        _kill_group(child)
    assert child.returncode == 141, err
    for text in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert text not in err, err
    _assert_complete(out, seed=4)
    _assert_clean(out)


def test_files_of_the_user_survive_an_overwrite(dummy_claims, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["verify", "--out", str(out), "--claims", "C7", "--seed", "1"]) == 0
    (out / "notes.txt").write_text("mine")
    (out / "runs").mkdir()
    (out / "runs" / "log.txt").write_text("my log")
    (out / "link").symlink_to("notes.txt")
    out.chmod(0o750)
    argv = ["verify", "--out", str(out), "--claims", "C8", "--overwrite"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "C8.png",
        "link",
        "notes.txt",
        "report.json",
        "report.md",
        "runs",
    ]  # C7.png, the old report's figure, went with it
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "runs" / "log.txt").read_text() == "my log"
    assert os.readlink(out / "link") == "notes.txt"
    assert out.stat().st_mode & 0o777 == 0o750
    _assert_clean(out)


def test_write_report_refuses_an_out_another_process_holds(
    dummy_claims, tmp_path, capsys
):
    from riemgn.verify import OutputDirectoryError, run, write_report
    from riemgn.verify._outdir import OutputLock

    out = tmp_path / "out"
    report = run([verify_dummy.make("C7")], plots=False, progress=False)
    with OutputLock(out):  # a separate open file: flock excludes it
        with pytest.raises(OutputDirectoryError, match="another riemgn verify"):
            write_report(report, out)
        with pytest.raises(SystemExit) as info:
            main(["verify", "--out", str(out)])
        assert info.value.code == 2
    assert not out.exists()
    assert write_report(report, out)["json"] == out / "report.json"
    _assert_clean(out)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_leaves_no_empty_out_behind(tmp_path, signum):
    """Seen: Ctrl-C said "nothing was written" and left an empty ``--out``."""
    out = tmp_path / "new" / "out"
    (tmp_path / "new").mkdir()
    child, marker = _start(tmp_path, ["--out", str(out)], "run")
    try:
        _wait_for(marker, child)
        assert out.is_dir()  # made by the run before the claims ran
        child.send_signal(signum)
        _, err = child.communicate(timeout=DEADLINE)
    finally:
        _kill_group(child)
    assert child.returncode == 128 + signum, err
    assert "nothing was written" in err and "Traceback" not in err, err
    assert not out.exists()
    assert os.listdir(out.parent) == []  # no lock file or temporary either
    _assert_clean(out)


def test_an_interrupt_keeps_an_out_that_existed(tmp_path):
    """An ``--out`` the user made, even an empty one, is theirs to keep."""
    out = tmp_path / "mine" / "out"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    child, marker = _start(tmp_path, ["--out", str(out)], "run")
    try:
        _wait_for(marker, child)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=DEADLINE)
    finally:
        _kill_group(child)
    assert child.returncode == 130, err
    assert "nothing was written" in err and "Traceback" not in err, err
    assert os.listdir(out.parent) == ["out"]
    assert (
        os.listdir(out) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    )
    _assert_clean(out)
