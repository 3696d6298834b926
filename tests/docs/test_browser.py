"""The built site renders in headless Chromium.

Opens the home page and the theory page from a local HTTP server (fonts and
MathJax's components do not load from ``file://``), waits for MathJax, saves
a screenshot of each, and checks that the page loaded: every stylesheet,
script and image arrived, the math was typeset without error, the page has
its navigation and content, and the browser logged no error.

At 1280 px, the display formulas of the pages with the widest ones stay in
the text column: a formula wider than the column scrolls sideways in its
own box (``docs/_static/riemgn.css``). On the verification pages no TeX
source shows through as text after typesetting.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them). Without them the test is skipped, except in CI (``CI`` set), where it
fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PAGES = {"index": "index.html", "theory": "theory.html"}
SCREENSHOTS = Path(os.environ.get("RIEMGN_SCREENSHOTS", "docs/_build/screenshots"))

# What a loaded page looks like, measured in the browser.
PROBE = """
const missing = [];
for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
  if (!link.sheet) missing.push('stylesheet ' + link.href);
}
for (const img of document.querySelectorAll('img')) {
  if (!img.complete || img.naturalWidth === 0) missing.push('image ' + img.src);
}
return {
  ready: document.readyState,
  title: document.title,
  missing: missing,
  scripts: Array.from(document.scripts).filter(s => s.src).map(s => s.src),
  mathjax: typeof window.MathJax === 'object' && !!window.MathJax.startup,
  math: document.querySelectorAll('mjx-container').length,
  rawMath: document.querySelectorAll('.math').length,
  mathErrors: document.querySelectorAll('mjx-merror').length,
  article: !!document.querySelector('article[role="main"]'),
  sidebar: !!document.querySelector('.sidebar-tree'),
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
};
"""


def _have_browser() -> bool:
    return Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()


@pytest.fixture(scope="module")
def browser():
    if not _have_browser():
        message = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(built_docs):
    handler = functools.partial(_QuietHandler, directory=str(built_docs))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        self.server.requests.append((self.path, args[1] if len(args) > 1 else ""))


def _serve_log(httpd_requests):
    """The requests the server answered with an error (a 304 is a cache hit)."""
    return [
        (path, code)
        for path, code in httpd_requests
        if not (str(code).isdigit() and int(code) < 400)
    ]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders(browser, server, name):
    base, requests = server
    del requests[:]
    _open_typeset(browser, f"{base}/{PAGES[name]}")
    state = browser.execute_script(PROBE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(shot))

    assert state["ready"] == "complete"
    assert "riemgn" in state["title"]
    assert state["article"] and state["sidebar"], (
        "the page lacks its content or navigation"
    )
    assert not state["missing"], f"not loaded: {state['missing']}"
    failed = _serve_log(requests)
    assert not failed, f"requests that failed: {failed}"
    assert any("mathjax" in src for src in state["scripts"])
    assert state["mathjax"] and state["math"] > 0, "the math was not typeset"
    assert state["math"] >= state["rawMath"], "some formulas were left as raw TeX"
    assert state["mathErrors"] == 0, "MathJax reported TeX errors"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"browser errors: {errors}"
    # The screenshot is a real rendering, not a blank page.
    assert shot.stat().st_size > 20_000


def _open_typeset(browser, url):
    """Load ``url`` and wait until MathJax has typeset the page."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && !!window.MathJax"
            " && !!MathJax.startup && !!MathJax.startup.promise"
        )
    )
    browser.execute_async_script(
        "const done = arguments[0]; MathJax.startup.promise.then(() => done(true));"
    )


# Pages whose formulas are the widest of the site (THEORY's flows, the
# custom-model tutorial), and those of them whose formulas must fit whole.
WIDE_MATH_PAGES = {
    "flows": "api/riemgn.flows.html",
    "custom-model": "auto_examples/plot_custom_model.html",
}
FITTING_PAGES = {"custom-model"}

# Each display formula: MathJax 3's CommonHTML output, <mjx-container
# display="true">, whose <mjx-math> child is the typeset formula.
DISPLAY_MATH = """
const column = document.querySelector('article[role="main"]').getBoundingClientRect();
const sources = new Map();
for (const item of MathJax.startup.document.math) {
  sources.set(item.typesetRoot, item.math);
}
const formulas = [];
for (const box of document.querySelectorAll('mjx-container[jax="CHTML"][display="true"]')) {
  const rect = box.getBoundingClientRect();
  const math = box.querySelector(':scope > mjx-math').getBoundingClientRect();
  formulas.push({
    tex: (sources.get(box) || '').trim().slice(0, 80),
    right: rect.right,
    mathWidth: math.width,
    mathRight: math.right,
    overflowX: getComputedStyle(box).overflowX,
    scrollWidth: box.scrollWidth,
    clientWidth: box.clientWidth,
  });
}
return {
  columnRight: column.right,
  pageWidth: document.documentElement.scrollWidth,
  viewport: document.documentElement.clientWidth,
  formulas: formulas,
};
"""


@pytest.mark.parametrize("name", sorted(WIDE_MATH_PAGES))
def test_display_math_stays_in_the_column(browser, server, name):
    base, _ = server
    browser.set_window_size(1280, 1600)
    _open_typeset(browser, f"{base}/{WIDE_MATH_PAGES[name]}")
    state = browser.execute_script(DISPLAY_MATH)
    right = state["columnRight"] + 1
    formulas = state["formulas"]
    assert formulas, "no display math was typeset"
    assert state["pageWidth"] <= state["viewport"], "the page scrolls sideways"
    outside = [f["tex"] for f in formulas if f["right"] > right]
    assert not outside, f"formula boxes past the text column: {outside}"
    # A formula wider than the column is cut off by its own box, which
    # scrolls sideways to show all of it.
    stuck = [
        f["tex"]
        for f in formulas
        if f["mathRight"] > right
        and not (
            f["overflowX"] in ("auto", "scroll")
            and f["scrollWidth"] > f["clientWidth"]
            and f["scrollWidth"] >= f["mathWidth"] - 1
        )
    ]
    assert not stuck, f"formulas past the text column that do not scroll: {stuck}"
    if name in FITTING_PAGES:
        wide = [f["tex"] for f in formulas if f["mathRight"] > right]
        assert not wide, f"formulas wider than the text column: {wide}"


# The words of the main text after typesetting, with the assistive MathML
# that MathJax adds for screen readers: a TeX escape there was shown as is.
PAGE_TEXT = """
const article = document.querySelector('article[role="main"]');
const mtext = Array.from(article.querySelectorAll('mjx-assistive-mml mtext'))
  .map(e => e.textContent);
return {
  text: article.innerText,
  mtext: mtext,
  assistive: article.querySelectorAll('mjx-assistive-mml').length,
};
"""


def test_verification_page_shows_no_tex(browser, server):
    base, _ = server
    _open_typeset(browser, f"{base}/verification.html")
    state = browser.execute_script(PAGE_TEXT)
    assert "roundoff_factor" in state["text"]
    assert state["assistive"], "no assistive MathML: is MathJax's a11y output gone?"
    literal = [t for t in state["mtext"] if "\\" in t]
    assert not literal, f"text in formulas shown with its TeX escapes: {literal}"
    for escape in ("\\_", "\\text{", "\\mathrm{", "\\(", "\\["):
        assert escape not in state["text"], f"the page shows {escape!r} as text"
