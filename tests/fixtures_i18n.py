"""Fixtures for the accessibility tests: axe-core's source, and contexts in a given language.

axe-core comes from the npm registry (tests/js/package.json, locked in package-lock.json);
`make test` runs `npm ci` there. When it is missing this fixture runs `npm ci` itself, so a bare
`pytest` works from a fresh clone too. Without npm the accessibility tests skip, unless
EVENTS_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures_browser import REQUIRE_BROWSER

JS_DIR = Path(__file__).resolve().parent / "js"
AXE_FILE = JS_DIR / "node_modules" / "axe-core" / "axe.min.js"

#: The WCAG 2.1 A and AA rules: what BITV 2.0 / HVBIT require.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _unavailable(message: str):
    if REQUIRE_BROWSER:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm not found: cannot install axe-core (apt-get install npm, then make test)")
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0 or not AXE_FILE.exists():
            _unavailable(f"npm ci in tests/js failed: {result.stderr[-2000:]}")
    return AXE_FILE.read_text(encoding="utf-8")


@pytest.fixture
async def open_context(browser):
    """Factory for browser contexts; axe is injected as a script, so the page's CSP is bypassed for it."""
    contexts = []

    async def make(**options):
        context = await browser.new_context(bypass_csp=True, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()


async def axe_violations(page, axe_source: str) -> list[dict]:
    """Inject axe-core into the page and return its WCAG 2.1 A/AA violations (a few nodes each)."""
    await page.add_script_tag(content=axe_source)
    result = await page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }", WCAG_TAGS)
    return result
