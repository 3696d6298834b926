"""Sphinx directives for the riemgn documentation.

``formula``
    A boxed, numbered formula that names the functions implementing it::

        .. formula:: Tangent projector
           :implementation: manifolds.OutputManifold.projection
           :label: projector

           P_u = Q Q^\\top, \\qquad J = Q R

    Each implementation must be an importable object; a missing one is a
    build warning (an error under ``-W``), and so is an unresolved link.
"""

from __future__ import annotations

import importlib

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def resolve(dotted: str):
    """The object named by ``dotted`` (a module path, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(f"no module in {dotted!r}")


def implementations(text: str) -> list[str]:
    return [name.strip() for name in text.replace("\n", ",").split(",") if name.strip()]


class Formula(SphinxDirective):
    """A formula box: title, display math, and the functions that implement it."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {
        "implementation": directives.unchanged_required,
        "label": directives.unchanged,
    }

    def run(self):
        names = implementations(self.options.get("implementation", ""))
        if not names:
            logger.warning(
                "formula %r names no :implementation:",
                self.arguments[0],
                location=self.get_location(),
            )
        for name in names:
            try:
                resolve(name)
            except (ImportError, AttributeError) as error:
                logger.warning(
                    "formula %r: implementation %s does not exist (%s)",
                    self.arguments[0],
                    name,
                    error,
                    location=self.get_location(),
                )
        lines = [".. math::"]
        if self.options.get("label"):
            lines.append(f"   :label: {self.options['label']}")
        lines.append("")
        lines.extend("   " + line for line in self.content)
        lines.append("")
        links = ", ".join(f":py:obj:`{name}`" for name in names)
        lines.append(f"*Implemented by* {links}.")
        box = nodes.container(classes=["formula"])
        title = nodes.paragraph(classes=["formula-title"])
        title += nodes.strong(text=self.arguments[0])
        box += title
        self.state.nested_parse(
            StringList(lines, source=self.get_source_info()[0]),
            self.content_offset,
            box,
        )
        return [box]


def _public_bases(app, name, obj, options, bases) -> None:
    """Leave private base classes (``_OutputLoss``) out of "Bases:" lines."""
    bases[:] = [b for b in bases if not getattr(b, "__name__", "").startswith("_")]


def setup(app):
    app.add_directive("formula", Formula)
    app.connect("autodoc-process-bases", _public_bases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
