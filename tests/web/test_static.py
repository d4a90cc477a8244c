"""The pages' JavaScript as files: native ES modules, each served as JavaScript with the pages'
strict headers, every import resolving to a served file, and no inline script anywhere.

What Chromium makes of them (they parse, redirect.html loads no records code, the tabs follow
/api/modules) is in test_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

import pytest

from ..support.web import Browser, LiveApp

STATIC = resources.files("zohoauth.web") / "static"
#: Every script the package ships, by URL: index.html's entry and the modules under js/.
SCRIPTS = {"/script.js": STATIC / "script.js"} | {
    f"/js/{f.name}": f for f in (STATIC / "js").iterdir() if f.name.endswith(".js")
}
IMPORT = re.compile(r"""^\s*import\s[^;]*?\sfrom\s+"([^"]+)";""", re.MULTILINE | re.DOTALL)


def imports_of(url: str, source: str) -> set[str]:
    """The URL paths a module's static `import ... from "./x.js"` lines name."""
    base = url.rsplit("/", 1)[0]
    found = set()
    for spec in IMPORT.findall(source):
        assert spec.startswith("./"), f"{url} imports {spec!r}: only relative paths"
        found.add(f"{base}/{spec[2:]}")
    return found


def module_graph(b: Browser, entry: str) -> set[str]:
    """Every module URL `entry` loads, following its imports as the browser would."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = b.get(url)
        assert resp.status_code == 200, f"{url} is imported but not served"
        todo.extend(imports_of(url, resp.text))
    return seen


def test_the_package_has_the_modules_it_should() -> None:
    assert len(SCRIPTS) > 5, "script.js should be split into modules under static/js/"
    assert "/js/redirect.js" in SCRIPTS and "/js/records.js" in SCRIPTS


@pytest.mark.parametrize("url", sorted(SCRIPTS))
def test_every_script_is_served_as_javascript_with_strict_headers(
    live: LiveApp, browser: Callable[[], Browser], url: str
) -> None:
    b = browser()
    resp = b.get(url)
    assert resp.status_code == 200
    assert resp.content == SCRIPTS[url].read_bytes()
    # Module scripts are refused unless their type is JavaScript (and nosniff is strict).
    assert resp.headers["content-type"] == "text/javascript; charset=utf-8"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-cache"
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self';" in csp  # modules from our origin only, nothing inline
    etag = resp.headers["etag"]
    assert b.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_the_pages_load_module_scripts_only_and_none_inline(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    entries = {"/": "/script.js", "/redirect.html": "/js/redirect.js"}
    for page, entry in entries.items():
        html = b.get(page).text
        tags = re.findall(r"<script\b[^>]*>", html)
        assert tags == [f'<script type="module" src="{entry}">'], page
        assert "</script>" in html and "<script>" not in html


def test_every_import_resolves_and_redirect_html_needs_no_records_code(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    b = browser()
    index = module_graph(b, "/script.js")
    redirect = module_graph(b, "/js/redirect.js")
    assert index | redirect == set(SCRIPTS), "a shipped module nothing loads, or a missing one"
    assert {"/js/records.js", "/js/dialogs.js", "/js/catalog.js"} <= index
    assert redirect == {
        "/js/redirect.js",
        "/js/api.js",
        "/js/channel.js",
        "/js/dom.js",
        "/js/messages.js",  # failures in plain words, shared with the app
    }
