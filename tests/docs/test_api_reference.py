"""Every public name is in the built API reference, with its documentation.

"Public" is what the packages declare: ``__all__`` of ``manifolds``,
``riemgn`` and every public module below them (``tests/public_api.py``).
"""

from __future__ import annotations

import html
import inspect
import re

import pytest
from public_api import public_methods, public_modules, public_names, public_objects


def _page(built_docs, uri: str) -> tuple[str, str]:
    path, _, anchor = uri.partition("#")
    return (built_docs / path).read_text(encoding="utf-8"), anchor


def test_every_public_module_has_a_page(built_docs, inventory):
    missing = [m.__name__ for m in public_modules() if m.__name__ not in inventory]
    assert not missing, f"modules missing from the API reference: {missing}"
    for module in public_modules():
        page, anchor = _page(built_docs, inventory[module.__name__])
        assert f'id="{anchor}"' in page


def test_every_name_of_every_all_is_a_target(built_docs, inventory):
    names = public_names()
    assert len(names) > 150
    missing = [name for name in names if name not in inventory]
    assert not missing, f"public names missing from the API reference: {missing}"
    for name in names:
        page, anchor = _page(built_docs, inventory[name])
        assert f'id="{anchor}"' in page, f"{name}: no element with id {anchor!r}"


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{4,}", text)


def _first_words(obj, count: int = 8) -> list[str]:
    """The first words of the docstring's summary, as they read when rendered."""
    summary = (inspect.getdoc(obj) or "").strip().split("\n\n")[0]
    summary = re.sub(r":math:`[^`]*`", " ", summary)
    summary = re.sub(r":\w+:`~[\w.]*?(\w+)`", r"\1", summary)  # :class:`~a.B` reads B
    summary = re.sub(r":\w+:`([^`]*)`", r"\1", summary)
    return _words(summary)[:count]


def _renders(page: str, anchor: str, words: list[str]) -> bool:
    """Whether ``words`` appear in order in the entry at ``anchor``."""
    start = page.find(f'id="{anchor}"')
    if start < 0:
        return False
    text = _words(html.unescape(re.sub(r"<[^>]+>", " ", page[start : start + 20000])))
    position = 0
    for word in words:
        try:
            position = text.index(word, position) + 1
        except ValueError:
            return False
    return True


@pytest.mark.parametrize("qualname", sorted(public_objects()))
def test_each_object_is_documented_in_full_once(built_docs, inventory, qualname):
    """The canonical entry renders the docstring; methods have their own entries."""
    obj = public_objects()[qualname]
    targets = [
        f"{module.__name__}.{name}"
        for module in public_modules()
        for name in getattr(module, "__all__", ())
        if getattr(module, name) is obj
    ]
    canonical = {inventory[n] for n in targets if n in inventory}
    assert canonical, f"{qualname} is not in the API reference"
    pages = [_page(built_docs, uri) for uri in canonical]
    documented = [
        (page, anchor)
        for page, anchor in pages
        if _renders(page, anchor, _first_words(obj))
    ]
    assert documented, f"{qualname}: no page renders its docstring"
    if inspect.isclass(obj):
        prefix = documented[0][1]
        for name in public_methods(obj):
            assert f"{prefix}.{name}" in inventory, f"{prefix}.{name} is not documented"


def _class_entry(page: str, anchor: str) -> str:
    """The HTML of the class entry at ``anchor``, up to the next class."""
    start = page.find(f'id="{anchor}"')
    assert start >= 0, f"no entry {anchor}"
    end = page.find('<dl class="py class">', start)
    return page[start : end if end > 0 else len(page)]


def _summary_links(entry: str) -> dict[str, str]:
    """``{shown name: href}`` of the rows of the entry's autosummary tables."""
    links = {}
    for table in re.findall(r'<table class="autosummary.*?</table>', entry, re.S):
        for href, shown in re.findall(
            r'<a class="reference internal" href="([^"]+)"[^>]*>'
            r'<code[^>]*><span class="pre">([^<]+)</span>',
            table,
        ):
            links[shown] = href
    return links


# pymanopt's names: ``projection`` (``proj``), ``retraction``, ``transport``.
OUTPUT_MANIFOLD_METHODS = (
    "projection",
    "retraction",
    "exp",
    "log",
    "weingarten",
    "transport",
    "step_cut",
)


def test_output_manifold_has_a_method_summary(built_docs, inventory):
    import manifolds

    assert set(OUTPUT_MANIFOLD_METHODS) <= set(public_methods(manifolds.OutputManifold))
    page, anchor = _page(built_docs, inventory["manifolds.OutputManifold"])
    entry = _class_entry(page, anchor)
    assert '<table class="autosummary' in entry, "no summary table"
    # The table comes before the members' own entries.
    assert entry.index("autosummary") < entry.index(f'id="{anchor}.projection"')
    links = _summary_links(entry)
    for name in OUTPUT_MANIFOLD_METHODS:
        assert name in links, f"{name} is not in the summary table"
        assert links[name] == f"#{anchor}.{name}", f"{name} links to {links[name]}"
        assert f'id="{anchor}.{name}"' in page
        row = re.search(rf'href="#{re.escape(anchor)}\.{name}".*?</tr>', entry, re.S)
        assert re.sub(r"<[^>]+>", "", row.group(0)).strip() != name, (
            f"{name}: the summary row has no description"
        )


def _documented_members(obj) -> list[str]:
    return [m for m, f in public_methods(obj).items() if inspect.getdoc(f)]


#: The public classes with documented public methods or properties.
SUMMARIZED = sorted(
    name
    for name, obj in public_objects().items()
    if inspect.isclass(obj) and _documented_members(obj)
)


def test_the_summarized_classes_include_the_manifold():
    assert "manifolds.output_manifold.OutputManifold" in SUMMARIZED
    assert len(SUMMARIZED) >= 10


@pytest.mark.parametrize("qualname", SUMMARIZED)
def test_each_class_summarizes_its_members(built_docs, inventory, qualname):
    """Every documented public method and property is a row of its class's table."""
    obj = public_objects()[qualname]
    members = _documented_members(obj)
    uris = {
        inventory[f"{module.__name__}.{name}"]
        for module in public_modules()
        for name in getattr(module, "__all__", ())
        if getattr(module, name) is obj and f"{module.__name__}.{name}" in inventory
    }
    # The canonical entry is the one whose members have entries of their own.
    anchors = [
        uri for uri in uris if f"{uri.partition('#')[2]}.{members[0]}" in inventory
    ]
    assert anchors, f"{qualname}: no entry documents its members"
    page, anchor = _page(built_docs, anchors[0])
    links = _summary_links(_class_entry(page, anchor))
    missing = [m for m in members if links.get(m) != f"#{anchor}.{m}"]
    assert not missing, f"{qualname}: not in the summary table: {missing}"
