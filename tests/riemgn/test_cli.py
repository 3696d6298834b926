"""The demo behind ``python -m riemgn``: it computes and prints the diagnostics."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from riemgn.cli import main


def test_demo_prints_measured_diagnostics(capsys):
    assert main(["--n", "25", "--width", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "immersion: yes, dim M = 6 in R^25" in out
    slope = float(re.search(r"gradient Taylor slope\s+(\S+)", out).group(1))
    assert slope == pytest.approx(2.0, abs=0.1)
    hessian = float(re.search(r"Hessian Taylor slope \(exp\)\s+(\S+)", out).group(1))
    assert hessian == pytest.approx(3.0, abs=0.15)


def test_demo_reports_the_symmetric_initialization_as_not_an_immersion(capsys):
    assert main(["--n", "25", "--width", "2", "--init", "symmetric"]) == 1
    out = capsys.readouterr().out
    assert "rank J(theta0) = 3 of 6" in out
    assert "not an immersion" in out and "symmetric initialization" in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--width", "0"], "--width: must be >= 1, got 0"),
        (["--alpha", "-1"], "--alpha: must be a finite number > 0, got -1"),
        (["--activation", "relu"], "invalid choice: 'relu'"),
    ],
)
def test_demo_rejects_bad_options_with_exit_code_2(argv, match, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert match in capsys.readouterr().err


def test_python_dash_m_riemgn_runs():
    result = subprocess.run(
        [sys.executable, "-m", "riemgn", "--n", "20", "--width", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "check_manifold" in result.stdout
