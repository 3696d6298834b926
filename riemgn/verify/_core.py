"""The vocabulary of an experiment: tasks, checks, verdicts and claims.

A claim module in :mod:`riemgn.verify` defines one
:class:`riemgn.verify.Claim`:

- ``tasks(config, data, seed)`` splits the experiment into independent runs
  (:class:`riemgn.verify.Task`), each a module-level function called with
  keyword arguments, so that runs can go to other processes;
- ``evaluate(config, results)`` turns the runs' results (in task order) into
  a :class:`riemgn.verify.Verdict`: the measured ``metrics`` and the
  :class:`riemgn.verify.Check` objects that decide pass or fail, or an
  ``inconclusive`` reason;
- ``figure(config, results, verdict)`` draws one
  ``matplotlib.figure.Figure``.

Everything a verdict contains is computed from the results of that run;
nothing is a constant.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "Claim", "Status", "Task", "Verdict"]


def _finite_bound(check: str, key: str, value) -> float:
    """``value`` as a float; a bound that is not a finite real number raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"check {check!r}: {key} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"check {check!r}: {key} must be finite, got {value!r}")
    return float(value)


class Status(str, enum.Enum):
    """The verdict on a claim: ``pass``, ``fail`` or ``inconclusive``.

    A string enumeration, so a status compares equal to its value and is
    written to ``report.json`` as that string. *Inconclusive* means the
    experiment could not decide (a run raised, a flow left its region,
    round-off would hide the effect): it is never a pass.

    Examples
    --------
    >>> Status("pass") is Status.PASS
    True
    >>> Status.INCONCLUSIVE == "inconclusive"
    True
    >>> [status.value for status in Status]
    ['pass', 'fail', 'inconclusive']
    """

    #: Every check passed.
    PASS = "pass"
    #: At least one check failed.
    FAIL = "fail"
    #: The experiment could not decide; the verdict's reason says why.
    INCONCLUSIVE = "inconclusive"


#: No float needs more significant digits than this to be printed exactly.
_MAX_DIGITS = 17


def _with_digits(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits, keeping trailing zeros.

    The zeros say how many digits are shown: ``1.000`` is 1 to four digits,
    ``1`` is exactly 1. A value that ``digits`` digits hold exactly prints
    without them.
    """
    shortest, count = _shortest(value)
    if count <= digits:
        return shortest
    mantissa, e, exponent = f"{value:#.{digits}g}".partition("e")
    return mantissa.rstrip(".") + e + exponent


def _shortest(value: float) -> tuple[str, int]:
    """The fewest significant digits that read back as ``value``, and their count."""
    for digits in range(1, _MAX_DIGITS):
        text = f"{value:.{digits}g}"
        if float(text) == value:
            return text, digits
    return f"{value:.{_MAX_DIGITS}g}", _MAX_DIGITS


def _exact(value: float) -> str:
    """``value`` exactly, with the fewest digits that read back as ``value``."""
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return _shortest(value)[0]


def _format(value, *, near=(), digits: int = 4) -> str:
    r"""``value`` as text, with enough digits to show its distance from ``near``.

    The one number format of the report, the terminal table and the check
    texts. At least ``digits`` significant digits are shown, and more where a
    reference value :math:`r` in ``near`` (a check's bounds and target) is
    close: enough to resolve :math:`|v - r|` to two significant digits,

    .. math::

        k = \max\Big(k_0,\; \max_r\; e(v) - e(|v - r|) + 2\Big),
        \qquad e(x) = \lfloor \log_{10} |x| \rfloor,

    capped at 17 (which prints any float exactly), where :math:`v` is
    ``value`` and :math:`k_0` is ``digits``. The printed number then lies on
    the same side of every reference as the value itself, and equals one only
    when the value equals it exactly: a value just outside a bound never
    prints as the bound. A rounded value keeps its trailing zeros (``1.000``);
    a value that its digits hold exactly prints without them (``1``, ``0.05``),
    and so does an integer below :math:`10^6` (``30000``).

    Parameters
    ----------
    value : float or None
        The number; ``None`` (a missing or non-finite value in
        ``report.json``) prints as ``n/a``, NaN and infinities as ``nan``,
        ``inf`` and ``-inf``.
    near : iterable of float or None, optional
        The reference values (``None`` entries are ignored).
    digits : int, optional
        The least number of significant digits (3 for wall times).

    Returns
    -------
    str

    Examples
    --------
    >>> _format(2.0), _format(0.05), _format(30000.0), _format(1.0000031)
    ('2', '0.05', '30000', '1.000')
    >>> _format(1.0000031, near=[1.1]), _format(2.0000004, near=[1.8, 2.0, 2.2])
    ('1.000', '2.0000004')
    >>> _format(0.10000001, near=[0.1])  # just above the bound: never "0.1000"
    '0.10000001'
    >>> _format(0.922385104, digits=3), _format(None), _format(float("nan"))
    ('0.922', 'n/a', 'nan')
    """
    if value is None:
        return "n/a"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0.0:
        return "0"
    references = [float(r) for r in near if r is not None and math.isfinite(r)]
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))  # exact, and on the right side of every bound
    needed = digits
    for reference in references:
        if reference != value:
            gap = abs(value - reference)
            needed = max(needed, _exponent(value) - _exponent(gap) + 2)
    for count in range(min(needed, _MAX_DIGITS), _MAX_DIGITS + 1):
        text = _with_digits(value, count)
        shown = float(text)
        if all(_side(shown, r) == _side(value, r) for r in references):
            return text
    return _exact(value)


def _exponent(x: float) -> int:
    """The decimal exponent of ``x``: ``floor(log10 |x|)``."""
    return math.floor(math.log10(abs(x)))


def _side(x: float, reference: float) -> int:
    return (x > reference) - (x < reference)


@dataclass(frozen=True)
class Check:
    r"""One numeric pass criterion: ``value`` must lie in ``[at_least, at_most]``.

    The check passes when

    .. math::

        v \in \R \quad\text{and}\quad a \le v \le b,

    where :math:`v` is ``value``, :math:`a` is ``at_least`` (no lower bound
    if ``None``) and :math:`b` is ``at_most`` (no upper bound if ``None``).
    A non-finite value (NaN, a missing measurement; or an infinity) never
    passes. Build it with :meth:`riemgn.verify.Check.within` (a target and a
    tolerance), :meth:`riemgn.verify.Check.below` or
    :meth:`riemgn.verify.Check.above`, which convert the value to ``float``.

    Attributes
    ----------
    name : str
        What is measured, as shown in the report (for example
        ``"rk4 order (worst)"``).
    value : float
        The measured number; may be NaN or infinite (then the check fails).
    at_least : float or None
        The lower bound :math:`a`, inclusive; ``None`` for none.
    at_most : float or None
        The upper bound :math:`b`, inclusive; ``None`` for none.
    target : float or None
        The target of a :meth:`riemgn.verify.Check.within` check (then the
        bounds are ``target ± tolerance``), for the report; else ``None``.
    tolerance : float or None
        The tolerance around ``target``; else ``None``.
    description : str
        How the value is measured, in words, for the report.

    Raises
    ------
    ValueError
        If a bound, ``target`` or ``tolerance`` is given but not finite, or if
        both ``at_least`` and ``at_most`` are ``None``.

    Examples
    --------
    >>> Check.within("order", 2.04, target=2.0, tolerance=0.25).passed
    True
    >>> print(Check.below("residual", 3e-9, 1e-10).text)
    residual = 3e-09, needs <= 1e-10
    >>> Check.above("ratio", float("nan"), 1000.0).passed
    False
    >>> Check("order", 1.9, at_least=1.5, at_most=2.5).criterion
    'in [1.5, 2.5]'
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
        if self.tolerance is not None and self.tolerance < 0:
            raise ValueError(
                f"check {self.name!r}: tolerance must be >= 0, got {self.tolerance!r}"
            )
        if (
            self.at_least is not None
            and self.at_most is not None
            and self.at_least > self.at_most
        ):
            raise ValueError(
                f"check {self.name!r}: at_least = {self.at_least!r} exceeds "
                f"at_most = {self.at_most!r}, so no value could pass"
            )

    @classmethod
    def within(
        cls, name: str, value, *, target: float, tolerance: float, description=""
    ) -> Check:
        r"""A check that ``value`` is within ``tolerance`` of ``target``.

        .. math::

            |v - t| \le \tau,

        where :math:`v` is ``value``, :math:`t` is ``target`` and
        :math:`\tau` is ``tolerance``; stored as the bounds
        ``at_least = t - tau`` and ``at_most = t + tau``.

        Parameters
        ----------
        name : str
            What is measured.
        value : float
            The measured number (anything ``float`` accepts, for example a
            numpy scalar).
        target : float
            The value the theory predicts.
        tolerance : float
            The allowed distance from ``target``; non-negative.
        description : str, optional
            How the value is measured, in words.

        Returns
        -------
        Check
            The check, with ``target`` and ``tolerance`` recorded.

        Raises
        ------
        ValueError
            If ``target`` or ``tolerance`` is not finite, or ``tolerance``
            is negative.

        Examples
        --------
        >>> check = Check.within("rk4 order", 3.93, target=4.0, tolerance=0.3)
        >>> print(check.text, check.passed)
        rk4 order = 3.93, needs 4 ± 0.3 True
        >>> Check.within("rk4 order", 3.5, target=4.0, tolerance=0.3).passed
        False
        """
        target = _finite_bound(name, "target", target)
        tolerance = _finite_bound(name, "tolerance", tolerance)
        if tolerance < 0:
            raise ValueError(
                f"check {name!r}: tolerance must be >= 0, got {tolerance!r}"
            )
        return cls(
            name,
            float(value),
            at_least=target - tolerance,
            at_most=target + tolerance,
            target=target,
            tolerance=tolerance,
            description=description,
        )

    @classmethod
    def below(cls, name: str, value, bound: float, description="") -> Check:
        r"""A check that ``value`` is at most ``bound``: :math:`v \le b`.

        Parameters
        ----------
        name : str
            What is measured.
        value : float
            The measured number.
        bound : float
            The largest value that passes (inclusive).
        description : str, optional
            How the value is measured, in words.

        Returns
        -------
        Check
            The check, with ``at_most = bound``.

        Raises
        ------
        ValueError
            If ``bound`` is not finite.

        Examples
        --------
        >>> check = Check.below("velocity residual", 2e-13, 1e-10)
        >>> print(check.text, check.passed)
        velocity residual = 2e-13, needs <= 1e-10 True
        >>> Check.below("velocity residual", 1e-10, 1e-10).passed  # inclusive
        True
        """
        bound = _finite_bound(name, "bound", bound)
        return cls(name, float(value), at_most=bound, description=description)

    @classmethod
    def above(cls, name: str, value, bound: float, description="") -> Check:
        r"""A check that ``value`` is at least ``bound``: :math:`v \ge b`.

        Parameters
        ----------
        name : str
            What is measured.
        value : float
            The measured number.
        bound : float
            The smallest value that passes (inclusive).
        description : str, optional
            How the value is measured, in words.

        Returns
        -------
        Check
            The check, with ``at_least = bound``.

        Raises
        ------
        ValueError
            If ``bound`` is not finite.

        Examples
        --------
        >>> check = Check.above("GD/GN iterations", 2500, 1000)
        >>> print(check.text, check.passed)
        GD/GN iterations = 2500, needs >= 1000 True
        >>> Check.above("GD/GN iterations", float("inf"), 1000).passed
        False
        """
        bound = _finite_bound(name, "bound", bound)
        return cls(name, float(value), at_least=bound, description=description)

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
        """The bound as text, for example ``2 ± 0.25``, ``<= 1e-10`` or ``>= 0.9``.

        The bounds print exactly (the fewest digits that read back as the
        bound), so that :attr:`riemgn.verify.Check.value_text` can be read
        against them.
        """
        if self.target is not None:
            return f"{_exact(self.target)} ± {_exact(self.tolerance)}"
        if self.at_least is not None and self.at_most is not None:
            return f"in [{_exact(self.at_least)}, {_exact(self.at_most)}]"
        if self.at_most is not None:
            return f"<= {_exact(self.at_most)}"
        return f">= {_exact(self.at_least)}"

    @property
    def references(self) -> tuple[float, ...]:
        """The check's bounds and target, against which its value is read."""
        bounds = (self.at_least, self.at_most, self.target)
        return tuple(b for b in bounds if b is not None)

    @property
    def value_text(self) -> str:
        """The value as text, with enough digits to show its distance from the bounds.

        Formatted by the report's one number rule (see ``_format``): at least
        4 significant digits, more where the value is close to a bound or the
        target, so that it never prints as a bound it does not equal.

        Examples
        --------
        >>> Check.below("GN rate max/min", 1.0000031, 1.1).value_text
        '1.000'
        >>> Check.within("GN rate", 2.0000004, target=2.0, tolerance=0.2).value_text
        '2.0000004'
        >>> Check.below("ratio", 1.1000000001, 1.1).value_text
        '1.1000000001'
        """
        return _format(self.value, near=self.references)

    @property
    def text(self) -> str:
        """The check in one line, ``name = value, needs criterion``."""
        return f"{self.name} = {self.value_text}, needs {self.criterion}"

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON-ready data (non-finite numbers become ``None``).

        Returns
        -------
        dict
            ``name``, ``value`` (``None`` if not finite), ``passed``,
            ``criterion`` (text), ``at_least``, ``at_most``, ``target``,
            ``tolerance`` and ``description``: one entry of a claim's
            ``checks`` in ``report.json``.

        Examples
        --------
        >>> data = Check.below("residual", float("nan"), 1e-10).as_dict()
        >>> data["value"], data["passed"], data["criterion"]
        (None, False, '<= 1e-10')
        """
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

    Its :attr:`riemgn.verify.Verdict.status` is ``inconclusive`` if
    ``reason`` is set, else ``pass`` if every check passes, else ``fail``.

    Attributes
    ----------
    checks : sequence of Check
        The pass criteria (stored as a tuple); the claim passes when all
        pass.
    metrics : dict
        Every measured number worth reporting (JSON-ready: numbers, strings,
        lists of them).
    key : str
        The name of the check to show in one-line summaries.
    reason : str or None
        If set, the claim could not be evaluated and is ``inconclusive``
        whatever its checks say; the reason says why.
    notes : sequence of str
        Observations worth a line in the report (never part of the verdict);
        stored as a tuple.

    Raises
    ------
    ValueError
        If ``reason`` is ``None`` and there is no check, or ``key`` is not
        the name of one of the checks.

    Examples
    --------
    >>> verdict = Verdict(
    ...     [
    ...         Check.within("GN rate", 2.01, target=2.0, tolerance=0.2),
    ...         Check.above("GD slope", 0.5, 0.8),
    ...     ],
    ...     {"rates": [2.01, 1.99]},
    ...     key="GN rate",
    ... )
    >>> verdict.status.value
    'fail'
    >>> [check.name for check in verdict.failed]
    ['GD slope']
    >>> print(verdict.key_check.text)
    GN rate = 2.01, needs 2 ± 0.2
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
        cls,
        reason: str,
        metrics: Mapping[str, Any] | None = None,
        *,
        checks=(),
        notes=(),
    ) -> Verdict:
        """A verdict that could not be reached, with the reason.

        Its status is ``inconclusive`` whatever the checks say; its ``key``
        is the first check's name, or ``""`` without checks.

        Parameters
        ----------
        reason : str
            Why the claim could not be decided (shown in the report).
        metrics : dict, optional
            What was measured all the same.
        checks : sequence of Check, optional
            Checks computed before the experiment gave up, for the report.
        notes : sequence of str, optional
            Observations worth a line in the report.

        Returns
        -------
        Verdict
            The inconclusive verdict.

        Examples
        --------
        >>> verdict = Verdict.inconclusive(
        ...     "every GN flow left the ball before t_end", {"left_region": 5}
        ... )
        >>> print(verdict.status.value, "-", verdict.reason)
        inconclusive - every GN flow left the ball before t_end
        >>> verdict.key_check is None
        True
        """
        checks = tuple(checks)
        key = checks[0].name if checks else ""
        return cls(checks, dict(metrics or {}), key, reason=reason, notes=notes)

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
    another process), and its result must be picklable. Calling the task
    runs it. A run should draw its random numbers from a seed passed in
    ``kwargs``, so that its result does not depend on which process runs it.

    Attributes
    ----------
    label : str
        Names the run in the progress display and in error messages.
    function : callable
        A module-level function, called as ``function(**kwargs)``.
    kwargs : dict
        Its keyword arguments (picklable).

    Examples
    --------
    >>> import pickle
    >>> import numpy as np
    >>> task = Task("grid", np.linspace, {"start": 0.0, "stop": 1.0, "num": 5})
    >>> task().tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> pickle.loads(pickle.dumps(task))().tolist()  # as a worker process runs it
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """

    label: str
    function: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self):
        return self.function(**self.kwargs)


@dataclass(frozen=True)
class Claim:
    r"""One claim of the theory (THEORY.md §4) and the experiment that checks it.

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
    unsupported : dict
        ``{data: reason}``: why the experiment does not run on a ``--data``
        choice outside ``data``, in words, for the report and the command
        line's error (:meth:`riemgn.verify.Claim.unsupported_reason`).
    expected_seconds : dict
        Typical wall time per preset on one core, for the documentation.
    config_type : type or None
        If given (a frozen dataclass, say), the configuration is passed to
        ``tasks``, ``evaluate`` and ``figure`` as ``config_type(**config)``,
        built once before any run; else as the dict. The report records the
        dict either way.

    Examples
    --------
    A toy claim, checked by :func:`riemgn.verify.run`: the partial sums of
    the geometric series :math:`S_n = \sum_{k<n} 2^{-k}` approach 2.

    >>> from riemgn.verify import Check, Claim, Task, Verdict, run
    >>> def partial_sum(n):
    ...     return sum(0.5**k for k in range(n))
    >>> def tasks(config, *, data, seed):
    ...     return [Task(f"n = {n}", partial_sum, {"n": n}) for n in config["terms"]]
    >>> def evaluate(config, results):
    ...     check = Check.below("error", abs(results[-1] - 2.0), 1e-6)
    ...     return Verdict([check], {"sums": list(results)}, key="error")
    >>> claim = Claim(
    ...     id="C0",
    ...     title="Geometric series",
    ...     statement="1 + 1/2 + 1/4 + ... = 2.",
    ...     criterion="|S_n - 2| <= 1e-6 at the largest n",
    ...     presets={"quick": {"terms": [10, 30]}, "full": {"terms": [10, 30, 50]}},
    ...     tasks=tasks,
    ...     evaluate=evaluate,
    ...     figure=lambda config, results, verdict: None,
    ... )
    >>> report = run([claim], plots=False, progress=False)
    >>> print(report.table())
    claim                status  key number         criterion
    -------------------  ------  -----------------  ---------
    C0 Geometric series  pass    error = 1.863e-09  <= 1e-06
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
    config_type: type | None = None
    unsupported: Mapping[str, str] = field(default_factory=dict)

    def unsupported_reason(self, data: str) -> str | None:
        """Why the claim does not run on ``data``; ``None`` if it does.

        Parameters
        ----------
        data : str
            A ``--data`` choice.

        Returns
        -------
        str or None
            The reason declared in ``unsupported``, or a generic one.

        Examples
        --------
        >>> from riemgn.verify import CLAIMS
        >>> CLAIMS["C1"].unsupported_reason("breast_cancer") is None
        True
        >>> "logistic" in CLAIMS["C2"].unsupported_reason("breast_cancer")
        True
        """
        if data in self.data:
            return None
        return self.unsupported.get(data, "no experiment is defined on this data")

    def config(self, preset: str, data: str = "synthetic") -> dict[str, Any]:
        """The configuration of ``preset`` (``"quick"`` or ``"full"``).

        A preset may hold per-data overrides under the key ``"data"``:
        ``{"data": {"diabetes": {...}}}``; they replace the preset's entries
        for that data, and the ``"data"`` key itself is dropped.

        Parameters
        ----------
        preset : str
            A key of ``presets``: ``"quick"`` or ``"full"``.
        data : str, optional
            One of the claim's ``data`` choices.

        Returns
        -------
        dict
            A new dict of plain values, as recorded in the report.

        Raises
        ------
        ValueError
            If ``preset`` is not a preset of the claim, or the claim does not
            support ``data``.

        Examples
        --------
        >>> from riemgn.verify import CLAIMS
        >>> c1 = CLAIMS["C1"]
        >>> c1.config("quick")["n_points"], c1.config("quick", "diabetes")["n_points"]
        (5, 3)
        >>> CLAIMS["C3"].config("quick", "diabetes")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        ValueError: C3 does not support data 'diabetes' (...); it supports synthetic
        """
        if preset not in self.presets:
            raise ValueError(
                f"unknown preset {preset!r} for {self.id}; "
                f"choose from {', '.join(self.presets)}"
            )
        if data not in self.data:
            raise ValueError(
                f"{self.id} does not support data {data!r} "
                f"({self.unsupported_reason(data)}); "
                f"it supports {', '.join(self.data)}"
            )
        config = {k: v for k, v in self.presets[preset].items() if k != "data"}
        config.update(self.presets[preset].get("data", {}).get(data, {}))
        return config
