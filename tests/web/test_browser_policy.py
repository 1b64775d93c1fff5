"""The Content-Security-Policy fits the pages: a real browser loads them, live connection included,
and reports no violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import CHROMIUM, PASSWORD, LiveServer, World
from tests.web.live import poll_page

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.web.test_browser import FLAGS  # noqa: E402

# Collects what the browser refuses under the policy, from the moment each document starts.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def page() -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(locale="en-GB")
        context.add_init_script(RECORD_VIOLATIONS)
        opened = context.new_page()
        opened.set_default_timeout(10_000)
        try:
            yield opened
        finally:
            context.close()
            browser.close()


def test_the_pages_run_under_the_policy_without_a_violation(
    page: Any, live_server: LiveServer, world: World
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}/login")
    assert (
        "script-src 'self'"
        in (page.context.request.get(f"{live_server.url}/login").headers)["content-security-policy"]
    )
    page.fill("input[name=email]", "host@test.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("header .account")).to_be_visible()
    for path in ("/catalogue", f"/resources/{world.equipment1.id}/calendar", "/equipment/mine"):
        page.goto(f"{live_server.url}{path}")
        # The page's own script opened the live connection, which the policy must allow too.
        connected = poll_page(page, "Boolean(window.matchmakerSocket && window.matchmakerSocket.connected)")
        assert connected, f"{path}: the live connection did not open: {page.evaluate('window.__violations')}"
        assert page.evaluate("window.__violations") == [], path
    assert not [line for line in console if "Content Security Policy" in line]
