"""The ``riemgn`` command as a newcomer meets it: fast ``--version``, help that
shows defaults and fits the terminal, pipes that close early, figure formats,
and ``riemgn.verify.run`` called with claim ids instead of claims."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest
import verify_dummy

import riemgn
import riemgn.verify as verify
from riemgn.cli import build_parser, main

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEADLINE = 120.0  # seconds; nothing here takes that long unless broken
HEAVY = ("numpy", "scipy", "matplotlib", "pymanopt", "autograd")


def _python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -m riemgn args`` from the repository, with its output captured."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        cwd=ROOT,
        **kwargs,
    )


@pytest.fixture
def dummy_claims(monkeypatch):
    claims = {"C7": verify_dummy.make("C7"), "C8": verify_dummy.make("C8")}
    monkeypatch.setattr(verify, "CLAIMS", claims)
    return claims


# --------------------------------------------------------------------------
# --version and lazy imports


@pytest.mark.parametrize("entry", ["main", "main_entry"])
@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_imports_no_numerical_stack(flag, entry):
    """Seen: ``riemgn --version`` took 2 s importing everything.

    ``main_entry`` is what the ``riemgn`` console script and ``python -m
    riemgn`` call, with the arguments in ``sys.argv``."""
    call = f"main([{flag!r}])" if entry == "main" else "main_entry()"
    code = (
        "import sys\n"
        f"sys.argv = ['riemgn', {flag!r}]\n"
        f"from riemgn.cli import {entry}\n"
        "try:\n"
        f"    {call}\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "else:\n"
        "    raise AssertionError('no SystemExit')\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    version_line, loaded = result.stdout.splitlines()
    assert version_line == f"riemgn {riemgn.__version__}"
    assert loaded == "[]"


def test_import_riemgn_is_lazy_and_every_public_name_resolves():
    code = (
        "import sys, riemgn\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "missing = [n for n in riemgn.__all__ if getattr(riemgn, n, None) is None]\n"
        "print(missing)\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "[]"]


def test_the_lazy_table_matches_all():
    names = set(riemgn._ORIGINS) | set(riemgn._SUBMODULES) | {"__version__"}
    assert names == set(riemgn.__all__)
    for name, origin in riemgn._ORIGINS.items():
        module = getattr(riemgn, origin)
        assert getattr(riemgn, name) is getattr(module, name)
    assert "TwoLayerNetwork" in dir(riemgn)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        riemgn.nonsense  # noqa: B018


# --------------------------------------------------------------------------
# --help


def _help(monkeypatch, capsys, *argv: str) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exit:
        main([*argv, "--help"])
    assert exit.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", [[], ["verify"], ["manifold"]])
def test_help_fits_80_columns(monkeypatch, capsys, command):
    """Seen: ``verify --help`` opened with one line of about 600 characters."""
    text = _help(monkeypatch, capsys, *command)
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long


@pytest.mark.parametrize("command", ["verify", "manifold"])
def test_help_shows_every_default(monkeypatch, capsys, command):
    text = " ".join(_help(monkeypatch, capsys, command).split())
    parser = build_parser()
    commands = next(
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    sub = commands.choices[command]
    formatter = sub.formatter_class(prog=sub.prog)
    for action in sub._actions:
        if not action.option_strings or action.dest == "help":
            continue
        entry = formatter._get_help_string(action) % {"default": action.default}
        assert "default" in entry, (action.option_strings, entry)
        assert " ".join(entry.split()) in text  # and it is what --help prints
        if isinstance(action.default, (int, float, str)) and not isinstance(
            action.default, bool
        ):
            assert f"(default: {action.default})" in entry, entry


def test_help_lists_the_claims_one_per_line(monkeypatch, capsys):
    text = _help(monkeypatch, capsys, "verify")
    for claim in verify.CLAIMS.values():
        assert f"  {claim.id}  {claim.title}\n" in text


# --------------------------------------------------------------------------
# run() given claim ids


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        (
            ["C3"],
            r"`claims` must hold riemgn.verify.Claim objects, got str 'C3' at index 0",
        ),
        ("C3", r"`claims` must be an iterable of riemgn.verify.Claim objects"),
        (None, r"`claims` must be an iterable .* got NoneType"),
        ({"C3": None}, r"`claims` must be an iterable .* got dict"),
    ],
)
def test_run_names_claims_when_given_ids(claims, match):
    """Seen: ``run(["C3"])`` raised ``AttributeError: 'str' object has no attribute 'id'``."""
    with pytest.raises(TypeError, match=match):
        verify.run(claims, progress=False)


def test_run_accepts_the_registry_values():
    claims = {"C7": verify_dummy.make("C7")}
    report = verify.run(claims.values(), plots=False, progress=False)
    assert [r.claim.id for r in report.results] == ["C7"]


# --------------------------------------------------------------------------
# Figure formats


def test_verify_format_pdf_svg_writes_vector_figures(dummy_claims, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["verify", "--out", str(out), "--format", "pdf,svg"]) == 0
    data = json.loads((out / "report.json").read_text())
    for claim in data["claims"]:
        stem = claim["id"]
        assert claim["figures"] == [f"{stem}.pdf", f"{stem}.svg"]
        pdf = (out / f"{stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        root = ElementTree.parse(out / f"{stem}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert not (out / f"{stem}.png").exists()
    markdown = (out / "report.md").read_text()
    assert "![C7: " in markdown and "(C7.svg)" in markdown
    assert "[C7.pdf](C7.pdf)" in markdown
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, verify.schema())


def test_vector_figures_are_reproducible(dummy_claims, tmp_path, capsys):
    """No creation date in the files: the same run writes the same bytes."""
    files = []
    for name in ("a", "b"):
        assert (
            main(["verify", "--out", str(tmp_path / name), "--format", "pdf,svg"]) == 0
        )
        files.append({p.name: p.read_bytes() for p in (tmp_path / name).glob("C7.*")})
    assert set(files[0]) == {"C7.pdf", "C7.svg"} and files[0] == files[1]


def test_png_stays_the_default(dummy_claims, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["verify", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert [c["figures"] for c in data["claims"]] == [["C7.png"], ["C8.png"]]
    assert (out / "C7.png").read_bytes().startswith(b"\x89PNG")


def test_the_png_comes_first_in_any_order_given(dummy_claims, tmp_path):
    """Pages and report.md show a claim's first figure: the PNG if written."""
    report = verify.run(dummy_claims.values(), progress=False)
    written = verify.write_report(report, tmp_path / "out", formats=("svg", "png"))
    data = json.loads(written["json"].read_text())
    assert [c["figures"] for c in data["claims"]] == [
        ["C7.png", "C7.svg"],
        ["C8.png", "C8.svg"],
    ]
    assert written["C7"] == tmp_path / "out" / "C7.png"
    markdown = written["markdown"].read_text()
    assert "(C7.png)" in markdown and "[C7.svg](C7.svg)" in markdown


@pytest.mark.parametrize("value", ["jpg", "png,eps", ",", ""])
def test_a_bad_format_is_a_usage_error(dummy_claims, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit:
        main(["verify", "--out", str(tmp_path / "out"), "--format", value])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "--format" in err and "png, pdf, svg" in err
    assert not (tmp_path / "out").exists()


def test_write_report_checks_formats(dummy_claims, tmp_path):
    report = verify.run(dummy_claims.values(), progress=False)
    with pytest.raises(ValueError, match="`formats` = 'gif' names unknown"):
        verify.write_report(report, tmp_path / "out", formats="gif")
    with pytest.raises(TypeError, match="`formats` must be a string or a sequence"):
        verify.write_report(report, tmp_path / "out", formats=3)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# Closed pipes, with the real claims and the console entry point


def _into_a_closed_pipe(*argv: str) -> tuple[int, str]:
    """Run ``python -m riemgn argv`` whose stdout reader is gone at once."""
    with subprocess.Popen(
        [sys.executable, "-m", "riemgn", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as child:
        try:
            child.stdout.close()  # as `| head -0`: the reader has left
            err = child.stderr.read()
            child.wait(timeout=DEADLINE)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    return child.returncode, err


def test_manifold_into_a_closed_pipe_prints_no_traceback():
    """Seen: ``riemgn manifold | head`` printed a BrokenPipeError traceback."""
    code, err = _into_a_closed_pipe("manifold", "--n", "12", "--width", "2")
    assert code == 141, err
    for text in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert text not in err, err


def test_verify_into_a_closed_pipe_writes_the_whole_report(tmp_path):
    """``riemgn verify | head -1`` must not lose the run; a real claim's
    figure (C3, the quickest with C1) in every format, the PNG listed first."""
    out = tmp_path / "out"
    code, err = _into_a_closed_pipe(
        "verify", "--claims", "C3", "--out", str(out), "--format", "svg,pdf,png"
    )
    assert code == 141, err
    for text in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert text not in err, err
    data = json.loads((out / "report.json").read_text())
    assert [c["id"] for c in data["claims"]] == ["C3"]
    assert data["claims"][0]["figures"] == ["C3.png", "C3.svg", "C3.pdf"]
    assert (out / "C3.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "C3.pdf").read_bytes().startswith(b"%PDF-")
    root = ElementTree.parse(out / "C3.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, verify.schema())
    assert "| [C3](#c3) |" in (out / "report.md").read_text()
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no lock or temporary left
