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
``c1``, ``c1_trajectory``, ``c2`` ... ``c6``
    Each claim's own per-run measurement at one value of its grid
    (``riemgn.sweeps._claims``), with the claim's quick synthetic settings
    as the defaults: C1's worst velocity residual on one manifold
    (``input_condition``) and its deviation of one intrinsic ``scheme`` at
    one ``step`` from the Gauss-Newton flow; C2's Gauss-Newton and
    gradient-flow rates at one ``log10_condition``; C3's curvature and
    movement at one ``alpha``; C4's rank, initial output, rate and travel
    of one initialization ``scheme`` at one ``alpha``; C5's three flows'
    rates over their predictions at one ``log10_lambda_min``; C6's
    iterations of Gauss-Newton and gradient descent at one
    ``log10_condition``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riemgn.dynamics.flows.intrinsic import SCHEMES as _INTRINSIC_SCHEMES
from riemgn.sweeps import _claims
from riemgn.verify.c2_conditioning import FLOWS as _C2_FLOWS
from riemgn.verify.c2_conditioning import TEACHERS as _C2_TEACHERS
from riemgn.verify.c4_initialization import SCHEMES as _INITIALIZATIONS
from riemgn.verify.c5_levenberg_marquardt import DAMPINGS as _C5_DAMPINGS
from riemgn.verify.c6_first_order import METHODS as _C6_METHODS

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
    minimum : float, optional
        The smallest allowed number (``None``: no bound).
    exclusive : bool, default False
        The number must be strictly greater than ``minimum``.

    Examples
    --------
    >>> Parameter(float, 1.0).accepts(2)
    True
    >>> Parameter(int, 1).accepts(True)
    False
    >>> Parameter(float, 0.1, minimum=0.0, exclusive=True).accepts(0.0)
    False
    """

    kind: type
    default: Any
    doc: str = ""
    choices: tuple = ()
    minimum: float | None = None
    exclusive: bool = False

    def requirement(self) -> str:
        """What a value must be, in words, for an error message.

        Returns
        -------
        str
            For example ``"a finite float > 0"`` or ``"one of 'tanh', 'erf'"``.

        Examples
        --------
        >>> Parameter(int, 5, minimum=1).requirement()
        'an int >= 1'
        """
        if self.choices:
            return "one of " + ", ".join(map(repr, self.choices))
        text = "a finite float" if self.kind is float else f"a {self.kind.__name__}"
        if self.kind is int:
            text = "an int"
        if self.minimum is not None:
            text += f" {'>' if self.exclusive else '>='} {self.minimum:g}"
        return text

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
        if not typed or (self.choices and value not in self.choices):
            return False
        if self.minimum is None:
            return True
        return value > self.minimum if self.exclusive else value >= self.minimum


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
    plotted : tuple of str
        The results that ``riemgn sweep report`` draws against each x
        quantity (and whose log-log slopes it gives).
    measured_x : tuple of str
        The results that are x quantities of the report's figures, besides
        the numeric grid axes (for example the measured ``cond_G0``).

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
    plotted: tuple[str, ...] = field(default=())
    measured_x: tuple[str, ...] = field(default=())

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


_ACTIVATION = {"activation": _PROBLEM["activation"].choices}
_ALPHA = Parameter(float, 1.0, "the scaling factor", minimum=0.0, exclusive=True)
#: The settings of claim C1 that only its pointwise or only its trajectory
#: measurement reads.
_C1_TRAJECTORY_ONLY = (
    "t_end",
    "reference_rtol",
    "floor_ratio",
    "radius",
    "max_draws",
    "trajectory_n",
    "trajectory_d",
    "distance",
    "noise",
)
_C1_POINTWISE_ONLY = ("n_points", "n", "d")
_C1_TRAJECTORY = {
    "scheme": Parameter(str, "rk4", "the intrinsic scheme", tuple(_INTRINSIC_SCHEMES)),
    "step": Parameter(
        float, 0.05, "the intrinsic scheme's fixed step", minimum=0.0, exclusive=True
    ),
}

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
        (
            "status",
            "cond_G0",
            "h_star",
            "rate",
            "final_relative_excess",
            "travel",
            "n_value_evals",
        ),
        plotted=("rate", "travel", "final_relative_excess"),
        measured_x=("cond_G0",),
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
        plotted=("iterations", "final_relative_excess"),
        measured_x=("cond_G0",),
    ),
    "c1": Experiment(
        "c1",
        _claims.run_c1,
        _claims.claim_parameters(
            "C1",
            {
                "input_condition": Parameter(
                    float, 1.0, "cond(X) of the inputs", minimum=1.0
                )
            },
            exclude=_C1_TRAJECTORY_ONLY,
        ),
        "claim C1's pointwise check: the worst GN/Riemannian velocity "
        "residual at random points of one manifold",
        (
            "cond_G0",
            *(
                f"{kind}_{loss}"
                for kind in ("residual", "ratio", "scale")
                for loss in ("squared", "logistic")
            ),
            "worst_ratio",
        ),
        plotted=("residual_squared", "residual_logistic", "worst_ratio"),
        measured_x=("cond_G0",),
    ),
    "c1_trajectory": Experiment(
        "c1_trajectory",
        _claims.run_c1_trajectory,
        _claims.claim_parameters("C1", _C1_TRAJECTORY, exclude=_C1_POINTWISE_ONLY),
        "claim C1's trajectory check: the deviation of one intrinsic scheme at "
        "one step from the GN flow",
        (
            "cond_G0",
            "error",
            "floor",
            "error_over_floor",
            "status",
            "reference_status",
            "redrawn",
        ),
        plotted=("error",),
    ),
    "c2": Experiment(
        "c2",
        _claims.run_c2,
        _claims.claim_parameters(
            "C2",
            {
                "log10_condition": Parameter(
                    float, 2.0, "log10 of the target cond(G0)"
                ),
                "noise": Parameter(float, 0.0, "the label noise", minimum=0.0),
            },
            {"teacher": _C2_TEACHERS, "gn_flow": _C2_FLOWS, "gd_flow": _C2_FLOWS},
        ),
        "claim C2's run: the Gauss-Newton and gradient-flow rates at one cond(G0)",
        (
            "cond_G0",
            "lambda_min",
            "gn_rate",
            "gd_rate",
            "gd_rate_over_lambda_min",
            "gn_reliable",
            "gd_reliable",
            "gn_status",
            "gd_status",
            "h_star_consistent",
            "draws",
        ),
        plotted=("gn_rate", "gd_rate", "gd_rate_over_lambda_min"),
        measured_x=("cond_G0",),
    ),
    "c3": Experiment(
        "c3",
        _claims.run_c3,
        _claims.claim_parameters(
            "C3",
            {"alpha": _ALPHA},
            {**_ACTIVATION, "init": _PROBLEM["init"].choices},
        ),
        "claim C3's run: the curvature at the start and the GN flow's movement "
        "at one alpha",
        (
            "curvature",
            "movement",
            "status",
            "t_final",
            "final_loss",
            "initial_loss",
            "initial_output_norm",
        ),
        plotted=("curvature", "movement", "final_loss"),
    ),
    "c4": Experiment(
        "c4",
        _claims.run_c4,
        _claims.claim_parameters(
            "C4",
            {
                "scheme": Parameter(
                    str, "centered", "the initialization", _INITIALIZATIONS
                ),
                "alpha": _ALPHA,
            },
            _ACTIVATION,
        ),
        "claim C4's run: one initialization at one alpha (rank, initial output, "
        "rate and travel of its flow)",
        (
            "rank",
            "sigma_ratio",
            "output_norm",
            "initial_residual",
            "gn_refused",
            "flow",
            "damping",
            "status",
            "rate",
            "reliable",
            "band_low",
            "band_high",
            "h_star_consistent",
            "final_excess",
            "travel",
        ),
        plotted=("rate", "travel", "output_norm"),
    ),
    "c5": Experiment(
        "c5",
        _claims.run_c5,
        _claims.claim_parameters(
            "C5",
            {
                "log10_lambda_min": Parameter(
                    float, -4.0, "log10 of the target lambda_min(K0)"
                )
            },
            {
                **_ACTIVATION,
                "damping": _C5_DAMPINGS,
                "gf_method": ("BDF", "Radau", "ROS34PW2"),
            },
        ),
        "claim C5's run: LM (kernel-tied, constant) and gradient flow at one "
        "lambda_min(K0)",
        (
            "lambda_min",
            "lambda_max",
            "lm_rate",
            "lm_ratio",
            "lm_status",
            "foil_rate",
            "foil_ratio",
            "gf_rate",
            "gf_rate_over_lambda_min",
            "gf_status",
        ),
        plotted=("lm_ratio", "foil_ratio", "gf_rate_over_lambda_min"),
        measured_x=("lambda_min",),
    ),
    "c6": Experiment(
        "c6",
        _claims.run_c6,
        _claims.claim_parameters(
            "C6",
            {"log10_condition": Parameter(float, 2.0, "log10 of the target cond(G0)")},
            {"second_order": _C6_METHODS},
        ),
        "claim C6's run: Gauss-Newton and gradient descent at one cond(G0)",
        (
            "cond_G0",
            "gn_iterations",
            "gd_iterations",
            "gd_over_gn",
            "gn_status",
            "gd_status",
            "draws",
        ),
        plotted=("gn_iterations", "gd_iterations", "gd_over_gn"),
        measured_x=("cond_G0",),
    ),
}
