"""A sweep's durable records and the table rebuilt from them.

Each finished grid point is one JSON file ``DIR/records/<key>.json``,
written to a temporary name, flushed and ``fsync``-ed, renamed into place
and its directory ``fsync``-ed: a record is there whole or not at all,
whatever stops the sweep. ``<key>`` is the hash of the point's experiment,
configuration and seed (:func:`riemgn.sweeps.spec.point_key`), so a point
has at most one record, and a resumed sweep skips the points that have a
successful one.

``DIR/results.jsonl`` and ``DIR/results.csv`` are rebuilt from the records
of a specification's points, in grid order, and written the same way.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import pathlib
import tempfile
from collections.abc import Sequence

__all__ = ["consolidate", "read_records", "write_atomic", "write_record"]

RECORDS = "records"
#: Fields of a record that are not results: they differ between runs.
TIMING_FIELDS = ("seconds",)


def write_atomic(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` all at once: temporary file, fsync, rename, fsync.

    Parameters
    ----------
    path : pathlib.Path
        The destination; its directory must exist.
    text : str
        The content (UTF-8).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> write_atomic(target, "{}")
    >>> target.read_text()
    '{}'
    """
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _json(value) -> str:
    """JSON with non-finite floats as ``null`` (strict JSON has no NaN)."""

    def clean(item):
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        return item

    return json.dumps(clean(value), sort_keys=True, allow_nan=False)


def write_record(directory: pathlib.Path, record: dict) -> pathlib.Path:
    """Write one point's record atomically under ``directory/records``.

    Parameters
    ----------
    directory : pathlib.Path
        The sweep's directory.
    record : dict
        The record; ``record["key"]`` names the file.

    Returns
    -------
    pathlib.Path
        The record's file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> write_record(out, {"key": "abc", "status": "ok"}).name
    'abc.json'
    >>> read_records(out)["abc"]["status"]
    'ok'
    """
    records = directory / RECORDS
    records.mkdir(parents=True, exist_ok=True)
    path = records / f"{record['key']}.json"
    write_atomic(path, _json(record) + "\n")
    return path


def read_records(directory: pathlib.Path) -> dict[str, dict]:
    """Every record under ``directory/records``, by key (temporary files skipped).

    Parameters
    ----------
    directory : pathlib.Path
        The sweep's directory.

    Returns
    -------
    dict
        ``{key: record}``; empty if there are none.

    Raises
    ------
    ValueError
        If a record file is not valid JSON (it was not written by a sweep).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> read_records(pathlib.Path(tempfile.mkdtemp()))
    {}
    """
    records = directory / RECORDS
    found = {}
    if not records.is_dir():
        return found
    for path in sorted(records.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a sweep record: {error}") from None
        found[path.stem] = record
    return found


def _flat(record: dict) -> dict:
    row = {"key": record["key"], "seed": record["seed"], "status": record["status"]}
    row.update({f"config.{k}": v for k, v in record["config"].items()})
    row.update({f"result.{k}": v for k, v in (record.get("result") or {}).items()})
    row["error"] = record.get("error")
    row["attempts"] = record.get("attempts")
    return row


def consolidate(directory: pathlib.Path, points: Sequence) -> list[dict]:
    """Rebuild ``results.jsonl`` and ``results.csv`` from the points' records.

    Parameters
    ----------
    directory : pathlib.Path
        The sweep's directory.
    points : sequence of riemgn.sweeps.Point
        The specification's points, in grid order; those without a record
        are left out.

    Returns
    -------
    list of dict
        The records written, in grid order.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> consolidate(out, [])
    []
    >>> (out / "results.jsonl").read_text()
    ''
    """
    records = read_records(directory)
    rows = [records[p.key] for p in points if p.key in records]
    write_atomic(directory / "results.jsonl", "".join(_json(r) + "\n" for r in rows))
    flat = [_flat(r) for r in rows]
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    if columns:
        writer.writeheader()
    writer.writerows(flat)
    write_atomic(directory / "results.csv", buffer.getvalue())
    return rows
