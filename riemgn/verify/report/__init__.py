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

The package holds the report's model (:class:`riemgn.verify.ClaimResult`,
:class:`riemgn.verify.Report`), its JSON form and schema, the Markdown
summary, the figure checks (:func:`riemgn.verify.figure_problems`) and the
writing of the files (:func:`riemgn.verify.write_report`, into a directory
checked by :func:`riemgn.verify.prepare_output`).
"""

from __future__ import annotations

# A name imported as itself (``X as X``) is importable from here without
# being public (not in ``__all__``): riemgn.cli, the docs extension
# verify_pages and the tests use them.
from riemgn.verify._outdir import OutputDirectoryError, prepare_output
from riemgn.verify.report._figures import figure_problems
from riemgn.verify.report._json import SCHEMA_PATH as SCHEMA_PATH
from riemgn.verify.report._json import SCHEMA_VERSION as SCHEMA_VERSION
from riemgn.verify.report._json import jsonable as jsonable
from riemgn.verify.report._json import schema
from riemgn.verify.report._markdown import _check_value as _check_value
from riemgn.verify.report._markdown import markdown as markdown
from riemgn.verify.report._model import ClaimResult, Report, environment
from riemgn.verify.report._writing import _check_formats as _check_formats
from riemgn.verify.report._writing import _publish as _publish
from riemgn.verify.report._writing import write_report

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
