r"""Rows of the flows: the Gauss-Newton flow against the bound and against a hand-written flow.

* ``gn_flow``: the wall time of ``gauss_newton_flow`` over its Jacobian
  evaluations times the bound of one point (``jacobian`` + ``J.T @ J``);
* ``gn_flow_solve_ivp``: ``gauss_newton_flow`` over the flow a user would
  write by hand, ``scipy.integrate.solve_ivp`` on
  :math:`\theta' = -J^+(F(\theta) - y)` with ``numpy.linalg.lstsq``, same
  method (DOP853), tolerances and time span;
* ``rk4_flow``: the intrinsic RK4 flow over the GN flow at the same final
  output-space accuracy, measured by ``benchmarks/flows_rows.py``.
"""

from __future__ import annotations

import importlib

import numpy as np
import scipy.integrate

from benchmarks._harness import Row, Skip, Target, median_times, wall
from benchmarks._problems import two_layer
from benchmarks.rows_geometry import bound
from riemgn.flows import gauss_newton_flow

#: (n, d, m, t_end, repeats of the flow) of each size.
GN_FLOW = {
    "full": (4000, 32, 32, 5.0, 3),
    "quick": (4000, 32, 32, 0.5, 1),
    "check": (40, 4, 3, 0.5, 1),
}
#: (n, d, m, t_end, repeats); smaller: lstsq (an SVD) per evaluation is slow.
SOLVE_IVP = {
    "full": (2000, 16, 32, 2.0, 3),
    "quick": (1000, 16, 16, 1.0, 1),
    "check": (40, 4, 3, 0.5, 1),
}
RTOL, ATOL = 1e-10, 1e-12


def gn_flow(size: str) -> dict:
    n, d, m, t_end, repeats = GN_FLOW[size]
    problem = two_layer(n, d, m)
    runs, bounds, point = [], [], bound(problem)
    point()  # warm-up of the bound; the flow's first evaluations warm up itself
    for _ in range(repeats):
        # The bound is timed between the flows, so that both see the same load.
        runs.append(
            wall(
                lambda: gauss_newton_flow(
                    problem.output_map, problem.params0, problem.loss, (0.0, t_end)
                )
            )
        )
        bounds += [wall(point)[0] for _ in range(3)]
    seconds = float(np.median([t for t, _ in runs]))
    trajectory = runs[0][1]
    evaluations = trajectory.n_jacobian_evals
    per_point = {"bound": float(np.median(bounds))}
    return {
        "sizes": {**problem.sizes, "t_end": t_end},
        "repeats": repeats,
        "seconds": {"flow": seconds, "bound per point": per_point["bound"]},
        "jacobian_evaluations": evaluations,
        "status_of_flow": str(trajectory.status),
        "ratio": seconds / (evaluations * per_point["bound"]),
    }


def _by_hand(problem, t_end):
    F, y = problem.output_map, problem.y

    def velocity(_t, theta):
        return -np.linalg.lstsq(F.jacobian(theta), F.value(theta) - y, rcond=None)[0]

    return scipy.integrate.solve_ivp(
        velocity,
        (0.0, t_end),
        problem.params0,
        method="DOP853",
        rtol=RTOL,
        atol=ATOL,
    )


def gn_flow_solve_ivp(size: str) -> dict:
    n, d, m, t_end, repeats = SOLVE_IVP[size]
    problem = two_layer(n, d, m)
    results = {}

    def ours():
        results["ours"] = gauss_newton_flow(
            problem.output_map,
            problem.params0,
            problem.loss,
            (0.0, t_end),
            rtol=RTOL,
            atol=ATOL,
        )

    def theirs():
        results["theirs"] = _by_hand(problem, t_end)

    seconds = median_times(
        {"gauss_newton_flow": ours, "solve_ivp + lstsq": theirs}, repeats, warmup=0
    )
    final_ours = results["ours"].params[-1]
    final_theirs = results["theirs"].y[:, -1]
    difference = np.linalg.norm(final_ours - final_theirs) / np.linalg.norm(
        final_theirs
    )
    return {
        "sizes": {**problem.sizes, "t_end": t_end},
        "repeats": repeats,
        "seconds": seconds,
        "jacobian_evaluations": {
            "gauss_newton_flow": results["ours"].n_jacobian_evals,
            "solve_ivp": int(results["theirs"].nfev),
        },
        "final_params_relative_difference": float(difference),
        "ratio": seconds["gauss_newton_flow"] / seconds["solve_ivp + lstsq"],
    }


#: (n, d, width, t_end, repeats) of the RK4 row at each size.
RK4 = {
    "full": (4000, 32, 32, 2.0, 3),
    "quick": (1000, 16, 16, 1.0, 1),
    "check": (30, 3, 3, 0.5, 1),
}
#: The final output-space accuracy both flows reach in the RK4 row.
RK4_ACCURACY = 1e-6


def _flows_rows_measurement():
    """``intrinsic_against_gauss_newton`` of ``benchmarks/flows_rows.py``, if there."""
    try:
        module = importlib.import_module("benchmarks.flows_rows")
        return module.intrinsic_against_gauss_newton
    except (ImportError, AttributeError) as error:
        raise Skip(
            "not available: benchmarks/flows_rows.py has no "
            "intrinsic_against_gauss_newton",
            status="not available",
        ) from error


def rk4_flow(size: str) -> dict:
    measure = _flows_rows_measurement()
    n, d, width, t_end, repeats = RK4[size]
    result = measure(
        n, d, width, t_end=t_end, accuracy=RK4_ACCURACY, repeats=repeats, seed=0
    )
    return {
        "sizes": {
            "n": result["n"],
            "p": result["p"],
            "t_end": t_end,
            "accuracy": RK4_ACCURACY,
        },
        "repeats": repeats,
        "seconds": {"rk4": result["rk4_seconds"], "gn": result["gn_seconds"]},
        "details": {k: v for k, v in result.items() if k != "ratio"},
        "ratio": result["ratio"],
    }


ROWS = [
    Row(
        "gn_flow",
        "gauss_newton_flow / (Jacobian evaluations x (jacobian + J.T @ J))",
        gn_flow,
        Target("<=", 2.0),
    ),
    Row(
        "rk4_flow",
        "intrinsic RK4 flow / GN flow, same final output-space accuracy",
        rk4_flow,
        Target("<=", 2.0),
    ),
    Row(
        "gn_flow_solve_ivp",
        "gauss_newton_flow / solve_ivp(DOP853) on theta' = -lstsq(J, F - y)",
        gn_flow_solve_ivp,
        Target("<=", 1.0),
    ),
]
