"""``riemgn sweep report DIR``: a sweep's standard figures and a markdown summary.

The figures are drawn with the plotting conventions of ``riemgn verify``
(``riemgn.verify._style``): for each x quantity, the experiment's measured
ones (``Experiment.measured_x``, such as
:math:`\\operatorname{cond}(G_0)`) and every numeric grid axis (``alpha``,
``width``, ``step``, ...), one panel per plotted result of the experiment
(``Experiment.plotted``: the rate, the iterations, the
travel, ...), one series per value of the grid's text axes (the flow, the
solver, the scheme), every seed a marker and the median over the seeds a
line. ``report.md`` gives the counts, the figures, the medians, the
log-log slope of each median curve against each numeric axis (a scheme's
order, a power of alpha) and the failed points with their errors."""

from __future__ import annotations

import math
import os
import pathlib
import statistics
import tempfile
from collections.abc import Sequence

import numpy as np

from riemgn.sweeps._records import read_records, write_atomic
from riemgn.sweeps.spec import SpecError, parse_spec

__all__ = ["sweep_report"]

_LABELS = {
    "cond_G0": r"$\mathrm{cond}(G_0)$",
    "lambda_min": r"$\lambda_{\min}(K_0)$",
    "alpha": r"$\alpha$",
    "step": "step $h$",
    "rate": "fitted rate of the excess risk",
    "iterations": "iterations to the target",
    "gn_iterations": "Gauss-Newton iterations",
    "gd_iterations": "gradient-descent iterations",
    "gd_over_gn": "GD / GN iterations",
    "travel": r"travel $\|\theta_T - \theta_0\|$",
    "movement": r"movement $\sup_t\|\theta_t - \theta_0\|$",
    "curvature": r"curvature $\|\mathrm{II}\|$ at $u_0$",
    "final_relative_excess": "final relative excess",
    "gn_rate": "Gauss-Newton rate",
    "gd_rate": "gradient-flow rate",
    "gd_rate_over_lambda_min": r"gradient-flow rate / $\lambda_{\min}(G_0)$",
    "lm_ratio": "LM rate / prediction",
    "foil_ratio": "constant-damping LM rate / prediction",
    "gf_rate_over_lambda_min": r"gradient-flow rate / $\lambda_{\min}(K_0)$",
    "error": r"deviation $E(h)$ from the GN flow",
    "error_over_floor": "deviation / reference error",
    "worst_ratio": "worst residual / round-off scale",
    "output_norm": r"$\|F(\theta_0)\|$",
}


def _load(out: pathlib.Path):
    spec_file = out / "spec.toml"
    if not spec_file.is_file():
        raise ValueError(
            f"out = {str(out)!r} holds no sweep: spec.toml is missing (run "
            "riemgn sweep run SPEC --out DIR first)"
        )
    try:
        spec = parse_spec(spec_file.read_text(encoding="utf-8"), source=str(spec_file))
    except SpecError as error:
        raise ValueError(str(error)) from None
    records = read_records(out)
    points = spec.points()
    rows = [records[p.key] for p in points if p.key in records]
    return spec, points, rows


def _series(spec, rows):
    """``{label: rows}`` by the values of the text axes (one series if none)."""
    text_axes = [a for a, v in spec.axes.items() if isinstance(v[0], str)]
    groups: dict[str, list] = {}
    for row in rows:
        label = ", ".join(f"{a} = {row['config'][a]}" for a in text_axes) or "all"
        groups.setdefault(label, []).append(row)
    return groups


def _numeric_axes(spec) -> list[str]:
    return [
        a
        for a, values in spec.axes.items()
        if not isinstance(values[0], (str, bool)) and len(values) > 1
    ]


def _x_quantities(spec, rows) -> list[str]:
    measured = [
        q
        for q in spec.experiment.measured_x
        if any(_value(r, q) is not None for r in rows)
    ]
    return measured + _numeric_axes(spec)


def _value(row, name):
    if name in row["config"]:
        return row["config"][name]
    return (row.get("result") or {}).get(name)


def _log_scale(values) -> bool:
    values = [v for v in values if v is not None]
    return bool(values) and min(values) > 0 and max(values) / min(values) >= 4


def _pairs(rows, x, y) -> list[tuple]:
    """The (x, y) of the rows that have both."""
    return [
        (_value(r, x), _value(r, y))
        for r in rows
        if _value(r, x) is not None and _value(r, y) is not None
    ]


def _medians(pairs) -> tuple[list, list]:
    """The grid of x values and the median of y over the points at each."""
    grid = sorted({a for a, _ in pairs})
    return grid, [statistics.median(b for a, b in pairs if a == g) for g in grid]


def _panel(ax, groups, x, y) -> None:
    from riemgn.verify._style import color, legend

    xs_all, ys_all = [], []
    for k, (label, rows) in enumerate(groups.items()):
        pairs = _pairs(rows, x, y)
        if not pairs:
            continue
        xs, ys = zip(*pairs, strict=True)
        xs_all += xs
        ys_all += ys
        ax.plot(xs, ys, "o", ms=4, alpha=0.6, color=color(k), label=label)
        if x in rows[0]["config"]:  # a grid axis: the median over the seeds
            ax.plot(*_medians(pairs), "-", color=color(k), lw=1.5)
    if _log_scale(xs_all) and not x.startswith("log10_"):
        ax.set_xscale("log")
    if _log_scale(ys_all):
        ax.set_yscale("log")
    else:  # a rate near 2: its ticks, not an offset from 1.99999
        ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(_LABELS.get(x, x))
    ax.set_ylabel(_LABELS.get(y, y))
    ax.set_title(f"{_LABELS.get(y, y)} against {_LABELS.get(x, x)}")
    if ax.get_lines():
        legend(ax)


def _save(figure, path: pathlib.Path) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        figure.savefig(temporary, format="png", dpi=150, bbox_inches="tight")
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def _figures(out, spec, rows) -> list[pathlib.Path]:
    from riemgn.verify._style import finish, new_figure

    ok = [r for r in rows if r["status"] == "ok"]
    outputs = list(spec.experiment.plotted)
    if not ok or not outputs:
        return []
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    groups = _series(spec, ok)
    paths = []
    for x in _x_quantities(spec, ok):
        figure, axes = new_figure(len(outputs))
        for ax, y in zip(np.atleast_1d(axes), outputs, strict=True):
            _panel(ax, groups, x, y)
        finish(
            figure,
            "sweep",
            f"{spec.experiment.name} against {_LABELS.get(x, x)}",
            f"{len(ok)} points",
        )
        path = folder / f"{spec.experiment.name}_vs_{x}.png"
        _save(figure, path)
        paths.append(path)
    return paths


def _markdown(spec, points, rows, figures: Sequence[pathlib.Path]) -> str:
    failed = [r for r in rows if r["status"] != "ok"]
    lines = [
        f"# Sweep: {spec.experiment.name}",
        "",
        spec.description or spec.experiment.description,
        "",
        f"- points: {len(points)}; recorded: {len(rows)}; failed: {len(failed)}; "
        f"missing: {len(points) - len(rows)}",
        "- axes: "
        + (", ".join(f"{a} ({len(v)} values)" for a, v in spec.axes.items()) or "none")
        + f"; seeds: {len(spec.seeds)}",
        "",
    ]
    lines += [f"![{p.stem}](figures/{p.name})\n" for p in figures]
    outputs = list(spec.experiment.plotted)
    groups = _series(spec, [r for r in rows if r["status"] == "ok"])
    if outputs and groups:
        lines += [
            "## Medians over the points",
            "",
            "| series | points | " + " | ".join(outputs) + " |",
            "|---|---|" + "---|" * len(outputs),
        ]
        for label, group in groups.items():
            cells = []
            for q in outputs:
                values = [_value(r, q) for r in group if _value(r, q) is not None]
                cells.append(f"{statistics.median(values):.4g}" if values else "-")
            lines.append(f"| {label} | {len(group)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _slope_lines(spec, groups, outputs)
    if failed:
        lines += ["## Failed points", ""]
        for r in failed[:20]:
            lines.append(f"- `{r['key']}` (seed {r['seed']}): {r['error']}")
        if len(failed) > 20:
            lines.append(f"- ... and {len(failed) - 20} more (results.jsonl)")
        lines.append("")
    return "\n".join(lines)


def _slope_lines(spec, groups, outputs) -> list[str]:
    """The log-log slope of each median curve against each numeric grid axis.

    A slope is given where every median is positive (``-`` elsewhere): the
    order of a scheme against its step, a rate's or a travel's power of
    alpha. An axis ``log10_q`` is the logarithm of ``q``: the slope is
    against ``q``.
    """
    from riemgn.verify._common import log_slope

    lines = []
    for x in _numeric_axes(spec):
        if not lines:
            lines += ["## Log-log slopes of the medians", ""]
        lines += [
            f"Against {'10^' if x.startswith('log10_') else ''}{x}:",
            "",
            "| series | " + " | ".join(outputs) + " |",
            "|---|" + "---|" * len(outputs),
        ]
        for label, group in groups.items():
            cells = []
            for y in outputs:
                grid, medians = _medians(_pairs(group, x, y))
                if x.startswith("log10_"):
                    grid = [10.0**g for g in grid]
                slope = log_slope(grid, medians)
                cells.append("-" if not math.isfinite(slope) else f"{slope:.4g}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def sweep_report(out) -> dict:
    """Draw a sweep's standard figures and write ``report.md`` in its directory.

    Parameters
    ----------
    out : str or path-like
        The directory of :func:`riemgn.sweeps.run_sweep`.

    Returns
    -------
    dict
        ``report`` (the markdown file), ``figures`` (the PNG files),
        ``points``, ``recorded`` and ``failed``.

    Raises
    ------
    ValueError
        If ``out`` holds no sweep (no ``spec.toml``), or its records or
        specification cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from riemgn.sweeps import parse_spec, run_sweep
    >>> spec = parse_spec('experiment = "solver"\\nseeds = [0, 1]\\n'
    ...                   '[options]\\nn = 12\\ntarget = 1e-4\\n'
    ...                   '[grid]\\nsolver = ["gauss_newton", "gradient_descent"]\\n')
    >>> out = tempfile.mkdtemp()
    >>> _ = run_sweep(spec, out, progress=False)
    >>> summary = sweep_report(out)
    >>> summary["points"], summary["failed"], [p.name for p in summary["figures"]]
    (4, 0, ['solver_vs_cond_G0.png'])
    """
    out = pathlib.Path(out)
    spec, points, rows = _load(out)
    figures = _figures(out, spec, rows)
    report = out / "report.md"
    write_atomic(report, _markdown(spec, points, rows, figures))
    return {
        "report": report,
        "figures": figures,
        "points": len(points),
        "recorded": len(rows),
        "failed": sum(r["status"] != "ok" for r in rows),
    }
