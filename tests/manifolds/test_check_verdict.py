"""check_manifold's verdicts, and ``riemgn manifold --check`` exiting on them.

Seen: ``riemgn manifold --cond 1e4 --check`` printed "Hessian Taylor slope
(exp) 0.3187 (expected 3)" and exited 0. The Taylor direction, a random
tangent vector rescaled to unit length in parameter space, lay along the
smallest singular directions of J (output length ~3e-5 at cond J = 6.4e5),
so the Hessian's model error stayed at the round-off floor eps |h| ~ 3e-15
up to t = 0.1 and the fit ran on noise. The direction is now J delta for a
random unit delta, an unresolved slope is reported as such, and a failed or
unresolved check exits 1.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from problems import two_layer
from test_checks import NoWeingarten

import manifolds
from manifolds import CheckVerdict, TaylorCheck, check_manifold
from riemgn.cli import main
from riemgn.data import teacher_student


def _cli_point(cond: float, seed: int = 0):
    """The manifold and point that ``riemgn manifold --cond cond`` checks."""
    rng = np.random.default_rng(seed)
    problem = teacher_student(40, 3, 4, cond=cond, rng=rng)
    manifold = manifolds.OutputManifold(problem.output_map, problem.params0, rng=rng)
    return manifold, problem.output_map.value(problem.params0)


def test_a_healthy_manifold_passes_every_check():
    manifold = two_layer(n=20, d=3, width=2, seed=40).manifold
    result = check_manifold(manifold, rng=np.random.default_rng(0))
    verdicts = result.verdicts()
    assert [v.status for v in verdicts] == ["pass"] * 10
    assert all(isinstance(v, CheckVerdict) and not v.note for v in verdicts)
    assert result.status == "pass" and 1 <= result.condition < 1e3


def test_a_broken_weingarten_map_fails_and_is_named():
    problem = two_layer(n=20, d=3, width=2, seed=34, build_manifold=False)
    manifold = NoWeingarten(
        problem.output_map, problem.params0, rng=np.random.default_rng(0)
    )
    result = check_manifold(manifold, rng=np.random.default_rng(3))
    hessian = next(v for v in result.verdicts() if v.name.startswith("Hessian"))
    assert hessian.status == "fail" and "of order 2, not 3" in hessian.note
    assert result.status == "fail"


def test_the_cond_1e4_hessian_slope_is_resolved():
    manifold, u0 = _cli_point(1e4)
    result = check_manifold(manifold, u0, rng=np.random.default_rng(0))
    assert result.condition > 1e5  # cond J(theta0) = 6.4e5 here
    hessian = result.hessian
    assert hessian.resolved and hessian.n_resolved >= 8
    assert 2.75 <= hessian.slope <= 3.5
    assert result.status == "pass", [v for v in result.verdicts() if v.note]


def test_an_error_at_the_round_off_floor_is_unresolved_not_a_slope():
    steps = np.logspace(-8, 0, 33)
    floor = np.full(33, 2e-13)
    # Round-off noise at every step: nothing to fit.
    errors = 1e-15 * (1 + np.sin(np.arange(33)) ** 2)
    fit = manifolds.fit_loglog_slope(steps, np.where(errors > floor, errors, 0.0))
    check = TaylorCheck(
        fit.steps, errors, fit.slope, fit.window, fit.residual, fit.reliable, floor
    )
    assert not check.resolved and check.n_resolved == 0
    # A t^3 error that rises above the floor at the last 3 steps only.
    steep = TaylorCheck(steps, 1e-11 * steps**3, math.inf, (0, 0), 0.0, True, floor)
    assert steep.n_resolved == 3 and not steep.resolved
    manifold = two_layer(n=20, d=3, width=2, seed=40).manifold
    result = check_manifold(manifold, rng=np.random.default_rng(0))
    for hessian in (check, steep):
        verdict = next(
            v
            for v in dataclasses.replace(result, hessian=hessian).verdicts()
            if v.name.startswith("Hessian")
        )
        assert verdict.status == "unresolved" and math.isnan(verdict.value)
        assert "round-off floor" in verdict.note
    assert dataclasses.replace(result, hessian=steep).status == "unresolved"


def test_manifold_check_exits_0_with_a_verdict_per_row(capsys):
    assert main(["manifold", "--cond", "1e4", "--check"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "(expected" in line]
    assert len(rows) == 10 and all(" pass " in row for row in rows)
    assert "check_manifold: pass" in out


def test_manifold_check_exits_1_when_a_check_fails(monkeypatch, capsys):
    monkeypatch.setattr(manifolds, "OutputManifold", NoWeingarten)
    assert main(["manifold", "--n", "20", "--width", "2", "--check"]) == 1
    out = capsys.readouterr().out
    assert "check_manifold: fail" in out
    hessian = next(line for line in out.splitlines() if "Hessian Taylor" in line)
    assert " fail " in hessian


def test_manifold_check_exits_1_when_a_check_is_unresolved(monkeypatch, capsys):
    real = manifolds.check_manifold

    def unresolved(*args, **kwargs):
        result = real(*args, **kwargs)
        hessian = result.hessian
        lost = TaylorCheck(
            hessian.steps,
            hessian.errors,
            math.inf,
            (0, 0),
            0.0,
            True,
            np.full(hessian.errors.size, np.inf),
        )
        return dataclasses.replace(result, hessian=lost)

    monkeypatch.setattr(manifolds, "check_manifold", unresolved)
    assert main(["manifold", "--n", "20", "--width", "2", "--check"]) == 1
    out = capsys.readouterr().out
    assert "check_manifold: unresolved" in out
    assert "exceeds 100x its round-off floor at only 0 of" in out


@pytest.mark.parametrize("value", [0.5, 1.0])
def test_verdict_rows_are_plain_data(value):
    row = CheckVerdict("x", value, "<= 1", "pass")
    assert dataclasses.asdict(row) == {
        "name": "x",
        "value": value,
        "expected": "<= 1",
        "status": "pass",
        "note": "",
    }


def test_an_unresolved_slope_says_where_the_sweep_left_the_chart():
    # Decade steps up to t = 10: the geodesic leaves the chart at t = 10, and
    # only 4 Hessian errors (t = 1e-3 ... 1) exceed 100x their floor.
    manifold = two_layer(n=20, d=3, width=2, seed=40).manifold
    result = check_manifold(
        manifold, rng=np.random.default_rng(0), steps=np.logspace(-8, 1, 10)
    )
    assert result.sweep_stop == pytest.approx(10.0) and result.hessian.steps.size == 9
    hessian = next(v for v in result.verdicts() if v.name.startswith("Hessian"))
    assert hessian.status == "unresolved" and math.isnan(hessian.value)
    assert "at only 4 of 9 steps" in hessian.note
    assert "the sweep ended at t = 10, where the geodesic" in hessian.note
    assert result.status == "unresolved"
    # A sweep that stays in the chart says nothing about it.
    healthy = check_manifold(manifold, rng=np.random.default_rng(0))
    assert math.isnan(healthy.sweep_stop)
