"""Every public docstring follows the numpydoc contract the API reference needs.

For each class and function that a public ``__all__`` exports, and for each
public method defined on those classes:

- the docstring exists;
- every parameter of the signature is listed under Parameters (Attributes
  for dataclasses), and every array-valued one gives its shape;
- a function or method that returns something has a Returns section;
- code that raises has a Raises section;
- there is an Examples section with a doctest (``>>>``), which pytest's
  ``--doctest-modules`` then runs.

Properties need only a docstring.
"""

from __future__ import annotations

import inspect
import re

import pytest
from public_api import (
    documented_parameters,
    public_methods,
    public_modules,
    public_objects,
    raises_in_source,
    sections,
    signature_parameters,
)

OBJECTS = public_objects()
METHODS = {
    f"{qualname}.{name}": (cls, member)
    for qualname, cls in OBJECTS.items()
    if inspect.isclass(cls)
    for name, member in public_methods(cls).items()
}


def _returns_something(func) -> bool:
    annotation = inspect.signature(func).return_annotation
    return annotation not in (None, "None")


def _problems(func, doc: str, *, is_class: bool = False, need_returns: bool) -> list:
    problems = []
    found = sections(doc)
    listed = documented_parameters(doc)
    missing = [
        p for p in signature_parameters(func, is_class=is_class) if p not in listed
    ]
    if missing:
        problems.append(f"parameters not documented: {missing}")
    for title in ("Parameters", "Attributes"):
        for line in found.get(title, "").splitlines():
            if line.startswith(" ") or ":" not in line:
                continue
            kind = line.split(":", 1)[1]
            if re.search(r"\b(ndarray|array_like)\b", kind) and "shape" not in kind:
                problems.append(f"array parameter without a shape: {line.strip()!r}")
    if need_returns and not ({"Returns", "Yields"} & found.keys()):
        problems.append("no Returns section")
    sources = [func]
    if is_class:
        sources = [
            getattr(func, n) for n in ("__init__", "__post_init__") if n in vars(func)
        ]
    if any(raises_in_source(s) for s in sources) and "Raises" not in found:
        problems.append("raises, but has no Raises section")
    if ">>>" not in found.get("Examples", ""):
        problems.append("no Examples section with a doctest")
    return problems


def test_every_public_module_has_a_docstring():
    missing = [m.__name__ for m in public_modules() if not (m.__doc__ or "").strip()]
    assert not missing


def test_the_enumeration_is_not_empty():
    assert len(OBJECTS) > 50 and len(METHODS) > 50


@pytest.mark.parametrize("qualname", sorted(OBJECTS))
def test_public_object_docstring(qualname):
    obj = OBJECTS[qualname]
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{qualname} has no docstring"
    is_class = inspect.isclass(obj)
    problems = _problems(
        obj,
        doc,
        is_class=is_class,
        need_returns=not is_class and _returns_something(obj),
    )
    assert not problems, f"{qualname}: " + "; ".join(problems)


@pytest.mark.parametrize("qualname", sorted(METHODS))
def test_public_method_docstring(qualname):
    cls, member = METHODS[qualname]
    if isinstance(member, property):
        assert (inspect.getdoc(member) or "").strip(), f"{qualname} has no docstring"
        return
    doc = inspect.getdoc(member) or ""
    if not doc.strip():
        # An override that pymanopt documents is still ours to document.
        pytest.fail(f"{qualname} has no docstring")
    problems = _problems(member, doc, need_returns=_returns_something(member))
    assert not problems, f"{qualname}: " + "; ".join(problems)


def _data_names() -> list[tuple[str, str]]:
    names = []
    for module in public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (
                inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj)
            ):
                names.append((module.__name__, name))
    return names


@pytest.mark.parametrize(
    ("module", "name"), _data_names(), ids=[f"{m}.{n}" for m, n in _data_names()]
)
def test_public_data_has_a_doc_comment(module, name):
    """Exported constants carry a ``#:`` comment, which autodoc renders."""
    from sphinx.pycode import ModuleAnalyzer

    # A re-exported constant is documented where it is assigned.
    obj = getattr(__import__(module, fromlist=["_"]), name)
    sources = [m for m in public_modules() if name in vars(m) and vars(m)[name] is obj]
    found = [
        source.__name__
        for source in sources
        if "".join(
            ModuleAnalyzer.for_module(source.__name__)
            .find_attr_docs()
            .get(("", name), [])
        ).strip()
    ]
    assert found, f"{module}.{name} has no #: doc comment where it is assigned"
