"""Headless Debian chromium: a manager watches the cockpit while a team books from another session."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from tests.conftest import LiveServer, World
from tests.web.booking_support import SHANGHAI, next_week, post_booking
from tests.web.live import api_token
from tests.web.test_browser import CHROMIUM, browser, log_in, page  # noqa: F401  (the shared fixtures)

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


def test_the_cockpit_shows_a_booking_from_another_session_without_a_reload(
    page: Page,  # noqa: F811
    live_server: LiveServer,
    world: World,
) -> None:
    log_in(page, live_server, "manager@test.example")
    today = datetime.now(SHANGHAI).date()
    period = f"start={today.isoformat()}&end={(today + timedelta(days=14)).isoformat()}"
    page.goto(f"{live_server.url}/spaces/{world.space1.id}/cockpit?{period}")
    expect(page.locator("#cockpit")).to_have_attribute("data-live-joined", f"managers:{world.space1.id};")
    expect(page.locator("#chart-daily canvas")).to_have_count(1)
    expect(page.locator("#chart-daily")).to_have_attribute("data-drawn", "1")
    expect(page.locator('[data-figure="booked_hours"]')).to_have_text("0.0")
    page.evaluate("window.__sameDocument = true")

    start = next_week(1, 10)
    founder = api_token(live_server.url, "founder@test.example")
    made = post_booking(
        live_server.url, founder, world.team1.id, world.equipment1.id, start, start + timedelta(hours=2)
    )
    assert made.status_code == 201, made.text[:300]

    expect(page.locator('[data-figure="booked_hours"]')).to_have_text("2.0")
    expect(page.locator('[data-figure="utilization"]')).not_to_have_text("0.0%")
    expect(page.locator("#chart-daily")).to_have_attribute("data-drawn", "2")
    assert page.evaluate("window.__sameDocument") is True


def test_the_cockpit_counts_an_introduction_from_another_session_without_a_reload(
    page: Page,  # noqa: F811
    live_server: LiveServer,
    world: World,
) -> None:
    log_in(page, live_server, "manager@test.example")
    today = datetime.now(SHANGHAI).date()
    period = f"start={(today - timedelta(days=7)).isoformat()}&end={today.isoformat()}"
    page.goto(f"{live_server.url}/spaces/{world.space1.id}/cockpit?{period}")
    expect(page.locator("#cockpit")).to_have_attribute("data-live-joined", f"managers:{world.space1.id};")
    expect(page.locator("#chart-pipeline")).to_have_attribute("data-drawn", "1")
    expect(page.locator('[data-figure="introductions"]')).to_contain_text("0 / 0 / 0 / 0 / 0")
    page.evaluate("window.__sameDocument = true")

    founder = api_token(live_server.url, "founder@test.example")
    sent = requests.post(
        f"{live_server.url}/api/v1/introductions",
        json={
            "team_id": world.team1.id,
            "fund_id": world.fund1.id,
            "pitch": "Machine vision for wafer inspection",
            "amount_sought_10k_cny": "100",
            "round_sought": "seed",
        },
        headers={"Authorization": f"Bearer {founder}"},
        timeout=10,
    )
    assert sent.status_code == 201, sent.text[:300]

    expect(page.locator('[data-figure="introductions"]')).to_contain_text("1 / 1 / 0 / 0 / 0")
    expect(page.locator("#chart-pipeline")).to_have_attribute("data-drawn", "2")
    assert page.evaluate("window.__sameDocument") is True
