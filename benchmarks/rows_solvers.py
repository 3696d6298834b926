"""Rows of the discrete solvers against the least-squares solvers a user would pick.

Every pair solves the same problem from the same start with the same
stopping tolerances, and the row checks that both reach the same final loss
(relative difference at most :data:`SAME_LOSS`; otherwise the row is an
error, not a ratio):

* ``gn_trf``, ``gn_lm``: ``riemgn.solvers.gauss_newton`` over
  ``scipy.optimize.least_squares`` with ``method="trf"`` and ``"lm"``
  (MINPACK), both with the analytic Jacobian;
* ``gn_optimistix``, ``lm_optimistix``: ``gauss_newton`` and
  ``levenberg_marquardt`` over optimistix's ``GaussNewton`` and
  ``LevenbergMarquardt`` on JAX (CPU, float64), compile time excluded (the
  jitted solve runs once before it is timed).
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from benchmarks import _peers
from benchmarks._harness import Row, Target, median_times
from benchmarks._problems import two_layer
from riemgn.solvers import gauss_newton, levenberg_marquardt

#: (n, d, m, repeats) of each size.
SIZES = {"full": (4000, 32, 32, 3), "quick": (2000, 16, 16, 1), "check": (40, 4, 3, 1)}
TOLERANCES = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-10}
#: The largest relative difference of the final losses that counts as the same.
SAME_LOSS = 1e-6


def _loss(residual) -> float:
    residual = np.asarray(residual)
    return 0.5 * float(residual @ residual)


def _same_loss(losses: dict) -> float:
    ours, theirs = losses.values()
    difference = abs(ours - theirs) / max(abs(ours), abs(theirs))
    if not difference <= SAME_LOSS:
        raise ArithmeticError(
            f"the final losses differ by {difference:.1e} relative ({losses}): "
            "not the same problem solved"
        )
    return difference


def _pair(problem, repeats, ours, theirs, names):
    results = {}

    def run(name, fun):
        def timed():
            results[name] = fun()

        return timed

    sides = {names[0]: run(names[0], ours), names[1]: run(names[1], theirs)}
    # No warm-up run: the solves are long, and the JAX one is compiled first.
    seconds = median_times(sides, repeats, warmup=0)
    return seconds, results


def _scipy(method: str):
    def row(size: str) -> dict:
        n, d, m, repeats = SIZES[size]
        problem = two_layer(n, d, m)
        F, y = problem.output_map, problem.y

        def theirs():
            return scipy.optimize.least_squares(
                lambda theta: F.value(theta) - y,
                problem.params0,
                jac=F.jacobian,
                method=method,
                **TOLERANCES,
            )

        def ours():
            return gauss_newton(F, problem.params0, problem.loss, **TOLERANCES)

        names = ("gauss_newton", f"least_squares[{method}]")
        seconds, results = _pair(problem, repeats, ours, theirs, names)
        losses = {
            names[0]: float(results[names[0]].loss),
            names[1]: _loss(results[names[1]].fun),
        }
        return {
            "sizes": problem.sizes,
            "repeats": repeats,
            "seconds": seconds,
            "final_loss": losses,
            "final_loss_relative_difference": _same_loss(losses),
            "jacobian_evaluations": {
                names[0]: results[names[0]].n_jacobian_evals,
                names[1]: int(results[names[1]].njev or results[names[1]].nfev),
            },
            "ratio": seconds[names[0]] / seconds[names[1]],
        }

    return row


def _optimistix(kind: str):
    def row(size: str) -> dict:
        n, d, m, repeats = SIZES[size]
        optx = _peers.optimistix()
        problem = two_layer(n, d, m)
        f, X, theta0 = _peers.jax_output(problem)
        import jax.numpy as jnp

        y = jnp.asarray(problem.y)

        def residual(theta, args):
            X, y = args
            return f(theta, X) - y

        peer_solver = getattr(optx, kind)(rtol=1e-12, atol=1e-12)

        def theirs():
            solution = optx.least_squares(
                residual, peer_solver, theta0, args=(X, y), max_steps=200, throw=False
            )
            solution.value.block_until_ready()
            return solution

        ours_solver = gauss_newton if kind == "GaussNewton" else levenberg_marquardt

        def ours():
            return ours_solver(
                problem.output_map, problem.params0, problem.loss, **TOLERANCES
            )

        names = (ours_solver.__name__, f"optimistix.{kind}")
        theirs()  # compiles the jitted solve
        seconds, results = _pair(problem, repeats, ours, theirs, names)
        final = np.asarray(results[names[1]].value)
        losses = {
            names[0]: float(results[names[0]].loss),
            names[1]: _loss(problem.output_map.value(final) - problem.y),
        }
        return {
            "sizes": problem.sizes,
            "repeats": repeats,
            "seconds": seconds,
            "final_loss": losses,
            "final_loss_relative_difference": _same_loss(losses),
            "steps": {
                names[0]: results[names[0]].n_iter,
                names[1]: int(results[names[1]].stats["num_steps"]),
            },
            "ratio": seconds[names[0]] / seconds[names[1]],
        }

    return row


ROWS = [
    Row(
        "gn_trf",
        'gauss_newton / least_squares(method="trf", jac=analytic), same loss',
        _scipy("trf"),
        Target("<=", 0.3),
    ),
    Row(
        "gn_lm",
        'gauss_newton / least_squares(method="lm", jac=analytic), same loss',
        _scipy("lm"),
        None,
        note="report only: MINPACK's QR-based LM does the same O(np^2) work per "
        "step as one GN step, so the ratio measures overheads, not the method",
    ),
    Row(
        "gn_optimistix",
        "gauss_newton / optimistix GaussNewton (JAX CPU, compiled), same loss",
        _optimistix("GaussNewton"),
        Target("<=", 1.0),
    ),
    Row(
        "lm_optimistix",
        "levenberg_marquardt / optimistix LevenbergMarquardt (JAX CPU), same loss",
        _optimistix("LevenbergMarquardt"),
        None,
        note="report only, as the issue asks",
    ),
]
