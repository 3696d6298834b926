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
