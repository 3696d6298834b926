"""The built site needs no network: no page loads a script, a stylesheet or an
image from another host.

CI has no network and neither may a reader; MathJax is served from the site
(sphinx-mathjax-offline). The browser test checks two pages for failed
requests; this checks every page's markup.
"""

from __future__ import annotations

from html.parser import HTMLParser

REMOTE = ("http://", "https://", "//")


class _Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.found.append((tag, attrs["src"]))
        if tag == "link" and attrs.get("href"):
            rel = (attrs.get("rel") or "").split()
            if {"stylesheet", "icon", "preload", "modulepreload"} & set(rel):
                self.found.append((tag, attrs["href"]))


def _remote_resources(html: str) -> list[tuple[str, str]]:
    parser = _Resources()
    parser.feed(html)
    return [(tag, url) for tag, url in parser.found if url.startswith(REMOTE)]


def test_the_scan_finds_a_remote_script():
    page = (
        '<link rel="stylesheet" href="_static/a.css">'
        '<script src="https://code.jquery.com/jquery.js"></script>'
        '<link href="//cdn.example/x.css" rel="stylesheet">'
    )
    assert _remote_resources(page) == [
        ("script", "https://code.jquery.com/jquery.js"),
        ("link", "//cdn.example/x.css"),
    ]


def test_no_page_loads_a_remote_resource(built_docs):
    pages = sorted(built_docs.rglob("*.html"))
    assert len(pages) > 30
    remote = {}
    for page in pages:
        found = _remote_resources(page.read_text(encoding="utf-8"))
        if found:
            remote[str(page.relative_to(built_docs))] = found
    assert not remote
