"""The execution layer of ``riemgn verify`` and ``riemgn sweep run``: a process pool or Dask.

:func:`pool` gives an executor for ``jobs > 1`` worker processes (``None``
for ``jobs = 1``: run in this process) or, with ``dask``, a
:class:`~riemgn.verify._dask.DaskExecutor` on a Dask cluster;
:func:`submit` queues tasks on it; :func:`call` runs one task and turns an
exception into a :class:`Failure`. Every task runs with one BLAS thread
(:func:`limit_threads`), so the results do not depend on where it ran.

No process outlives a run. If the block of :func:`pool` ends with an
exception, including :class:`KeyboardInterrupt` and
``riemgn.verify._signals.Terminated`` (SIGTERM, as the command lines install
it), pending runs are cancelled and the worker processes are terminated and
joined before the exception propagates. If the parent is killed outright
(SIGKILL), each worker dies with it: on Linux the kernel sends it SIGKILL
(``prctl(PR_SET_PDEATHSIG)``, set in the worker's initializer), and
elsewhere a thread in the worker sees its parent change and exits. The
multiprocessing resource tracker then exits by itself, once no process holds
its pipe. Workers ignore SIGINT: a Ctrl-C at a terminal reaches the whole
process group, and the parent alone handles it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from threadpoolctl import threadpool_limits

from riemgn.verify import _signals
from riemgn.verify._core import Task

__all__ = ["Failure", "call", "limit_threads", "pool", "submit"]


def limit_threads() -> None:
    """One BLAS thread in this process, for results identical to ``jobs=1``."""
    global _WORKER_LIMITS
    _WORKER_LIMITS = threadpool_limits(1)


_WORKER_LIMITS = None
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(_PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _die_with_parent(parent: int) -> None:
    """End this worker when the process ``parent`` dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
            prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent,), daemon=True, name="riemgn-parent"
    ).start()


def _init_worker(parent: int) -> None:
    """Worker initializer: ignore SIGINT, die with ``parent``, one BLAS thread."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(
        signal.SIG_UNBLOCK, {signal.SIGINT}
    )  # see riemgn.verify.runner._execute
    _die_with_parent(parent)
    limit_threads()


def _stop_pool(executor, workers_before) -> None:
    """Cancel pending runs, terminate and join the workers, then the pool."""
    workers = [p for p in multiprocessing.active_children() if p not in workers_before]
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)
    # The pool's manager thread sees the workers gone, fails what is left and
    # closes its queues; this joins it.
    executor.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Failure:
    """A run that raised: its label and the error, on one line."""

    label: str
    error: str


def call(task: Task):
    try:
        return task()
    except Exception as error:  # reported as an inconclusive run, not a crash
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return Failure(task.label, detail)


def submit(tasks: Sequence[Task], executor) -> dict | None:
    """Queue ``tasks`` on the pool (None without one): ``{future: index}``."""
    if executor is None or not tasks:
        return None
    # Workers start as tasks are submitted; with SIGINT blocked here they
    # inherit the block, so a Ctrl-C before their initializer ignores it
    # stays pending and is then discarded. This process still gets it: a
    # blocked signal waits, and one that another thread takes is handled here.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return {executor.submit(call, task): i for i, task in enumerate(tasks)}
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextlib.contextmanager
def pool(jobs: int, dask: Mapping[str, Any] | None = None, announce=None):
    """Worker processes for ``jobs > 1`` (else ``None``); none outlives the block.

    ``dask`` (``cluster``, ``scheduler`` or ``scheduler_file``, see
    :mod:`riemgn.verify._dask`) sends the runs to a Dask cluster instead;
    ``announce(text)`` is then told where the cluster and its dashboard are.
    On an exception the pending runs are cancelled and the workers stopped;
    a second Ctrl-C meanwhile cannot cut that short.
    """
    if dask is not None and (
        not isinstance(dask, Mapping)
        or not set(dask) <= {"cluster", "scheduler", "scheduler_file"}
    ):
        raise ValueError(
            "`dask` must be a dict with one of the keys 'cluster', 'scheduler' "
            f"and 'scheduler_file', got {dask!r}"
        )
    if dask:
        from riemgn.verify._dask import dask_executor

        executor = dask_executor(jobs, **dask)
        if announce is not None:
            announce(executor.description())

        def stop(completed: bool) -> None:
            executor.shutdown(cancel_futures=not completed)

    elif jobs == 1:
        yield None
        return
    else:
        workers_before = set(multiprocessing.active_children())
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

        def stop(completed: bool) -> None:
            if completed:
                executor.shutdown(wait=True)
            else:
                _stop_pool(executor, workers_before)

    completed = False
    try:
        yield executor
        completed = True
    finally:
        with _signals.deferred():
            stop(completed)
