"""The vocabulary of an experiment: tasks, checks, verdicts and claims.

A claim module in :mod:`riemgn.verify` defines one :class:`Claim`:

- ``tasks(config, data, seed)`` splits the experiment into independent runs
  (:class:`Task`), each a module-level function called with keyword
  arguments, so that runs can go to other processes;
- ``evaluate(config, results)`` turns the runs' results (in task order) into
  a :class:`Verdict`: the measured ``metrics`` and the :class:`Check` s that
  decide pass or fail, or an ``inconclusive`` reason;
- ``figure(config, results, verdict)`` draws one
  :class:`matplotlib.figure.Figure`.

Everything a verdict contains is computed from the results of that run;
nothing is a constant.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "Claim", "Status", "Task", "Verdict"]


class Status(str, enum.Enum):
    """The verdict on a claim."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


def _format(value: float, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits (plain or scientific)."""
    if value is None or not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class Check:
    """One numeric pass criterion: ``value`` must lie in ``[at_least, at_most]``.

    Build it with :meth:`within` (a target and a tolerance), :meth:`below`
    or :meth:`above`. A non-finite value never passes.

    Examples
    --------
    >>> Check.within("order", 2.04, target=2.0, tolerance=0.25).passed
    True
    >>> print(Check.below("residual", 3e-9, 1e-10).text)
    residual = 3e-09, needs <= 1e-10
    """

    name: str
    value: float
    at_least: float | None = None
    at_most: float | None = None
    target: float | None = None
    tolerance: float | None = None
    description: str = ""

    def __post_init__(self):
        bounds = {"at_least": self.at_least, "at_most": self.at_most}
        bounds.update(target=self.target, tolerance=self.tolerance)
        for key, bound in bounds.items():
            if bound is not None and not math.isfinite(bound):
                raise ValueError(
                    f"check {self.name!r}: {key} must be finite, got {bound!r}"
                )
        if self.at_least is None and self.at_most is None:
            raise ValueError(f"check {self.name!r} has no bound")

    @classmethod
    def within(
        cls, name: str, value, *, target: float, tolerance: float, description=""
    ) -> Check:
        """``|value - target| <= tolerance``."""
        return cls(
            name,
            float(value),
            at_least=target - tolerance,
            at_most=target + tolerance,
            target=float(target),
            tolerance=float(tolerance),
            description=description,
        )

    @classmethod
    def below(cls, name: str, value, bound: float, description="") -> Check:
        """``value <= bound``."""
        return cls(name, float(value), at_most=float(bound), description=description)

    @classmethod
    def above(cls, name: str, value, bound: float, description="") -> Check:
        """``value >= bound``."""
        return cls(name, float(value), at_least=float(bound), description=description)

    @property
    def passed(self) -> bool:
        """Whether the value is finite and within the bounds."""
        if not math.isfinite(self.value):
            return False
        if self.at_least is not None and self.value < self.at_least:
            return False
        return not (self.at_most is not None and self.value > self.at_most)

    @property
    def criterion(self) -> str:
        """The bound, as text: ``2 ± 0.25``, ``<= 1e-10`` or ``>= 0.9``."""
        if self.target is not None:
            return f"{_format(self.target)} ± {_format(self.tolerance)}"
        if self.at_least is not None and self.at_most is not None:
            return f"in [{_format(self.at_least)}, {_format(self.at_most)}]"
        if self.at_most is not None:
            return f"<= {_format(self.at_most)}"
        return f">= {_format(self.at_least)}"

    @property
    def text(self) -> str:
        """``name = value, needs criterion``."""
        # More digits for the value than for the bounds, so that a value just
        # outside its bounds never prints as one of them.
        return f"{self.name} = {_format(self.value, 6)}, needs {self.criterion}"

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON-ready data (non-finite numbers become ``None``)."""
        return {
            "name": self.name,
            "value": _finite_or_none(self.value),
            "passed": self.passed,
            "criterion": self.criterion,
            "at_least": self.at_least,
            "at_most": self.at_most,
            "target": self.target,
            "tolerance": self.tolerance,
            "description": self.description,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim's experiment.

    Attributes
    ----------
    checks : tuple of Check
        The pass criteria; the claim passes when all pass.
    metrics : dict
        Every measured number worth reporting (JSON-ready: numbers, strings,
        lists of them).
    key : str
        The name of the check to show in one-line summaries.
    reason : str or None
        If set, the claim could not be evaluated and is ``inconclusive``
        whatever its checks say; the reason says why.
    notes : tuple of str
        Observations worth a line in the report (never part of the verdict).
    """

    checks: tuple[Check, ...]
    metrics: Mapping[str, Any]
    key: str
    reason: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.reason is None:
            if not self.checks:
                raise ValueError("a verdict without a reason needs at least one check")
            if self.key not in {check.name for check in self.checks}:
                raise ValueError(f"key {self.key!r} is not the name of a check")

    @classmethod
    def inconclusive(
        cls, reason: str, metrics: Mapping[str, Any] | None = None, *, checks=()
    ) -> Verdict:
        """A verdict that could not be reached, with the reason."""
        checks = tuple(checks)
        key = checks[0].name if checks else ""
        return cls(checks, dict(metrics or {}), key, reason=reason)

    @property
    def status(self) -> Status:
        """``inconclusive`` if there is a reason, else pass iff every check passes."""
        if self.reason is not None:
            return Status.INCONCLUSIVE
        return Status.PASS if all(c.passed for c in self.checks) else Status.FAIL

    @property
    def key_check(self) -> Check | None:
        """The check named ``key``, if any."""
        for check in self.checks:
            if check.name == self.key:
                return check
        return None

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that did not pass."""
        return tuple(c for c in self.checks if not c.passed)


@dataclass(frozen=True)
class Task:
    """One independent run: ``function(**kwargs)``, labelled for progress.

    ``function`` must be importable at module level (runs may be pickled to
    another process), and its result must be picklable.
    """

    label: str
    function: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self):
        return self.function(**self.kwargs)


@dataclass(frozen=True)
class Claim:
    """One claim of the theory (THEORY.md §4) and the experiment that checks it.

    Attributes
    ----------
    id : str
        ``"C1"`` … ``"C6"``.
    title : str
        A short title.
    statement : str
        The claim, in words.
    criterion : str
        The pass criterion, in words, with its numbers.
    presets : dict
        ``{"quick": config, "full": config}``; a config is a dict of plain
        values, recorded in the report.
    tasks : callable
        ``tasks(config, data=..., seed=...) -> list[Task]``.
    evaluate : callable
        ``evaluate(config, results) -> Verdict``; ``results`` in task order.
    figure : callable
        ``figure(config, results, verdict) -> matplotlib.figure.Figure``.
    data : tuple of str
        The ``--data`` choices the experiment supports.
    expected_seconds : dict
        Typical wall time per preset on one core, for the documentation.
    """

    id: str
    title: str
    statement: str
    criterion: str
    presets: Mapping[str, Mapping[str, Any]]
    tasks: Callable[..., Sequence[Task]]
    evaluate: Callable[[Mapping[str, Any], Sequence[Any]], Verdict]
    figure: Callable[..., Any]
    data: tuple[str, ...] = ("synthetic",)
    expected_seconds: Mapping[str, float] = field(default_factory=dict)

    def config(self, preset: str, data: str = "synthetic") -> dict[str, Any]:
        """The configuration of ``preset`` (``"quick"`` or ``"full"``).

        A preset may hold per-data overrides under the key ``"data"``:
        ``{"data": {"diabetes": {...}}}``.
        """
        if preset not in self.presets:
            raise ValueError(
                f"unknown preset {preset!r} for {self.id}; "
                f"choose from {', '.join(self.presets)}"
            )
        if data not in self.data:
            raise ValueError(
                f"{self.id} does not support data {data!r}; "
                f"it supports {', '.join(self.data)}"
            )
        config = {k: v for k, v in self.presets[preset].items() if k != "data"}
        config.update(self.presets[preset].get("data", {}).get(data, {}))
        return config
