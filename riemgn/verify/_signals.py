"""SIGINT and SIGTERM in ``riemgn verify``: SIGTERM as an exception; uncut sections.

Python turns SIGINT into :class:`KeyboardInterrupt`; :func:`sigterm_raises`
does the same for SIGTERM with :class:`Terminated`, so that one ``except``
clause cleans up after both (temporary directory, worker processes) and
the command exits 130 or 143, the codes a shell gives for the two signals.

:func:`deferred` holds both signals back over a short critical section,
such as swapping a report directory in or stopping worker processes, and
delivers a signal that arrived meanwhile when the section ends. Blocking
with ``pthread_sigmask`` alone is not enough: the mask is per thread, and
the kernel may hand the signal to another thread (a BLAS or executor
thread) whose mask lets it through, after which Python runs its handler in
the main thread regardless. So the Python-level handlers are swapped for
ones that only record the signal, and the mask is set as well.
"""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["Terminated", "deferred", "sigterm_raises"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """SIGTERM arrived (raised by the handler :func:`sigterm_raises` installs).

    A :class:`BaseException`, like :class:`KeyboardInterrupt`, so that the
    ``except Exception`` clauses that turn a failed run into an
    inconclusive claim let it through.
    """


def _raise_terminated(signum, frame):
    raise Terminated


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_raises():
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread.

    The previous handler is restored afterwards. Outside the main thread,
    where Python cannot install handlers, the block runs unchanged.
    """
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT and SIGTERM back during the block; deliver them after it.

    A signal that arrives inside the block is recorded; when the block
    ends, its previous handler runs (raising :class:`KeyboardInterrupt` or
    :class:`Terminated`, or the default action). Blocks nest.
    """
    if not _in_main_thread():
        yield
        return
    pending: list[int] = []

    def record(signum, frame):
        if signum not in pending:
            pending.append(signum)

    previous = {}
    for signum in _SIGNALS:
        handler = signal.getsignal(signum)
        if handler is not None:  # None: installed by C code, cannot be restored
            previous[signum] = signal.signal(signum, record)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        # Unblocking delivers a blocked signal to ``record``; only then are
        # the handlers restored and the recorded signals raised again.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in pending:
            if signum in previous:
                signal.raise_signal(signum)
