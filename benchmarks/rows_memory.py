"""Memory: one matrix-free Gauss-Newton step where the dense Jacobian would not fit.

``memory_gn_krylov`` runs, in a fresh subprocess, one step
``factorize(JacobianOperator(F, theta)).pinv(g)`` of a two-layer network with
``d = m = 100`` (``p = 10^4``) on ``n = 10^5`` inputs: a dense ``J`` would take
8 GB. Its "ratio" is the child's peak resident memory in GB (target <= 2);
it also reports the normal-equations residual
``||J^T (J eta + g)|| / ||J^T g||`` of ``eta = -J^+ g``, computed with
products only (target <= 1e-6: a miss makes the row an error), the LSMR
iterations and the seconds of the step.

The sketch: ``s = 2p`` rows of a sparse sign embedding (8 nonzeros per
column), which the two-layer network applies in ``O(8 n p)`` through its
sparse-aware ``vjp_batch``; a Gaussian sketch would cost ``2 n p s = 4e13``
flops here (about 10 minutes on 2 cores at the BLAS-3 rate). Since ``8 s p``
bytes (1.6 GB) exceed the QR budget, the sketched Gram matrix (0.8 GB) is
accumulated in place and factorized by Cholesky (see ``manifolds._krylov``).
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks._harness import Row, Target

#: (n, d, m) per size.
SIZES = {"full": (100_000, 100, 100), "quick": (20_000, 50, 50), "check": (400, 4, 5)}
#: The largest normal-equations residual accepted.
RESIDUAL_TARGET = 1e-6

CHILD = r"""
import json, resource, sys, time
import numpy as np
from manifolds.linalg import JacobianOperator, factorize
from riemgn.networks import TwoLayerNetwork

n, d, m = (int(a) for a in sys.argv[1:4])
rng = np.random.default_rng(0)
network = TwoLayerNetwork(d, m, alpha=1.0)
theta = network.init_params(rng)
F = network.output_map(rng.standard_normal((n, d)))
g = F.value(theta) - np.sin(rng.standard_normal(n))
start = time.perf_counter()
operator = JacobianOperator(F, theta)
factorization = factorize(operator, progress=False)
sketched = time.perf_counter()
eta = -factorization.pinv(g)
seconds = time.perf_counter() - start
JTg = F.vjp(theta, g)
residual = np.linalg.norm(F.vjp(theta, F.jvp(theta, eta) + g)) / np.linalg.norm(JTg)
print(json.dumps({
    "seconds": seconds,
    "sketch_seconds": sketched - start,
    "residual": float(residual),
    "iterations": factorization.last_info.iterations,
    "products": operator.n_products,
    "sketch_size": factorization.sketch_size,
    "shift": factorization.shift,
    "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
}))
"""


def run(size: str) -> dict:
    """One step in a subprocess; the ratio is its peak RSS in GB."""
    n, d, m = SIZES[size]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(d), str(m)],
        capture_output=True,
        text=True,
        check=True,
    )
    child = json.loads(done.stdout.strip().splitlines()[-1])
    result = {
        "sizes": {"n": n, "d": d, "m": m, "p": d * m},
        "repeats": 1,
        "seconds": {"step": child["seconds"], "sketch": child["sketch_seconds"]},
        "residual": child["residual"],
        "iterations": child["iterations"],
        "products": child["products"],
        "sketch_size": child["sketch_size"],
        "shift": child["shift"],
        "peak_rss_gb": child["peak_rss_gb"],
        "ratio": child["peak_rss_gb"],
    }
    if not child["residual"] <= RESIDUAL_TARGET:
        result["ratio"] = float("inf")
        result["reason"] = (
            f"normal-equations residual {child['residual']:.3e} > {RESIDUAL_TARGET:g}"
        )
    return result


ROWS = [
    Row(
        "memory_gn_krylov",
        "peak GB of one matrix-free GN step, n = 1e5, p = 1e4 (dense J: 8 GB)",
        run,
        Target("<=", 2.0),
        note="residual ||J^T(J eta + g)||/||J^T g|| <= 1e-6 is required too",
    ),
]
