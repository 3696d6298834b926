"""The theory page's formulas name the code that implements them.

Every display formula of ``docs/theory.rst`` is a ``formula`` box (see
``docs/_ext/riemgn_docs.py``) whose ``:implementation:`` names the
functions that compute it. Those functions must exist, be in the API
reference, and state the formula in their own docstrings; the built page
must link each box to them.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THEORY = ROOT / "docs" / "theory.rst"
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from riemgn_docs import implementations, resolve  # noqa: E402

TOPICS = (
    "output manifold",
    "tangent",
    "projector",
    "second fundamental form",
    "weingarten",
    "retraction",
    "geodesic",
    "gauss-newton",
    "levenberg-marquardt",
    "damping",
    "initialization",
)


def formula_boxes(text: str) -> list[dict]:
    """Each ``.. formula::`` directive: title, implementations, body."""
    boxes = []
    pattern = re.compile(r"^(?P<indent> *)\.\. formula:: (?P<title>.+)$", re.M)
    for match in pattern.finditer(text):
        indent = len(match.group("indent"))
        block = []
        for line in text[match.end() + 1 :].splitlines():
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            block.append(line)
        body = "\n".join(block)
        option = re.search(r":implementation:(.*(?:\n\s{6,}[\w.,\s]+)*)", body)
        boxes.append(
            {
                "title": match.group("title").strip(),
                "implementations": implementations(option.group(1)) if option else [],
                "body": body,
            }
        )
    return boxes


TEXT = THEORY.read_text(encoding="utf-8")
BOXES = formula_boxes(TEXT)
NAMES = sorted({name for box in BOXES for name in box["implementations"]})


def test_the_page_covers_the_theory():
    lowered = TEXT.lower()
    missing = [topic for topic in TOPICS if topic not in lowered]
    assert not missing
    assert len(BOXES) >= 20


def test_every_display_formula_is_a_box():
    """No bare ``.. math::`` block: a formula without a function is not allowed."""
    assert ".. math::" not in TEXT
    assert "$$" not in TEXT


@pytest.mark.parametrize("box", BOXES, ids=[b["title"] for b in BOXES])
def test_each_box_names_existing_implementations(box):
    assert box["implementations"], f"formula {box['title']!r} names no implementation"
    for name in box["implementations"]:
        obj = resolve(name)
        assert callable(obj) or isinstance(obj, property), name


@pytest.mark.parametrize("name", NAMES)
def test_each_implementation_states_a_formula(name):
    """The implementing code states the formula it computes and derives it once.

    The object's own docstring gives its formula (at least inline); a
    ``.. math::`` block with the derivation is in it, its class's or its
    module's docstring (ARCHITECTURE.md: a derivation is written once).
    """
    obj = resolve(name)
    owner = resolve(name.rpartition(".")[0])
    own = inspect.getdoc(obj) or ""
    assert ":math:" in own or ".. math::" in own, f"{name}: no formula in its docstring"
    docs = [own]
    if inspect.isclass(owner):
        docs.append(inspect.getdoc(owner) or "")
        owner = inspect.getmodule(owner)
    docs.append(inspect.getdoc(owner) or "")
    assert any(".. math::" in doc for doc in docs), (
        f"{name}: no math block in its, its class's or its module's docstring"
    )


def test_the_built_page_links_each_box(built_docs, inventory):
    page = (built_docs / "theory.html").read_text(encoding="utf-8")
    boxes = re.split(r'<div class="formula[ "]', page)[1:]
    assert len(boxes) == len(BOXES)
    for chunk, source in zip(boxes, BOXES, strict=True):
        head, _, tail = chunk.partition("Implemented by")
        assert 'class="math' in head, f"box {source['title']!r} shows no formula"
        box = tail.split("</p>")[0]
        for name in source["implementations"]:
            assert name in inventory, f"{name} is not in the API reference"
            target = inventory[name]
            assert f'href="{target}"' in box, (
                f"box {source['title']!r} does not link {name}"
            )
