r"""The claims' per-run measurements as sweep experiments (``c1`` ... ``c6``).

Each function runs one measurement of a claim of ``riemgn verify`` with the
claim's own code, at the claim's ``quick`` synthetic settings unless a
specification sets them, and returns one flat row of JSON scalars. The
claim's list-valued settings (its grid: the alphas, the conditions, the
steps) become one scalar axis of the sweep; its pass/fail criteria are not
parameters (a sweep measures, ``riemgn verify`` judges), and neither are
its settings that are ``None`` in the quick preset. The claim's seed is the
point's: ``entropy = (seed,)``.
"""

from __future__ import annotations

import importlib
import math

__all__: list[str] = []

_MODULES = {
    "C1": "c1_equivalence",
    "C2": "c2_conditioning",
    "C3": "c3_scaling",
    "C4": "c4_initialization",
    "C5": "c5_levenberg_marquardt",
    "C6": "c6_first_order",
}

#: The keys of a claim's preset that only its verdict or its figure reads,
#: or that a sweep replaces by its own axis.
_NOT_PARAMETERS = {
    "C1": (
        "roundoff_factor",
        "max_resolution",
        "min_decades",
        "order_tolerance",
        "floor_margin",
        "figure_scheme",
        "n_problems",
    ),
    "C2": ("seeds", "min_decades", "noise", "noisy_log10_condition"),
    "C3": ("n_problems", "curvature_tolerance", "movement_tolerance", "fit_alpha_min"),
    "C4": ("seeds",),
    "C5": ("seeds", "min_decades"),
    "C6": ("seeds",),
}


def _claim(claim_id: str):
    return importlib.import_module(f"riemgn.verify.{_MODULES[claim_id]}")


def _kind(value) -> type:
    if isinstance(value, bool):
        return bool
    return int if isinstance(value, int) else str if isinstance(value, str) else float


def claim_parameters(
    claim_id: str, own: dict, choices: dict | None = None, exclude=()
) -> dict:
    """``own`` (the sweep's axes), then the claim's quick scalar settings.

    ``choices`` gives the allowed values of some settings; the settings in
    ``exclude`` are not parameters (the measurement does not read them).
    The integer settings are counts (samples, neurons, draws, budgets):
    each must be at least 1.
    """
    from riemgn.sweeps.experiments import Parameter  # defined before it calls this

    parameters = dict(own)
    for name, value in _claim(claim_id).CLAIM.config("quick").items():
        if (
            name in parameters
            or name in _NOT_PARAMETERS[claim_id]
            or name in exclude
            or value is None
            or isinstance(value, (list, tuple, dict))
        ):
            continue
        kind = _kind(value)
        parameters[name] = Parameter(
            kind,
            value,
            name,
            (choices or {}).get(name, ()),
            minimum=1 if kind is int else None,  # every count: n, width, draws, ...
        )
    return parameters


def _config(claim_id: str, fields: dict, **lists):
    """The claim's typed ``Config``: the quick preset, ``fields`` and ``lists``."""
    module = _claim(claim_id)
    return module.Config(**{**module.CLAIM.config("quick"), **fields, **lists})


def _ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def run_c1(*, seed: int, input_condition: float, **fields) -> dict:
    """Claim C1's pointwise measurement on one manifold: the worst residuals."""
    from riemgn.verify import c1_equivalence as c1

    result = c1.pointwise_residuals(
        config=_config("C1", fields),
        input_condition=input_condition,
        data="synthetic",
        entropy=(seed,),
    )
    row = {"cond_G0": result.condition}
    for kind in ("residual", "ratio", "scale"):
        for loss in c1.LOSSES:
            row[f"{kind}_{loss}"] = getattr(result, kind)[loss]
    row["worst_ratio"] = max(row[f"ratio_{loss}"] for loss in c1.LOSSES)
    return row


def run_c1_trajectory(*, seed: int, scheme: str, step: float, **fields) -> dict:
    """Claim C1's trajectory measurement for one scheme and one step."""
    from riemgn.verify import c1_equivalence as c1

    if step > fields["t_end"]:
        raise ValueError(
            f"step = {step!r} must be at most t_end = {fields['t_end']!r}: the "
            "intrinsic flow takes at least one step"
        )
    result = c1.trajectory_errors(
        config=_config("C1", fields, schemes=[scheme], steps=[step]),
        data="synthetic",
        entropy=(seed,),
    )
    if not result.schemes:  # no draw stayed on M up to t_end
        error, status = math.nan, "no_reference"
    else:
        error, status = result.schemes[0].errors[0], result.schemes[0].statuses[0]
    return {
        "cond_G0": result.condition,
        "error": error,
        "floor": result.floor,
        "error_over_floor": error / result.floor if result.floor > 0 else None,
        "status": status,
        "reference_status": result.reference_status,
        "redrawn": len(result.redrawn),
    }


def run_c2(*, seed: int, log10_condition: float, noise: float, **fields) -> dict:
    """Claim C2's run at one cond(G0): the Gauss-Newton and gradient-flow rates."""
    from riemgn.verify import c2_conditioning as c2

    run = c2.run_condition(
        config=_config("C2", fields),
        entropy=(seed,),
        target=10.0**log10_condition,
        noise=noise,
    )
    return {
        "cond_G0": run.condition,
        "lambda_min": run.lambda_min,
        "gn_rate": run.gn.rate,
        "gd_rate": run.gd.rate,
        "gd_rate_over_lambda_min": run.gd.rate / run.lambda_min,
        "gn_reliable": run.gn.reliable,
        "gd_reliable": run.gd.reliable,
        "gn_status": run.gn.status,
        "gd_status": run.gd.status,
        "h_star_consistent": run.h_star_consistent,
        "draws": run.draws,
    }


def run_c3(*, seed: int, alpha: float, **fields) -> dict:
    """Claim C3's run at one alpha: the curvature and the Gauss-Newton flow."""
    from riemgn.verify import c3_scaling as c3

    run = c3.scaling_run(alpha=alpha, config=_config("C3", fields), entropy=(seed,))
    return {
        "curvature": run.curvature,
        "movement": run.movement,
        "status": run.status,
        "t_final": run.t_final,
        "final_loss": run.final_loss,
        "initial_loss": run.initial_loss,
        "initial_output_norm": run.initial_output_norm,
    }


def run_c4(*, seed: int, scheme: str, alpha: float, **fields) -> dict:
    """Claim C4's run of one initialization at one alpha: rank, start and flow."""
    from riemgn.verify import c4_initialization as c4

    config = _config("C4", fields, alphas=[alpha])
    (run,) = c4.run_scheme(scheme=scheme, config=config, entropy=(seed,)).runs
    return {
        "rank": run.rank,
        "sigma_ratio": run.sigma_ratio,
        "output_norm": run.output_norm,
        "initial_residual": run.initial_residual,
        "gn_refused": run.gn_refused,
        "flow": run.flow,
        "damping": run.damping,
        "status": run.status,
        "rate": run.rate,
        "reliable": run.reliable,
        "band_low": run.band_low,
        "band_high": run.band_high,
        "h_star_consistent": run.h_star_consistent,
        "final_excess": run.final_excess,
        "travel": run.travel,
    }


def run_c5(*, seed: int, log10_lambda_min: float, **fields) -> dict:
    """Claim C5's run at one lambda_min(K0): the three flows' rates."""
    from riemgn.verify import c5_levenberg_marquardt as c5

    config = _config("C5", fields, log10_lambda_mins=[log10_lambda_min], seeds=1)
    run = c5.run_lambda_min(
        config=config, log10_lambda_min=log10_lambda_min, entropy=(seed,)
    )
    return {
        "lambda_min": run.lambda_min,
        "lambda_max": run.lambda_max,
        "lm_rate": run.lm.rate,
        "lm_ratio": run.lm.rate / run.predicted,
        "lm_status": run.lm.status,
        "foil_rate": run.foil.rate,
        "foil_ratio": run.foil.rate / run.foil_predicted,
        "gf_rate": run.gf.rate,
        "gf_rate_over_lambda_min": run.gf.rate / run.lambda_min,
        "gf_status": run.gf.status,
    }


def run_c6(*, seed: int, log10_condition: float, **fields) -> dict:
    """Claim C6's run at one cond(G0): GN's and GD's iterations to the target."""
    from riemgn.verify import c6_first_order as c6

    config = _config("C6", fields, log10_conditions=[log10_condition], seeds=1)
    run = c6.run_condition(
        config=config, entropy=(seed,), condition_target=10.0**log10_condition
    )
    gn, gd = run.gn.iterations, run.gd.iterations
    return {
        "cond_G0": float(run.condition),
        "gn_iterations": gn,
        "gd_iterations": gd,
        "gd_over_gn": _ratio(gd, None if gn is None else max(gn, 1)),
        "gn_status": run.gn.status,
        "gd_status": run.gd.status,
        "draws": int(run.draws),
    }
