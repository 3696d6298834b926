"""What a report holds: one result per claim, and the run's settings."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riemgn.verify._core import Claim, Status, Verdict
from riemgn.verify.report._json import report_data

__all__ = ["ClaimResult", "Report", "environment"]

_PACKAGES = ("numpy", "scipy", "pymanopt", "autograd", "matplotlib", "threadpoolctl")


def environment() -> dict[str, Any]:
    """Python, platform, CPU count and the versions of the numerical stack.

    Recorded in every report, so that its numbers can be traced to the
    software that produced them.

    Returns
    -------
    dict
        ``python``, ``implementation``, ``platform``, ``cpu_count``,
        ``blas_threads_per_run`` (always 1: every run is limited to one BLAS
        thread) and ``packages``, the installed version of riemgn and of each
        package of the numerical stack (``None`` if it is not installed).

    Examples
    --------
    >>> import platform
    >>> from riemgn.verify.report import environment
    >>> env = environment()
    >>> env["python"] == platform.python_version(), env["blas_threads_per_run"]
    (True, 1)
    >>> sorted(env["packages"])
    ['autograd', 'matplotlib', 'numpy', 'pymanopt', 'riemgn', 'scipy', 'threadpoolctl']
    """
    versions = {}
    for name in ("riemgn", *_PACKAGES):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "blas_threads_per_run": 1,
        "packages": versions,
    }


@dataclass(frozen=True)
class ClaimResult:
    """One claim's configuration, verdict, figure and cost.

    :func:`riemgn.verify.run` makes one per claim; a
    :class:`riemgn.verify.Report` holds them in the order run.

    Attributes
    ----------
    claim : Claim
        The claim that was checked.
    config : dict
        Its configuration as run (the preset with any overrides).
    verdict : Verdict
        The outcome: checks, metrics, and the reason if inconclusive.
    figure : matplotlib.figure.Figure or None
        The claim's figure; ``None`` without plots or if drawing it failed.
    n_runs : int
        The number of independent runs (tasks) of the experiment.
    wall_time : float
        Seconds from the end of the previous claim (the start of the run for
        the first) to the end of this claim's figure. With ``jobs > 1`` every
        claim's runs are queued at once, so some may have run during earlier
        claims; the claims' wall times add up to the run's.

    Examples
    --------
    With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

    >>> from riemgn.verify import Check, ClaimResult, Verdict
    >>> verdict = Verdict([Check.below("error", 1.9e-9, 1e-6)], {}, key="error")
    >>> result = ClaimResult(
    ...     claim, claim.config("quick"), verdict, figure=None, n_runs=1, wall_time=0.01
    ... )
    >>> print(result.status.value, result.figure_name, result.key_text())
    pass C0.png error = 1.9e-09
    """

    claim: Claim
    config: dict[str, Any]
    verdict: Verdict
    figure: Any
    n_runs: int
    wall_time: float

    @property
    def status(self) -> Status:
        """The verdict's status, ``pass``, ``fail`` or ``inconclusive``."""
        return self.verdict.status

    @property
    def figure_name(self) -> str:
        """The file name of the claim's figure in the report, ``<id>.png``."""
        return f"{self.claim.id}.png"

    def key_text(self) -> str:
        """The headline number, ``name = value``, of the verdict's key check.

        Returns
        -------
        str
            ``name = value`` of the key check (the value as
            :attr:`riemgn.verify.Check.value_text` prints it: at least 4
            significant digits, more near a bound), or ``"n/a"`` when the
            verdict has no key check (an inconclusive verdict without checks;
            its reason is reported separately).

        Examples
        --------
        With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

        >>> from riemgn.verify import Check, ClaimResult, Verdict
        >>> verdict = Verdict([Check.below("error", 1.862645e-9, 1e-6)], {}, key="error")
        >>> ClaimResult(claim, {"n": 30}, verdict, None, n_runs=1, wall_time=0.0).key_text()
        'error = 1.863e-09'
        >>> gave_up = Verdict.inconclusive("the series diverged")
        >>> ClaimResult(claim, {"n": 30}, gave_up, None, n_runs=1, wall_time=0.0).key_text()
        'n/a'
        """
        check = self.verdict.key_check
        if check is None:
            return "n/a"
        return f"{check.name} = {check.value_text}"


@dataclass(frozen=True)
class Report:
    """Everything one ``riemgn verify`` run measured.

    Made by :func:`riemgn.verify.run`; written by
    :func:`riemgn.verify.write_report`.

    Attributes
    ----------
    results : tuple of ClaimResult
        One result per claim, in the order run.
    preset : str
        ``"quick"`` or ``"full"``.
    data : str
        ``"synthetic"``, ``"diabetes"``, ``"breast_cancer"`` or ``"digits"``.
    seed : int
        The seed every run's generator was derived from.
    jobs : int
        The number of worker processes (the numbers do not depend on it).
    plots : bool
        Whether the figures were drawn.
    wall_time : float
        Seconds for the whole run.
    environment : dict
        Python, platform and package versions
        (:func:`riemgn.verify.report.environment`).

    Examples
    --------
    With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

    >>> from riemgn.verify import run
    >>> report = run([claim], plots=False, progress=False)
    >>> print(report.status.value, report.exit_code, report.preset, report.seed)
    pass 0 quick 0
    >>> print(report.results[0].key_text())
    error = 1.863e-09
    """

    results: tuple[ClaimResult, ...]
    preset: str
    data: str
    seed: int
    jobs: int
    plots: bool
    wall_time: float
    environment: Mapping[str, Any]

    @property
    def status(self) -> Status:
        """``pass`` only if every claim passed; ``fail`` if any failed; else inconclusive.

        A report without claims is inconclusive: it verified nothing.
        """
        statuses = {r.status for r in self.results}
        if statuses == {Status.PASS}:
            return Status.PASS
        if Status.FAIL in statuses:
            return Status.FAIL
        return Status.INCONCLUSIVE

    @property
    def exit_code(self) -> int:
        """0 if every claim passed, else 1."""
        return 0 if self.status is Status.PASS else 1

    def as_dict(self, figures: Mapping[str, Sequence[str]] | None = None) -> dict:
        """The report as JSON data, the content of ``report.json``.

        The layout is described in :mod:`riemgn.verify.report` and fixed by
        :func:`riemgn.verify.schema`; non-finite numbers become ``None``.
        ``created`` is the current time.

        Parameters
        ----------
        figures : dict, optional
            Maps claim ids to the figure files written for them, relative to
            the report (a claim without an entry lists no figures).

        Returns
        -------
        dict
            JSON-ready data (``json.dumps(..., allow_nan=False)`` accepts it).

        Examples
        --------
        With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

        >>> from riemgn.verify import run
        >>> data = run([claim], plots=False, progress=False).as_dict({"C0": ["C0.png"]})
        >>> data["status"], data["preset"], data["claims"][0]["figures"]
        ('pass', 'quick', ['C0.png'])
        >>> data["claims"][0]["checks"][0]["criterion"], data["claims"][0]["config"]
        ('<= 1e-06', {'n': 30})
        """
        return report_data(self, figures)

    def table(self) -> str:
        """The final terminal table, with claim, status, key number and criterion.

        One row per claim; then one line per inconclusive claim with its
        reason and one per failed check.

        Returns
        -------
        str
            The table, without a final newline.

        Examples
        --------
        With the toy ``claim`` of :mod:`riemgn.verify` (a geometric series):

        >>> from riemgn.verify import run
        >>> print(run([claim], plots=False, progress=False).table())
        claim                status  key number         criterion
        -------------------  ------  -----------------  ---------
        C0 Geometric series  pass    error = 1.863e-09  <= 1e-06
        """
        rows = [("claim", "status", "key number", "criterion")]
        for r in self.results:
            check = r.verdict.key_check
            criterion = check.criterion if check is not None else r.claim.criterion
            rows.append(
                (
                    f"{r.claim.id} {r.claim.title}",
                    r.status.value,
                    r.key_text(),
                    criterion,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for k, row in enumerate(rows):
            lines.append(
                "  ".join(
                    cell.ljust(w) for cell, w in zip(row, widths, strict=True)
                ).rstrip()
            )
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        for r in self.results:
            if r.verdict.reason is not None:
                lines.append(f"{r.claim.id} inconclusive: {r.verdict.reason}")
            for check in r.verdict.failed:
                lines.append(f"{r.claim.id} failed: {check.text}")
        return "\n".join(lines)
