"""The machinery of the suite: rows, targets, timing, the machine, the JSON file.

A row is a :class:`Row`: a name, a target and a function ``run(size)`` that
takes one of :data:`SIZES` and returns a dict with at least ``sizes``,
``repeats``, ``seconds`` (the median wall time of each side) and ``ratio``.
A row whose optional peer is not installed raises :class:`Skip`.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

#: The sizes a row can run at: the documented run, ``--quick`` and ``--check``.
SIZES = ("full", "quick", "check")

#: What a skipped row prints in place of its ratio.
INSTALL_HINT = "skipped: pip install riemgn[benchmarks]"

#: The packages whose versions go into the results.
VERSIONED = ("numpy", "scipy", "riemgn", "jax", "jaxlib", "optimistix", "autograd")


class Skip(Exception):
    """Raised by a row that cannot run here (an optional peer is missing)."""

    def __init__(self, reason: str = INSTALL_HINT, status: str = "skipped"):
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Target:
    """A row's target: ``ratio <= value``, ``ratio >= value`` or ``|ratio - value| <= tolerance``."""

    op: str
    value: float
    tolerance: float | None = None

    def met_by(self, ratio: float) -> bool:
        if not math.isfinite(ratio):
            return False
        if self.op == "<=":
            return ratio <= self.value
        if self.op == ">=":
            return ratio >= self.value
        return abs(ratio - self.value) <= self.tolerance

    def text(self) -> str:
        if self.op == "within":
            return f"{self.value:g} ± {self.tolerance:g}"
        return f"{self.op} {self.value:g}"

    def as_dict(self) -> dict:
        out = {"op": self.op, "value": self.value}
        if self.tolerance is not None:
            out["tolerance"] = self.tolerance
        return out


@dataclass(frozen=True)
class Row:
    """One row of the table: ``run(size) -> dict`` and its target (None: report only)."""

    name: str
    title: str
    run: Callable[[str], dict]
    target: Target | None = None
    note: str = ""
    tags: tuple[str, ...] = field(default=())


def median_times(sides: dict[str, Callable[[], object]], repeats: int, warmup: int = 1):
    """Median wall time of each side over ``repeats`` interleaved runs.

    The sides run in turn within each repeat, so that a change of load on a
    shared machine hits all of them alike.
    """
    for _ in range(warmup):
        for fun in sides.values():
            fun()
    samples = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fun in sides.items():
            start = time.perf_counter()
            fun()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def wall(fun: Callable[[], object]):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fun()
    return time.perf_counter() - start, result


def evaluate(row: Row, size: str) -> dict:
    """Run one row and decide it; never raises (an exception is an ``error`` row)."""
    entry = {"name": row.name, "title": row.title, "note": row.note}
    entry["target"] = row.target.as_dict() if row.target else None
    start = time.perf_counter()
    try:
        result = row.run(size)
    except Skip as skip:
        entry.update(sizes={}, ratio=None, passed=None, status=skip.status)
        entry["reason"] = skip.reason
        return entry
    except Exception as error:  # a row that breaks is reported, not fatal
        entry.update(sizes={}, ratio=None, passed=False, status="error")
        entry["reason"] = f"{type(error).__name__}: {error}"
        return entry
    entry.update(result)
    entry["row_seconds"] = time.perf_counter() - start
    ratio = entry.get("ratio")
    finite = isinstance(ratio, (int, float)) and math.isfinite(ratio)
    if not finite:
        entry.update(ratio=None, passed=False, status="error")
        entry.setdefault("reason", f"non-finite ratio {ratio!r}")
    elif size == "check":
        entry.update(passed=None, status="ran")
    elif row.target is None:
        entry.update(passed=None, status="report")
    else:
        passed = row.target.met_by(ratio)
        entry.update(passed=passed, status="pass" if passed else "miss")
    return entry


def failed(entries: list[dict]) -> list[str]:
    """The names of the rows that make the run fail: errors and misses."""
    return [e["name"] for e in entries if e["status"] in ("error", "miss")]


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The CPU, cores, BLAS (from threadpoolctl) and platform of this run."""
    from threadpoolctl import threadpool_info

    blas = [
        {
            key: info.get(key)
            for key in ("internal_api", "version", "num_threads", "architecture")
        }
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "blas": blas,
        "platform": platform.platform(),
    }


def versions() -> dict:
    out = {"python": platform.python_version()}
    out.update({name: _version(name) for name in VERSIONED})
    return out


def results_document(entries: list[dict], size: str, command: str, seconds: float):
    """The whole ``results.json`` document."""
    return {
        "schema_version": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "mode": size,
        "command": command,
        "total_seconds": seconds,
        "machine": machine(),
        "versions": versions(),
        "rows": entries,
    }


def write_atomically(document: dict, path: Path) -> None:
    """Write JSON to a temporary file next to ``path``, then rename it over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(document, stream, indent=1, allow_nan=True)
            stream.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _ratio_text(entry: dict) -> str:
    if entry["status"] == "error":
        return "error"
    if entry.get("ratio") is None:  # skipped, not available, not run
        return entry.get("reason", entry["status"])
    return f"{entry['ratio']:.3g}"


def table(entries: list[dict]) -> str:
    """The printed table: row, size, ratio, target, verdict."""
    lines = [
        f"{'row':<34} {'size':<34} {'ratio':>10}  {'target':<11} result",
        "-" * 100,
    ]
    for entry in entries:
        target = entry["target"]
        if target is None:
            target_text = "report"
        else:
            target_text = Target(**target).text()
        ratio = _ratio_text(entry)
        if len(ratio) > 10:
            lines.append(f"{entry['name']:<34} {ratio}")
            continue
        lines.append(
            f"{entry['name']:<34} {_sizes_text(entry.get('sizes', {})):<34} "
            f"{ratio:>10}  {target_text:<11} {entry['status']}"
        )
        if entry["status"] == "error":
            lines.append(f"    {entry.get('reason', '')}")
    return "\n".join(lines)
