r"""A sweep specification: a TOML file naming an experiment, its grid and its seeds.

.. code-block:: toml

    experiment = "solver"          # a key of riemgn.sweeps.EXPERIMENTS
    seeds = [0, 1]                 # or {start = 0, stop = 10}: range(0, 10)

    [options]                      # fixed parameters of every point
    n = 40
    target = 1e-6

    [grid]                         # the axes: a list, or a range
    solver = ["gauss_newton", "gradient_descent"]
    input_condition = {start = 1.0, stop = 100.0, num = 3, log = true}

The grid is the product of the axes, in the file's order, times the seeds.
:func:`load_spec` checks the whole file before anything runs: an unknown
experiment, key, parameter or axis, an empty list or range, a value of the
wrong type or out of its parameter's range and a file that is not TOML each
raise :class:`SpecError`, whose
message names the file and the key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import pathlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from riemgn.sweeps.experiments import EXPERIMENTS, Experiment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Point", "SpecError", "SweepSpec", "load_spec", "parse_spec", "point_key"]

_TOP = ("experiment", "seeds", "options", "grid", "description")
_RANGE = ("start", "stop", "num", "log")


class SpecError(ValueError):
    """A sweep specification that cannot run; the message names the file and key.

    Examples
    --------
    >>> try:
    ...     parse_spec('experiment = "flow"\\nseeds = []', source="sweep.toml")
    ... except SpecError as error:
    ...     print(error)
    sweep.toml: seeds is empty: a sweep needs a seed
    """


@dataclass(frozen=True)
class Point:
    """One grid point: the experiment's full configuration and a seed.

    Parameters
    ----------
    index : int
        Its place in the grid order.
    config : mapping
        The experiment's full configuration.
    seed : int
        Its seed.
    key : str
        The hash of the experiment, the configuration and the seed
        (:func:`point_key`): the name of the point's record.

    Examples
    --------
    >>> spec = parse_spec('experiment = "flow"\\nseeds = [3]\\n')
    >>> point = spec.points()[0]
    >>> point.index, point.seed, len(point.key)
    (0, 3, 24)
    """

    index: int
    config: Mapping[str, Any]
    seed: int
    key: str


@dataclass(frozen=True)
class SweepSpec:
    """A checked specification (:func:`load_spec`).

    Parameters
    ----------
    experiment : Experiment
        The registered experiment.
    options : mapping
        The fixed parameters of every point.
    axes : mapping of str to tuple
        The grid's axes and their values, in the file's order.
    seeds : tuple of int
        The seeds of every grid point.
    source : str
        The file (or ``"<string>"``).
    description : str
        The specification's ``description``.
    text : str
        The TOML text itself (a sweep keeps it as ``spec.toml``).

    Examples
    --------
    >>> spec = parse_spec('experiment = "flow"\\nseeds = [0]\\n[grid]\\nwidth = [1, 2]\\n')
    >>> spec.experiment.name, dict(spec.axes)
    ('flow', {'width': (1, 2)})
    """

    experiment: Experiment
    options: Mapping[str, Any]
    axes: Mapping[str, tuple]
    seeds: tuple[int, ...]
    source: str
    description: str = ""
    text: str = ""

    def points(self) -> list[Point]:
        """Every grid point, axes in the file's order, the seed varying fastest.

        Returns
        -------
        list of Point
            ``len(product of axes) * len(seeds)`` points.

        Examples
        --------
        >>> spec = parse_spec('experiment = "flow"\\nseeds = [0, 1]\\n'
        ...                   '[grid]\\nalpha = [0.5, 2]\\n')
        >>> [(p.config["alpha"], p.seed) for p in spec.points()]
        [(0.5, 0), (0.5, 1), (2.0, 0), (2.0, 1)]
        """
        names = list(self.axes)
        points = []
        for values in itertools.product(*self.axes.values()):
            config = self.experiment.config(
                {**self.options, **dict(zip(names, values, strict=True))}
            )
            for seed in self.seeds:
                key = point_key(self.experiment.name, config, seed)
                points.append(Point(len(points), config, seed, key))
        return points


def point_key(experiment: str, config: Mapping[str, Any], seed: int) -> str:
    """The hash that names a point's record: the experiment, its config, its seed.

    Parameters
    ----------
    experiment : str
        The experiment's name.
    config : mapping
        Its full configuration.
    seed : int
        The point's seed.

    Returns
    -------
    str
        24 hexadecimal digits of the SHA-256 of the canonical JSON.

    Examples
    --------
    >>> point_key("flow", {"alpha": 1.0}, 0) == point_key("flow", {"alpha": 1.0}, 0)
    True
    >>> point_key("flow", {"alpha": 1.0}, 0) == point_key("flow", {"alpha": 1.0}, 1)
    False
    """
    text = json.dumps(
        {"experiment": experiment, "config": dict(config), "seed": seed},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load_spec(path) -> SweepSpec:
    """Read and check a TOML sweep specification.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    SweepSpec
        The checked specification.

    Raises
    ------
    SpecError
        If the file cannot be read, is not TOML, or any key is invalid; the
        message names the file and the key.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> spec_file = pathlib.Path(tempfile.mkdtemp()) / "sweep.toml"
    >>> _ = spec_file.write_text('experiment = "flow"\\nseeds = [0]\\n')
    >>> len(load_spec(spec_file).points())
    1
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(
            f"{path}: cannot read the sweep specification: {error}"
        ) from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, *, source: str = "<string>") -> SweepSpec:
    """Check a specification given as TOML text (see :func:`load_spec`).

    Parameters
    ----------
    text : str
        The TOML text.
    source : str
        The name of the text in error messages (the file).

    Returns
    -------
    SweepSpec
        The checked specification.

    Raises
    ------
    SpecError
        As :func:`load_spec`.

    Examples
    --------
    >>> parse_spec('experiment = "nope"\\nseeds = [0]')
    Traceback (most recent call last):
    ...
    riemgn.sweeps.spec.SpecError: <string>: experiment = 'nope' is not a registered experiment; choose one of 'flow', 'solver', 'c1', 'c1_trajectory', 'c2', 'c3', 'c4', 'c5', 'c6'
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{source}: not a valid TOML file: {error}") from None
    unknown = [key for key in document if key not in _TOP]
    if unknown:
        raise SpecError(
            f"{source}: unknown key {unknown[0]!r}; a sweep specification has "
            + ", ".join(map(repr, _TOP))
        )
    experiment = _experiment(document, source)
    options = _options(document.get("options", {}), experiment, source)
    axes = _axes(document.get("grid", {}), experiment, options, source)
    description = document.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{source}: description must be a string, got {description!r}")
    return SweepSpec(
        experiment,
        options,
        axes,
        _seeds(document, source),
        source,
        description,
        text,
    )


def _experiment(document, source) -> Experiment:
    if "experiment" not in document:
        raise SpecError(f"{source}: missing key 'experiment' (one of {_names()})")
    name = document["experiment"]
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise SpecError(
            f"{source}: experiment = {name!r} is not a registered experiment; "
            f"choose one of {_names()}"
        )
    return EXPERIMENTS[name]


def _names() -> str:
    return ", ".join(map(repr, EXPERIMENTS))


def _check_value(experiment, key, name, value, source) -> None:
    parameter = experiment.parameters[name]
    if not parameter.accepts(value):
        raise SpecError(
            f"{source}: {key} = {value!r} must be {parameter.requirement()}"
        )


def _unknown_parameter(experiment, key, name, source) -> SpecError:
    return SpecError(
        f"{source}: {key}: {name!r} is not a parameter of experiment "
        f"{experiment.name!r}; its parameters are " + ", ".join(experiment.parameters)
    )


def _options(table, experiment, source) -> dict:
    if not isinstance(table, dict):
        raise SpecError(f"{source}: options must be a table, got {table!r}")
    for name, value in table.items():
        if name not in experiment.parameters:
            raise _unknown_parameter(experiment, f"options.{name}", name, source)
        _check_value(experiment, f"options.{name}", name, value, source)
    return dict(table)


def _axes(table, experiment, options, source) -> dict:
    if not isinstance(table, dict):
        raise SpecError(f"{source}: grid must be a table, got {table!r}")
    axes = {}
    for name, values in table.items():
        key = f"grid.{name}"
        if name not in experiment.parameters:
            raise _unknown_parameter(experiment, key, name, source)
        if name in options:
            raise SpecError(f"{source}: {key}: {name!r} is also in [options]")
        values = _range(values, key, source) if isinstance(values, dict) else values
        if not isinstance(values, list):
            raise SpecError(
                f"{source}: {key} must be a list of values or a range "
                f"{{start, stop, num[, log]}}, got {values!r}"
            )
        if not values:
            raise SpecError(f"{source}: {key} is empty: a grid axis needs a value")
        for index, value in enumerate(values):
            _check_value(experiment, f"{key}[{index}]", name, value, source)
        axes[name] = tuple(values)
    return axes


def _range(table, key, source) -> list:
    unknown = [k for k in table if k not in _RANGE]
    missing = [k for k in ("start", "stop", "num") if k not in table]
    if unknown or missing:
        raise SpecError(
            f"{source}: {key}: a range has the keys start, stop, num and an "
            f"optional log; got {sorted(table)}"
        )
    start, stop, num, log = (
        table["start"],
        table["stop"],
        table["num"],
        table.get("log", False),
    )
    if not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop)
    ):
        raise SpecError(f"{source}: {key}: start and stop must be numbers")
    if not isinstance(num, int) or isinstance(num, bool) or num < 0:
        raise SpecError(f"{source}: {key}.num = {num!r} must be an integer >= 0")
    if not isinstance(log, bool):
        raise SpecError(f"{source}: {key}.log = {log!r} must be true or false")
    if log and not (start > 0 and stop > 0):
        raise SpecError(f"{source}: {key}: a log range needs start, stop > 0")
    grid = np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
    return [float(v) for v in grid]


def _seeds(document, source) -> tuple[int, ...]:
    if "seeds" not in document:
        raise SpecError(f"{source}: missing key 'seeds' (a list of integers >= 0)")
    seeds = document["seeds"]
    if isinstance(seeds, dict):
        if sorted(seeds) != ["start", "stop"] or not all(
            isinstance(seeds[k], int) and not isinstance(seeds[k], bool)
            for k in ("start", "stop")
        ):
            raise SpecError(
                f"{source}: seeds must be a list of integers or {{start, stop}} "
                f"integers, got {seeds!r}"
            )
        seeds = list(range(seeds["start"], seeds["stop"]))
    if not isinstance(seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise SpecError(f"{source}: seeds = {seeds!r} must be a list of integers >= 0")
    if not seeds:
        raise SpecError(f"{source}: seeds is empty: a sweep needs a seed")
    if len(set(seeds)) != len(seeds):
        raise SpecError(f"{source}: seeds = {seeds!r} repeats a seed")
    return tuple(seeds)
