"""The documentation checks can fail: negative controls for CI's guarantees.

Issue 5 asks that a broken cross-reference or a missing docstring fails CI.
The first is enforced by the Sphinx configuration (``nitpicky`` under
``-W``), the second by ``test_docstrings.py``. These tests feed each check
a defect and assert that it is caught, so that neither can pass vacuously.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

from test_docstrings import _problems

DOCS = Path(__file__).resolve().parents[2] / "docs"

# The project's conf.py, without the extensions that run code at build time
# (the gallery and the verify report) or generate the API pages: what is
# tested is the cross-reference policy, which lives in conf.py itself.
EXTENSIONS = "sphinx.ext.autodoc,sphinx.ext.napoleon,sphinx.ext.mathjax,riemgn_docs"


def _build(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.rst").write_text("Check\n=====\n\n" + textwrap.dedent(body))
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-E",
        "-W",
        "--keep-going",
        "-q",
        "-c",
        str(DOCS),
        "-D",
        f"extensions={EXTENSIONS}",
        "-b",
        "html",
        str(source),
        str(tmp_path / "html"),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_a_resolving_reference_builds(tmp_path):
    done = _build(
        tmp_path,
        """
        See :func:`riemgn.demo` and :class:`int`.

        .. py:function:: riemgn.demo(x)

           Return ``x``.
        """,
    )
    assert done.returncode == 0, done.stdout + done.stderr


BROKEN = [
    ":func:`riemgn.theory.no_such_function`",
    ":class:`manifolds.NoSuchManifold`",
    ":meth:`manifolds.OutputManifold.no_such_method`",
]


def test_a_broken_reference_fails_the_build(tmp_path):
    done = _build(tmp_path, "".join(f"See {ref}.\n\n" for ref in BROKEN))
    assert done.returncode != 0
    for reference in BROKEN:
        target = reference.split("`")[1]
        assert f"reference target not found: {target}" in done.stderr


def _no_docstring(x):
    return x


def _incomplete(theta, scale=1.0):
    """Scale an array.

    Parameters
    ----------
    theta : ndarray
        Parameters.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    return scale * theta


def _complete(theta, scale=1.0):
    """Scale an array.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        Parameters.
    scale : float
        Positive factor.

    Returns
    -------
    ndarray, shape (n_params,)

    Raises
    ------
    ValueError
        If ``scale <= 0``.

    Examples
    --------
    >>> _complete(1.0)
    1.0
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    return scale * theta


def test_a_complete_docstring_passes():
    assert _problems(_complete, inspect.getdoc(_complete), need_returns=True) == []


def test_a_missing_docstring_is_caught():
    problems = " ".join(_problems(_no_docstring, "", need_returns=True))
    for expected in ("parameters not documented", "no Returns", "no Examples"):
        assert expected in problems


def test_each_missing_part_is_caught():
    problems = " ".join(
        _problems(_incomplete, inspect.getdoc(_incomplete), need_returns=True)
    )
    assert "['scale']" in problems
    assert "without a shape" in problems
    assert "no Returns section" in problems
    assert "no Raises section" in problems
    assert "no Examples section" in problems
