"""Bad input at every public entry point, table-driven.

Each row of ``ENTRIES`` names a public callable, a good call, and the kind of
each argument. Every argument is then replaced, one at a time, by each bad
value of its kind (``None``, text, booleans, NaN, inf, a wrong shape, a
complex value, a foreign object, an out-of-range number), and the call must
raise ``ValueError`` or ``TypeError`` whose message names the argument:
never a NaN, a silent coercion, an ``AttributeError`` from deep inside or a
bare numpy error. ``test_every_public_callable_is_in_the_table`` keeps the
table complete as the API grows. The command line gets the same treatment
through ``riemgn.cli.main``, and a hypothesis property checks that finite
input, however large or small, gives a finite result or a clear error.
"""

from __future__ import annotations

import inspect
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from public_api import public_objects

import riemgn
from manifolds import (
    AutogradOutputMap,
    JaxOutputMap,
    ManifoldError,
    OutputManifold,
    check_manifold,
    jacobian_rank,
    linalg,
)
from manifolds.checks import fit_loglog_slope
from manifolds.geodesics import geodesic_acceleration, shoot_geodesic, solve_geodesic
from riemgn import flows, solvers, theory
from riemgn.damping import (
    Constant,
    DampingState,
    KernelTied,
    ResidualProportional,
    as_schedule,
    evaluate_damping,
)
from riemgn.data import conditioned_inputs, near_duplicate_inputs, teacher_student
from riemgn.equivalence import compare_trajectories, velocity_residual
from riemgn.flows import Trajectory
from riemgn.losses import LogisticLoss, PseudoHuberLoss, SquaredLoss
from riemgn.networks import MLP, TwoLayerNetwork

# --------------------------------------------------------------------------
# The problem every good call uses.


@dataclass
class Context:
    network: TwoLayerNetwork
    X: np.ndarray
    F: Any
    params0: np.ndarray
    M: OutputManifold
    u0: np.ndarray
    xi: np.ndarray
    nu: np.ndarray
    vector: np.ndarray
    y: np.ndarray
    loss: SquaredLoss
    state: DampingState
    trajectory: Trajectory
    path: pathlib.Path
    extras: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> Context:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((12, 2))
    network = TwoLayerNetwork(2, 2, alpha=1.0, activation="tanh")
    params0 = network.init_params(rng, "standard")
    F = network.output_map(X)
    M = OutputManifold(F, params0, rng=np.random.default_rng(8))
    u0 = M.point(params0)
    vector = rng.standard_normal(12)
    xi = M.projection(u0, vector)
    y = u0 + 0.1 * rng.standard_normal(12)
    loss = SquaredLoss(y)
    K = F.jacobian(params0) @ F.jacobian(params0).T
    state = DampingState(
        params=params0,
        outputs=u0,
        gradient=loss.gradient(u0),
        loss=loss.value(u0),
        kernel_eigenvalues=np.linalg.eigvalsh(K),
    )
    trajectory = flows.gauss_newton_flow(F, params0, loss, (0.0, 0.5))
    path = tmp_path_factory.mktemp("trajectory") / "run.npz"
    trajectory.save(path)
    return Context(
        network,
        X,
        F,
        params0,
        M,
        u0,
        xi,
        vector - xi,
        vector,
        y,
        loss,
        state,
        trajectory,
        path,
    )


# --------------------------------------------------------------------------
# Kinds of argument and their bad values.


def _text(good):
    return np.asarray(good).astype(str)


def _bools(good):
    return np.ones(np.shape(good), dtype=bool)


def _with(value):
    def put(good):
        bad = np.array(good, dtype=float)
        bad.flat[0] = value
        return bad

    return put


def _longer(good):
    good = np.asarray(good, dtype=float)
    return np.concatenate([good, good[:1]], axis=0)


ARRAY = {
    "none": lambda good: None,
    "text": lambda good: "abc",
    "numeric-text": _text,
    "bools": _bools,
    "nan": _with(np.nan),
    "inf": _with(np.inf),
    "complex": lambda good: np.asarray(good) + 1j,
    "object": lambda good: object(),
}
SHAPED = {**ARRAY, "shape": _longer}
REAL = {
    "text": lambda good: "1.0",
    "bool": lambda good: True,
    "nan": lambda good: float("nan"),
    "inf": lambda good: float("inf"),
    "complex": lambda good: 1j,
    "list": lambda good: [good],
}
INT = {
    "text": lambda good: "3",
    "bool": lambda good: True,
    "float": lambda good: 2.5,
    "none": lambda good: None,
}
OBJECT = {
    "text": lambda good: "x",
    "int": lambda good: 3,
    "none": lambda good: None,
}
CHOICE = {
    "unknown": lambda good: "no-such-choice",
    "int": lambda good: 3,
    "none": lambda good: None,
}
RNG = {
    "seed": lambda good: 3,
    "legacy": lambda good: np.random.RandomState(0),
}


def positive(*extra):
    """A real that must be > 0 (plus further bad values)."""
    kinds = {**REAL, "negative": lambda good: -1.0, "zero": lambda good: 0.0}
    for k, value in enumerate(extra):
        kinds[f"range{k}"] = lambda good, value=value: value
    return kinds


def count(*extra):
    kinds = {**INT, "zero": lambda good: 0, "negative": lambda good: -2}
    for k, value in enumerate(extra):
        kinds[f"range{k}"] = lambda good, value=value: value
    return kinds


def optional(kinds):
    return {k: v for k, v in kinds.items() if k != "none"}


@dataclass(frozen=True)
class Entry:
    """A public callable, a good call of it, and the kind of each argument."""

    name: str
    call: Callable[..., Any]
    good: Callable[[Context], dict]
    kinds: dict[str, dict]
    covers: tuple[str, ...] = ()  # further public names this row exercises


def _map_args(ctx):
    return {"params": ctx.params0}


def _jax_map():
    """A small JaxOutputMap for the rows of its methods (p = n = 3)."""
    return JaxOutputMap(lambda params: params * 1.0, np.ones(3))


def _time_pair(good):
    return good


T_SPAN = {
    "text": lambda good: ("0", "1"),
    "bool": lambda good: (0.0, True),
    "none": lambda good: None,
    "nan": lambda good: (0.0, float("nan")),
    "inf": lambda good: (0.0, float("inf")),
    "backwards": lambda good: (1.0, 0.0),
    "single": lambda good: (1.0,),
    "object": lambda good: object(),
}

ENTRIES = [
    # manifolds -----------------------------------------------------------
    Entry(
        "manifolds.OutputManifold",
        lambda ctx, **kw: OutputManifold(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "reference_params": ctx.params0,
            "radius": 10.0,
            "metric_weight": 1.0,
            "rank_rtol": 1e-10,
            "safeguard": True,
            "max_condition": 1e8,
            "rng": np.random.default_rng(0),
            "solver": "auto",
        },
        {
            "output_map": OBJECT,
            "reference_params": SHAPED,
            "radius": positive(),
            "metric_weight": positive(),
            "rank_rtol": positive(2.0),
            "safeguard": {**OBJECT, "array": lambda good: np.ones(2, dtype=bool)},
            # 1e10 x rank_rtol 1e-10 = 1: at the rank tolerance; 1.5 is below
            # cond J(theta0).
            "max_condition": positive(1e10, 1.5),
            "rng": RNG,
            "solver": CHOICE,
        },
    ),
    Entry(
        "manifolds.OutputManifold.step_cut",
        lambda ctx, **kw: ctx.M.step_cut(**kw),
        lambda ctx: {"point": ctx.u0},
        {"point": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.point",
        lambda ctx, **kw: ctx.M.point(**kw),
        _map_args,
        {"params": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.lift",
        lambda ctx, **kw: ctx.M.lift(**kw),
        lambda ctx: {"point": ctx.u0},
        {"point": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.projection",
        lambda ctx, **kw: ctx.M.projection(**kw),
        lambda ctx: {"point": ctx.u0, "vector": ctx.vector},
        {"point": SHAPED, "vector": SHAPED},
        covers=("manifolds.OutputManifold.to_tangent_space",),
    ),
    Entry(
        "manifolds.OutputManifold.norm",
        lambda ctx, **kw: ctx.M.norm(**kw),
        lambda ctx: {"point": ctx.u0, "tangent_vector": ctx.xi},
        {"point": SHAPED, "tangent_vector": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.inner_product",
        lambda ctx, **kw: ctx.M.inner_product(**kw),
        lambda ctx: {
            "point": ctx.u0,
            "tangent_vector_a": ctx.xi,
            "tangent_vector_b": ctx.xi,
        },
        {"point": SHAPED, "tangent_vector_a": SHAPED, "tangent_vector_b": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.retraction",
        lambda ctx, **kw: ctx.M.retraction(**kw),
        lambda ctx: {"point": ctx.u0, "tangent_vector": 1e-3 * ctx.xi},
        {"point": SHAPED, "tangent_vector": SHAPED},
        covers=("manifolds.OutputManifold.retract",),
    ),
    Entry(
        "manifolds.OutputManifold.weingarten",
        lambda ctx, **kw: ctx.M.weingarten(**kw),
        lambda ctx: {
            "point": ctx.u0,
            "tangent_vector": ctx.xi,
            "normal_vector": ctx.nu,
        },
        {"point": SHAPED, "tangent_vector": SHAPED, "normal_vector": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.euclidean_to_riemannian_gradient",
        lambda ctx, **kw: ctx.M.euclidean_to_riemannian_gradient(**kw),
        lambda ctx: {"point": ctx.u0, "euclidean_gradient": ctx.vector},
        {"point": SHAPED, "euclidean_gradient": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.euclidean_to_riemannian_hessian",
        lambda ctx, **kw: ctx.M.euclidean_to_riemannian_hessian(**kw),
        lambda ctx: {
            "point": ctx.u0,
            "euclidean_gradient": ctx.vector,
            "euclidean_hessian": ctx.vector,
            "tangent_vector": ctx.xi,
        },
        {
            "point": SHAPED,
            "euclidean_gradient": SHAPED,
            "euclidean_hessian": SHAPED,
            "tangent_vector": SHAPED,
        },
    ),
    Entry(
        "manifolds.OutputManifold.exp",
        lambda ctx, **kw: ctx.M.exp(**kw),
        lambda ctx: {"point": ctx.u0, "tangent_vector": 1e-2 * ctx.xi},
        {"point": SHAPED, "tangent_vector": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.log",
        lambda ctx, **kw: ctx.M.log(**kw),
        lambda ctx: {"point_a": ctx.u0, "point_b": ctx.u0},
        {"point_a": SHAPED, "point_b": SHAPED},
        covers=("manifolds.OutputManifold.dist",),
    ),
    Entry(
        "manifolds.OutputManifold.transport",
        lambda ctx, **kw: ctx.M.transport(**kw),
        lambda ctx: {"point_a": ctx.u0, "point_b": ctx.u0, "tangent_vector_a": ctx.xi},
        {"point_a": SHAPED, "point_b": SHAPED, "tangent_vector_a": SHAPED},
    ),
    Entry(
        "manifolds.OutputManifold.random_tangent_vector",
        lambda ctx, **kw: ctx.M.random_tangent_vector(**kw),
        lambda ctx: {"point": ctx.u0, "rng": np.random.default_rng(0)},
        {"point": SHAPED, "rng": RNG},
    ),
    Entry(
        "manifolds.OutputManifold.zero_vector",
        lambda ctx, **kw: ctx.M.zero_vector(**kw),
        lambda ctx: {"point": ctx.u0},
        {"point": SHAPED},
    ),
    Entry(
        "manifolds.jacobian_rank",
        lambda ctx, **kw: jacobian_rank(**kw),
        lambda ctx: {"output_map": ctx.F, "params": ctx.params0, "rank_rtol": 1e-10},
        {"output_map": OBJECT, "params": SHAPED, "rank_rtol": positive(2.0, 1.0)},
    ),
    Entry(
        "manifolds.check_manifold",
        lambda ctx, **kw: check_manifold(**kw),
        lambda ctx: {"manifold": ctx.M, "point": ctx.u0, "n_samples": 1},
        {"manifold": optional(OBJECT), "point": optional(SHAPED), "n_samples": count()},
    ),
    Entry(
        "manifolds.checks.fit_loglog_slope",
        lambda ctx, **kw: fit_loglog_slope(**kw),
        lambda ctx: {
            "steps": np.logspace(-1, -6, 12),
            "errors": np.logspace(-2, -12, 12),
        },
        {"steps": ARRAY, "errors": SHAPED, "min_points": count()},
    ),
    Entry(
        "manifolds.geodesics.geodesic_acceleration",
        lambda ctx, **kw: geodesic_acceleration(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params": ctx.params0,
            "velocity": ctx.params0,
        },
        {"output_map": OBJECT, "params": SHAPED, "velocity": SHAPED},
    ),
    Entry(
        "manifolds.geodesics.solve_geodesic",
        lambda ctx, **kw: solve_geodesic(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params": ctx.params0,
            "velocity": 1e-2 * ctx.params0,
            "t_end": 1.0,
            "solver": "dense",
        },
        {
            "output_map": OBJECT,
            "params": SHAPED,
            "velocity": SHAPED,
            "t_end": REAL,
            "solver": CHOICE,
        },
    ),
    Entry(
        "manifolds.geodesics.shoot_geodesic",
        lambda ctx, **kw: shoot_geodesic(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params_a": ctx.params0,
            "params_b": ctx.params0,
            "solver": "dense",
        },
        {
            "output_map": OBJECT,
            "params_a": SHAPED,
            "params_b": SHAPED,
            "solver": CHOICE,
        },
    ),
    Entry(
        "manifolds.AutogradOutputMap",
        lambda ctx, **kw: AutogradOutputMap(**kw),
        lambda ctx: {"fun": lambda params: params * 1.0, "n_params": 3},
        {"fun": OBJECT, "n_params": count()},
    ),
    Entry(
        "manifolds.JaxOutputMap",
        lambda ctx, **kw: JaxOutputMap(**kw),
        lambda ctx: {"fun": lambda params: params * 1.0, "params": np.ones(3)},
        {"fun": OBJECT, "params": ARRAY},
    ),
    Entry(
        "manifolds.JaxOutputMap.jvp_batch",
        lambda ctx, **kw: _jax_map().jvp_batch(**kw),
        lambda ctx: {"params": np.ones(3), "vectors": np.ones((3, 2))},
        {"params": SHAPED, "vectors": SHAPED},
        covers=("manifolds.JaxOutputMap.vjp_batch",),
    ),
    # networks --------------------------------------------------------------
    Entry(
        "riemgn.networks.TwoLayerNetwork",
        lambda ctx, **kw: TwoLayerNetwork(**kw),
        lambda ctx: {"input_dim": 2, "width": 2, "alpha": 1.0, "activation": "tanh"},
        {
            "input_dim": count(),
            "width": count(),
            "alpha": positive(),
            "activation": OBJECT,
        },
        covers=("riemgn.networks.activations.get_activation",),
    ),
    Entry(
        "riemgn.networks.TwoLayerNetwork.output_map",
        lambda ctx, **kw: ctx.network.output_map(**kw),
        lambda ctx: {"X": ctx.X},
        {"X": ARRAY},
    ),
    Entry(
        "riemgn.networks.TwoLayerNetwork.init_params",
        lambda ctx, **kw: ctx.network.init_params(**kw),
        lambda ctx: {"rng": np.random.default_rng(0), "scheme": "standard"},
        {"rng": RNG, "scheme": OBJECT},
    ),
    Entry(
        "riemgn.networks.TwoLayerOutputMap.value",
        lambda ctx, **kw: ctx.F.value(**kw),
        _map_args,
        {"params": SHAPED},
        covers=("riemgn.networks.TwoLayerOutputMap.jacobian",),
    ),
    Entry(
        "riemgn.networks.TwoLayerOutputMap.describe_rank_loss",
        lambda ctx, **kw: ctx.F.describe_rank_loss(**kw),
        lambda ctx: {
            "params": ctx.params0,
            "J": ctx.F.jacobian(ctx.params0),
            "tolerance": 1e-14,
        },
        {"params": SHAPED, "J": SHAPED, "tolerance": positive()},
    ),
    Entry(
        "riemgn.networks.TwoLayerOutputMap.jvp",
        lambda ctx, **kw: ctx.F.jvp(**kw),
        lambda ctx: {"params": ctx.params0, "vector": ctx.params0},
        {"params": SHAPED, "vector": SHAPED},
    ),
    Entry(
        "riemgn.networks.TwoLayerOutputMap.vjp",
        lambda ctx, **kw: ctx.F.vjp(**kw),
        lambda ctx: {"params": ctx.params0, "cotangent": ctx.vector},
        {"params": SHAPED, "cotangent": SHAPED},
    ),
    Entry(
        "riemgn.networks.TwoLayerOutputMap.weighted_hessian_vector",
        lambda ctx, **kw: ctx.F.weighted_hessian_vector(**kw),
        lambda ctx: {
            "params": ctx.params0,
            "weights": ctx.vector,
            "vector": ctx.params0,
        },
        {"params": SHAPED, "weights": SHAPED, "vector": SHAPED},
        covers=("riemgn.networks.TwoLayerOutputMap.second_derivative",),
    ),
    Entry(
        "riemgn.networks.MLP",
        lambda ctx, **kw: MLP(**kw),
        lambda ctx: {"layer_sizes": (2, 3, 1), "alpha": 1.0},
        {"layer_sizes": OBJECT, "alpha": positive()},
    ),
    # losses ----------------------------------------------------------------
    *[
        Entry(
            f"riemgn.losses.{cls.__name__}",
            lambda ctx, cls=cls, **kw: cls(**kw),
            lambda ctx, cls=cls: {
                "y": np.sign(ctx.y) if cls is LogisticLoss else ctx.y
            },
            {"y": ARRAY},
        )
        for cls in (SquaredLoss, LogisticLoss, PseudoHuberLoss)
    ],
    Entry(
        "riemgn.losses.SquaredLoss.value",
        lambda ctx, **kw: ctx.loss.value(**kw),
        lambda ctx: {"u": ctx.u0},
        {"u": SHAPED},
        covers=("riemgn.losses.SquaredLoss.gradient",),
    ),
    Entry(
        "riemgn.losses.SquaredLoss.hessian_vector",
        lambda ctx, **kw: ctx.loss.hessian_vector(**kw),
        lambda ctx: {"u": ctx.u0, "v": ctx.vector},
        {"u": SHAPED, "v": SHAPED},
    ),
    Entry(
        "riemgn.losses.PseudoHuberLoss.delta",
        lambda ctx, **kw: PseudoHuberLoss(ctx.y, **kw),
        lambda ctx: {"delta": 1.0},
        {"delta": positive()},
    ),
    # damping ---------------------------------------------------------------
    Entry(
        "riemgn.damping.Constant",
        lambda ctx, **kw: Constant(**kw),
        lambda ctx: {"damping": 1.0},
        {"damping": {**REAL, "negative": lambda good: -1.0}},
    ),
    Entry(
        "riemgn.damping.KernelTied",
        lambda ctx, **kw: KernelTied(**kw),
        lambda ctx: {"epsilon": 1.0},
        {"epsilon": positive()},
    ),
    Entry(
        "riemgn.damping.ResidualProportional",
        lambda ctx, **kw: ResidualProportional(**kw),
        lambda ctx: {"mu": 1.0, "power": 1.0},
        {"mu": positive(), "power": positive()},
    ),
    *[
        Entry(
            f"riemgn.damping.{cls.__name__}.__call__",
            lambda ctx, cls=cls, **kw: cls(1.0)(**kw),
            lambda ctx: {"t": 0.0, "state": ctx.state},
            {"state": OBJECT},
        )
        for cls in (Constant, KernelTied, ResidualProportional)
    ],
    Entry(
        "riemgn.damping.evaluate_damping",
        lambda ctx, **kw: evaluate_damping(**kw),
        lambda ctx: {"schedule": Constant(1.0), "t": 0.0, "state": ctx.state},
        {"schedule": OBJECT, "t": REAL, "state": OBJECT},
        covers=("riemgn.damping.DampingState",),
    ),
    Entry(
        "riemgn.damping.as_schedule",
        lambda ctx, **kw: as_schedule(**kw),
        lambda ctx: {"damping": Constant(1.0)},
        {"damping": {k: v for k, v in OBJECT.items() if k != "int"}},
    ),
    # flows -----------------------------------------------------------------
    Entry(
        "riemgn.flows.gauss_newton_flow",
        lambda ctx, **kw: flows.gauss_newton_flow(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params0": ctx.params0,
            "loss": ctx.loss,
            "t_span": (0.0, 0.1),
            "rtol": 1e-8,
            "atol": 1e-10,
            "metric_weight": 1.0,
        },
        {
            "output_map": OBJECT,
            "params0": SHAPED,
            "loss": OBJECT,
            "t_span": T_SPAN,
            "rtol": positive(),
            "atol": positive(),
            "metric_weight": positive(),
        },
    ),
    Entry(
        "riemgn.flows.levenberg_marquardt_flow",
        lambda ctx, **kw: flows.levenberg_marquardt_flow(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params0": ctx.params0,
            "loss": ctx.loss,
            "t_span": (0.0, 0.1),
            "damping": Constant(1.0),
            "t_eval": np.linspace(0.0, 0.1, 3),
        },
        {
            "output_map": OBJECT,
            "params0": SHAPED,
            "loss": OBJECT,
            "t_span": T_SPAN,
            "damping": {"text": lambda good: "x", "none": lambda good: None},
            "t_eval": optional(ARRAY),
        },
    ),
    Entry(
        "riemgn.flows.gradient_flow",
        lambda ctx, **kw: flows.gradient_flow(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params0": ctx.params0,
            "loss": ctx.loss,
            "t_span": (0.0, 0.1),
        },
        {"output_map": OBJECT, "params0": SHAPED, "loss": OBJECT, "t_span": T_SPAN},
    ),
    Entry(
        "riemgn.flows.riemannian_gradient_flow",
        lambda ctx, **kw: flows.riemannian_gradient_flow(**kw),
        lambda ctx: {
            "manifold": ctx.M,
            "loss": ctx.loss,
            "u0": ctx.u0,
            "t_span": (0.0, 0.1),
            "step": 0.05,
            "max_steps": 100,
        },
        {
            "manifold": OBJECT,
            "loss": OBJECT,
            "u0": SHAPED,
            "t_span": T_SPAN,
            "step": positive(),
            "max_steps": count(),
        },
    ),
    Entry(
        "riemgn.flows.Trajectory.load",
        lambda ctx, **kw: Trajectory.load(**kw),
        lambda ctx: {"path": ctx.path},
        {"path": {"int": lambda good: 3.5, "none": lambda good: None}},
        covers=("riemgn.flows.Trajectory.save",),
    ),
    # solvers ---------------------------------------------------------------
    Entry(
        "riemgn.solvers.gauss_newton",
        lambda ctx, **kw: solvers.gauss_newton(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params0": ctx.params0,
            "loss": ctx.loss,
            "max_iter": 3,
            "step_size": 1.0,
        },
        {
            "output_map": OBJECT,
            "params0": SHAPED,
            "loss": OBJECT,
            "max_iter": count(),
            "step_size": positive(),
        },
    ),
    Entry(
        "riemgn.solvers.levenberg_marquardt",
        lambda ctx, **kw: solvers.levenberg_marquardt(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params0": ctx.params0,
            "loss": ctx.loss,
            "max_iter": 3,
        },
        {"output_map": OBJECT, "params0": SHAPED, "loss": OBJECT, "max_iter": count()},
    ),
    Entry(
        "riemgn.solvers.riemannian_gradient_descent",
        lambda ctx, **kw: solvers.riemannian_gradient_descent(**kw),
        lambda ctx: {
            "manifold": ctx.M,
            "loss": ctx.loss,
            "u0": ctx.u0,
            "max_iterations": 2,
        },
        {
            "manifold": OBJECT,
            "loss": OBJECT,
            "u0": optional(SHAPED),
            "max_iterations": optional(count()),
        },
    ),
    Entry(
        "riemgn.solvers.gradient_descent",
        lambda ctx, **kw: solvers.gradient_descent(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params0": ctx.params0,
            "loss": ctx.loss,
            "max_iter": 2,
        },
        {
            "output_map": OBJECT,
            "params0": SHAPED,
            "loss": OBJECT,
            "max_iter": optional(count()),
        },
    ),
    Entry(
        "riemgn.solvers.riemannian_optimize",
        lambda ctx, **kw: solvers.riemannian_optimize(**kw),
        lambda ctx: {
            "manifold": ctx.M,
            "loss": ctx.loss,
            "u0": ctx.u0,
            "max_iterations": 2,
        },
        {
            "manifold": OBJECT,
            "loss": OBJECT,
            "u0": optional(SHAPED),
            "max_iterations": optional(count()),
        },
    ),
    # the linear-algebra core -------------------------------------------------
    Entry(
        "manifolds.linalg.factorize",
        lambda ctx, **kw: linalg.factorize(**kw),
        lambda ctx: {
            "J": ctx.F.jacobian(ctx.params0),
            "rank_rtol": 1e-10,
            "method": "semi_normal",
        },
        {
            "J": ARRAY,
            "rank_rtol": optional(positive(1.0, 2.0)),
            "method": CHOICE,
        },
    ),
    Entry(
        "manifolds.linalg.rank_info",
        lambda ctx, **kw: linalg.rank_info(**kw),
        lambda ctx: {"J": ctx.F.jacobian(ctx.params0), "rank_rtol": 1e-10},
        {"J": ARRAY, "rank_rtol": optional(positive(1.0, 2.0))},
    ),
    # the matrix-free backend (helper K) ---------------------------------------
    Entry(
        "manifolds.linalg.JacobianOperator",
        lambda ctx, **kw: linalg.JacobianOperator(**kw),
        lambda ctx: {
            "output_map": ctx.F,
            "params": ctx.params0,
            "row_scale": np.ones(12),
        },
        {"output_map": OBJECT, "params": SHAPED, "row_scale": optional(SHAPED)},
    ),
    Entry(
        "manifolds.linalg.KrylovFactorization",
        lambda ctx, **kw: linalg.factorize(
            linalg.JacobianOperator(ctx.F, ctx.params0), **kw
        ),
        lambda ctx: {
            "tol": 1e-10,
            "maxiter": 50,
            "rng": np.random.default_rng(0),
            "sketch_size": 8,
        },
        {
            "tol": positive(1.0, 2.0),
            "maxiter": optional(count()),
            "rng": RNG,
            "sketch_size": optional(count(2)),
        },
    ),
    Entry(
        "manifolds.linalg.KrylovKernelFactorization",
        lambda ctx, **kw: linalg.kernel_factorization(
            linalg.JacobianOperator(ctx.F, ctx.params0), **kw
        ),
        lambda ctx: {"tol": 1e-10, "maxiter": 50, "rank": 3},
        {
            "tol": positive(1.0, 2.0),
            "maxiter": optional(count()),
            "rank": optional(count(13)),
        },
    ),
    Entry(
        "manifolds.linalg.ReferenceKernel",
        lambda ctx, **kw: linalg.ReferenceKernel(
            linalg.JacobianOperator(ctx.F, ctx.params0), **kw
        ),
        lambda ctx: {"tol": 1e-10, "maxiter": 50},
        {"tol": positive(1.0, 2.0), "maxiter": optional(count())},
    ),
    Entry(
        "manifolds.linalg.resolve_solver",
        lambda ctx, **kw: linalg.resolve_solver(**kw),
        lambda ctx: {"solver": "auto", "n": 10, "p": 2},
        {"solver": CHOICE},
    ),
    # equivalence and theory ------------------------------------------------
    Entry(
        "riemgn.equivalence.velocity_residual",
        lambda ctx, **kw: velocity_residual(**kw),
        lambda ctx: {"manifold": ctx.M, "loss": ctx.loss, "u": ctx.u0},
        {"manifold": OBJECT, "loss": OBJECT, "u": SHAPED},
    ),
    Entry(
        "riemgn.equivalence.compare_trajectories",
        lambda ctx, **kw: compare_trajectories(**kw),
        lambda ctx: {"trajectory_a": ctx.trajectory, "trajectory_b": ctx.trajectory},
        {"trajectory_a": OBJECT, "trajectory_b": OBJECT},
    ),
    Entry(
        "riemgn.theory.fit_exponential_rate",
        lambda ctx, **kw: theory.fit_exponential_rate(**kw),
        lambda ctx: {
            "times": np.linspace(0.0, 5.0, 20),
            "excess": np.exp(-2.0 * np.linspace(0.0, 5.0, 20)),
        },
        {"times": ARRAY, "excess": SHAPED},
    ),
    *[
        Entry(
            f"riemgn.theory.{function.__name__}",
            lambda ctx, function=function, **kw: function(**kw),
            lambda ctx: {"output_map": ctx.F, "params": ctx.params0},
            {"output_map": OBJECT, "params": SHAPED},
        )
        for function in (
            theory.gram_matrix,
            theory.neural_tangent_kernel,
            theory.spectrum_summary,
        )
    ],
    Entry(
        "riemgn.solvers.optimal_in_class_risk",
        lambda ctx, **kw: solvers.optimal_in_class_risk(**kw),
        lambda ctx: {"output_map": ctx.F, "params0": ctx.params0, "loss": ctx.loss},
        {"output_map": OBJECT, "params0": SHAPED, "loss": OBJECT},
    ),
    Entry(
        "riemgn.theory.pl_constant",
        lambda ctx, **kw: theory.pl_constant(**kw),
        lambda ctx: {"manifold": ctx.M, "loss": ctx.loss, "u": ctx.u0, "h_star": 0.0},
        {"manifold": OBJECT, "loss": OBJECT, "u": SHAPED, "h_star": REAL},
    ),
    Entry(
        "riemgn.theory.second_fundamental_form_norm",
        lambda ctx, **kw: theory.second_fundamental_form_norm(**kw),
        lambda ctx: {"manifold": ctx.M, "u": ctx.u0, "n_starts": 1},
        {"manifold": OBJECT, "u": SHAPED, "n_starts": count()},
    ),
    # data ------------------------------------------------------------------
    Entry(
        "riemgn.data.conditioned_inputs",
        lambda ctx, **kw: conditioned_inputs(**kw),
        lambda ctx: {"n": 10, "d": 2, "cond": 10.0, "rng": np.random.default_rng(0)},
        {"n": count(), "d": count(), "cond": positive(0.5), "rng": RNG},
    ),
    Entry(
        "riemgn.data.near_duplicate_inputs",
        lambda ctx, **kw: near_duplicate_inputs(**kw),
        lambda ctx: {"n": 10, "d": 2, "eta": 0.1, "rng": np.random.default_rng(0)},
        {"n": count(), "d": count(), "eta": positive(), "rng": RNG},
    ),
    Entry(
        "riemgn.data.teacher_student",
        lambda ctx, **kw: teacher_student(**kw),
        lambda ctx: {
            "n": 10,
            "d": 2,
            "width": 2,
            "rng": np.random.default_rng(0),
            "alpha": 1.0,
        },
        {"n": count(), "d": count(), "width": count(), "rng": RNG, "alpha": positive()},
    ),
]


def _cases():
    for entry in ENTRIES:
        for argument, kinds in entry.kinds.items():
            for kind in kinds:
                yield pytest.param(
                    entry, argument, kind, id=f"{entry.name}-{argument}-{kind}"
                )


def test_the_good_calls_work(ctx):
    """Every row's good call succeeds: the bad calls fail for the bad argument."""
    for entry in ENTRIES:
        entry.call(ctx, **entry.good(ctx))


@pytest.mark.parametrize(("entry", "argument", "kind"), list(_cases()))
def test_bad_argument_is_named(ctx, entry, argument, kind):
    arguments = entry.good(ctx)
    bad = entry.kinds[argument][kind](arguments.get(argument))
    arguments[argument] = bad
    with pytest.raises((ValueError, TypeError)) as caught:
        entry.call(ctx, **arguments)
    message = str(caught.value)
    assert argument in message, (
        f"{entry.name}({argument}={kind}) raised {type(caught.value).__name__} "
        f"without naming {argument!r}: {message}"
    )


# Public names that take no input a caller can get wrong, or that other rows
# (``covers``) or dedicated tests exercise. Each needs its reason.
EXEMPT = {
    # exceptions, enums and frozen result records built by the library itself
    "manifolds.exceptions.GeodesicError": "exception",
    "manifolds.exceptions.ManifoldError": "exception",
    "manifolds.exceptions.NotAnImmersionError": "exception",
    "manifolds.exceptions.NotOnManifoldError": "exception",
    "manifolds.exceptions.OutsideBallError": "exception",
    "riemgn.data.MissingExtraError": "exception",
    "riemgn.dynamics.solvers._results.SolverError": "exception",
    "riemgn.verify._outdir.OutputDirectoryError": "exception",
    "riemgn.dynamics.flows.trajectory.TrajectoryFormatError": "exception",
    "manifolds.checks.ManifoldCheckResult": "result record",
    "manifolds.checks.TaylorCheck": "result record",
    "manifolds.linalg.RankInfo": "result record",
    "manifolds.linalg.KrylovInfo": "result record",
    "manifolds._krylov.KrylovInfo": "result record",
    "manifolds.exceptions.KrylovConvergenceError": "exception",
    "manifolds.linalg.gram_factor": "kernel on checked arrays",
    "manifolds.geodesics.GeodesicSolution": "result record",
    "riemgn.dynamics.solvers._results.SolverResult": "result record",
    "riemgn.dynamics.solvers._results.SolverHistory": "result record",
    "riemgn.dynamics.solvers._results.IterationInfo": "result record",
    "riemgn.theory.rates.ExponentialFit": "result record",
    "riemgn.dynamics.solvers.optimum.InClassOptimum": "result record",
    "riemgn.theory.curvature.SecondFundamentalFormNorm": "result record",
    "riemgn.theory.spectra.SpectrumSummary": "result record",
    "riemgn.dynamics.equivalence.TrajectoryComparison": "result record",
    "riemgn.data.TeacherStudent": "result record",
    "riemgn.networks.activations.Activation": "result record",
    "riemgn.verify.report._model.ClaimResult": "result record",
    "manifolds.checks.CheckVerdict": "result record",
    "riemgn.verify.report._model.Report": "result record",
    "riemgn.dynamics.flows.trajectory.FlowStatus": "enum",
    "riemgn.dynamics.solvers._results.SolverStatus": "enum",
    "riemgn.verify._core.Status": "enum",
    "manifolds.output_map.OutputMap": "protocol",
    # exercised through other rows or their own tests
    "riemgn.dynamics.flows.trajectory.Trajectory": "test_trajectory_files_are_validated",
    "riemgn.networks.two_layer.TwoLayerOutputMap": "TwoLayerNetwork.output_map row",
    "riemgn.networks.activations.get_activation": "TwoLayerNetwork row",
    "riemgn.dynamics.damping.DampingState": "evaluate_damping row",
    "riemgn.cli.main": "test_cli_bad_option_is_named",
    "riemgn.cli.main_entry": "test_cli_bad_option_is_named",
    "riemgn.verify.runner.run": "test_verify_api_bad_argument_is_named",
    "riemgn.verify._outdir.prepare_output": "test_verify_api_bad_argument_is_named",
    "riemgn.verify.report._writing.write_report": "tests/riemgn/test_verify_outdir.py",
    "riemgn.verify._core.Check": "test_verify_api_bad_argument_is_named",
    "riemgn.verify._core.Claim": "tests/riemgn/test_verify_cli.py",
    "riemgn.verify._core.Task": "tests/riemgn/test_verify_cli.py",
    "riemgn.verify._core.Verdict": "tests/riemgn/test_verify_cli.py",
    "riemgn.verify.runner.Progress": "tests/riemgn/test_verify_cli.py",
    "riemgn.verify.report._figures.figure_problems": "tests/riemgn/test_verify_cli.py",
    "riemgn.verify.report._json.schema": "takes no argument",
    "riemgn.verify.report._model.environment": "takes no argument",
    "riemgn.data.diabetes": "takes no argument",
    "riemgn.data.breast_cancer": "takes no argument",
    "riemgn.data.digits": "takes no argument",
    # the linear-algebra core: the kernels behind factorize (which has a row);
    # the library calls them on arrays it has checked
    "manifolds.linalg.JacobianFactorization": "built by the factorize row",
    "manifolds.linalg.KernelFactorization": "built by kernel_factorization",
    "manifolds.linalg.RankDeficiencyError": "exception",
    "manifolds.linalg.SquareSystem": "kernel on checked arrays",
    "manifolds.linalg.default_rank_rtol": "kernel on checked arrays",
    "manifolds.linalg.gauss_newton_direction": "kernel on checked arrays",
    "manifolds.linalg.kernel_factorization": "kernel on checked arrays",
    "manifolds._reference.kernel_eigen": "kernel on checked arrays",
    "manifolds._reference.smallest_kernel_eigenpair": "kernel on checked arrays",
    "manifolds._reference.ReferencedKernelFactorization": "built by ReferenceKernel.at",
    "manifolds.linalg.least_squares_solution": "kernel on checked arrays",
    "manifolds.linalg.orthonormal_basis": "kernel on checked arrays",
    "manifolds.linalg.singular_values": "kernel on checked arrays",
    "manifolds.linalg.singular_value_decomposition": "kernel on checked arrays",
    "manifolds.linalg.stacked_lm_direction": "kernel on checked arrays",
    # the argument checks themselves: rejecting bad input is what they do
    "manifolds.validation.NonFiniteError": "exception",
    "manifolds.validation.all_finite": "argument check (its doctests)",
    "manifolds.validation.as_finite_array": "argument check (its doctests)",
    "manifolds.validation.as_finite_vector": "argument check (its doctests)",
    "manifolds.validation.check_generator": "argument check (its doctests)",
    "manifolds.validation.check_output_map": "argument check (its doctests)",
    "manifolds.validation.check_positive_int": "argument check (its doctests)",
    "manifolds.validation.check_positive_real": "argument check (its doctests)",
    "manifolds.validation.check_rank_rtol": "argument check (its doctests)",
    "manifolds.validation.checked_jacobian": "argument check (its doctests)",
    "manifolds.validation.describe": "argument check (its doctests)",
    "manifolds.validation.max_abs": "overflow-safe helper (its doctests)",
    "manifolds.validation.scale_back": "overflow-safe helper (its doctests)",
    "manifolds.validation.scaled_product": "overflow-safe helper (its doctests)",
    # sweeps: the specification is checked as a whole, each bad key named with
    # its file (tests/riemgn/test_sweeps.py::test_an_invalid_spec_names_the_key)
    "riemgn.sweeps.spec.SpecError": "exception",
    "riemgn.sweeps.spec.Point": "result record",
    "riemgn.sweeps.runner.SweepResult": "result record",
    "riemgn.sweeps.spec.SweepSpec": "built by load_spec",
    "riemgn.sweeps.experiments.Experiment": "registry record",
    "riemgn.sweeps.experiments.Parameter": "registry record",
    "riemgn.sweeps.spec.load_spec": "tests/riemgn/test_sweeps.py",
    "riemgn.sweeps.spec.parse_spec": "tests/riemgn/test_sweeps.py",
    "riemgn.sweeps.spec.point_key": "kernel on checked values",
    "riemgn.sweeps.runner.run_point": "tests/riemgn/test_sweeps.py",
    "riemgn.sweeps.runner.run_sweep": "tests/riemgn/test_sweeps.py",
    "riemgn.sweeps.report.sweep_report": "test_a_report_needs_a_sweep",
}


def _table_names() -> set[str]:
    names = set()
    for entry in ENTRIES:
        names.add(entry.name)
        names.update(entry.covers)
    return names


def test_every_public_callable_is_in_the_table():
    """A new public class or function must get a row (or a reason to have none)."""
    table = _table_names()
    short = {name.rsplit(".", 1)[-1] for name in table}
    missing = []
    for qualified, obj in public_objects().items():
        if qualified in EXEMPT or obj.__name__ in short:
            continue
        missing.append(qualified)
    assert not missing, f"public callables with no robustness row: {missing}"


# --------------------------------------------------------------------------
# Trajectory files.


def _bad_files(ctx, folder: pathlib.Path) -> dict[str, pathlib.Path]:
    files = {}
    files["text"] = folder / "notes.npz"
    files["text"].write_text("not a trajectory\n")
    files["npy"] = folder / "array.npy"
    np.save(files["npy"], np.arange(3.0))
    files["empty"] = folder / "empty.npz"
    files["empty"].write_bytes(b"")
    files["truncated"] = folder / "truncated.npz"
    data = ctx.path.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    with np.load(ctx.path) as saved:
        arrays = dict(saved)
    broken = dict(arrays, losses=np.full_like(arrays["losses"], np.nan))
    files["nan"] = folder / "nan.npz"
    np.savez(files["nan"], **broken)
    files["zero-length"] = folder / "zero.npz"
    np.savez(
        files["zero-length"],
        **dict(
            arrays,
            times=arrays["times"][:0],
            outputs=arrays["outputs"][:0],
            losses=arrays["losses"][:0],
            params=arrays["params"][:0],
        ),
    )
    files["extras"] = folder / "extras.npz"
    np.savez(files["extras"], **dict(arrays, extra__damping=np.ones(1000)))
    files["status"] = folder / "status.npz"
    np.savez(files["status"], **dict(arrays, status=np.array("finished?")))
    return files


def test_trajectory_files_are_validated(ctx, tmp_path):
    for kind, path in _bad_files(ctx, tmp_path).items():
        with pytest.raises(ValueError) as caught:
            Trajectory.load(path)
        assert path.name in str(caught.value), (kind, str(caught.value))
    assert len(Trajectory.load(ctx.path)) == len(ctx.trajectory)


# --------------------------------------------------------------------------
# The verify API and the command line.


def test_verify_api_bad_argument_is_named(tmp_path):
    from riemgn.verify import CLAIMS, Check, prepare_output, run

    cases = [
        (lambda: run([CLAIMS["C3"]], preset="huge"), "preset"),
        (lambda: run([CLAIMS["C3"]], data="mnist"), "data"),
        (lambda: run([CLAIMS["C3"]], jobs=0), "jobs"),
        (lambda: run([CLAIMS["C3"]], jobs=True), "jobs"),
        (lambda: run([CLAIMS["C3"]], seed=-1), "seed"),
        (lambda: run([CLAIMS["C3"]], seed="1"), "seed"),
        (lambda: run([]), "claims"),
        (lambda: Check.within("x", 1.0, target=1.0, tolerance=-0.1), "tolerance"),
        (lambda: Check.within("x", 1.0, target=float("nan"), tolerance=0.1), "target"),
        (lambda: Check.below("x", 1.0, float("nan")), "bound"),
        (lambda: prepare_output(""), "out"),
    ]
    for call, argument in cases:
        with pytest.raises((ValueError, TypeError, OSError)) as caught:
            call()
        assert argument in str(caught.value), str(caught.value)
    assert not (tmp_path / "riemgn-report").exists()


CLI_CASES = [
    (["verify", "--jobs", "0"], "--jobs"),
    (["verify", "--jobs", "x"], "--jobs"),
    (["verify", "--seed", "-1"], "--seed"),
    (["verify", "--claims", "C9"], "--claims"),
    (["verify", "--claims", ","], "--claims"),
    (["verify", "--preset", "huge"], "--preset"),
    (["verify", "--data", "mnist"], "--data"),
    (["verify", "--out", ""], "--out"),
    (["manifold", "--width", "0"], "--width"),
    (["manifold", "--width", "x"], "--width"),
    (["manifold", "--width", str(10**12)], "--width"),
    (["manifold", "--n", str(10**12)], "--n"),
    (["manifold", "--n", "0"], "--n"),
    (["manifold", "--d", "0"], "--d"),
    (["manifold", "--alpha", "-1"], "--alpha"),
    (["manifold", "--alpha", "nan"], "--alpha"),
    (["manifold", "--alpha", "inf"], "--alpha"),
    (["manifold", "--cond", "0"], "--cond"),
    (["manifold", "--noise", "-1"], "--noise"),
    (["manifold", "--init", "zeros"], "--init"),
    (["manifold", "--activation", "sigmoidal"], "--activation"),
]


@pytest.mark.parametrize(
    ("argv", "option"), CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES]
)
def test_cli_bad_option_is_named(argv, option, capsys, tmp_path, monkeypatch):
    from riemgn.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []  # nothing written on a usage error


@pytest.mark.parametrize("alpha", ["1e300", "1e-300", "1e200", "1e-200"])
def test_cli_extreme_alpha_is_finite_or_refused(alpha, capsys):
    """A summary is finite and true, or the command refuses with a usage error."""
    from riemgn.cli import main

    argv = ["manifold", "--alpha", alpha, "--n", "10", "--d", "2", "--width", "2"]
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in err
    if code == 0:
        assert "inf" not in out.replace("cond(G0) = inf (J is rank-deficient)", "")
        assert "nan" not in out
    else:
        assert "--alpha" in err or "alpha" in err


# --------------------------------------------------------------------------
# Finite input, however large or small: a finite answer or a clear error.

_FINITE = st.floats(
    min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False
)
_SCALE = st.sampled_from([1e-300, 1e-150, 1e-8, 1.0, 1e8, 1e150, 1e300])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scale=_SCALE, entries=st.lists(_FINITE, min_size=12, max_size=12))
def test_manifold_finite_in_finite_out(ctx, scale, entries):
    with np.errstate(over="ignore"):
        vector = scale * np.asarray(entries)
    if not np.all(np.isfinite(vector)):
        return  # not a finite input
    M, u0 = ctx.M, ctx.u0
    operations = {
        "projection": lambda: M.projection(u0, vector),
        "norm": lambda: M.norm(u0, vector),
        "euclidean_to_riemannian_gradient": lambda: M.euclidean_to_riemannian_gradient(
            u0, vector
        ),
        "lift": lambda: M.lift(vector),
        "loss.value": lambda: SquaredLoss(vector).value(u0),
        "loss.gradient": lambda: SquaredLoss(vector).gradient(u0),
    }
    for name, operation in operations.items():
        try:
            result = operation()
        except (ValueError, ManifoldError, OverflowError) as error:
            assert str(error), name
            continue
        assert np.all(np.isfinite(result)), (name, scale, result)


def test_riemgn_exports_stay_importable():
    # The package namespace is what a user tab-completes: every name resolves.
    for name in riemgn.__all__:
        assert getattr(riemgn, name) is not None
    assert inspect.ismodule(flows)
