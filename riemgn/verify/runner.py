"""Run claims: execute their tasks (serially or in processes), evaluate, draw.

:func:`riemgn.verify.run` is the programmatic form of ``riemgn verify``; it
returns a :class:`riemgn.verify.Report` that the caller writes with
:func:`riemgn.verify.write_report`.

Reproducibility: every task receives its seed from the claim's ``tasks``
function (derived from ``seed``), results are collected in task order, and
every task runs with one BLAS thread, in this process (``jobs=1``) or in a
worker process (``jobs > 1``). So the numbers do not depend on ``jobs``.

No process outlives a run: the pool, shared with ``riemgn sweep run``, is
``riemgn.verify._execution``'s, which says how.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from threadpoolctl import threadpool_limits

from manifolds.validation import check_positive_int
from riemgn.verify._common import DATA
from riemgn.verify._core import Claim, Task, Verdict
from riemgn.verify._execution import Failure, call, pool, submit
from riemgn.verify._style import mark_data
from riemgn.verify.report import ClaimResult, Report, environment

__all__ = ["Progress", "run"]

PRESETS = ("quick", "full", "scale")

#: Why a claim has no ``"scale"`` preset (``riemgn verify --preset scale``
#: skips it, and names it a usage error to ask for it).
SCALE_SKIPPED = {
    "C3": (
        "the alpha sweep re-solves the flow for every alpha and width; at "
        "n >= 4000 that is far beyond the 10-minute budget of the preset"
    ),
    "C4": (
        "the initialization sweep runs many flows per seed and scheme; at "
        "n >= 4000 that is far beyond the 10-minute budget of the preset"
    ),
}


class Progress:
    """Progress of the runs of each claim, written to a text stream.

    On a terminal, one bar per claim is redrawn in place as its runs finish;
    elsewhere (logs, pipes), one line per claim is written when it ends.
    :func:`riemgn.verify.run` calls :meth:`riemgn.verify.Progress.start`,
    then :meth:`riemgn.verify.Progress.advance` once per finished run, then
    :meth:`riemgn.verify.Progress.finish`, for each claim in turn.

    Parameters
    ----------
    stream : text stream, optional
        Where to write; standard error by default. It counts as a terminal
        if its ``isatty()`` is true.
    width : int, optional
        The number of characters of the bar.

    Examples
    --------
    With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

    >>> from riemgn.verify import Progress, run
    >>> import io
    >>> log = io.StringIO()  # not a terminal: one line per claim
    >>> report = run([claim], plots=False, progress=Progress(log, width=10))
    >>> print(log.getvalue(), end="")  # doctest: +ELLIPSIS
    [##########] C0 Geometric series: pass (1 runs, ... s)
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30):
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self, claim: Claim, total: int) -> None:
        """Begin a claim: its runs start, none done.

        On a terminal, draws the empty bar.

        Parameters
        ----------
        claim : Claim
            The claim whose runs start.
        total : int
            The number of runs.

        Examples
        --------
        >>> import io
        >>> from riemgn.verify import CLAIMS, Progress
        >>> progress = Progress(io.StringIO())
        >>> progress.start(CLAIMS["C3"], total=6)
        >>> progress.stream.getvalue()  # not a terminal: nothing until the claim ends
        ''
        """
        self._claim, self._total, self._done = claim, total, 0
        self._start = time.perf_counter()
        if self._interactive:
            self._draw("")

    def advance(self, label: str) -> None:
        r"""Count one finished run; on a terminal, redraw the bar with its label.

        Parameters
        ----------
        label : str
            The ``label`` of the finished run's :class:`riemgn.verify.Task`.

        Examples
        --------
        >>> import io
        >>> from riemgn.verify import CLAIMS, Progress
        >>> class Terminal(io.StringIO):
        ...     def isatty(self):
        ...         return True
        >>> progress = Progress(Terminal(), width=10)
        >>> progress.start(CLAIMS["C3"], total=2)
        >>> progress.advance("problem 0 alpha=0.01")
        >>> progress.stream.getvalue().split("\r")[-1]  # doctest: +ELLIPSIS
        '\x1b[K[#####-----] C3 1/2 runs, ... s problem 0 alpha=0.01'
        """
        self._done += 1
        if self._interactive:
            self._draw(label)

    def finish(self, result: ClaimResult) -> None:
        """End a claim: write one line with its status, runs and time.

        On a terminal the line replaces the bar.

        Parameters
        ----------
        result : ClaimResult
            The claim's result.

        Examples
        --------
        With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

        >>> from riemgn.verify import Check, ClaimResult, Progress, Verdict
        >>> import io
        >>> progress = Progress(io.StringIO(), width=10)
        >>> progress.start(claim, total=1)
        >>> progress.advance("S_n")
        >>> verdict = Verdict([Check.below("error", 1.9e-9, 1e-6)], {}, key="error")
        >>> progress.finish(ClaimResult(claim, {"n": 30}, verdict, None, 1, 0.01))
        >>> print(progress.stream.getvalue(), end="")  # doctest: +ELLIPSIS
        [##########] C0 Geometric series: pass (1 runs, ... s)
        """
        elapsed = time.perf_counter() - self._start
        line = (
            f"{self._bar()} {result.claim.id} {result.claim.title}: "
            f"{result.status.value} ({self._total} runs, {elapsed:.1f} s)"
        )
        if self._interactive:
            self.stream.write("\r\033[K" + line + "\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _bar(self) -> str:
        filled = self.width * self._done // max(self._total, 1)
        return "[" + "#" * filled + "-" * (self.width - filled) + "]"

    def _draw(self, label: str) -> None:
        elapsed = time.perf_counter() - self._start
        self.stream.write(
            f"\r\033[K{self._bar()} {self._claim.id} {self._done}/{self._total} "
            f"runs, {elapsed:.1f} s {label}"
        )
        self.stream.flush()


class _Silent(Progress):
    def __init__(self):
        super().__init__(stream=sys.stderr)

    def start(self, claim, total):
        self._claim, self._total, self._done = claim, total, 0
        self._start = time.perf_counter()

    def advance(self, label):
        self._done += 1

    def finish(self, result):
        pass


def _execute(tasks: Sequence[Task], futures: dict | None, progress: Progress) -> list:
    """The results of ``tasks`` in order: run here, or collected from ``futures``."""
    results: list[Any] = [None] * len(tasks)
    if futures is None:
        with threadpool_limits(1):
            for index, task in enumerate(tasks):
                results[index] = call(task)
                progress.advance(task.label)
        return results
    for future in concurrent.futures.as_completed(futures):
        index = futures[future]
        try:
            results[index] = future.result()
        except Exception as error:  # a lost worker, or a result not sent back
            results[index] = Failure(
                tasks[index].label,
                "the run did not return (its worker was lost, or its result "
                f"could not be sent back): {_describe(error)}",
            )
        progress.advance(tasks[index].label)
    return results


def _describe(error: BaseException) -> str:
    """``Type: message`` of an exception, on one line."""
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return " ".join(text.split())


@dataclass(frozen=True)
class _Context:
    """What every claim of one run shares: the data, seed, pool, plots and progress."""

    data: str
    seed: int
    executor: Any
    plots: bool
    progress: Progress


def _verdict(claim: Claim, config, tasks: Sequence[Task], results: list) -> Verdict:
    """The claim's verdict, inconclusive if a run or the evaluation raised."""
    failures = [r for r in results if isinstance(r, Failure)]
    if failures:
        return Verdict.inconclusive(
            f"{len(failures)} of {len(tasks)} runs raised an error; first: "
            f"run {failures[0].label!r}: {failures[0].error}",
            {"failed_runs": [f.label for f in failures]},
        )
    try:
        return claim.evaluate(config, results)
    except Exception as error:
        return Verdict.inconclusive(
            f"the evaluation raised an error: {_describe(error)}"
        )


def _figure(claim: Claim, config, results: list, verdict: Verdict, data: str):
    """The claim's figure and verdict, with a note if drawing the figure raised."""
    figure = None
    try:
        with threadpool_limits(1):
            figure = claim.figure(config, results, verdict)
        if figure is not None:
            mark_data(figure, data)
    except Exception as error:
        notes = (*verdict.notes, f"no figure: drawing it raised {_describe(error)}")
        verdict = dataclasses.replace(verdict, notes=notes)
    return figure, verdict


@dataclass(frozen=True)
class _Prepared:
    """One claim's typed settings and tasks, or why they could not be set up."""

    claim: Claim
    config: Mapping[str, Any]
    settings: Any
    tasks: list
    setup_error: str | None


def _prepare(claim: Claim, config: Mapping[str, Any], context: _Context) -> _Prepared:
    """The claim's tasks (none, with the reason, if setting them up raised)."""
    settings = _typed(claim, config)
    try:
        tasks = list(claim.tasks(settings, data=context.data, seed=context.seed))
    except Exception as error:
        return _Prepared(
            claim,
            config,
            settings,
            [],
            f"the runs could not be set up: {_describe(error)}",
        )
    return _Prepared(claim, config, settings, tasks, None)


def _run_claim(
    prepared: _Prepared, futures: dict | None, context: _Context
) -> ClaimResult:
    """Collect one claim's runs, evaluate them and draw its figure."""
    start = time.perf_counter()
    claim, settings, tasks = prepared.claim, prepared.settings, prepared.tasks
    context.progress.start(claim, len(tasks))
    results = _execute(tasks, futures, context.progress) if tasks else []
    figure = None
    if prepared.setup_error is not None:
        verdict = Verdict.inconclusive(prepared.setup_error)
    else:
        verdict = _verdict(claim, settings, tasks, results)
        if context.plots and not any(isinstance(r, Failure) for r in results):
            figure, verdict = _figure(claim, settings, results, verdict, context.data)
    result = ClaimResult(
        claim=claim,
        config=dict(prepared.config),
        verdict=verdict,
        figure=figure,
        n_runs=len(tasks),
        wall_time=time.perf_counter() - start,
    )
    context.progress.finish(result)
    return result


def _typed(claim: Claim, config: Mapping[str, Any]):
    """``config`` as the claim's ``config_type``, or the dict itself without one."""
    return config if claim.config_type is None else claim.config_type(**config)


def _check_claims(claims) -> list[Claim]:
    """``claims`` as a non-empty list of claims; raise for anything else."""
    if isinstance(claims, (str, bytes, Claim, Mapping)) or not hasattr(
        claims, "__iter__"
    ):
        raise TypeError(
            "`claims` must be an iterable of riemgn.verify.Claim objects, such "
            "as riemgn.verify.CLAIMS.values() or [riemgn.verify.CLAIMS['C3']], "
            f"got {type(claims).__name__} {claims!r:.80}"
        )
    claims = list(claims)
    if not claims:
        raise ValueError("claims is empty: nothing to verify")
    for index, claim in enumerate(claims):
        if not isinstance(claim, Claim):
            hint = (
                f" (the claim itself is riemgn.verify.CLAIMS[{claim!r}])"
                if isinstance(claim, str)
                else ""
            )
            raise TypeError(
                f"`claims` must hold riemgn.verify.Claim objects, got "
                f"{type(claim).__name__} {claim!r:.80} at index {index}{hint}"
            )
    return claims


def _resolve(
    claims: Sequence[Claim],
    preset: str,
    data: str,
    configs: Mapping[str, Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Each claim's configuration: its preset for ``data`` with the overrides."""
    configs = dict(configs or {})
    unknown = set(configs) - {claim.id for claim in claims}
    if unknown:
        raise ValueError(f"configs given for claims not run: {sorted(unknown)}")
    resolved = []
    for claim in claims:
        config = claim.config(preset, data)
        extra = set(configs.get(claim.id, {})) - set(config)
        if extra:
            raise ValueError(
                f"unknown configuration keys for {claim.id}: {sorted(extra)}"
            )
        config.update(configs.get(claim.id, {}))
        _typed(claim, config)  # a bad value fails now, before any run
        resolved.append(config)
    return resolved


def _announce(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(
    claims: Sequence[Claim],
    *,
    preset: str = "quick",
    data: str = "synthetic",
    seed: int = 0,
    jobs: int = 1,
    plots: bool = True,
    progress: Progress | None | bool = None,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    dask: Mapping[str, Any] | None = None,
) -> Report:
    """Run the experiments of ``claims`` and collect their verdicts.

    Parameters
    ----------
    claims : iterable of Claim
        The claims to check, in order (see :data:`riemgn.verify.CLAIMS`).
    preset : {"quick", "full", "scale"}
        Which configuration of each claim to run. ``"scale"`` (n >= 4000,
        p >= 1000; C5 at p = 10 n) exists for C1, C2, C5 and C6 only (see
        ``SCALE_SKIPPED``).
    data : {"synthetic", "diabetes", "breast_cancer", "digits"}
        The data the experiments run on; every claim must support it.
    seed : int
        The seed from which every run's generator is derived.
    jobs : int
        Worker processes for independent runs; ``1`` runs in this process.
        The results do not depend on it.
    plots : bool
        Draw each claim's figure.
    progress : Progress, False or None
        Where progress goes; ``None`` is a :class:`Progress` on stderr,
        ``False`` is silent.
    configs : dict, optional
        ``{claim_id: {key: value}}`` overrides of preset entries, for
        smaller or altered experiments.
    dask : dict, optional
        Run on a Dask cluster: ``{"cluster": "local"}`` (``jobs`` worker
        processes, one per core if ``jobs`` is 1),
        ``{"scheduler": "tcp://HOST:PORT"}`` or
        ``{"scheduler_file": PATH}`` (needs the ``distributed`` extra). The
        results are those of a serial run.

    Returns
    -------
    Report
        One :class:`riemgn.verify.ClaimResult` per claim, in order, with the
        run's settings and environment. A run that raises, or an evaluation
        that raises, makes its claim inconclusive instead of stopping the
        others; a figure that cannot be drawn is left out with a note.

    Raises
    ------
    ValueError
        For an unknown ``preset`` or ``data``, a non-positive ``jobs``, a
        negative ``seed``, no claims, ``configs`` naming unknown claims or
        keys, a claim that does not support ``data``, or a ``dask`` other
        than a dict with one of its three keys; or whatever a claim's
        ``config_type`` raises for its configuration.
    TypeError
        If ``jobs`` is not an integer, or ``claims`` is not a sequence of
        :class:`riemgn.verify.Claim` (claim ids such as ``["C3"]`` are
        looked up with :data:`riemgn.verify.CLAIMS` first).

    Examples
    --------
    With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

    A toy claim (see :class:`riemgn.verify.Claim`), run twice: as configured,
    and with an override that makes it fail.

    >>> from riemgn.verify import run
    >>> report = run([claim], plots=False, progress=False)
    >>> print(report.status.value, report.results[0].key_text())
    pass error = 1.863e-09
    >>> report = run([claim], plots=False, progress=False, configs={"C0": {"n": 10}})
    >>> print(report.status.value, report.results[0].verdict.failed[0].text)
    fail error = 0.001953, needs <= 1e-06
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    if preset == "scale" and data != "synthetic":
        raise ValueError(
            f"preset 'scale' runs on synthetic data only (it sets n >= 4000), "
            f"got data {data!r}"
        )
    if data not in DATA:
        raise ValueError(f"data must be one of {DATA}, got {data!r}")
    jobs = check_positive_int("jobs", jobs)
    claims = _check_claims(claims)
    skipped = [c.id for c in claims if preset == "scale" and c.id in SCALE_SKIPPED]
    if skipped:
        raise ValueError(
            f"preset 'scale' does not run {', '.join(skipped)}: "
            + "; ".join(f"{i}: {SCALE_SKIPPED[i]}" for i in skipped)
        )
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    resolved = _resolve(claims, preset, data, configs)
    announce = None if progress is False else _announce
    if progress is None:
        progress = Progress()
    elif progress is False:
        progress = _Silent()
    start = time.perf_counter()
    with pool(jobs, dask, announce) as executor:
        context = _Context(data, seed, executor, plots, progress)
        prepared = [
            _prepare(claim, config, context)
            for claim, config in zip(claims, resolved, strict=True)
        ]
        # Every claim's runs are queued at once, so the pool never idles at
        # the end of a claim: later claims' runs start while an earlier
        # claim's last runs finish. Claims are still collected in order.
        queued = [submit(p.tasks, executor) for p in prepared]
        results = tuple(
            _run_claim(p, futures, context)
            for p, futures in zip(prepared, queued, strict=True)
        )
    return Report(
        results=results,
        preset=preset,
        data=data,
        seed=seed,
        jobs=jobs,
        plots=plots,
        wall_time=time.perf_counter() - start,
        environment=environment(),
    )
