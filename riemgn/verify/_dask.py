"""The Dask backend of the execution layer: the same tasks on a Dask cluster.

:class:`DaskExecutor` has the two methods of
:class:`concurrent.futures.ProcessPoolExecutor` that ``riemgn verify`` and
``riemgn sweep`` use, ``submit`` and ``shutdown``: each task goes to the
cluster with :meth:`distributed.Client.submit`, and ``submit`` returns a
:class:`concurrent.futures.Future` completed from the Dask future's
callback, so the callers collect results with
:func:`concurrent.futures.as_completed` whatever the backend.

Every task runs with one BLAS thread (``threadpoolctl``), as in the local
pool, so its result is bit-identical to a serial run. Start workers with one
thread each (``dask worker --nthreads 1``) so that no two tasks share a
process's BLAS setting.

The cluster is one of:

- ``cluster="local"``: an embedded :class:`distributed.LocalCluster` of
  ``jobs`` single-threaded worker processes, or one per core when ``jobs``
  is 1 (its dashboard on a free port);
- ``scheduler="tcp://HOST:PORT"``: a running scheduler;
- ``scheduler_file=PATH``: a running scheduler, from its file
  (``dask scheduler --scheduler-file PATH``).

Without ``dask.distributed`` installed, :func:`dask_executor` raises
:class:`riemgn.data.MissingExtraError` naming the ``distributed`` extra.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading

from threadpoolctl import threadpool_limits

__all__ = ["DaskExecutor", "add_dask_options", "dask_executor", "dask_options"]

INSTALL = (
    "the Dask options (--cluster, --scheduler, --scheduler-file) need "
    "dask.distributed: pip install 'riemgn[distributed]'"
)

_WORKER_LIMITS = None


def _one_blas_thread() -> None:
    """Keep this worker's BLAS at one thread (run on each worker at connection)."""
    global _WORKER_LIMITS
    _WORKER_LIMITS = threadpool_limits(1)


@contextlib.contextmanager
def _silenced(name: str):
    """No records from the logger ``name`` inside the block."""
    logger = logging.getLogger(name)
    disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = disabled


def _limited(function, *args):
    with threadpool_limits(1):
        return function(*args)


class DaskExecutor:
    """``submit`` and ``shutdown`` on a :class:`distributed.Client`.

    Parameters
    ----------
    client : distributed.Client
        The connected client.
    cluster : distributed.LocalCluster or None
        The embedded cluster to close with the client, if any.
    """

    def __init__(self, client, cluster=None):
        self.client = client
        self.cluster = cluster
        self._pending: dict = {}
        self._lock = threading.Lock()

    def description(self) -> str:
        """One line: the scheduler, its workers and its dashboard (if it serves one).

        Returns
        -------
        str
            For the command line's standard error.
        """
        info = self.client.scheduler_info()
        workers = len(info.get("workers", {}))
        text = f"Dask scheduler {info.get('address', '?')}, {workers} worker(s)"
        port = info.get("services", {}).get("dashboard")
        if port is not None:
            text += f"; dashboard {self.client.dashboard_link}"
        return text

    def submit(self, function, *args) -> concurrent.futures.Future:
        """Run ``function(*args)`` on the cluster; its result as a concurrent future.

        Parameters
        ----------
        function : callable
            Importable at module level.
        *args
            Picklable arguments.

        Returns
        -------
        concurrent.futures.Future
            Done when the Dask task is: its result, or its exception.
        """
        bridge: concurrent.futures.Future = concurrent.futures.Future()
        bridge.set_running_or_notify_cancel()
        future = self.client.submit(_limited, function, *args, pure=False)
        with self._lock:
            self._pending[future.key] = future

        def done(finished) -> None:
            with self._lock:
                self._pending.pop(finished.key, None)
            if finished.cancelled():  # by shutdown, or the scheduler is gone
                reason = "cancelled"
                if self.scheduler_lost():
                    reason = "the connection to the Dask scheduler was lost"
                bridge.set_exception(concurrent.futures.CancelledError(reason))
                return
            try:
                bridge.set_result(finished.result())
            except BaseException as error:  # the task's exception, or a lost worker
                bridge.set_exception(error)

        future.add_done_callback(done)
        return bridge

    def scheduler_lost(self) -> bool:
        """Whether the client has lost its scheduler (and is reconnecting or closed).

        Returns
        -------
        bool
            True once the connection is gone: every pending task was
            cancelled by the client.
        """
        return self.client.status not in ("running", "newly-created")

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Cancel what is pending (if asked), then close the client and cluster.

        Parameters
        ----------
        wait : bool
            Ignored: closing the client waits for nothing more.
        cancel_futures : bool
            Cancel the tasks not finished yet.
        """
        with self._lock:
            pending = list(self._pending.values())
        if self.scheduler_lost():
            # Closing stops the client's attempts to reconnect, which it logs
            # as an error with a traceback; the lost points are recorded.
            with _silenced("distributed.client"):
                self.client.close()
        else:
            if cancel_futures and pending:
                self.client.cancel(pending, force=True)
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def dask_executor(
    jobs: int,
    *,
    cluster: str | None = None,
    scheduler: str | None = None,
    scheduler_file: str | None = None,
) -> DaskExecutor:
    """Connect to (or start) the cluster; a :class:`DaskExecutor` on it.

    Parameters
    ----------
    jobs : int
        The worker processes of an embedded ``cluster="local"``; 1 means one
        per core of the machine.
    cluster : {"local"}, optional
        Start an embedded :class:`distributed.LocalCluster`.
    scheduler : str, optional
        The address of a running scheduler.
    scheduler_file : str, optional
        The scheduler file of a running scheduler.

    Returns
    -------
    DaskExecutor
        Connected; its workers keep one BLAS thread.

    Raises
    ------
    riemgn.data.MissingExtraError
        If ``dask.distributed`` is not installed.
    ValueError
        If not exactly one of the three options is given, or ``cluster`` is
        not ``"local"``.
    """
    given = [
        name
        for name, value in (
            ("cluster", cluster),
            ("scheduler", scheduler),
            ("scheduler_file", scheduler_file),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "give exactly one of cluster, scheduler and scheduler_file, got "
            + (", ".join(given) or "none")
        )
    if cluster is not None and cluster != "local":
        raise ValueError(f"cluster must be 'local', got {cluster!r}")
    try:
        import distributed
    except ImportError:
        from riemgn.data import MissingExtraError

        raise MissingExtraError(INSTALL) from None
    local = None
    if cluster == "local":
        # Sized to the machine unless --jobs asks for more than one worker.
        workers = jobs if jobs > 1 else max(1, os.cpu_count() or 1)
        local = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never a clash
        )
        client = distributed.Client(local)
    elif scheduler is not None:
        client = distributed.Client(scheduler)
    else:
        client = distributed.Client(scheduler_file=scheduler_file)
    client.run(_one_blas_thread)
    return DaskExecutor(client, local)


def add_dask_options(parser) -> None:
    """Add ``--cluster local``, ``--scheduler`` and ``--scheduler-file``.

    At most one may be given (:func:`dask_options` checks it).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    """
    parser.add_argument(
        "--cluster",
        choices=("local",),
        help="run on an embedded Dask LocalCluster of --jobs worker processes, "
        "one per core without --jobs (the 'distributed' extra; default: local "
        "processes, no Dask)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler, e.g. tcp://HOST:8786 "
        "(default: none)",
    )
    parser.add_argument(
        "--scheduler-file",
        metavar="PATH",
        help="run on the Dask cluster of this scheduler file, as written by "
        "dask scheduler --scheduler-file PATH (default: none)",
    )


def dask_options(args, parser) -> dict | None:
    """The Dask backend the parsed ``args`` ask for, or None for local processes.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed with :func:`add_dask_options`.
    parser : argparse.ArgumentParser
        Its parser: more than one option is a usage error.

    Returns
    -------
    dict or None
        ``{"cluster": ...}``, ``{"scheduler": ...}`` or
        ``{"scheduler_file": ...}``.
    """
    given = {
        name: getattr(args, name)
        for name in ("cluster", "scheduler", "scheduler_file")
        if getattr(args, name, None) is not None
    }
    if len(given) > 1:
        parser.error(
            "give one of --cluster, --scheduler and --scheduler-file, got "
            + ", ".join("--" + name.replace("_", "-") for name in given)
        )
    return given or None
