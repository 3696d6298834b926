"""The verification page's numbers and figures, produced at build time.

At ``builder-inited`` this runs the quick preset of ``riemgn verify`` (every
claim, seed 0, up to two worker processes) and writes its report into
``docs/_generated/verify/``: ``report.json``, ``report.md`` and one PNG per
claim. The ``claim-result`` directive then renders one claim of that report::

    .. claim-result:: C1

A claim that does not pass is a build warning (an error under ``-W``): the
documentation never shows a failing claim silently.

To reuse a report instead of running the suite (a faster local build), set
``RIEMGN_DOCS_VERIFY_REPORT`` to a directory written by ``riemgn verify
--out DIR``; its preset and seed are shown on the page.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

GENERATED = Path("_generated") / "verify"
SEED = 0
PRESET = "quick"


def _run_suite(out: Path) -> None:
    from riemgn.verify import CLAIMS, run, write_report

    jobs = max(1, min(2, os.cpu_count() or 1))
    start = time.perf_counter()
    report = run(
        list(CLAIMS.values()), preset=PRESET, seed=SEED, jobs=jobs, progress=False
    )
    write_report(report, out)
    logger.info(
        "riemgn verify (quick, seed %d, %d jobs): %.1f s",
        SEED,
        jobs,
        time.perf_counter() - start,
    )


def _builder_inited(app) -> None:
    out = Path(app.srcdir) / GENERATED
    source = os.environ.get("RIEMGN_DOCS_VERIFY_REPORT")
    if source and Path(source).resolve() == out.resolve():
        # Reuse the report of the previous build in place.
        app.env.riemgn_verify = json.loads((out / "report.json").read_text())
        return
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if source:
        source = Path(source)
        if not (source / "report.json").is_file():
            raise FileNotFoundError(
                f"RIEMGN_DOCS_VERIFY_REPORT={str(source)!r} has no report.json"
            )
        for path in [source / "report.json", *source.glob("C*.png")]:
            shutil.copy2(path, out / path.name)
    else:
        _run_suite(out)
    app.env.riemgn_verify = json.loads((out / "report.json").read_text())


def report(env) -> dict:
    data = getattr(env, "riemgn_verify", None)
    if data is None:
        data = json.loads((Path(env.srcdir) / GENERATED / "report.json").read_text())
        env.riemgn_verify = data
    return data


def _text(value: str) -> str:
    """Report text as inline reST: ``|x|`` is a norm here, not a substitution."""
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("*", "\\*")
        .replace("`", "\\`")
    )


def _number(check) -> str:
    """A check's value as the report prints it (more digits near a bound)."""
    from riemgn.verify.report import _check_value

    return _check_value(check)


class ClaimResult(SphinxDirective):
    """One claim of the build-time report: verdict, checks, notes and figure."""

    required_arguments = 1
    has_content = False

    def run(self):
        data = report(self.env)
        claims = {c["id"]: c for c in data["claims"]}
        claim_id = self.arguments[0]
        if claim_id not in claims:
            logger.warning(
                "claim-result: no claim %r in the report",
                claim_id,
                location=self.get_location(),
            )
            return []
        claim = claims[claim_id]
        if claim["status"] != "pass":
            logger.warning(
                "claim %s is %s in the build-time report (%s)",
                claim_id,
                claim["status"],
                claim.get("reason") or "see its checks",
                location=self.get_location(),
            )
        status = claim["status"]
        lines = [
            f"**Claim.** {_text(claim['statement'])}",
            "",
            f"**Criterion.** {_text(claim['criterion'])}",
            "",
            f"**Result** (preset ``{data['preset']}``, seed {data['seed']}, "
            f"{claim['n_runs']} runs, {claim['wall_time_seconds']:.1f} s): "
            f":verdict-{status}:`{status}`.",
            "",
        ]
        if claim.get("reason"):
            lines += [f"Inconclusive because: {_text(claim['reason'])}", ""]
        lines += [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 30 15 20 10",
            "",
            "   * - check",
            "     - measured",
            "     - criterion",
            "     - passed",
        ]
        for check in claim["checks"]:
            description = (
                f" — {_text(check['description'])}" if check.get("description") else ""
            )
            lines += [
                f"   * - ``{check['name']}``{description}",
                f"     - {_number(check)}",
                f"     - ``{check['criterion']}``",
                f"     - {'yes' if check['passed'] else '**no**'}",
            ]
        lines.append("")
        if claim.get("notes"):
            lines += ["Notes from the run:", ""]
            lines += [f"- {_text(note)}" for note in claim["notes"]]
            lines.append("")
        for figure in claim.get("figures", []):
            lines += [
                f".. figure:: /{GENERATED.as_posix()}/{figure}",
                f"   :alt: Figure of claim {claim_id}",
                "   :width: 100%",
                "",
                f"   Claim {claim_id}, quick preset, seed {data['seed']}.",
                "",
            ]
        if not claim.get("figures"):
            logger.warning(
                "claim %s has no figure in the report",
                claim_id,
                location=self.get_location(),
            )
        container = nodes.container(classes=["claim-result"])
        self.state.nested_parse(
            StringList(lines, source=self.get_source_info()[0]),
            self.content_offset,
            container,
        )
        return [container]


class RunSummary(SphinxDirective):
    """The build-time run: preset, seed, jobs, wall time and environment."""

    has_content = False

    def run(self):
        data = report(self.env)
        env = data.get("environment", {})
        packages = env.get("packages", {})
        versions = ", ".join(f"{k} {v}" for k, v in packages.items())
        if env.get("python"):
            versions = f"Python {env['python']}, {versions}"
        lines = [
            f"These results come from ``riemgn verify --preset {data['preset']} "
            f"--seed {data['seed']}`` run while this page was built "
            f"({data['created']}, {data['jobs']} worker processes, "
            f"{data['wall_time_seconds']:.0f} s; overall status "
            f":verdict-{data['status']}:`{data['status']}`).",
            "",
        ]
        if versions:
            lines += [f"Environment: {versions}.", ""]
        container = nodes.container()
        self.state.nested_parse(
            StringList(lines, source=self.get_source_info()[0]),
            self.content_offset,
            container,
        )
        return container.children


def _verdict_role(status):
    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        return [nodes.inline(rawtext, text, classes=[f"verdict-{status}"])], []

    return role


def setup(app):
    app.connect("builder-inited", _builder_inited)
    app.add_directive("claim-result", ClaimResult)
    app.add_directive("run-summary", RunSummary)
    from docutils.parsers.rst import roles

    for status in ("pass", "fail", "inconclusive"):
        roles.register_local_role(f"verdict-{status}", _verdict_role(status))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
