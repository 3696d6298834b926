"""Sphinx configuration for the riemgn documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``
(``pip install ".[docs]"`` first). The build runs the tutorial gallery and
the quick preset of ``riemgn verify``; it needs no network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
# Document the source tree, not an installed copy, and find our extensions.
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]

import riemgn  # noqa: E402

project = "riemgn"
author = "riemgn developers"
copyright = "2026, riemgn developers"
version = release = riemgn.__version__

extensions = [
    "sphinx.ext.autodoc",
    # Summary tables of each class's methods (docs/_ext/api_pages.py).
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    # MathJax served from the built site, not a CDN: the pages render offline
    # and in CI, which has no network. It sets ``mathjax_path``.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
    "sphinx_gallery.gen_gallery",
    "api_pages",
    "riemgn_docs",
    "verify_pages",
    "sweep_pages",
    "benchmark_pages",
]

# -- autodoc / napoleon -------------------------------------------------------
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Attributes render like Parameters: name, type as prose, description.
napoleon_custom_sections = [("Attributes", "params_style")]
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"exclude-members": "__init__, __new__"}
# The tables link to the entries on the class's own page: no stub pages.
autosummary_generate = False

# A reference that does not resolve is a warning, and ``-W`` makes it an
# error. numpydoc type fields ("ndarray, shape (n_params,)") are prose, not
# references: with ``napoleon_use_param = False`` they are rendered as text
# instead of being cross-referenced word by word.
nitpicky = True
napoleon_use_param = False
napoleon_use_keyword = False
# Base classes from outside the project (there is no intersphinx: the build
# needs no network) are named, not linked.
nitpick_ignore_regex = [
    ("py:class", r"(builtins|enum|pymanopt|abc|typing)\..*"),
    ("py:class", r"str|int|float|dict|tuple|object"),
    ("py:class", r"(Exception|ValueError|TypeError|RuntimeError|ArithmeticError)"),
    ("py:exc", r"(numpy|scipy)\..*"),
    ("py:class", r"numpy\.(linalg|random)\..*"),
    ("py:class", r"scipy\.sparse\.linalg\..*"),
]

# -- math: the LaTeX macros shared by the theory page and the docstrings ----
MATH_MACROS = {
    "R": r"\mathbb{R}",
    "T": r"\top",
    "pinv": r"{+}",
    "II": r"\mathrm{II}",
    "grad": r"\operatorname{grad}",
    "Hess": r"\operatorname{Hess}",
    "range": r"\operatorname{range}",
    "rank": r"\operatorname{rank}",
    "cond": r"\operatorname{cond}",
    "diag": r"\operatorname{diag}",
    "tr": r"\operatorname{tr}",
}
mathjax3_config = {"tex": {"macros": MATH_MACROS}}
math_number_all = False
math_eqref_format = "({number})"

# -- doctest: the rst pages' testcode blocks (docstrings run under pytest) --
doctest_test_doctest_blocks = ""
doctest_global_setup = "import numpy as np"

# -- tutorials ---------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    # The timing pages load jQuery and DataTables from CDNs: not offline.
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "furo"
html_title = f"riemgn {release}"
html_static_path = ["_static"]
html_css_files = ["riemgn.css"]
templates_path = []
exclude_patterns = ["_build", "examples/README.rst", "**/*.ipynb", "**.py.md5"]
# The verification figures and the API pages are generated at build time.
html_favicon = "_static/favicon.png"
