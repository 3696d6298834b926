"""Generate the API reference pages from the packages' ``__all__``.

Every public module (``manifolds``, ``riemgn`` and every module below them
with no underscore in its dotted name) gets a page in ``docs/api/``. Each
public object is documented in full once, at its *canonical* path: the
shortest public module path whose ``__all__`` exports it, not counting the
top-level ``riemgn`` package, which is a convenience namespace (so
``riemgn.flows.gauss_newton_flow``, ``manifolds.OutputManifold``). Every
other module that exports it gets a short alias entry that links there, so
that each ``module.name`` of every ``__all__`` is a target in the built
reference (``objects.inv``).

The pages are generated at ``builder-inited`` and never edited by hand.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

PACKAGES = ("manifolds", "riemgn")
TOP_LEVEL_NAMESPACE = "riemgn"
OUT = "api"


def public_modules() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names)


def _exports(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    return list(getattr(module, "__all__", ()))


def _key(obj):
    # Strings and numbers are interned or copied freely; key them by value.
    return ("value", obj) if isinstance(obj, (str, int, float)) else ("id", id(obj))


def canonical_paths(modules: list[str]) -> dict:
    """Map each exported object (by identity) to its canonical dotted path."""
    candidates: dict = {}
    constants: set = set()
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in _exports(module_name):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            candidates.setdefault(_key(obj), []).append((module_name, name))
            if _kind(obj) == "data":
                constants.add((name, module_name))

    def rank(entry):
        module_name, name = entry
        # A constant's documentation is a ``#:`` comment where it is assigned,
        # which autodoc finds only in that module: document it there.
        undocumented = (name, module_name) in constants and not _has_doc_comment(
            module_name, name
        )
        return (
            undocumented,
            module_name == TOP_LEVEL_NAMESPACE,
            module_name.count("."),
            module_name,
        )

    return {
        key: ".".join(min(entries, key=rank)) for key, entries in candidates.items()
    }


def _has_doc_comment(module_name: str, name: str) -> bool:
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
    return bool("".join(docs.get(("", name), [])).strip())


def _private_bases(cls) -> bool:
    """Whether ``cls`` inherits public members from a private class of ours."""
    return any(
        base.__name__.startswith("_") and base.__module__.split(".")[0] in PACKAGES
        for base in cls.__mro__[1:]
    )


def _documented_members(cls) -> tuple[list[str], list[str]]:
    """The public methods and properties that ``autoclass :members:`` shows.

    Those of the class body and of its private bases (the ones
    ``:inherited-members:`` brings in), in the order of definition, each
    with a docstring: ``(methods, attributes)``.
    """
    bodies = [cls] + [
        base
        for base in cls.__mro__[1:]
        if base.__name__.startswith("_") and base.__module__.split(".")[0] in PACKAGES
    ]
    items: dict = {}
    for body in reversed(bodies):
        items.update(vars(body))
    methods, attributes = [], []
    for name, member in items.items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        # A docstring inherited from a base counts, as it does for autodoc.
        if isinstance(member, property):
            if inspect.getdoc(member):
                attributes.append(name)
        elif inspect.isfunction(member) and inspect.getdoc(member):
            methods.append(name)
    return methods, attributes


def _summary_tables(name: str, cls) -> list[str]:
    """Autosummary tables of a class's methods and attributes.

    Placed in the ``autoclass`` body, so they sit between the class
    description and the members' entries; each row links to its entry.
    """
    methods, attributes = _documented_members(cls)
    lines = []
    for title, names in (("Methods", methods), ("Attributes", attributes)):
        if not names:
            continue
        lines += [
            f"   .. rubric:: {title}",
            "",
            "   .. autosummary::",
            "      :nosignatures:",
            "",
        ]
        # Relative to the page's module (autosummary warns on full names).
        lines += [f"      ~{name}.{member}" for member in names]
        lines.append("")
    return lines


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def _underline(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def module_page(module_name: str, modules: list[str], canonical: dict) -> str:
    module = importlib.import_module(module_name)
    lines = [
        _underline(f"``{module_name}``"),
        f".. automodule:: {module_name}",
        "   :no-members:",
        "",
    ]
    children = [m for m in modules if m.rpartition(".")[0] == module_name]
    if children:
        lines += [".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {child}" for child in children]
        lines.append("")
    documented, aliases = [], []
    for name in _exports(module_name):
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        target = canonical[_key(obj)]
        (documented if target == f"{module_name}.{name}" else aliases).append(
            (name, obj, target)
        )
    for name, obj, _ in documented:
        kind = _kind(obj)
        if kind == "class":
            lines += [
                f".. autoclass:: {module_name}.{name}",
                "   :members:",
                "   :show-inheritance:",
            ]
            if _private_bases(obj):
                # The shared API of a private base (``_OutputLoss``) is part of
                # each public subclass.
                lines.append("   :inherited-members:")
            lines.append("")
            lines += _summary_tables(name, obj)
        elif kind == "function":
            lines += [f".. autofunction:: {module_name}.{name}", ""]
        else:
            lines += [f".. autodata:: {module_name}.{name}", "   :no-value:", ""]
    if aliases:
        lines += [_underline("Also exported here", "-")]
        lines += [
            "These names are documented where they are defined; they are "
            f"re-exported by ``{module_name}`` for convenience.",
            "",
        ]
        for name, obj, target in aliases:
            kind = _kind(obj)
            role = {"class": "class", "function": "func", "data": "data"}[kind]
            lines += [
                f".. py:{kind}:: {name}",
                f"   :module: {module_name}",
                "",
                f"   Alias of :py:{role}:`{target}`.",
                "",
            ]
    return "\n".join(lines)


def index_page(modules: list[str]) -> str:
    roots = [m for m in modules if "." not in m]
    lines = [
        _underline("API reference"),
        "Every public module, class and function of :mod:`manifolds` and "
        ":mod:`riemgn`. An object is documented where it is defined publicly "
        "(for example :func:`riemgn.flows.gauss_newton_flow`); the modules "
        "that re-export it (``riemgn.gauss_newton_flow``) link there.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    lines += [f"   {m}" for m in roots]
    return "\n".join(lines) + "\n"


def generate(srcdir: Path) -> list[Path]:
    """Write the pages into ``srcdir / "api"``; unchanged files are left alone."""
    modules = public_modules()
    canonical = canonical_paths(modules)
    out = srcdir / OUT
    out.mkdir(exist_ok=True)
    pages = {"index.rst": index_page(modules)}
    for module_name in modules:
        pages[f"{module_name}.rst"] = module_page(module_name, modules, canonical)
    written = []
    for filename, text in pages.items():
        path = out / filename
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    for stale in set(out.glob("*.rst")) - set(written):
        stale.unlink()
    return written


def _builder_inited(app):
    generate(Path(app.srcdir))


def setup(app):
    app.connect("builder-inited", _builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
