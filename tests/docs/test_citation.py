"""``CITATION.cff`` cites this release of the software and the paper it implements.

The file is read with a small line parser (PyYAML is no dependency of the
project). Needs no documentation build.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = None

ROOT = Path(__file__).resolve().parents[2]
CITATION = ROOT / "CITATION.cff"
ARXIV_ID = "2412.14031"
DOI = f"10.48550/arXiv.{ARXIV_ID}"
URL = f"https://arxiv.org/abs/{ARXIV_ID}"


def _pyproject_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if tomllib is not None:
        return tomllib.loads(text)["project"]["version"]
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^version\s*=\s*"([^"]+)"', project, re.M).group(1)


def _top_level(text: str) -> dict[str, str]:
    """The top-level ``key: scalar`` pairs, quotes removed."""
    pairs = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z][\w-]*):\s*(.*?)\s*$", line)
        if match:
            pairs[match.group(1)] = match.group(2).strip("'\"")
    return pairs


def _block(text: str, key: str) -> str:
    """The indented block below the top-level ``key:``."""
    match = re.search(rf"^{re.escape(key)}:\s*\n((?:[ \t]+.*\n?|\s*\n)*)", text, re.M)
    return match.group(1) if match else ""


@pytest.fixture(scope="module")
def text() -> str:
    assert CITATION.is_file(), "CITATION.cff is missing at the repository root"
    return CITATION.read_text(encoding="utf-8")


def test_format_and_version(text):
    keys = _top_level(text)
    assert keys.get("cff-version") == "1.2.0"
    assert keys.get("type") == "software"
    assert keys.get("title") == "riemgn"
    assert keys.get("message"), "CFF 1.2.0 requires a message"
    assert keys.get("version") == _pyproject_version(), (
        "CITATION.cff's version differs from pyproject.toml's [project] version"
    )
    assert keys.get("license") == "BSD-3-Clause"
    assert _block(text, "authors").strip(), "CFF 1.2.0 requires authors"


def test_cites_the_paper(text):
    paper = _block(text, "preferred-citation")
    assert paper, "no preferred-citation"
    assert re.search(r"^\s+type:\s*article\s*$", paper, re.M)
    assert re.search(rf"^\s+doi:\s*{re.escape(DOI)}\s*$", paper, re.M)
    assert re.search(rf"^\s+url:\s*{re.escape(URL)}\s*$", paper, re.M)
    assert "family-names: Cayci" in paper
    assert "Gauss-Newton Dynamics for Neural Networks" in paper
