"""Run a sweep: every grid point once, each finished point recorded at once.

:func:`run_sweep` runs the points of a :class:`riemgn.sweeps.SweepSpec`
serially (``jobs=1``) or in the process pool of ``riemgn verify``
(``jobs > 1``, :mod:`riemgn.verify.runner`: one BLAS thread per task,
workers that die with the parent and ignore Ctrl-C). The parent writes each
point's record as soon as it finishes (the records), so an
interrupted sweep loses at most the points in flight, and ``resume=True``
runs only the points without a successful record.

A point whose experiment raises is retried up to ``retries`` times; its
record then holds the error and the traceback (``status = "failed"``) and
the sweep goes on. The inputs of a point fully determine its result, so
its record is the same serially and in the pool, times aside.
"""

from __future__ import annotations

import concurrent.futures
import pathlib
import sys
import time
import traceback
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from manifolds.validation import check_positive_int
from riemgn.sweeps._records import (
    consolidate,
    read_records,
    write_atomic,
    write_record,
)
from riemgn.sweeps.experiments import EXPERIMENTS
from riemgn.sweeps.spec import SweepSpec
from riemgn.verify._core import Task
from riemgn.verify._execution import pool, submit
from riemgn.verify._outdir import OutputLock

__all__ = ["SweepResult", "run_point", "run_sweep"]


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: its points, those it ran, skipped and that failed.

    Parameters
    ----------
    out : pathlib.Path
        The sweep's directory.
    n_points : int
        The specification's points.
    ran : int
        The points this call ran.
    skipped : int
        The points that already had a successful record (``resume``).
    failed : int
        The points whose record is a failure once the sweep ends (failed
        records of an earlier run are run again on ``resume``).
    records : list of dict
        Every point's record, in grid order.
    scheduler_lost : bool
        The Dask scheduler was lost during the sweep: the points not
        finished by then are recorded as failed (``resume`` runs them).

    Examples
    --------
    >>> import tempfile
    >>> from riemgn.sweeps import parse_spec
    >>> spec = parse_spec('experiment = "solver"\\nseeds = [0]\\n[options]\\nn = 12\\n')
    >>> run_sweep(spec, tempfile.mkdtemp(), progress=False).records[0]["status"]
    'ok'
    """

    out: pathlib.Path
    n_points: int
    ran: int
    skipped: int
    failed: int
    records: list
    scheduler_lost: bool = False


def run_point(*, experiment: str, config: dict, seed: int, key: str, retries: int):
    """Run one point, retrying on an exception; return its record (never raise).

    Parameters
    ----------
    experiment : str
        A key of :data:`riemgn.sweeps.EXPERIMENTS`.
    config : dict
        The experiment's full configuration.
    seed : int
        The point's seed.
    key : str
        The point's key (:func:`riemgn.sweeps.spec.point_key`).
    retries : int
        How many times to run it again after an exception.

    Returns
    -------
    dict
        The record: ``status`` ``"ok"`` with ``result``, or ``"failed"``
        with ``error`` (one line) and ``traceback``; ``attempts``;
        ``seconds``.

    Examples
    --------
    >>> record = run_point(experiment="solver", config=EXPERIMENTS["solver"].config(
    ...     {"n": 12, "target": 1e-4}), seed=0, key="k", retries=0)
    >>> record["status"], record["result"]["status"]
    ('ok', 'callback_stop')
    """
    start = time.perf_counter()
    record = {"key": key, "experiment": experiment, "config": config, "seed": seed}
    attempts = 0
    while True:
        attempts += 1
        try:
            with threadpool_limits(1):
                result = EXPERIMENTS[experiment].function(seed=seed, **config)
        except Exception as error:
            if attempts <= retries:
                continue
            lines = traceback.format_exception_only(type(error), error)
            record.update(
                status="failed",
                result=None,
                error=" ".join("".join(lines).split()),
                traceback="".join(traceback.format_exception(error)),
            )
        else:
            record.update(status="ok", result=result, error=None, traceback=None)
        record.update(attempts=attempts, seconds=time.perf_counter() - start)
        return record


def _tasks(points, experiment: str, retries: int) -> list[Task]:
    return [
        Task(
            f"point {p.index} (seed {p.seed})",
            run_point,
            {
                "experiment": experiment,
                "config": dict(p.config),
                "seed": p.seed,
                "key": p.key,
                "retries": retries,
            },
        )
        for p in points
    ]


def _results(tasks, executor):
    """Yield each finished task's record, as it finishes (in order when serial)."""
    if executor is None or not tasks:
        for task in tasks:
            yield task()
        return
    futures = submit(tasks, executor)
    for future in concurrent.futures.as_completed(futures):
        try:
            yield future.result()
        except Exception as error:  # the task did not return: not the experiment
            yield _lost(tasks[futures[future]], error)


def _lost(task: Task, error: Exception) -> dict:
    """The failed record of a point whose task did not return a record.

    Its worker died (a killed process, a lost Dask worker) or its record
    could not be sent back; the experiment itself did not raise (that is
    recorded by :func:`run_point`), so ``--resume`` runs the point again.
    """
    lines = traceback.format_exception_only(type(error), error)
    return {
        **{k: task.kwargs[k] for k in ("key", "experiment", "config", "seed")},
        "status": "failed",
        "result": None,
        "error": "the task did not return (its worker was lost, or its record "
        "could not be sent back): " + " ".join("".join(lines).split()),
        "traceback": "".join(traceback.format_exception(error)),
        "attempts": 1,
        "seconds": None,
    }


def run_sweep(
    spec: SweepSpec,
    out,
    *,
    jobs: int = 1,
    resume: bool = False,
    retries: int = 0,
    progress: bool = True,
    dask=None,
) -> SweepResult:
    """Run a sweep's points and rebuild its table in ``out``.

    Parameters
    ----------
    spec : SweepSpec
        From :func:`riemgn.sweeps.load_spec`.
    out : str or path-like
        The sweep's directory: ``spec.toml`` (the specification),
        ``records/``, ``results.jsonl`` and ``results.csv``. One sweep at a
        time holds it.
    jobs : int, default 1
        Worker processes; 1 runs in this process. The records do not depend
        on it.
    resume : bool, default False
        Run only the points without a successful record in ``out``. Without
        it, ``out`` must not hold records yet.
    retries : int, default 0
        Extra attempts for a point whose experiment raises.
    progress : bool, default True
        Show a progress bar (done, failed, remaining, ETA) on standard error,
        and where the Dask cluster and its dashboard are.
    dask : dict, optional
        Run on a Dask cluster: ``{"cluster": "local"}`` (``jobs`` worker
        processes, one per core if ``jobs`` is 1),
        ``{"scheduler": "tcp://HOST:PORT"}`` or
        ``{"scheduler_file": PATH}`` (the ``distributed`` extra). The records
        are those of a serial run.

    Returns
    -------
    SweepResult
        The counts and the records, in grid order.

    Raises
    ------
    ValueError
        If ``out`` holds records and ``resume`` is False, or another sweep
        holds ``out`` (:class:`riemgn.verify.OutputDirectoryError`).
    TypeError
        If ``spec`` is not a :class:`~riemgn.sweeps.SweepSpec`.

    Examples
    --------
    >>> import tempfile
    >>> from riemgn.sweeps import parse_spec
    >>> spec = parse_spec('experiment = "solver"\\nseeds = [0, 1]\\n'
    ...                   '[options]\\nn = 12\\ntarget = 1e-4\\n')
    >>> out = tempfile.mkdtemp()
    >>> result = run_sweep(spec, out, progress=False)
    >>> result.n_points, result.ran, result.failed
    (2, 2, 0)
    >>> run_sweep(spec, out, resume=True, progress=False).ran  # nothing left
    0
    """
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"`spec` must be a SweepSpec, got {type(spec).__name__}")
    jobs = check_positive_int("jobs", jobs)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"`retries` must be an integer >= 0, got {retries!r}")
    out = pathlib.Path(out)
    with OutputLock(out):
        existing = read_records(out)
        if existing and not resume:
            raise ValueError(
                f"out = {str(out)!r} holds {len(existing)} record(s) of a sweep: "
                "pass resume=True (riemgn sweep run --resume) to run only the "
                "points without one, or choose another directory"
            )
        out.mkdir(parents=True, exist_ok=True)
        if spec.text:  # what the table is of, for riemgn sweep report
            write_atomic(out / "spec.toml", spec.text)
        points = spec.points()
        done = {k for k, r in existing.items() if r.get("status") == "ok"}
        pending = [p for p in points if p.key not in done]
        tasks = _tasks(pending, spec.experiment.name, retries)
        failed, lost = 0, False
        try:
            with _bar(len(points), len(points) - len(pending), progress) as bar:
                workers = jobs if dask else min(jobs, max(len(tasks), 1))
                announce = _stderr if progress else None
                with pool(workers, dask, announce) as executor:
                    for record in _results(tasks, executor):
                        write_record(out, record)
                        failed += record["status"] != "ok"
                        remaining = bar.total - bar.n - 1
                        bar.set_postfix(
                            failed=failed, remaining=remaining, refresh=False
                        )
                        bar.update(1)
                    lost = (
                        hasattr(executor, "scheduler_lost")
                        and executor.scheduler_lost()
                    )
        finally:
            records = consolidate(out, points)
    return SweepResult(
        out=out,
        n_points=len(points),
        ran=len(pending),
        skipped=len(points) - len(pending),
        failed=sum(r["status"] != "ok" for r in records),
        records=records,
        scheduler_lost=lost,
    )


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        disable=not enabled,
        unit="point",
        desc="sweep",
        dynamic_ncols=True,
    )
