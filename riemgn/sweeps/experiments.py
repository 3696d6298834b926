r"""The measurements a sweep can run: registered experiments with typed parameters.

An :class:`Experiment` is a function of keyword parameters and an integer
``seed`` that returns a flat ``dict`` of JSON numbers, strings, booleans
and ``None``: one row of the sweep's table. Its ``parameters`` declare each
keyword's type, default and allowed values, so that a sweep specification
is checked in full before anything runs
(:func:`riemgn.sweeps.load_spec`).

The inputs fully determine the result: every random number comes from
``numpy.random.default_rng(seed)``, and the sweep runs every point with one
BLAS thread, so a point gives the same row serially and in a worker.

Registered (:data:`EXPERIMENTS`):

``flow``
    A teacher-student problem (:func:`riemgn.data.teacher_student`) and one
    flow on it from :math:`\theta_0` to ``t_end``: the fitted exponential
    rate of the excess risk :math:`h(u_t) - h^*`, the final relative
    excess, the travel :math:`\|\theta_T - \theta_0\|` and
    :math:`\operatorname{cond}(G_0)`.
``solver``
    The same problem and one iterative solver to a relative excess
    ``target``: the iterations it took (``None`` if it did not reach it).
``c5``
    The per-run measurement of claim C5
    (``riemgn.verify.c5_levenberg_marquardt.run_lambda_min``) at one target
    ``log10_lambda_min``, with the claim's quick settings as defaults: the
    rates of the kernel-tied and the constant-damping LM flows and of the
    gradient flow, over their predictions.
``c6``
    The per-run measurement of claim C6
    (``riemgn.verify.c6_first_order.run_condition``) at one target
    ``log10_condition``, with the claim's quick settings as defaults:
    Gauss-Newton's and gradient descent's iterations to the target and
    their ratio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EXPERIMENTS", "Experiment", "Parameter"]


@dataclass(frozen=True)
class Parameter:
    """One keyword of an experiment: its type, default and allowed values.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``; an integer is
    accepted where a float is expected, a boolean never for a number.
    ``choices``, when given, lists the allowed values.

    Parameters
    ----------
    kind : type
        ``int``, ``float``, ``str`` or ``bool``.
    default : object
        The value when a specification does not set it.
    doc : str
        What it is, in a few words.
    choices : tuple
        The allowed values; empty for any value of ``kind``.

    Examples
    --------
    >>> Parameter(float, 1.0).accepts(2)
    True
    >>> Parameter(int, 1).accepts(True)
    False
    """

    kind: type
    default: Any
    doc: str = ""
    choices: tuple = ()

    def accepts(self, value) -> bool:
        """Whether ``value`` has this parameter's type (and is a choice, if any).

        Parameters
        ----------
        value : object
            A value from a specification.

        Returns
        -------
        bool
            True if the experiment can take it.

        Examples
        --------
        >>> Parameter(str, "tanh", choices=("tanh", "erf")).accepts("relu")
        False
        """
        if isinstance(value, bool) and self.kind is not bool:
            return False
        if self.kind is float:
            typed = isinstance(value, (int, float)) and math.isfinite(value)
        else:
            typed = isinstance(value, self.kind)
        return typed and (not self.choices or value in self.choices)


@dataclass(frozen=True)
class Experiment:
    """A registered measurement: ``function(seed=..., **parameters) -> dict``.

    Parameters
    ----------
    name : str
        Its key in :data:`EXPERIMENTS` and in a specification.
    function : callable
        ``function(seed=int, **config) -> dict`` of JSON scalars; importable
        at module level (it runs in worker processes).
    parameters : mapping of str to Parameter
        Its keywords, in order.
    description : str
        One line on what it measures.
    outputs : tuple of str
        The keys of its result.

    Examples
    --------
    >>> experiment = EXPERIMENTS["flow"]
    >>> experiment.name, experiment.parameters["flow"].default
    ('flow', 'gauss_newton')
    >>> sorted(experiment.config({"t_end": 1.0}))[:3]
    ['activation', 'alpha', 'd']
    """

    name: str
    function: Callable[..., dict]
    parameters: Mapping[str, Parameter]
    description: str = ""
    outputs: tuple[str, ...] = field(default=())

    def config(self, values: Mapping[str, Any]) -> dict:
        """The defaults with ``values`` over them: the full configuration of a point.

        Parameters
        ----------
        values : mapping
            Parameter values, already checked.

        Returns
        -------
        dict
            Every parameter, in declaration order.

        Examples
        --------
        >>> EXPERIMENTS["solver"].config({"solver": "gradient_descent"})["solver"]
        'gradient_descent'
        """
        return {
            name: float(values[name])
            if name in values and parameter.kind is float
            else values.get(name, parameter.default)
            for name, parameter in self.parameters.items()
        }


_PROBLEM = {
    "n": Parameter(int, 40, "samples"),
    "d": Parameter(int, 2, "input dimension"),
    "width": Parameter(int, 2, "hidden neurons (p = width * d)"),
    "alpha": Parameter(float, 1.0, "the network's scaling factor"),
    "activation": Parameter(
        str, "tanh", "the activation", ("tanh", "sigmoid", "softplus", "erf")
    ),
    "init": Parameter(
        str,
        "standard",
        "the initialization scheme",
        ("standard", "symmetric", "centered"),
    ),
    "input_condition": Parameter(float, 1.0, "cond(X) of the inputs"),
    "distance": Parameter(float, 0.1, "the teacher's distance from theta_0"),
    "noise": Parameter(float, 0.0, "the label noise"),
}


def _problem(config: Mapping[str, Any], seed: int):
    """The teacher-student problem of a point, its loss and h*."""
    from riemgn.data import teacher_student
    from riemgn.dynamics.solvers import optimal_in_class_risk
    from riemgn.losses import SquaredLoss

    problem = teacher_student(
        config["n"],
        config["d"],
        config["width"],
        cond=config["input_condition"],
        noise=config["noise"],
        rng=np.random.default_rng(seed),
        alpha=config["alpha"],
        activation=config["activation"],
        init=config["init"],
        distance=config["distance"],
    )
    loss = SquaredLoss(problem.y)
    h_star = optimal_in_class_risk(problem.output_map, problem.params0, loss).risk
    return problem, loss, h_star


def _gram_condition(problem) -> float:
    from riemgn.verify._common import gram_condition

    return float(gram_condition(problem.output_map, problem.params0))


def run_flow(*, seed: int, **config) -> dict:
    """One flow on a teacher-student problem: its rate, excess and travel."""
    from riemgn.dynamics.flows import (
        gauss_newton_flow,
        gradient_flow,
        levenberg_marquardt_flow,
    )
    from riemgn.theory import fit_exponential_rate

    problem, loss, h_star = _problem(config, seed)
    F, params0 = problem.output_map, problem.params0
    span = (0.0, config["t_end"])
    t_eval = np.linspace(0.0, config["t_end"], 201)[1:]
    options = {"t_eval": t_eval, "rtol": config["rtol"]}
    if config["flow"] == "gauss_newton":
        trajectory = gauss_newton_flow(F, params0, loss, span, **options)
    elif config["flow"] == "gradient":
        trajectory = gradient_flow(F, params0, loss, span, **options)
    else:
        trajectory = levenberg_marquardt_flow(
            F, params0, loss, span, damping=config["damping"], **options
        )
    risks = np.array([loss.value(u) for u in trajectory.outputs])
    initial = loss.value(F.value(params0)) - h_star
    try:
        fit = fit_exponential_rate(trajectory.times, risks - h_star)
        rate = float(fit.rate)
    except ValueError:  # no window to fit: the excess did not fall through it
        rate = None
    return {
        "status": trajectory.status.value,
        "cond_G0": _gram_condition(problem),
        "h_star": float(h_star),
        "rate": rate,
        "final_relative_excess": float((risks[-1] - h_star) / initial),
        "travel": float(np.linalg.norm(trajectory.params[-1] - params0)),
        "n_value_evals": int(trajectory.n_value_evals),
    }


def run_solver(*, seed: int, **config) -> dict:
    """One iterative solver to a relative excess ``target``: its iterations."""
    from riemgn.dynamics.solvers import (
        gauss_newton,
        gradient_descent,
        levenberg_marquardt,
    )

    problem, loss, h_star = _problem(config, seed)
    F, params0 = problem.output_map, problem.params0
    initial = loss.value(F.value(params0)) - h_star
    target = config["target"]
    options = {
        "max_iter": config["max_iter"],
        "gtol": 0.0,
        "ftol": 0.0,
        "xtol": 0.0,
        "callback": lambda info: info.loss - h_star <= target * initial,
    }
    if config["solver"] == "gauss_newton":
        result = gauss_newton(F, params0, loss, **options)
    elif config["solver"] == "levenberg_marquardt":
        result = levenberg_marquardt(F, params0, loss, **options)
    else:
        result = gradient_descent(F, params0, loss, **options)
    reached = result.status.value == "callback_stop"
    return {
        "status": result.status.value,
        "cond_G0": _gram_condition(problem),
        "h_star": float(h_star),
        "iterations": int(result.n_iter) if reached else None,
        "final_relative_excess": float((result.loss - h_star) / initial),
    }


def run_c6(*, seed: int, log10_condition: float, **fields) -> dict:
    """Claim C6's measurement at one cond(G0): GN's and GD's iterations to the target."""
    from riemgn.verify import c6_first_order as c6

    config = c6.Config(log10_conditions=[log10_condition], seeds=1, **fields)
    run = c6.run_condition(
        config=config, entropy=(seed,), condition_target=10.0**log10_condition
    )
    gn, gd = run.gn.iterations, run.gd.iterations
    return {
        "cond_G0": float(run.condition),
        "gn_iterations": gn,
        "gd_iterations": gd,
        "gd_over_gn": gd / max(gn, 1) if gn is not None and gd is not None else None,
        "gn_status": run.gn.status,
        "gd_status": run.gd.status,
        "draws": int(run.draws),
    }


def run_c5(*, seed: int, log10_lambda_min: float, **fields) -> dict:
    """Claim C5's measurement at one lambda_min(K0): the three flows' rates."""
    from riemgn.verify import c5_levenberg_marquardt as c5

    quick = c5.PRESETS["quick"]
    config = c5.Config(
        **{**quick, **fields, "log10_lambda_mins": [log10_lambda_min], "seeds": 1}
    )
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


def _c5_parameters() -> dict:
    from riemgn.verify.c5_levenberg_marquardt import DAMPINGS, PRESETS

    parameters = {
        "log10_lambda_min": Parameter(float, -4.0, "log10 of the target lambda_min(K0)")
    }
    choices = {
        "damping": DAMPINGS,
        "gf_method": ("BDF", "Radau", "ROS34PW2"),
        "activation": _PROBLEM["activation"].choices,
    }
    for name, value in PRESETS["quick"].items():
        if isinstance(value, list) or name in ("seeds", "min_decades"):
            continue  # the sweep's own axes, or the claim's criterion
        kind = type(value) if isinstance(value, int | str) else float
        parameters[name] = Parameter(kind, value, name, choices.get(name, ()))
    return parameters


def _c6_parameters() -> dict:
    from riemgn.verify.c6_first_order import METHODS, PRESETS

    quick = PRESETS["quick"]
    kinds = {
        "second_order": str,
        "gd_budget": int,
        "gn_budget": int,
        "n": int,
        "d": int,
        "width": int,
    }
    parameters = {
        "log10_condition": Parameter(float, 2.0, "log10 of the target cond(G0)")
    }
    for name, value in quick.items():
        if name in ("log10_conditions", "seeds"):
            continue
        choices = METHODS if name == "second_order" else ()
        parameters[name] = Parameter(kinds.get(name, float), value, name, choices)
    return parameters


#: The registered experiments, by name.
EXPERIMENTS: dict[str, Experiment] = {
    "flow": Experiment(
        "flow",
        run_flow,
        {
            **_PROBLEM,
            "flow": Parameter(
                str,
                "gauss_newton",
                "the flow",
                ("gauss_newton", "gradient", "levenberg_marquardt"),
            ),
            "damping": Parameter(float, 1e-3, "the constant LM damping"),
            "t_end": Parameter(float, 10.0, "the horizon"),
            "rtol": Parameter(float, 1e-8, "the integrator's relative tolerance"),
        },
        "one flow on a teacher-student problem",
        ("status", "cond_G0", "h_star", "rate", "final_relative_excess", "travel"),
    ),
    "solver": Experiment(
        "solver",
        run_solver,
        {
            **_PROBLEM,
            "solver": Parameter(
                str,
                "gauss_newton",
                "the solver",
                ("gauss_newton", "levenberg_marquardt", "gradient_descent"),
            ),
            "target": Parameter(float, 1e-8, "the relative excess to reach"),
            "max_iter": Parameter(int, 1000, "the iteration budget"),
        },
        "one iterative solver to a relative excess",
        ("status", "cond_G0", "h_star", "iterations", "final_relative_excess"),
    ),
    "c5": Experiment(
        "c5",
        run_c5,
        _c5_parameters(),
        "claim C5's run: LM (kernel-tied, constant) and gradient flow at one "
        "lambda_min(K0)",
        ("lambda_min", "lm_ratio", "foil_ratio", "gf_rate_over_lambda_min"),
    ),
    "c6": Experiment(
        "c6",
        run_c6,
        _c6_parameters(),
        "claim C6's run: Gauss-Newton and gradient descent at one cond(G0)",
        ("cond_G0", "gn_iterations", "gd_iterations", "gd_over_gn"),
    ),
}
