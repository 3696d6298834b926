"""The built documentation, for the tests that read it.

``.ci/run`` builds the site once (``sphinx-build -W --keep-going``) and
points ``RIEMGN_DOCS_HTML`` at it. Without that variable the site is built
here, warnings as errors, into a temporary directory: about a minute, most
of it the quick preset of ``riemgn verify`` and the tutorials.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="session")
def built_docs(tmp_path_factory) -> Path:
    given = os.environ.get("RIEMGN_DOCS_HTML")
    if given:
        html = Path(given)
        if not (html / "index.html").is_file():
            pytest.fail(
                f"RIEMGN_DOCS_HTML={given!r} holds no built site (no index.html)"
            )
        return html
    html = tmp_path_factory.mktemp("docs") / "html"
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-E",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        str(DOCS),
        str(html),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        pytest.fail(
            "the documentation does not build warning-free:\n"
            + done.stdout[-4000:]
            + done.stderr[-8000:]
        )
    return html


@pytest.fixture(scope="session")
def inventory(built_docs) -> dict[str, str]:
    """``{name: uri}`` for every object in the built site's ``objects.inv``."""
    from sphinx.util.inventory import InventoryFile

    with open(built_docs / "objects.inv", "rb") as stream:
        data = InventoryFile.load(stream, "", lambda base, uri: uri)
    entries = {}
    for role, items in data.data.items() if hasattr(data, "data") else data.items():
        if not role.startswith("py:"):
            continue
        for name, item in items.items():
            uri = getattr(item, "uri", None) or item[2]
            entries.setdefault(name, uri)
    return entries
