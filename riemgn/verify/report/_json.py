"""``report.json``: the report as JSON data, and the schema it follows."""

from __future__ import annotations

import datetime
import json
import math
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from riemgn.verify.report._model import ClaimResult, Report

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "jsonable", "report_data", "schema"]

SCHEMA_VERSION = "1"
SCHEMA_PATH = pathlib.Path(__file__).parent.parent / "report.schema.json"


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


def claim_data(result: ClaimResult, figures: Sequence[str] = ()) -> dict[str, Any]:
    """One entry of ``claims`` in ``report.json``, listing the figure files ``figures``."""
    from riemgn.verify._common import problem_sizes

    verdict = result.verdict
    return {
        "id": result.claim.id,
        "title": result.claim.title,
        "statement": result.claim.statement,
        "criterion": result.claim.criterion,
        "status": result.status.value,
        "reason": verdict.reason,
        "key": verdict.key or None,
        "checks": [c.as_dict() for c in verdict.checks],
        "metrics": jsonable(verdict.metrics),
        "notes": list(verdict.notes),
        "figures": list(figures),
        "config": jsonable(result.config),
        "sizes": problem_sizes(result.config),
        "n_runs": result.n_runs,
        "wall_time_seconds": result.wall_time,
    }


def report_data(
    report: Report, figures: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The content of ``report.json`` (see :meth:`riemgn.verify.Report.as_dict`)."""
    from riemgn import __version__
    from riemgn.verify._common import data_set_description

    figures = figures or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "status": report.status.value,
        "riemgn_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "preset": report.preset,
        "data": report.data,
        "data_set": data_set_description(report.data),
        "seed": report.seed,
        "jobs": report.jobs,
        "plots": report.plots,
        "wall_time_seconds": report.wall_time,
        "environment": jsonable(report.environment),
        "claims": [claim_data(r, figures.get(r.claim.id, ())) for r in report.results],
    }
