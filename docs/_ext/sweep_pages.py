"""The sweeps page's figures, produced at build time.

At ``builder-inited`` this runs the quick example sweeps
(``examples/sweeps/solvers_quick.toml`` and ``orders_quick.toml``, up to
two worker processes, about 8 s and 10 s) into
``docs/_generated/sweep/<name>/`` and draws their reports there, so that
the page shows what ``riemgn sweep report`` draws for this build.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

GENERATED = Path("_generated") / "sweep"
EXAMPLES = Path("..") / "examples" / "sweeps"
NAMES = ("solvers_quick", "orders_quick")


def _builder_inited(app) -> None:
    from riemgn.sweeps import load_spec, run_sweep, sweep_report

    root = Path(app.srcdir) / GENERATED
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    jobs = max(1, min(2, os.cpu_count() or 1))
    for name in NAMES:
        start = time.perf_counter()
        spec = load_spec(Path(app.srcdir) / EXAMPLES / f"{name}.toml")
        result = run_sweep(spec, root / name, jobs=jobs, progress=False)
        if result.failed:
            logger.warning("the sweep %s has %d failed point(s)", name, result.failed)
        sweep_report(root / name)
        logger.info(
            "riemgn sweep %s (%d points, %d jobs): %.1f s",
            name,
            result.n_points,
            jobs,
            time.perf_counter() - start,
        )


def setup(app):
    app.connect("builder-inited", _builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
