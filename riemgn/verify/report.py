"""The report of ``riemgn verify``: ``report.json``, ``report.md`` and one PNG per claim.

``report.json`` follows the JSON Schema in ``report.schema.json`` (shipped
with the package; :func:`riemgn.verify.schema` loads it). Its top level
holds:

``schema_version``
    ``"1"``.
``status``
    ``"pass"`` if every claim passed, ``"fail"`` if any failed, else
    ``"inconclusive"``.
``riemgn_version``, ``created``, ``preset``, ``data``, ``seed``, ``jobs``, ``plots``, ``wall_time_seconds``
    How the report was made (``created`` is an ISO 8601 time, in UTC).
``data_set``
    What ``data`` names: ``name``, ``source``, ``preprocessing`` (a list of
    sentences) and, for a real data set, ``n_samples``, ``n_features``,
    ``features`` and ``target``.
``environment``
    Python, platform and the versions of the numerical stack.
``claims``
    One object per claim, in the order run, with ``id``, ``title``,
    ``statement``, ``criterion`` (words), ``status``, ``reason`` (why it is
    inconclusive, else ``null``), ``key`` (the headline check), ``checks``
    (each with ``name``, ``value``, ``passed``, ``criterion``, bounds),
    ``metrics`` (every measured number), ``notes``, ``figures`` (paths
    relative to the report), ``config`` (the preset as run), ``n_runs`` and
    ``wall_time_seconds``.

Numbers that are not finite are written as ``null``: JSON has no NaN.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import os
import pathlib
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riemgn.verify._core import Claim, Status, Verdict, _format

__all__ = [
    "ClaimResult",
    "OutputDirectoryError",
    "Report",
    "environment",
    "figure_problems",
    "prepare_output",
    "schema",
    "write_report",
]

SCHEMA_VERSION = "1"
SCHEMA_PATH = pathlib.Path(__file__).with_name("report.schema.json")
_PACKAGES = ("numpy", "scipy", "pymanopt", "autograd", "matplotlib", "threadpoolctl")


class OutputDirectoryError(ValueError):
    """The output directory cannot be used (unwritable, holds a report, or in use).

    Raised by :func:`riemgn.verify.prepare_output` before any experiment
    runs, and by :func:`riemgn.verify.write_report` when another process
    holds the directory's lock; ``riemgn verify`` turns it into a usage
    error (exit code 2). A :class:`ValueError`: the directory is a bad
    argument.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from riemgn.verify import OutputDirectoryError, prepare_output
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp) / "notes.txt"
    ...     _ = file.write_text("not a directory")
    ...     try:
    ...         prepare_output(file)
    ...     except OutputDirectoryError as error:
    ...         print("exists and is not a directory" in str(error))
    True
    """


def schema() -> dict:
    """The JSON Schema that ``report.json`` follows.

    Loaded from ``report.schema.json``, which ships with the package (JSON
    Schema draft 2020-12), so that other tools can validate a report.

    Returns
    -------
    dict
        The schema, a fresh copy at every call.

    Examples
    --------
    >>> from riemgn.verify import schema
    >>> document = schema()
    >>> document["title"]
    'riemgn verify report'
    >>> document["required"][:3]
    ['schema_version', 'status', 'riemgn_version']
    """
    return json.loads(SCHEMA_PATH.read_text())


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


def jsonable(value: Any) -> Any:
    """``value`` as JSON data: numpy scalars and arrays become Python numbers and lists.

    Non-finite floats become ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": np.float64(1.5), "b": np.array([1.0, np.nan]), "c": (1, "x")})
    {'a': 1.5, 'b': [1.0, None], 'c': [1, 'x']}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


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
        Seconds from setting up the runs to the end of the figure.

    Examples
    --------
    >>> from riemgn.verify import Check, Claim, Task, Verdict
    >>> def partial_sum(n):
    ...     return sum(0.5**k for k in range(n))
    >>> claim = Claim(
    ...     id="C0",
    ...     title="Geometric series",
    ...     statement="1 + 1/2 + 1/4 + ... = 2.",
    ...     criterion="|S_n - 2| <= 1e-6",
    ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
    ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
    ...     evaluate=lambda config, results: Verdict(
    ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
    ...         {"S_n": results[0]},
    ...         key="error",
    ...     ),
    ...     figure=lambda config, results, verdict: None,
    ... )
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
        >>> from riemgn.verify import Check, Claim, ClaimResult, Task, Verdict
        >>> def partial_sum(n):
        ...     return sum(0.5**k for k in range(n))
        >>> claim = Claim(
        ...     id="C0",
        ...     title="Geometric series",
        ...     statement="1 + 1/2 + 1/4 + ... = 2.",
        ...     criterion="|S_n - 2| <= 1e-6",
        ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
        ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
        ...     evaluate=lambda config, results: Verdict(
        ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
        ...         {"S_n": results[0]},
        ...         key="error",
        ...     ),
        ...     figure=lambda config, results, verdict: None,
        ... )
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
        ``"synthetic"`` or ``"diabetes"``.
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
    >>> from riemgn.verify import Check, Claim, Task, Verdict, run
    >>> def partial_sum(n):
    ...     return sum(0.5**k for k in range(n))
    >>> claim = Claim(
    ...     id="C0",
    ...     title="Geometric series",
    ...     statement="1 + 1/2 + 1/4 + ... = 2.",
    ...     criterion="|S_n - 2| <= 1e-6",
    ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
    ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
    ...     evaluate=lambda config, results: Verdict(
    ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
    ...         {"S_n": results[0]},
    ...         key="error",
    ...     ),
    ...     figure=lambda config, results, verdict: None,
    ... )
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
        >>> from riemgn.verify import Check, Claim, Task, Verdict, run
        >>> def partial_sum(n):
        ...     return sum(0.5**k for k in range(n))
        >>> claim = Claim(
        ...     id="C0",
        ...     title="Geometric series",
        ...     statement="1 + 1/2 + 1/4 + ... = 2.",
        ...     criterion="|S_n - 2| <= 1e-6",
        ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
        ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
        ...     evaluate=lambda config, results: Verdict(
        ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
        ...         {"S_n": results[0]},
        ...         key="error",
        ...     ),
        ...     figure=lambda config, results, verdict: None,
        ... )
        >>> data = run([claim], plots=False, progress=False).as_dict({"C0": ["C0.png"]})
        >>> data["status"], data["preset"], data["claims"][0]["figures"]
        ('pass', 'quick', ['C0.png'])
        >>> data["claims"][0]["checks"][0]["criterion"], data["claims"][0]["config"]
        ('<= 1e-06', {'n': 30})
        """
        from riemgn import __version__
        from riemgn.verify._common import data_set_description

        figures = figures or {}
        claims = []
        for r in self.results:
            v = r.verdict
            claims.append(
                {
                    "id": r.claim.id,
                    "title": r.claim.title,
                    "statement": r.claim.statement,
                    "criterion": r.claim.criterion,
                    "status": r.status.value,
                    "reason": v.reason,
                    "key": v.key or None,
                    "checks": [c.as_dict() for c in v.checks],
                    "metrics": jsonable(v.metrics),
                    "notes": list(v.notes),
                    "figures": list(figures.get(r.claim.id, ())),
                    "config": jsonable(r.config),
                    "n_runs": r.n_runs,
                    "wall_time_seconds": r.wall_time,
                }
            )
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status.value,
            "riemgn_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "preset": self.preset,
            "data": self.data,
            "data_set": data_set_description(self.data),
            "seed": self.seed,
            "jobs": self.jobs,
            "plots": self.plots,
            "wall_time_seconds": self.wall_time,
            "environment": jsonable(self.environment),
            "claims": claims,
        }

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
        >>> from riemgn.verify import Check, Claim, Task, Verdict, run
        >>> def partial_sum(n):
        ...     return sum(0.5**k for k in range(n))
        >>> claim = Claim(
        ...     id="C0",
        ...     title="Geometric series",
        ...     statement="1 + 1/2 + 1/4 + ... = 2.",
        ...     criterion="|S_n - 2| <= 1e-6",
        ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
        ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
        ...     evaluate=lambda config, results: Verdict(
        ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
        ...         {"S_n": results[0]},
        ...         key="error",
        ...     ),
        ...     figure=lambda config, results, verdict: None,
        ... )
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


def figure_problems(figure) -> list[str]:
    """What keeps a figure out of a paper: no title, labels or data, a missing legend, or one over the data.

    Checked on the matplotlib objects, before saving. A figure has a title if
    it has a suptitle or every visible axes has a title; every visible axes
    needs x and y labels and some data, and a legend if it shows more than
    one labelled series. No legend (of an axes or of the figure) may cover a
    plotted point of any axes: the figure is laid out, and each legend's
    window extent, padded by 2 pixels, is compared with the display
    coordinates of every marker, of points every 3 pixels along each drawn
    line, and of every scatter point inside an axes.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure to inspect.

    Returns
    -------
    list of str
        One sentence per problem; empty for a complete figure.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from riemgn.verify import figure_problems
    >>> figure = Figure()
    >>> ax = figure.add_subplot()
    >>> _ = ax.loglog([1e-3, 1e-2, 1e-1], [1e-9, 1e-7, 1e-5], "o-", label="error")
    >>> for problem in figure_problems(figure):
    ...     print(problem)
    no title (figure suptitle or a title on every axes)
    axes 0 has no x label
    axes 0 has no y label
    >>> _ = ax.set(title="Global error", xlabel="step h", ylabel="error")
    >>> figure_problems(figure)
    []

    A legend in the corner where the data lie covers them:

    >>> _ = ax.loglog([1e-3, 1e-2, 1e-1], [1e-5, 1e-6, 1e-7], "s-", label="other")
    >>> _ = ax.legend(loc="upper right")
    >>> print(*figure_problems(figure))  # doctest: +ELLIPSIS
    the legend of axes 0 covers ... plotted points of axes 0
    """
    problems = []
    axes = [ax for ax in figure.get_axes() if ax.get_visible()]
    if not axes:
        return ["the figure has no axes"]
    has_title = bool(figure._suptitle and figure._suptitle.get_text()) or all(
        ax.get_title() for ax in axes
    )
    if not has_title:
        problems.append("no title (figure suptitle or a title on every axes)")
    for k, ax in enumerate(axes):
        if not ax.get_xlabel():
            problems.append(f"axes {k} has no x label")
        if not ax.get_ylabel():
            problems.append(f"axes {k} has no y label")
        if not (ax.lines or ax.collections or ax.patches or ax.images):
            problems.append(f"axes {k} shows no data")
        labelled = [
            a
            for a in (*ax.lines, *ax.collections)
            if a.get_label() and not a.get_label().startswith("_")
        ]
        if len(labelled) > 1 and ax.get_legend() is None:
            problems.append(
                f"axes {k} has {len(labelled)} labelled series but no legend"
            )
    problems += _covered_points(figure, axes)
    return problems


def _plotted_points(ax) -> np.ndarray:
    """The display coordinates of the points ``ax`` draws inside its frame.

    The vertices of its lines (markers and line joints), points every 3
    pixels along their drawn segments and along line collections
    (``vlines``), and the offsets of its scatter collections, each through
    its artist's own transform (so an ``axhline`` counts where it is drawn);
    points outside the axes' frame are clipped, not drawn, and left out.
    """
    from matplotlib.collections import LineCollection, PathCollection

    points = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = np.column_stack(
            [np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)]
        )
        if not xy.size:
            continue
        xy = line.get_transform().transform(xy)
        if line.get_linestyle() not in ("None", "none", "", " ") and len(xy) > 1:
            xy = _along(xy, _LINE_SPACING)
        points.append(xy)
    for collection in ax.collections:
        if not collection.get_visible():
            continue
        if isinstance(collection, LineCollection):  # vlines, hlines, segments
            transform = collection.get_transform()
            for segment in collection.get_segments():
                if len(segment):
                    xy = transform.transform(np.asarray(segment, float))
                    points.append(_along(xy, _LINE_SPACING))
        elif isinstance(collection, PathCollection):  # scatter
            offsets = np.asarray(collection.get_offsets(), float)
            if offsets.size:
                transform = collection.get_offset_transform()
                points.append(transform.transform(offsets))
    if not points:
        return np.empty((0, 2))
    xy = np.concatenate(points)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    frame = ax.bbox
    inside = (
        (xy[:, 0] >= frame.x0)
        & (xy[:, 0] <= frame.x1)
        & (xy[:, 1] >= frame.y0)
        & (xy[:, 1] <= frame.y1)
    )
    return xy[inside]


#: A drawn line counts as points this many pixels apart along its segments.
_LINE_SPACING = 3.0


def _along(xy: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` pixels along the polyline ``xy`` (its vertices too)."""
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return xy
    pieces = [xy[:1]]
    for start, end in zip(xy[:-1], xy[1:], strict=True):
        count = int(min(np.hypot(*(end - start)) // spacing, 10_000))
        fractions = np.arange(1, count + 2) / (count + 1)
        pieces.append(start + fractions[:, None] * (end - start))
    return np.concatenate(pieces)


def _covered_points(figure, axes) -> list[str]:
    """A sentence per legend that covers plotted points of any axes."""
    figure.draw_without_rendering()  # lays out the legends and the axes
    legends = [
        (f"the legend of axes {k}", ax.get_legend()) for k, ax in enumerate(axes)
    ]
    legends += [("a figure legend", box) for box in figure.legends]
    problems = []
    for name, box in legends:
        if box is None or not box.get_visible():
            continue
        area = box.get_window_extent().padded(2.0)  # pixels
        for k, ax in enumerate(axes):
            xy = _plotted_points(ax)
            covered = int(
                np.count_nonzero(
                    (xy[:, 0] >= area.x0)
                    & (xy[:, 0] <= area.x1)
                    & (xy[:, 1] >= area.y0)
                    & (xy[:, 1] <= area.y1)
                )
            )
            if covered:
                points = "point" if covered == 1 else "points"
                problems.append(f"{name} covers {covered} plotted {points} of axes {k}")
    return problems


def prepare_output(out, *, overwrite: bool = False) -> pathlib.Path:
    """Create ``out`` and make sure a report can be written there.

    Call it before running the claims, so that a bad ``out`` fails at once.
    Nothing is removed: with ``overwrite``, a previous report stays in place
    until :func:`riemgn.verify.write_report` replaces it, so an interrupted
    run loses nothing. The report is assembled beside ``out`` and then
    swapped in, so the directory that contains ``out`` must be writable
    too.

    Parameters
    ----------
    out : str or path-like
        The output directory; created with its parents if needed. Not the
        empty string, and not the current directory or one containing it
        (the report directory is replaced as a whole).
    overwrite : bool, optional
        Accept a directory that already holds ``report.json`` or
        ``report.md``.

    Returns
    -------
    pathlib.Path
        The directory, which exists and is writable.

    Raises
    ------
    OutputDirectoryError
        If ``out`` is empty, the current directory (or contains it), a
        file, cannot be created or written (nor a directory beside it), or
        already holds a report and ``overwrite`` is false.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from riemgn.verify import OutputDirectoryError, prepare_output
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = prepare_output(pathlib.Path(tmp) / "report")
    ...     print(out.name, out.is_dir())
    ...     _ = (out / "report.json").write_text("{}")
    ...     try:
    ...         prepare_output(out)
    ...     except OutputDirectoryError as error:
    ...         print("already holds a report" in str(error))
    ...     print(prepare_output(out, overwrite=True) == out)
    report True
    True
    True
    >>> try:
    ...     prepare_output("")
    ... except OutputDirectoryError as error:
    ...     print(error)
    --out '' is empty: name the report directory, such as riemgn-report
    """
    from riemgn.verify import _outdir

    target = _outdir.target_of(out)
    path = pathlib.Path(out)
    if path.exists() and not path.is_dir():
        raise OutputDirectoryError(f"--out {str(path)!r} exists and is not a directory")
    previous = [name for name in _outdir.REPORT_FILES if (path / name).exists()]
    if previous and not overwrite:
        raise OutputDirectoryError(
            f"--out {str(path)!r} already holds a report ({', '.join(previous)}); "
            "pass --overwrite to replace it, or choose another --out"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".riemgn-write-test"
        probe.write_text("")
        probe.unlink()
        _outdir.probe(target)
    except OSError as error:
        raise OutputDirectoryError(
            f"--out {str(path)!r} is not writable: {error.strerror or error}"
        ) from None
    return path


#: The figure formats :func:`riemgn.verify.write_report` can write.
_FIGURE_FORMATS = ("png", "pdf", "svg")


def _check_formats(formats) -> tuple[str, ...]:
    """``formats`` as a tuple of distinct figure formats: the PNG first, then the given order.

    Parameters
    ----------
    formats : str or sequence of str
        Names from ``"png"``, ``"pdf"`` and ``"svg"``, as a
        sequence or as one comma-separated string (``"png,pdf"``).

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If ``formats`` is empty or names an unknown format.
    TypeError
        If ``formats`` is not a string or a sequence of strings.

    Examples
    --------
    >>> _check_formats("pdf, svg,pdf")
    ('pdf', 'svg')
    >>> _check_formats(["svg", "png"])
    ('png', 'svg')
    """
    if isinstance(formats, str):
        items = [part.strip() for part in formats.split(",")]
    elif isinstance(formats, (list, tuple)):
        items = list(formats)
    else:
        raise TypeError(
            "`formats` must be a string or a sequence of strings such as "
            f"('png', 'pdf'), got {type(formats).__name__}"
        )
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"`formats` must hold strings, got {type(item).__name__} {item!r}"
            )
    items = [item.strip().lower() for item in items if item.strip()]
    if not items:
        raise ValueError(
            f"`formats` is empty; choose from {', '.join(_FIGURE_FORMATS)}"
        )
    unknown = [item for item in items if item not in _FIGURE_FORMATS]
    if unknown:
        raise ValueError(
            f"`formats` = {formats!r} names unknown figure formats "
            f"{', '.join(map(repr, unknown))}; choose from {', '.join(_FIGURE_FORMATS)}"
        )
    # The PNG first (report.md and the docs pages show a claim's first
    # figure), then the others in the order given.
    return tuple(sorted(dict.fromkeys(items), key=lambda kind: kind != "png"))


#: What each vector format's metadata leaves out: no creation date, so that
#: the same run writes the same bytes.
_SAVE_METADATA = {"png": None, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


def write_report(report: Report, out, *, formats=("png",)) -> dict[str, pathlib.Path]:
    """Write the figures, ``report.json`` and ``report.md`` into ``out``.

    The report is replaced whole or not at all: the new one is assembled
    in a private temporary directory beside ``out`` and swapped in with one
    atomic rename (Linux; elsewhere ``out`` is briefly absent, but never
    mixed), so a reader sees the old report or the new one. Any error or
    interrupt removes the temporary directory and leaves ``out`` as it was.
    Files in ``out`` that are not part of the previous report (not
    ``report.json``, ``report.md`` or a figure it lists) are kept. While it
    writes, it holds the lock that ``riemgn verify`` holds for its whole
    run, so two writers never mix. A figure that cannot be rendered is left
    out, with a note in its claim.

    Each figure is saved once per format of ``formats``: PNG at 150 dpi,
    PDF and SVG as vector graphics (without a creation date), named
    :attr:`riemgn.verify.ClaimResult.figure_name` with the format's suffix
    (``C1.png``, ``C1.pdf``, ``C1.svg``). Each claim's ``figures`` in
    ``report.json`` lists its files, the PNG first when there is one.

    Parameters
    ----------
    report : Report
        What :func:`riemgn.verify.run` returned.
    out : str or path-like
        The output directory, created if needed (check it first with
        :func:`riemgn.verify.prepare_output`).
    formats : str or sequence of str, default ("png",)
        The figure formats, from ``"png"``, ``"pdf"`` and ``"svg"``, as a
        sequence or a comma-separated string.

    Returns
    -------
    dict
        The paths written (``pathlib.Path``), by kind: ``"json"``,
        ``"markdown"``, each claim id for its first figure (the PNG if
        written, else the first of ``formats``), and ``"<id>.<format>"`` for
        every figure file.

    Raises
    ------
    OSError
        If a file cannot be written (``out`` is then unchanged).
    ValueError, TypeError
        If ``formats`` is empty or names an unknown format.
    OutputDirectoryError
        If ``out`` is empty or the current directory, or another process
        (a ``riemgn verify`` run) holds it.

    Examples
    --------
    >>> import json, tempfile
    >>> from matplotlib.figure import Figure
    >>> from riemgn.verify import Check, Claim, Task, Verdict, run, write_report
    >>> def partial_sum(n):
    ...     return sum(0.5**k for k in range(n))
    >>> def figure(config, results, verdict):
    ...     fig = Figure(figsize=(3, 2))
    ...     ax = fig.add_subplot()
    ...     ax.semilogy([abs(2.0 - s) for s in results], "o")
    ...     ax.set(title="Geometric series", xlabel="run", ylabel="|S_n - 2|")
    ...     return fig
    >>> claim = Claim(
    ...     id="C0",
    ...     title="Geometric series",
    ...     statement="1 + 1/2 + 1/4 + ... = 2.",
    ...     criterion="|S_n - 2| <= 1e-6",
    ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
    ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
    ...     evaluate=lambda config, results: Verdict(
    ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
    ...         {"S_n": results[0]},
    ...         key="error",
    ...     ),
    ...     figure=figure,
    ... )
    >>> report = run([claim], progress=False)
    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = write_report(report, out)
    ...     print({kind: path.name for kind, path in written.items()})
    ...     data = json.loads(written["json"].read_text())
    ...     print(data["status"], data["claims"][0]["figures"])
    {'C0': 'C0.png', 'C0.png': 'C0.png', 'json': 'report.json', 'markdown': 'report.md'}
    pass ['C0.png']

    Vector figures for a paper:

    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = write_report(report, out, formats="pdf,svg")
    ...     print(json.loads(written["json"].read_text())["claims"][0]["figures"])
    ['C0.pdf', 'C0.svg']
    """
    from riemgn.verify import _outdir

    with _outdir.OutputLock(out):
        return _publish(report, out, formats=formats)


def _publish(
    report: Report, out, *, on_done=None, formats=("png",)
) -> dict[str, pathlib.Path]:
    """Stage the report beside ``out`` and swap it in (the caller holds the lock).

    ``on_done`` is called once the new report is in place (see
    :func:`riemgn.verify._outdir.swap_in`).
    """
    from riemgn.verify import _outdir

    formats = _check_formats(formats)
    target = _outdir.target_of(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _outdir.staging(target) as staging:
        names = _write_files(report, staging, formats)
        _outdir.swap_in(staging, target, on_done=on_done)
    path = pathlib.Path(out)
    return {kind: path / name for kind, name in names.items()}


def _write_files(
    report: Report, directory: pathlib.Path, formats=("png",)
) -> dict[str, str]:
    """Write the figures, ``report.json`` and ``report.md`` into a new directory.

    Returns the file names by kind, as :func:`write_report` returns paths.
    ``formats`` is checked and ordered by ``_check_formats`` (the PNG first).
    """
    import matplotlib

    names: dict[str, str] = {}
    figures: dict[str, list[str]] = {}
    failed: dict[str, str] = {}
    for r in report.results:
        if r.figure is None:
            continue
        stem = pathlib.PurePath(r.figure_name).stem
        written = []
        try:
            for kind in formats:
                name = f"{stem}.{kind}"
                written.append(directory / name)
                # a fixed salt: the same figure gets the same SVG element ids
                with matplotlib.rc_context({"svg.hashsalt": "riemgn"}):
                    r.figure.savefig(
                        written[-1],
                        dpi=150,
                        format=kind,
                        metadata=_SAVE_METADATA[kind],
                    )
        except OSError:
            raise
        except Exception as error:  # a figure that cannot be rendered
            for path in written:
                path.unlink(missing_ok=True)
            failed[r.claim.id] = f"no figure: rendering it raised {error!r}"
            continue
        files = [path.name for path in written]
        names[r.claim.id] = files[0]
        names.update({f"{r.claim.id}.{path.suffix[1:]}": path.name for path in written})
        figures[r.claim.id] = files
    data = report.as_dict(figures)
    for claim in data["claims"]:
        if claim["id"] in failed:
            claim["notes"].append(failed[claim["id"]])
    (directory / "report.json").write_text(
        json.dumps(data, indent=2, allow_nan=False) + "\n"
    )
    (directory / "report.md").write_text(markdown(data) + "\n")
    names["json"] = "report.json"
    names["markdown"] = "report.md"
    return names


def _cell(text: str) -> str:
    """``text`` on one line, safe in a Markdown table cell (``|`` escaped)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


#: At most this many values of a list are printed in ``report.md``.
_LIST_LENGTH = 12


def _is_timing(name: str) -> bool:
    """Whether the metric ``name`` is a wall time (or a ratio of wall times)."""
    return "seconds" in name or "wall_time" in name


def _metric_text(value: Any, *, near=(), digits: int = 4) -> str:
    """A value of ``report.json`` (metric, configuration entry, check) as text.

    Numbers follow the one number rule of the report (at least ``digits``
    significant digits, more to resolve the distance from ``near``; see
    :attr:`riemgn.verify.Check.value_text`); lists print their values (the
    first 6 if there are more than 12); an object prints as ``key = value``
    pairs, never as a Python ``dict``; ``None`` (a non-finite number) prints
    as ``n/a``.

    Examples
    --------
    >>> _metric_text([1.0000031, 2.5, None, 7, 12345678])
    '[1.000, 2.5, n/a, 7, 12345678]'
    >>> _metric_text({"lm": 0.9223851, "gf": 1.8821553}, digits=3)
    'lm = 0.922, gf = 1.88'
    """
    if isinstance(value, (bool, int)):
        return str(value)  # counts print exactly, however large
    if value is None or isinstance(value, float):
        return _format(value, near=near, digits=digits)
    if isinstance(value, list):
        shown = value if len(value) <= _LIST_LENGTH else value[:6]
        text = ", ".join(_metric_text(v, digits=digits) for v in shown)
        if len(value) > _LIST_LENGTH:
            return f"{len(value)} values: {text}, …"
        return f"[{text}]"
    if isinstance(value, Mapping):
        return ", ".join(
            f"{key} = {_metric_text(item, digits=digits)}"
            for key, item in value.items()
        )
    return str(value)


def _flattened(name: str, value: Any):
    """``(name, value)`` pairs of a metric, an object's entries as ``name.key``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flattened(f"{name}.{key}", item)
    else:
        yield name, value


def _check_references(check: Mapping[str, Any]) -> tuple[float, ...]:
    """The bounds and target of a check of ``report.json``."""
    keys = ("at_least", "at_most", "target")
    return tuple(check[k] for k in keys if check.get(k) is not None)


def _check_value(check: Mapping[str, Any]) -> str:
    """A check's value as :attr:`riemgn.verify.Check.value_text` prints it."""
    if check["value"] is None:
        return "n/a (not finite)"
    return _format(check["value"], near=_check_references(check))


def _data_lines(description: Mapping[str, Any] | None) -> list[str]:
    """The ``## Data`` section of ``report.md``."""
    if not description:
        return []
    text = f"**{description['name']}**: {description['source']}"
    if "n_samples" in description:
        text += (
            f"; n = {description['n_samples']} samples, "
            f"d = {description['n_features']} features"
        )
    if description.get("features"):
        text += f" ({description['features']})"
    text += "."
    if description.get("target"):
        text += f" Target: {description['target']}."
    lines = ["", "## Data", "", text]
    if description.get("preprocessing"):
        lines += ["", "Preprocessing:", ""]
        lines += [f"- {step};" for step in description["preprocessing"][:-1]]
        lines.append(f"- {description['preprocessing'][-1]}.")
    if description["name"] != "synthetic":
        lines += ["", "How each claim uses the data is noted under the claim."]
    return lines


def markdown(data: Mapping[str, Any]) -> str:
    """``report.md`` from the JSON data of a report.

    Every number is printed by the report's one number rule (at least 4
    significant digits, more to show a check value's distance from its
    bounds; wall times with 3), the metrics that are objects are flattened to
    ``name.key`` entries, and each claim's configuration is listed as
    ``key = value`` pairs.
    """
    env = data["environment"]
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    lines = [
        "# riemgn verify report",
        "",
        f"**Overall: {data['status']}.** Preset `{data['preset']}`, data "
        f"`{data['data']}`, seed {data['seed']}, {data['jobs']} job(s), "
        f"{_format(data['wall_time_seconds'], digits=3)} s wall time, created "
        f"{data['created']}.",
        "",
        f"Python {env['python']} on {env['platform']}; {packages}.",
        *_data_lines(data.get("data_set")),
        "",
        "| claim | title | status | key number | criterion |",
        "|---|---|---|---|---|",
    ]
    for claim in data["claims"]:
        key = next((c for c in claim["checks"] if c["name"] == claim["key"]), None)
        key_text = f"{key['name']} = {_check_value(key)}" if key is not None else "n/a"
        criterion = key["criterion"] if key is not None else ""
        lines.append(
            f"| [{claim['id']}](#{claim['id'].lower()}) | {_cell(claim['title'])} | "
            f"**{claim['status']}** | {_cell(key_text)} | {_cell(criterion)} |"
        )
    for claim in data["claims"]:
        lines += [
            "",
            f"## {claim['id']}",
            "",
            f"### {claim['title']}: {claim['status']}",
            "",
            f"**Claim.** {claim['statement']}",
            "",
            f"**Criterion.** {claim['criterion']}",
            "",
        ]
        if claim["reason"]:
            lines += [f"**Inconclusive:** {claim['reason']}", ""]
        # A metric that is a check's value prints as the check does.
        references: dict[float, tuple[float, ...]] = {}
        if claim["checks"]:
            lines += ["| check | value | needs | passed |", "|---|---|---|---|"]
            for check in claim["checks"]:
                if check["value"] is not None:
                    references[check["value"]] = references.get(
                        check["value"], ()
                    ) + _check_references(check)
                lines.append(
                    f"| {_cell(check['name'])} | {_check_value(check)} | "
                    f"{_cell(check['criterion'])} | {'yes' if check['passed'] else 'no'} |"
                )
            lines.append("")
        if claim["metrics"]:
            lines.append("Measured:")
            lines.append("")
            for metric, value in claim["metrics"].items():
                for name, item in _flattened(metric, value):
                    if item is None:
                        text = "n/a (not finite)"
                    else:
                        near = references.get(item, ()) if _is_number(item) else ()
                        digits = 3 if _is_timing(name) else 4
                        text = _metric_text(item, near=near, digits=digits)
                    lines.append(f"- `{name}`: {_cell(text)}")
            lines.append("")
        for note in claim["notes"]:
            lines += [f"> {note}", ""]
        shown = [f for f in claim["figures"] if not f.endswith(".pdf")]
        for figure in shown[:1]:  # one picture; the other formats are linked
            lines += [f"![{claim['id']}: {claim['title']}]({figure})", ""]
        others = [f for f in claim["figures"] if f not in shown[:1]]
        if others:
            links = ", ".join(f"[{f}]({f})" for f in others)
            lines += [f"Figure files: {links}.", ""]
        config = "; ".join(
            f"`{name}` = {'none' if value is None else _metric_text(value)}"
            for name, value in claim["config"].items()
        )
        lines.append(
            f"{claim['n_runs']} runs in "
            f"{_format(claim['wall_time_seconds'], digits=3)} s. "
            f"Configuration: {config or 'none'}."
        )
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
