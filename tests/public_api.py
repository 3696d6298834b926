"""The public API, enumerated from ``__all__``: for the documentation tests.

A public module is ``manifolds``, ``riemgn`` or any module below them no part
of whose dotted name starts with an underscore. Its public names are its
``__all__``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import manifolds
import riemgn

PACKAGES = (manifolds, riemgn)
OURS = ("manifolds", "riemgn")


def public_modules() -> list[ModuleType]:
    """Every public module of both packages, packages first."""
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            names.append(info.name)
    return [importlib.import_module(name) for name in sorted(names)]


def public_names() -> list[str]:
    """``module.name`` for every name in every public module's ``__all__``."""
    return [
        f"{module.__name__}.{name}"
        for module in public_modules()
        for name in getattr(module, "__all__", ())
    ]


def is_ours(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in OURS


def public_objects() -> dict[str, object]:
    """Each class and function of ours that some ``__all__`` exports, once.

    Keyed by the qualified name of its definition.
    """
    found = {}
    for module in public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and is_ours(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


def public_methods(cls) -> dict[str, object]:
    """Public methods and properties of the class body and its private bases.

    A private base of ours (``_OutputLoss``) is part of each public subclass's
    API; bases from elsewhere (pymanopt, ``object``) are documented there.
    """
    members = {}
    bodies = [cls] + [
        base
        for base in cls.__mro__[1:]
        if base.__name__.startswith("_") and is_ours(base)
    ]
    items = {}
    for body in reversed(bodies):
        items.update(vars(body))
    for name, member in items.items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            members[name] = member
        elif isinstance(member, (staticmethod, classmethod)):
            members[name] = member.__func__
        elif inspect.isfunction(member):
            members[name] = member
    return members


def sections(doc: str) -> dict[str, str]:
    """The numpydoc sections of a docstring, by title."""
    parts = re.split(r"^(\w[\w ]*)\n-{3,}\n", doc, flags=re.M)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def documented_parameters(doc: str) -> set[str]:
    """Names listed in the Parameters (or Attributes) sections."""
    names = set()
    found = sections(doc)
    for title in ("Parameters", "Other Parameters", "Attributes"):
        for line in found.get(title, "").splitlines():
            match = re.match(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(:|$)", line)
            if match and not line.startswith(" "):
                names.update(n.strip().lstrip("*") for n in match.group(1).split(","))
    return names


def signature_parameters(func, *, is_class: bool = False) -> list[str]:
    if is_class and dataclasses.is_dataclass(func):
        return [f.name for f in dataclasses.fields(func) if f.init]
    target = func.__init__ if is_class else func
    if is_class and target is object.__init__:
        return []
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, parameter in signature.parameters.items()
        if name not in ("self", "cls")
        and parameter.kind
        not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def raises_in_source(func) -> bool:
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    # Strip the docstring and comments before looking for a raise statement.
    doc = inspect.getdoc(func) or ""
    source = source.replace(doc, "")
    code = "\n".join(line.split("#")[0] for line in source.splitlines())
    return re.search(r"^\s*raise\s+\w", code, flags=re.M) is not None
