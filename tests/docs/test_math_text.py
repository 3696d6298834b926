"""No TeX source shows through as text on the built pages.

The site's MathJax 3 (``sphinx-mathjax-offline``, TeX input with the
default packages) treats the argument of ``\\text{...}`` as plain text: it
does not load ``textmacros``, so ``\\text{roundoff\\_factor}`` is shown with
its backslash. A ``\\text``-like argument must therefore hold no backslash
(write ``\\mathrm{...}``, or the name as code outside the math). And outside
the math, in the words of the page, a TeX escape is always a mistake.

The verification page and the claims' API pages are checked word for word;
the ``\\text`` rule applies to the math of every page.
"""

from __future__ import annotations

import html
import re

import pytest

# Sphinx writes inline math as <span class="math ...">\(...\)</span> and
# display math as <div class="math ...">\[...\]</div>; MathJax typesets both.
MATH = re.compile(r'<(span|div) class="math notranslate nohighlight">(.*?)</\1>', re.S)
TEXT_MODE = re.compile(r"\\(?:text|textrm|textit|textbf|textsf|texttt|mbox|hbox)\s*\{")
ESCAPES = re.compile(r"\\(?:_|text\{|mathrm\{|operatorname\{|\(|\)|\[|\])")
VERIFICATION_PAGES = ["verification.html"]


def _arguments(tex: str) -> list[str]:
    """The brace-balanced argument of each ``\\text``-like command."""
    found = []
    for match in TEXT_MODE.finditer(tex):
        depth, start = 1, match.end()
        for position in range(start, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[position], 0)
            if depth == 0:
                found.append(tex[start:position])
                break
    return found


def _pages(built_docs):
    return sorted(p for p in built_docs.rglob("*.html") if "_static" not in p.parts)


def _words(page: str) -> str:
    """The page's text as a reader sees it, without the math and code."""
    body = page.split('<article role="main"', 1)[-1].split("</article>", 1)[0]
    body = MATH.sub(" ", body)
    body = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_text_mode_math_has_no_macros(built_docs):
    offenders = []
    for path in _pages(built_docs):
        for _, tex in MATH.findall(path.read_text(encoding="utf-8")):
            for argument in _arguments(html.unescape(tex)):
                if "\\" in argument:
                    offenders.append(
                        f"{path.relative_to(built_docs)}: \\text{{{argument}}}"
                    )
    assert not offenders, (
        "MathJax shows these backslashes literally (\\text takes no macros): "
        f"{offenders}"
    )


def _claim_pages(built_docs) -> list[str]:
    api = built_docs / "api"
    return VERIFICATION_PAGES + sorted(
        f"api/{p.name}" for p in api.glob("riemgn.verify.c*_*.html")
    )


def test_verification_pages_show_no_tex(built_docs):
    pages = _claim_pages(built_docs)
    assert len(pages) > 1, "the claims' API pages are missing"
    for name in pages:
        page = (built_docs / name).read_text(encoding="utf-8")
        assert "roundoff" in page or name != "verification.html"
        words = _words(page)
        shown = sorted(set(ESCAPES.findall(words)))
        assert not shown, f"{name} shows TeX as text: {shown}"


@pytest.mark.parametrize("source", ["\\text{a\\_b}", "\\mbox{\\alpha}"])
def test_the_check_sees_a_macro_in_text_mode(source):
    assert any("\\" in a for a in _arguments(source))
