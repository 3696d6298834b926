"""Row of ``riemgn verify``: its wall time over the 175 s of issue 15, same numbers.

``verify``: ``riemgn verify --preset full --jobs 2`` in a subprocess, its
wall time over :data:`BASELINE_SECONDS` (the run before issue 15 on the
reference machine), and every number of its report equal to the committed
reference ``benchmarks/reference/verify_full.json`` to :data:`RTOL` relative
(wall times, dates and the environment aside). A differing number makes the
row an error: a speed-up that changes a verify number is a bug.

``--quick`` does not run it (it takes one to five minutes alone); ``--check``
runs claim C1 of the quick preset and compares it with
``reference/verify_quick.json``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import REFERENCE
from benchmarks._harness import Row, Skip, Target

#: ``riemgn verify --preset full --jobs 2`` before issue 15, in seconds.
BASELINE_SECONDS = 175.0
RTOL = 1e-10
#: Keys whose values are not results: times, dates, the machine, the command.
IGNORED = ("created", "environment", "riemgn_version", "jobs", "command", "out")
#: Paths that describe the run, not its results: which claims the data set
#: supports (added to the report by issue 16, after the references were made).
IGNORED_PATHS = (".data_set.claims",)


def _ignored(key: str) -> bool:
    return "time" in key or "seconds" in key or key in IGNORED


def _timing_text(reference, new) -> bool:
    """Two texts that report a wall time (C6's note of the GD/GN time ratio)."""
    return all(isinstance(t, str) and "wall-time" in t for t in (reference, new))


def differences(reference, new, path: str = "") -> list[str]:
    """Every difference of two reports beyond :data:`RTOL`, times aside."""
    found = []
    if isinstance(reference, dict) and isinstance(new, dict):
        for key in sorted(set(reference) | set(new)):
            if _ignored(key) or f"{path}.{key}" in IGNORED_PATHS:
                continue
            if key not in reference or key not in new:
                found.append(f"{path}.{key}: only in one report")
            else:
                found += differences(reference[key], new[key], f"{path}.{key}")
    elif isinstance(reference, list) and isinstance(new, list):
        if len(reference) != len(new):
            return [f"{path}: {len(reference)} items, now {len(new)}"]
        for i, (a, b) in enumerate(zip(reference, new, strict=True)):
            found += differences(a, b, f"{path}[{i}]")
    elif (
        isinstance(reference, (int, float))
        and isinstance(new, (int, float))
        and not isinstance(reference, bool)
        and not isinstance(new, bool)
    ):
        if reference == new or (math.isnan(reference) and math.isnan(new)):
            return []
        relative = abs(reference - new) / max(abs(reference), abs(new))
        if not relative <= RTOL:
            found.append(f"{path}: {reference!r} -> {new!r} ({relative:.1e} relative)")
    elif reference != new and not _timing_text(reference, new):
        found.append(f"{path}: {str(reference)[:60]!r} -> {str(new)[:60]!r}")
    return found


def _claims_only(reference: dict, new: dict) -> tuple[dict, dict]:
    """The reference restricted to the claims the new report ran."""
    ran = {claim["id"] for claim in new["claims"]}
    reference = dict(reference)
    reference["claims"] = [c for c in reference["claims"] if c["id"] in ran]
    return reference, new


def _run(arguments: list[str]) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory(prefix="riemgn-benchmarks-verify-") as tmp:
        out = Path(tmp) / "report"
        command = [sys.executable, "-m", "riemgn.cli", "verify", *arguments]
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "--out", str(out)],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(
                f"riemgn verify exited with {done.returncode}: {done.stderr[-500:]}"
            )
        return seconds, json.loads((out / "report.json").read_text())


#: The OpenBLAS kernels the references were made with (at c68ea23). Numbers
#: at the round-off level (a velocity residual over its round-off scale, say)
#: differ between kernels, so a report is compared only on the same kernels.
REFERENCE_BLAS = "Haswell"


def _blas_architectures() -> set[str]:
    import numpy  # noqa: F401 - loads the BLAS that threadpoolctl inspects
    from threadpoolctl import threadpool_info

    return {
        str(entry.get("architecture"))
        for entry in threadpool_info()
        if entry.get("user_api") == "blas"
    }


def verify(size: str) -> dict:
    if size == "quick":
        raise Skip(
            "not run with --quick (it alone takes 1-5 min): run without --quick",
            status="not run",
        )
    if size == "check":
        arguments = ["--preset", "quick", "--claims", "C1", "--jobs", "1", "--no-plots"]
        reference_file = REFERENCE / "verify_quick.json"
    else:
        arguments = ["--preset", "full", "--jobs", "2"]
        reference_file = REFERENCE / "verify_full.json"
    seconds, report = _run(arguments)
    reference = json.loads(reference_file.read_text())
    if size == "check":
        # One claim and no figures: compare that claim's numbers only.
        reference, report = _claims_only(reference, report)
        for document in (reference, report):
            for key in ("plots", "status"):
                document.pop(key, None)
            for claim in document["claims"]:
                claim.pop("figures", None)
    kernels = _blas_architectures()
    if kernels != {REFERENCE_BLAS}:
        note = (
            f"not compared: the reference was made with OpenBLAS {REFERENCE_BLAS} "
            f"kernels, this machine runs {', '.join(sorted(kernels))}; round-off "
            "level numbers differ between kernels"
        )
        return _result(report, seconds, note)
    found = differences(reference, report)
    if found:
        raise AssertionError(
            f"{len(found)} report number(s) differ from {reference_file.name}: "
            + "; ".join(found[:5])
        )
    return _result(report, seconds, True)


def _result(report: dict, seconds: float, equal) -> dict:
    return {
        "sizes": {"preset": report["preset"], "claims": len(report["claims"])},
        "repeats": 1,
        "seconds": {"verify": seconds, "baseline": BASELINE_SECONDS},
        "report_equal_to_reference": equal,
        "ratio": seconds / BASELINE_SECONDS,
    }


ROWS = [
    Row(
        "verify",
        "riemgn verify, full preset, 2 jobs / 175 s, same report numbers",
        verify,
        Target("<=", 0.35),
    ),
]
