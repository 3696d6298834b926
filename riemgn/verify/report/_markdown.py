"""``report.md``: the human summary, written from the JSON data of a report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riemgn.verify._core import _format

__all__ = ["markdown"]


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
    return lines + _support_lines(description)


def _support_lines(description: Mapping[str, Any]) -> list[str]:
    """Which claims run on the data, and why each of the others does not."""
    support = description.get("claims")
    if not support:
        return []
    name = description["name"]
    supported = ", ".join(support["supported"]) or "none"
    lines = ["", f"Claims that run on the {name} data: {supported}."]
    if support["unsupported"]:
        lines += ["", "Claims that do not, and why:", ""]
        lines += [
            f"- {claim}: {_cell(reason)}."
            for claim, reason in support["unsupported"].items()
        ]
    return lines


def markdown(data: Mapping[str, Any]) -> str:
    """``report.md`` from the JSON data of a report.

    Every number is printed by the report's one number rule (at least 4
    significant digits, more to show a check value's distance from its
    bounds; wall times with 3), the metrics that are objects are flattened to
    ``name.key`` entries, and each claim's configuration is listed as
    ``key = value`` pairs.
    """
    lines = _header_lines(data)
    for claim in data["claims"]:
        lines += _claim_lines(claim)
    return "\n".join(lines)


def _header_lines(data: Mapping[str, Any]) -> list[str]:
    """The title, the run's settings, the data and the table of claims."""
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
    return lines


def _claim_lines(claim: Mapping[str, Any]) -> list[str]:
    """A claim's section: statement, checks, metrics, notes, figure and runs."""
    lines = [
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
    if claim["checks"]:
        lines += ["| check | value | needs | passed |", "|---|---|---|---|"]
        for check in claim["checks"]:
            lines.append(
                f"| {_cell(check['name'])} | {_check_value(check)} | "
                f"{_cell(check['criterion'])} | {'yes' if check['passed'] else 'no'} |"
            )
        lines.append("")
    if claim["metrics"]:
        lines += ["Measured:", "", *_metric_lines(claim), ""]
    for note in claim["notes"]:
        lines += [f"> {note}", ""]
    lines += _figure_lines(claim)
    sizes = "; ".join(
        f"{size['problem']}: n = {size['n']}, p = {size['p']}, "
        f"solver `{size['solver']}`"
        for size in claim.get("sizes", ())
    )
    if sizes:
        lines += [f"Sizes (solver `auto`): {sizes}.", ""]
    config = "; ".join(
        f"`{name}` = {'none' if value is None else _metric_text(value)}"
        for name, value in claim["config"].items()
    )
    lines.append(
        f"{claim['n_runs']} runs in "
        f"{_format(claim['wall_time_seconds'], digits=3)} s. "
        f"Configuration: {config or 'none'}."
    )
    return lines


def _metric_lines(claim: Mapping[str, Any]) -> list[str]:
    """One ``- `name`: value`` line per metric, an object's entries flattened.

    A metric equal to a check's value prints as the check does (with the
    digits that show its distance from the check's bounds).
    """
    references: dict[float, tuple[float, ...]] = {}
    for check in claim["checks"]:
        if check["value"] is not None:
            references[check["value"]] = references.get(
                check["value"], ()
            ) + _check_references(check)
    lines = []
    for metric, value in claim["metrics"].items():
        for name, item in _flattened(metric, value):
            if item is None:
                text = "n/a (not finite)"
            else:
                near = references.get(item, ()) if _is_number(item) else ()
                digits = 3 if _is_timing(name) else 4
                text = _metric_text(item, near=near, digits=digits)
            lines.append(f"- `{name}`: {_cell(text)}")
    return lines


def _figure_lines(claim: Mapping[str, Any]) -> list[str]:
    """The claim's figure (its first file that is not a PDF) and links to the others."""
    lines = []
    shown = [f for f in claim["figures"] if not f.endswith(".pdf")]
    for figure in shown[:1]:  # one picture; the other formats are linked
        lines += [f"![{claim['id']}: {claim['title']}]({figure})", ""]
    others = [f for f in claim["figures"] if f not in shown[:1]]
    if others:
        links = ", ".join(f"[{f}]({f})" for f in others)
        lines += [f"Figure files: {links}.", ""]
    return lines


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
