"""The Performance page's table and scaling plot, from the committed benchmark run.

``benchmarks/results.json`` is written by ``python -m benchmarks`` (the
documented run is committed). At ``builder-inited`` this draws the scaling
study of that file with matplotlib into
``docs/_generated/benchmarks/scaling.png``; the directives render the rest::

    .. benchmark-run::      (machine, versions, date and command)
    .. benchmark-table::    (one line per row: size, ratio, target, result)

A missing or unreadable results file is a build warning (an error under
``-W``): the page never shows an empty table silently.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

GENERATED = Path("_generated") / "benchmarks"
PLOT = "scaling.png"
SCALING_ROWS = ("scaling_gn_n", "scaling_gn_p", "scaling_lm_kernel_n")


def _results_file(app) -> Path:
    return Path(app.srcdir).parent / "benchmarks" / "results.json"


def _load(app) -> dict | None:
    path = _results_file(app)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        logger.warning("benchmark results: cannot read %s (%s)", path, error)
        return None


def _draw(results: dict, out: Path) -> None:
    import matplotlib.pyplot as plt

    rows = {row["name"]: row for row in results["rows"]}
    studies = [rows[name] for name in SCALING_ROWS if rows.get(name, {}).get("points")]
    if not studies:
        logger.warning("benchmark results: no scaling study to plot")
        return
    fig, axes = plt.subplots(1, len(studies), figsize=(4.2 * len(studies), 3.6))
    axes = [axes] if len(studies) == 1 else list(axes)
    for ax, row in zip(axes, studies, strict=True):
        against = row["against"]
        x = [point[against] for point in row["points"]]
        t = [point["seconds"] for point in row["points"]]
        ax.loglog(x, t, "o", label="measured")
        a, b = row["fit"]["exponent"], row["fit"]["intercept"]
        ax.loglog(x, [math.exp(b) * v**a for v in x], "-", label=f"fit: slope {a:.2f}")
        expected = row["target"]["value"]
        ax.loglog(
            x,
            [t[-1] * (v / x[-1]) ** expected for v in x],
            ":",
            color="gray",
            label=f"slope {expected:g}",
        )
        ax.set_xlabel(against)
        ax.set_ylabel("seconds per step")
        fixed = "p" if against == "n" else "n"
        ax.set_title(
            f"{row['name']} ({fixed} = {row['points'][0][fixed]})", fontsize=10
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / PLOT, dpi=110)
    plt.close(fig)


def _builder_inited(app) -> None:
    out = Path(app.srcdir) / GENERATED
    out.mkdir(parents=True, exist_ok=True)
    results = _load(app)
    app.env.riemgn_benchmarks = results
    if results is not None:
        _draw(results, out)


def _results(env) -> dict | None:
    return getattr(env, "riemgn_benchmarks", None)


def _ratio(row: dict) -> str:
    status = row["status"]
    if status in ("skipped", "not available", "not run"):
        return row.get("reason", status)
    if status == "error" or row.get("ratio") is None:
        return "error"
    return f"{row['ratio']:.3g}"


def _target(row: dict) -> str:
    target = row.get("target")
    if not target:
        return "report only"
    if target["op"] == "within":
        return f"{target['value']:g} ± {target['tolerance']:g}"
    return {"<=": "≤ ", ">=": "≥ "}[target["op"]] + f"{target['value']:g}"


def _sizes(row: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in row.get("sizes", {}).items())


def _cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|")


class _ResultsDirective(SphinxDirective):
    has_content = False

    def _parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return container.children

    def _data(self) -> dict | None:
        data = _results(self.env)
        if data is None:
            logger.warning("no benchmark results to show", location=self.get_location())
        return data


class BenchmarkTable(_ResultsDirective):
    """One line per row of the committed run."""

    def run(self):
        data = self._data()
        if data is None:
            return []
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 34 26 12 10 10",
            "",
            "   * - row",
            "     - size",
            "     - ratio",
            "     - target",
            "     - result",
        ]
        for row in data["rows"]:
            lines += [
                f"   * - ``{row['name']}``: {_cell(row.get('title', ''))}",
                f"     - {_cell(_sizes(row)) or '—'}",
                f"     - {_cell(_ratio(row))}",
                f"     - {_cell(_target(row))}",
                f"     - {row['status']}",
            ]
        return self._parse(lines)


class BenchmarkRun(_ResultsDirective):
    """The machine, versions, date and command of the committed run."""

    def run(self):
        data = self._data()
        if data is None:
            return []
        machine, versions = data["machine"], data["versions"]
        blas = ", ".join(
            f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} threads)"
            for b in machine.get("blas", [])
        )
        packages = ", ".join(
            f"{name} {version}" for name, version in versions.items() if version
        )
        lines = [
            f"Measured on {data['date']} with ``{data['command']}`` "
            f"({data['mode']} sizes, {data['total_seconds']:.0f} s in all) on "
            f"{_cell(machine['cpu_model'])}, {machine['cores']} cores, "
            f"BLAS {_cell(blas) or 'unknown'}; {_cell(packages)}.",
        ]
        if not data.get("complete", True):
            lines += ["", "The run was interrupted: only the rows below were measured."]
        return self._parse(lines)


def setup(app):
    app.connect("builder-inited", _builder_inited)
    app.add_directive("benchmark-table", BenchmarkTable)
    app.add_directive("benchmark-run", BenchmarkRun)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
