r"""The result of a flow: a :class:`riemgn.flows.Trajectory` and its :class:`riemgn.flows.FlowStatus`.

Every flow of :mod:`riemgn.dynamics.flows` returns a trajectory instead of raising
when it stops early: a flow that blows up, loses rank or leaves its region
ends with a status and a message (THEORY §5), and the samples before the
event. The opening of each message is in :data:`riemgn.flows.FLOW_MESSAGES`.

A trajectory is validated once, by one schema check shared by the
constructor and :meth:`riemgn.flows.Trajectory.load`: at least one sample,
increasing finite times, finite real arrays of matching lengths, a known
status. A violation raises :class:`riemgn.flows.TrajectoryFormatError`,
naming the field (and, when loading, the file).
"""

from __future__ import annotations

import enum
import numbers
import os
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FLOW_MESSAGES", "FlowStatus", "Trajectory", "TrajectoryFormatError"]


class FlowStatus(str, enum.Enum):
    r"""How a flow ended.

    ``CONVERGED`` (the flow came to rest: the loss stopped decreasing, or
    the speed fell below ``gtol``) and ``T_END`` (the end of ``t_span`` was
    reached) are successes; ``BLOW_UP``,
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
    FlowStatus.CONVERGED: "converged: the flow came to rest",
    FlowStatus.T_END: "reached the end of t_span",
    FlowStatus.BLOW_UP: "blow-up: the flow diverges",
    FlowStatus.RANK_LOSS: "rank loss: J(theta) is no longer of full rank",
    FlowStatus.LEFT_REGION: "left the region B(theta0, radius)",
    FlowStatus.SOLVER_FAILED: "the ODE solver failed",
}

_ARRAYS = ("times", "outputs", "losses", "params")
_COUNTS = ("n_value_evals", "n_jacobian_evals", "n_linear_solves")
_TEXTS = ("status", "message", "method")
_EXTRA = "extra__"


class TrajectoryFormatError(ValueError):
    """A trajectory, or a file read as one, does not follow the schema.

    Raised by the :class:`riemgn.flows.Trajectory` constructor and by
    :meth:`riemgn.flows.Trajectory.load`; the message names the field (and
    the file). It is a ``ValueError``, so ``except ValueError`` catches it.

    Examples
    --------
    >>> import numpy as np
    >>> try:
    ...     Trajectory(np.array([0.0, 1.0]), np.zeros((2, 1)), [0.0, np.nan], None, "t_end", "")
    ... except TrajectoryFormatError as error:
    ...     print(error)
    field `losses` holds 1 non-finite value(s) (NaN or inf), the first at sample 1
    """


def _fail(where: str, message: str):
    raise TrajectoryFormatError(f"{where}{message}")


def _real_array(where: str, name: str, value, ndim: int) -> np.ndarray:
    """``value`` as a finite float64 array of ``ndim`` dimensions, or an error naming it."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as error:
        _fail(where, f"field `{name}` is not an array: {error}")
    if raw.dtype.kind not in "fiu":
        _fail(
            where,
            f"field `{name}` must hold real numbers, got dtype {raw.dtype} "
            "(booleans, text, complex and objects are refused)",
        )
    array = np.array(raw, dtype=np.float64)
    if array.ndim != ndim:
        _fail(
            where,
            f"field `{name}` must have {ndim} dimension(s), got shape {array.shape}",
        )
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.argmax(bad.reshape(array.shape[0], -1).any(axis=1)))
        _fail(
            where,
            f"field `{name}` holds {int(bad.sum())} non-finite value(s) (NaN or inf), "
            f"the first at sample {first}",
        )
    array.flags.writeable = False
    return array


def _validated(fields: dict, where: str = "") -> dict:
    """Check a trajectory's fields against the schema; return them normalized."""
    out = dict(fields)
    times = _real_array(where, "times", fields["times"], 1)
    k = times.shape[0]
    if k == 0:
        _fail(where, "field `times` is empty: a trajectory holds at least its start")
    if k > 1 and not np.all(np.diff(times) > 0):
        first = int(np.argmax(~(np.diff(times) > 0))) + 1
        _fail(
            where,
            f"field `times` must be strictly increasing, but sample {first} "
            f"(t = {times[first]:g}) does not follow t = {times[first - 1]:g}",
        )
    out["times"] = times
    out["outputs"] = _real_array(where, "outputs", fields["outputs"], 2)
    out["losses"] = _real_array(where, "losses", fields["losses"], 1)
    if fields["params"] is not None:
        out["params"] = _real_array(where, "params", fields["params"], 2)
    extras = fields["extras"]
    if not isinstance(extras, dict):
        _fail(where, f"field `extras` must be a dict, got {type(extras).__name__}")
    checked = {}
    for key, value in extras.items():
        if not isinstance(key, str):
            _fail(where, f"the keys of `extras` must be strings, got {key!r}")
        checked[key] = _real_array(where, f"extras[{key!r}]", value, 1)
    out["extras"] = checked
    lengths = {"outputs": out["outputs"].shape[0], "losses": out["losses"].shape[0]}
    if out["params"] is not None:
        lengths["params"] = out["params"].shape[0]
    lengths.update({f"extras[{key!r}]": v.shape[0] for key, v in checked.items()})
    for name, length in lengths.items():
        if length != k:
            _fail(
                where,
                f"field `{name}` has {length} samples but `times` has {k}; every "
                "array must have one row per sample time",
            )
    if out["outputs"].shape[1] == 0:
        _fail(where, "field `outputs` has no columns (n_outputs = 0)")
    try:
        out["status"] = FlowStatus(fields["status"])
    except ValueError:
        _fail(
            where,
            f"field `status` must be one of {[s.value for s in FlowStatus]}, got "
            f"{fields['status']!r}",
        )
    for name in ("message", "method"):
        if not isinstance(fields[name], str):
            _fail(
                where,
                f"field `{name}` must be a str, got {type(fields[name]).__name__}",
            )
    for name in _COUNTS:
        value = fields[name]
        if (
            not isinstance(value, numbers.Integral)
            or isinstance(value, bool | np.bool_)
            or value < -1
        ):
            _fail(where, f"field `{name}` must be an integer >= -1, got {value!r}")
        out[name] = int(value)
    return out


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
    TrajectoryFormatError
        (a ``ValueError``) If there is no sample (``k = 0``), ``times`` is not
        strictly increasing, an array is not real (booleans, text, complex),
        not finite, or has the wrong number of dimensions or rows
        (``outputs``, ``losses``, ``params`` and every extra must have ``k``
        rows), ``status`` is not a :class:`riemgn.flows.FlowStatus` value,
        ``message`` or ``method`` is not a str, or a count is not an integer.

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
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name, value in _validated(fields).items():
            object.__setattr__(self, name, value)

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
        TrajectoryFormatError
            (a ``ValueError``) If the file is not a saved trajectory: not an
            ``.npz`` archive (a text or ``.npy`` file, an empty or truncated
            one), a missing or unexpected field, a field of the wrong dtype
            or shape, non-finite values, arrays of mismatched lengths, no
            sample, or an unknown status. The message names the file and the
            field.
        FileNotFoundError
            If neither ``path`` nor ``path + ".npz"`` exists.
        TypeError
            If ``path`` is not a str or ``os.PathLike``.

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
        try:
            path = os.fspath(path)
        except TypeError:
            raise TypeError(
                f"`path` must be a str or os.PathLike, got {path!r} of type "
                f"{type(path).__name__}"
            ) from None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"  # save() appends the suffix, so load() accepts it
        if not os.path.exists(path):
            raise FileNotFoundError(f"`path` {path!r} does not exist")
        # The file is opened here, not by numpy: np.load leaks its handle
        # when the archive turns out to be corrupt.
        try:
            with open(path, "rb") as handle:
                data = np.load(handle, allow_pickle=False)
                if not isinstance(data, np.lib.npyio.NpzFile):
                    raise TypeError(
                        f"it holds a single {type(data).__name__} (a .npy file?)"
                    )
                with data:
                    files = {name: data[name] for name in data.files}
        except (
            TypeError,
            ValueError,
            EOFError,
            zipfile.BadZipFile,
            zlib.error,
        ) as error:
            detail = f"{type(error).__name__}: {error}"
            if "pickle" in str(error):  # neither .npy nor .npz: numpy's fallback
                detail = "numpy would have to unpickle it, which load() refuses"
            raise TrajectoryFormatError(
                f"{path!r} is not a saved Trajectory: it is not a readable .npz "
                f"archive ({detail})"
            ) from None
        return cls._from_files(files, path)

    @classmethod
    def _from_files(cls, files: dict, path: str) -> Trajectory:
        missing = [
            k for k in ("times", "outputs", "losses", "status") if k not in files
        ]
        if missing:
            _fail(f"{path!r} is not a saved Trajectory: ", f"it lacks {missing}")
        where = f"{path!r} is not a valid saved Trajectory: "
        known = {*_ARRAYS, *_COUNTS, *_TEXTS}
        unknown = [k for k in files if k not in known and not k.startswith(_EXTRA)]
        if unknown:
            _fail(where, f"unexpected field(s) {unknown}")
        fields = {}
        for name in _TEXTS:
            if name in files:
                value = files[name]
                if value.dtype.kind != "U" or value.ndim != 0:
                    _fail(
                        where,
                        f"field `{name}` must be a 0-d text array, got dtype "
                        f"{value.dtype} and shape {value.shape}",
                    )
                fields[name] = str(value)
        for name in _COUNTS:
            if name in files:
                value = files[name]
                if value.dtype.kind not in "iu" or value.ndim != 0:
                    _fail(
                        where,
                        f"field `{name}` must be a 0-d integer array, got dtype "
                        f"{value.dtype} and shape {value.shape}",
                    )
                fields[name] = int(value)
        try:
            return cls(
                times=files["times"],
                outputs=files["outputs"],
                losses=files["losses"],
                params=files.get("params"),
                status=fields["status"],
                message=fields.get("message", ""),
                method=fields.get("method", ""),
                extras={
                    key[len(_EXTRA) :]: value
                    for key, value in files.items()
                    if key.startswith(_EXTRA)
                },
                **{name: fields[name] for name in _COUNTS if name in fields},
            )
        except TrajectoryFormatError as error:
            raise TrajectoryFormatError(f"{where}{error}") from None

    def __repr__(self) -> str:
        return (
            f"Trajectory(method={self.method!r}, status={self.status.value!r}, "
            f"samples={len(self)}, t=[{self.times[0]:g}, {self.times[-1]:g}], "
            f"final loss={self.losses[-1]:.6g})"
        )
