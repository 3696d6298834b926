"""The sweeps page's figures, produced at build time.

At ``builder-inited`` this runs the quick example sweep
(``examples/sweeps/solvers_quick.toml``, up to two worker processes, about
8 s) into ``docs/_generated/sweep/`` and draws its report there, so that the
page shows what ``riemgn sweep report`` draws for this build.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

GENERATED = Path("_generated") / "sweep"
EXAMPLE = Path("..") / "examples" / "sweeps" / "solvers_quick.toml"


def _builder_inited(app) -> None:
    from riemgn.sweeps import load_spec, run_sweep, sweep_report

    out = Path(app.srcdir) / GENERATED
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(2, os.cpu_count() or 1))
    start = time.perf_counter()
    spec = load_spec(Path(app.srcdir) / EXAMPLE)
    result = run_sweep(spec, out, jobs=jobs, progress=False)
    if result.failed:
        logger.warning("the example sweep has %d failed point(s)", result.failed)
    sweep_report(out)
    logger.info(
        "riemgn sweep (%d points, %d jobs): %.1f s",
        result.n_points,
        jobs,
        time.perf_counter() - start,
    )


def setup(app):
    app.connect("builder-inited", _builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
