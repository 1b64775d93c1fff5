"""Headless Debian chromium driven by Playwright: what a person sees and does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from tests.conftest import CHROMIUM, PASSWORD, LiveServer, World
from tests.web.booking_support import SHANGHAI, iso, next_week, post_booking
from tests.web.live import WAIT, add_equipment, api_token, poll_page, require_approval

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def log_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("header .account")).to_contain_text("退出登录")


def test_a_founder_logs_in_and_searches_the_catalogue_in_chinese(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "founder@test.example")
    page.click("text=资源目录")
    page.fill("#search-form input[name=q]", "扫描电镜")
    page.press("#search-form input[name=q]", "Enter")
    results = page.locator("#results")
    expect(results).to_contain_text("场发射扫描电子显微镜")
    expect(results).not_to_contain_text("高效液相色谱仪")
    expect(page.locator("#result-count")).to_contain_text("1")


def test_the_catalogue_shows_a_new_resource_without_a_reload(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "founder@test.example")
    page.goto(f"{live_server.url}/catalogue?space_id={world.space1.id}")
    expect(page.locator("#results")).to_have_attribute("data-live-joined", f"space:{world.space1.id};")
    page.evaluate("window.__sameDocument = true")
    token = api_token(live_server.url, "host@test.example")
    created = add_equipment(live_server.url, token, world, "聚焦离子束", "FIB")
    assert created.status_code == 201
    expect(page.locator(f'#results [data-resource-id="{created.json()["id"]}"]')).to_contain_text(
        "聚焦离子束"
    )
    requests.post(
        f"{live_server.url}/api/v1/resources/{world.equipment1.id}/retire",
        json={"reason": "sold"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=WAIT,
    )
    expect(page.locator(f'#results [data-resource-id="{world.equipment1.id}"]')).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_a_slot_turns_taken_on_an_open_calendar_when_another_team_books_it(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "founder@test.example")
    start = next_week(2, 10)
    day = start.astimezone(SHANGHAI).date().isoformat()
    page.goto(f"{live_server.url}/resources/{world.equipment1.id}/calendar?view=day&date={day}")
    cell = page.locator(f'td[data-start="{iso(start)}"]')
    expect(cell).to_have_attribute("data-state", "free")
    expect(page.locator("#calendar")).to_have_attribute(
        "data-live-joined", f"resource:{world.equipment1.id};"
    )
    other = api_token(live_server.url, "other_founder@test.example")
    made = post_booking(
        live_server.url, other, world.team2.id, world.equipment1.id, start, start + timedelta(hours=1)
    )
    assert made.status_code == 201, made.text
    expect(cell).to_have_attribute("data-state", "taken")  # no reload: the event redrew it
    expect(cell).to_have_text("已占用")


def test_a_founder_selects_free_slots_and_books_them_from_the_calendar(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "founder@test.example")
    start = next_week(3, 14)
    day = start.astimezone(SHANGHAI).date().isoformat()
    page.goto(f"{live_server.url}/resources/{world.equipment1.id}/calendar?view=day&date={day}")
    page.locator(f'td[data-start="{iso(start)}"]').click()
    page.locator(f'td[data-start="{iso(start + timedelta(minutes=90))}"]').click()  # extends to two hours
    expect(page.locator("#selection")).to_contain_text("14:00")
    page.fill("#note", "晶圆测试")
    page.click("#book")
    expect(page.locator("#booking-result")).to_contain_text("预约成功")
    for minutes in (0, 30, 60, 90):
        expect(page.locator(f'td[data-start="{iso(start + timedelta(minutes=minutes))}"]')).to_have_attribute(
            "data-state", "mine"
        )
    # A second team's page, open at the same time, shows the slot taken and offers alternatives.
    other = page.context.browser.new_context(locale="en-US").new_page()  # type: ignore[union-attr]
    log_in_en(other, live_server, "other_founder@test.example")
    other.goto(f"{live_server.url}/resources/{world.equipment1.id}/calendar?view=day&date={day}")
    expect(other.locator(f'td[data-start="{iso(start)}"]')).to_have_attribute("data-state", "taken")
    other.close()


def log_in_en(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/login?lang=en")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("header .account")).to_contain_text("Log out")


def test_the_unread_count_rises_live_and_clears_on_the_notifications_page(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "host@test.example")
    badge = page.locator("#unread-count")
    expect(badge).to_be_hidden()
    assert poll_page(page, "Boolean(window.matchmakerSocket && window.matchmakerSocket.connected)")
    page.evaluate("window.__sameDocument = true")
    require_approval(live_server.url, world)
    founder = api_token(live_server.url, "founder@test.example")
    start = next_week(2, 10)
    made = post_booking(
        live_server.url, founder, world.team1.id, world.equipment1.id, start, start + timedelta(hours=1)
    )
    assert made.status_code == 201, made.text
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True  # no reload

    page.click("#notifications-link")
    expect(page.locator("#notification-list")).to_contain_text("待审批")
    page.click("#mark-all-read")
    expect(page.locator("#unread-count")).to_be_hidden()
    expect(page.locator("#notification-list .unread")).to_have_count(0)


def test_my_equipment_shows_an_approval_request_as_it_arrives_and_a_founders_list_follows_the_decision(
    page: Page, live_server: LiveServer, world: World
) -> None:
    require_approval(live_server.url, world)
    log_in(page, live_server, "host@test.example")
    page.goto(f"{live_server.url}/equipment/mine")
    expect(page.locator("#hosted")).to_have_attribute("data-live-joined", f"organization:{world.host1.id};")
    page.evaluate("window.__sameDocument = true")
    founder = api_token(live_server.url, "founder@test.example")
    start = next_week(3, 10)
    made = post_booking(
        live_server.url, founder, world.team1.id, world.equipment1.id, start, start + timedelta(hours=1)
    )
    assert made.status_code == 201, made.text
    row = page.locator(f'#pending-{world.equipment1.id} [data-booking-id="{made.json()["id"]}"]')
    expect(row).to_contain_text("视觉芯片")  # the team, as the server draws the row
    expect(row.locator('button[data-action="approve"]')).to_have_text("批准")
    assert page.evaluate("window.__sameDocument") is True

    founder_page = page.context.browser.new_context(locale="zh-CN").new_page()  # type: ignore[union-attr]
    log_in(founder_page, live_server, "founder@test.example")
    founder_page.goto(f"{live_server.url}/bookings")
    expect(founder_page.locator(".team-bookings").first).to_have_attribute(
        "data-live-joined", f"user:{world.id('founder')};"
    )
    mine = founder_page.locator(f'tr[data-booking-id="{made.json()["id"]}"]')
    expect(mine).to_have_attribute("data-status", "pending")
    row.locator('button[data-action="approve"]').click()
    expect(mine).to_have_attribute("data-status", "confirmed")  # redrawn by the server, no reload
    expect(mine.locator(".status")).to_contain_text("已确认")
    founder_page.close()
