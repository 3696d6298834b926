"""Sphinx configuration for riemgn (a first skeleton; issue 5 grows it)."""

project = "riemgn"
author = "riemgn developers"
copyright = "2026, riemgn developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "none"
nitpicky = False
html_theme = "furo"
exclude_patterns = ["_build"]
# numpydoc types such as "ndarray, shape (n_params,)" make napoleon emit
# ambiguous references to the many ``n_params`` attributes; they are shapes,
# not references.
suppress_warnings = ["ref.python"]
