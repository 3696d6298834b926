r"""The result of a flow: a :class:`riemgn.flows.Trajectory` and its :class:`riemgn.flows.FlowStatus`.

Every flow of :mod:`riemgn.flows` returns a trajectory instead of raising
when it stops early: a flow that blows up, loses rank or leaves its region
ends with a status and a message (THEORY §5), and the samples before the
event. The opening of each message is in :data:`riemgn.flows.FLOW_MESSAGES`.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FLOW_MESSAGES", "FlowStatus", "Trajectory"]


class FlowStatus(str, enum.Enum):
    r"""How a flow ended.

    ``CONVERGED`` (the output speed fell below ``gtol``) and ``T_END`` (the
    end of ``t_span`` was reached) are successes; ``BLOW_UP``,
    ``RANK_LOSS`` (:math:`J` lost full rank), ``LEFT_REGION`` (the
    parameters left :math:`B(\theta_0, \rho)`) and ``SOLVER_FAILED`` are
    not. The members are strings, so a status compares equal to its value
    and serializes as it.

    Examples
    --------
    >>> FlowStatus("rank_loss")
    <FlowStatus.RANK_LOSS: 'rank_loss'>
    >>> FlowStatus.T_END == "t_end", FlowStatus.T_END.success, FlowStatus.BLOW_UP.success
    (True, True, False)
    """

    CONVERGED = "converged"
    T_END = "t_end"
    BLOW_UP = "blow_up"
    RANK_LOSS = "rank_loss"
    LEFT_REGION = "left_region"
    SOLVER_FAILED = "solver_failed"

    @property
    def success(self) -> bool:
        """Whether the flow ran as asked (``converged`` or ``t_end``)."""
        return self in (FlowStatus.CONVERGED, FlowStatus.T_END)


#: The opening of each status's message; the flow appends the specifics.
FLOW_MESSAGES = {
    FlowStatus.CONVERGED: "converged: the output speed fell below gtol",
    FlowStatus.T_END: "reached the end of t_span",
    FlowStatus.BLOW_UP: "blow-up: the flow diverges",
    FlowStatus.RANK_LOSS: "rank loss: J(theta) is no longer of full rank",
    FlowStatus.LEFT_REGION: "left the region B(theta0, radius)",
    FlowStatus.SOLVER_FAILED: "the ODE solver failed",
}

_ARRAYS = ("times", "outputs", "losses", "params")
_COUNTS = ("n_value_evals", "n_jacobian_evals", "n_linear_solves")


@dataclass(frozen=True, eq=False)
class Trajectory:
    r"""A sampled trajectory of a flow, up to the time it ended.

    Every array is finite: a flow that blows up, loses rank or leaves its
    region stops at the event and returns the states before it.

    Attributes
    ----------
    times : ndarray, shape (k,)
        Increasing sample times, starting at ``t_span[0]``.
    outputs : ndarray, shape (k, n_outputs)
        The outputs :math:`u(t)`.
    losses : ndarray, shape (k,)
        The loss :math:`h(u(t))`.
    params : ndarray, shape (k, n_params) or None
        The parameters :math:`\theta(t)`, for parameter-space flows; ``None``
        for the intrinsic flow on the manifold.
    status : FlowStatus
        How the flow ended.
    message : str
        A human-readable account of the end, naming the event that fired.
    n_value_evals, n_jacobian_evals, n_linear_solves : int
        The evaluations of :math:`F` and :math:`J` and the linear solves
        (factorizations) spent.
    method : str
        The flow and integrator, e.g. ``"gauss_newton/qr/DOP853"``.
    extras : dict of str to ndarray, shape (k,)
        Per-sample diagnostics, each of shape ``(k,)``, e.g. ``"damping"`` or
        ``"lambda_min"`` for Levenberg-Marquardt.

    The arrays are copied to float64 and made read-only, and ``status`` may
    be given as its string value.

    Raises
    ------
    ValueError
        If the arrays' shapes are inconsistent (``outputs``, ``losses``,
        ``params`` and every extra must have ``k`` rows), or ``status`` is
        not a :class:`riemgn.flows.FlowStatus` value.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 1.0, 3)
    >>> outputs = np.exp(-t)[:, None] * np.array([[1.0, 2.0]])
    >>> trajectory = Trajectory(t, outputs, 0.5 * (outputs**2).sum(axis=1), None, "t_end", "")
    >>> len(trajectory), trajectory.success, trajectory.final_time
    (3, True, 1.0)
    >>> bool(np.allclose(trajectory.final_outputs, np.exp(-1.0) * np.array([1.0, 2.0])))
    True
    """

    times: np.ndarray
    outputs: np.ndarray
    losses: np.ndarray
    params: np.ndarray | None
    status: FlowStatus
    message: str
    n_value_evals: int = 0
    n_jacobian_evals: int = 0
    n_linear_solves: int = 0
    method: str = ""
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in _ARRAYS:
            value = getattr(self, name)
            if value is not None:
                value = np.array(value, dtype=np.float64)
                value.flags.writeable = False
                object.__setattr__(self, name, value)
        extras = {}
        for key, value in dict(self.extras).items():
            value = np.array(value, dtype=np.float64)
            value.flags.writeable = False
            extras[str(key)] = value
        object.__setattr__(self, "extras", extras)
        object.__setattr__(self, "status", FlowStatus(self.status))
        k = self.times.shape[0]
        shapes_ok = (
            self.times.ndim == 1
            and self.outputs.ndim == 2
            and self.outputs.shape[0] == k
            and self.losses.shape == (k,)
            and (
                self.params is None
                or (self.params.ndim == 2 and self.params.shape[0] == k)
            )
            and all(v.shape == (k,) for v in extras.values())
        )
        if not shapes_ok:
            raise ValueError(
                "inconsistent trajectory arrays: times "
                f"{self.times.shape}, outputs {self.outputs.shape}, losses "
                f"{self.losses.shape}, params "
                f"{None if self.params is None else self.params.shape}"
            )

    @property
    def success(self) -> bool:
        """Whether the flow ran as asked (status ``converged`` or ``t_end``)."""
        return self.status.success

    @property
    def final_time(self) -> float:
        """The last sample time."""
        return float(self.times[-1])

    @property
    def final_outputs(self) -> np.ndarray:
        """The outputs at the last sample time."""
        return self.outputs[-1].copy()

    @property
    def final_params(self) -> np.ndarray | None:
        """The parameters at the last sample time, if recorded."""
        return None if self.params is None else self.params[-1].copy()

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def save(self, path) -> None:
        """Save to a ``.npz`` file readable without pickle.

        Every array, the counts, ``status``, ``message``, ``method`` and the
        extras (as ``extra__<name>``) are stored;
        :meth:`riemgn.flows.Trajectory.load` reads them back.

        Parameters
        ----------
        path : str or os.PathLike
            The file; numpy appends ``.npz`` when it lacks the suffix.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> t = np.linspace(0.0, 1.0, 3)
        >>> trajectory = Trajectory(t, np.c_[t, 2 * t], t**2, None, "t_end", "done")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     trajectory.save(os.path.join(folder, "run"))
        ...     sorted(os.listdir(folder))
        ['run.npz']
        """
        arrays = {
            name: getattr(self, name)
            for name in _ARRAYS
            if getattr(self, name) is not None
        }
        for name in _COUNTS:
            arrays[name] = np.array(getattr(self, name), dtype=np.int64)
        arrays["status"] = np.array(self.status.value)
        arrays["message"] = np.array(self.message)
        arrays["method"] = np.array(self.method)
        for key, value in self.extras.items():
            arrays[f"extra__{key}"] = value
        np.savez(os.fspath(path), **arrays)

    @classmethod
    def load(cls, path) -> Trajectory:
        """Load a trajectory saved by :meth:`riemgn.flows.Trajectory.save` (``allow_pickle=False``).

        Parameters
        ----------
        path : str or os.PathLike
            The file, with or without its ``.npz`` suffix.

        Returns
        -------
        Trajectory
            A trajectory equal, array by array, to the one saved.

        Raises
        ------
        ValueError
            If the file is not a saved trajectory.
        FileNotFoundError
            If neither ``path`` nor ``path + ".npz"`` exists.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> t = np.linspace(0.0, 1.0, 3)
        >>> trajectory = Trajectory(
        ...     t, np.c_[t, 2 * t], t**2, None, "t_end", "done", extras={"damping": t}
        ... )
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     trajectory.save(os.path.join(folder, "run"))
        ...     loaded = Trajectory.load(os.path.join(folder, "run"))
        >>> loaded.status, loaded.message, bool(np.array_equal(loaded.outputs, trajectory.outputs))
        (<FlowStatus.T_END: 't_end'>, 'done', True)
        >>> list(loaded.extras), loaded.params is None
        (['damping'], True)
        """
        path = os.fspath(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"  # save() appends the suffix, so load() accepts it
        with np.load(path, allow_pickle=False) as data:
            missing = [
                k for k in ("times", "outputs", "losses", "status") if k not in data
            ]
            if missing:
                raise ValueError(
                    f"{path!r} is not a saved Trajectory: it lacks {missing}"
                )
            return cls(
                times=data["times"],
                outputs=data["outputs"],
                losses=data["losses"],
                params=data["params"] if "params" in data else None,
                status=FlowStatus(str(data["status"])),
                message=str(data["message"]) if "message" in data else "",
                method=str(data["method"]) if "method" in data else "",
                extras={
                    key[len("extra__") :]: data[key]
                    for key in data.files
                    if key.startswith("extra__")
                },
                **{name: int(data[name]) for name in _COUNTS if name in data},
            )

    def __repr__(self) -> str:
        return (
            f"Trajectory(method={self.method!r}, status={self.status.value!r}, "
            f"samples={len(self)}, t=[{self.times[0]:g}, {self.times[-1]:g}], "
            f"final loss={self.losses[-1]:.6g})"
        )
