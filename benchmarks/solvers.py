"""Jacobian counts of our Levenberg-Marquardt against scipy's trf (run by hand).

``python benchmarks/solvers.py [n_seeds]``

On the standardized diabetes data (442 x 10) and two-layer tanh networks of
width 2 and 3, every solver starts from the same standard initialization and
stops by the same rules (ftol = xtol = 1e-12, gtol = 1e-10). For each start
the table gives our Jacobian count over scipy's ``njev`` and whether the two
reached the same optimum (loss within 1e-6 relative):

* ``=`` the same optimum;
* ``+`` a lower loss than scipy (another basin);
* ``-`` a higher loss (another basin).

The loss has several local minima, and the large early steps of each method
decide the basin; only the ``=`` rows compare like with like. The summary
gives the median count ratio over those rows.
"""

from __future__ import annotations

import sys

import numpy as np
import scipy.optimize
from sklearn.datasets import load_diabetes
from threadpoolctl import threadpool_limits

from riemgn.dynamics.solvers import levenberg_marquardt
from riemgn.losses import SquaredLoss
from riemgn.networks import TwoLayerNetwork

TOLERANCES = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-10}
DAMPINGS = ("nielsen", "trust_region")


def diabetes():
    data = load_diabetes()
    X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    y = (data.target - data.target.mean()) / data.target.std()
    return X, y


def compare(X, y, width: int, seed: int) -> dict:
    network = TwoLayerNetwork(X.shape[1], width, activation="tanh")
    params0 = network.init_params(np.random.default_rng(seed), "standard")
    output_map = network.output_map(X)
    reference = scipy.optimize.least_squares(
        lambda theta: output_map.value(theta) - y,
        params0,
        jac=output_map.jacobian,
        method="trf",
        max_nfev=4000,
        **TOLERANCES,
    )
    h_scipy = 0.5 * float(reference.fun @ reference.fun)
    row = {}
    for damping in DAMPINGS:
        result = levenberg_marquardt(
            output_map,
            params0,
            SquaredLoss(y),
            damping=damping,
            max_iter=4000,
            **TOLERANCES,
        )
        relative = (result.loss - h_scipy) / h_scipy
        mark = "=" if abs(relative) <= 1e-6 else ("+" if relative < 0 else "-")
        row[damping] = (mark, result.n_jacobian_evals, reference.njev)
    return row


def main(n_seeds: int = 10) -> None:
    X, y = diabetes()
    ratios = {damping: [] for damping in DAMPINGS}
    print(f"{'width':>5} {'seed':>4}  " + "  ".join(f"{d:>22}" for d in DAMPINGS))
    for width in (2, 3):
        for seed in range(n_seeds):
            row = compare(X, y, width, seed)
            cells = []
            for damping in DAMPINGS:
                mark, ours, theirs = row[damping]
                cells.append(f"{mark} {ours:5d} / {theirs:5d} = {ours / theirs:4.2f}")
                if mark == "=":
                    ratios[damping].append(ours / theirs)
            print(f"{width:5d} {seed:4d}  " + "  ".join(f"{c:>22}" for c in cells))
    for damping, values in ratios.items():
        if values:
            print(
                f"{damping}: same optimum in {len(values)} of {2 * n_seeds} starts; "
                f"median Jacobian ratio ours/scipy {np.median(values):.2f} "
                f"(range {min(values):.2f}-{max(values):.2f})"
            )


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
