"""Headless Debian chromium: a founder goes from a recommendation to a rated mentor session while the
mentor answers in another browser, and an investor moves a deal on the board while the team's page
follows without a reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import MentorSession, Resource
from tests.conftest import CHROMIUM, LiveServer, World
from tests.web.booking_support import SHANGHAI, next_week
from tests.web.live import WAIT, api_token, poll_page

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

from tests.web import test_browser as chromium  # noqa: E402

# The browser and page fixtures of the browser tests, shared.
browser = chromium.browser
page = chromium.page
log_in = chromium.log_in

CONNECTED = "Boolean(window.matchmakerSocket && window.matchmakerSocket.connected)"


def second_page(first: Page) -> Page:
    other = first.context.browser.new_context(locale="zh-CN").new_page()  # type: ignore[union-attr]
    other.set_default_timeout(10_000)
    return other


def test_recommendation_to_request_to_session_to_rating_and_a_deal_moved_live(
    page: Page, live_server: LiveServer, world: World, db: Session
) -> None:
    db.execute(
        update(Resource)
        .where(Resource.id == world.fund1.id)
        .values(attributes={"rounds": ["seed"], "fund_size_10k_cny": 500})
    )
    db.commit()
    log_in(page, live_server, "founder@test.example")
    page.goto(f"{live_server.url}/teams/{world.team1.id}")
    page.click(f'#recommended li[data-resource-id="{world.mentor1.id}"] .ask-mentor')
    page.fill("#ask-form input[name=topic]", "读出电路评审")
    page.fill("#ask-form input[name=hours]", "2")
    page.click("#ask-form button[type=submit]")
    requests_list = page.locator("#team-requests")
    expect(requests_list).to_contain_text("待导师答复")
    assert poll_page(page, CONNECTED)
    page.evaluate("window.__sameDocument = true")

    mentor = second_page(page)
    try:
        log_in(mentor, live_server, "mentor@test.example")
        mentor.goto(f"{live_server.url}/mentoring")
        expect(mentor.locator("#mentor-inbox")).to_contain_text("读出电路评审")
        start = next_week(1, 10).astimezone(SHANGHAI)
        mentor.fill("#mentor-inbox .accept-form input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
        mentor.fill("#mentor-inbox .accept-form input[name=minutes]", "120")
        mentor.click("#mentor-inbox .accept-form button[type=submit]")
        expect(mentor.locator("#mentor-calendar")).to_contain_text(start.strftime("%Y-%m-%d %H:%M"))
        expect(mentor.locator("#mentor-hours")).to_contain_text("2")

        # The founder's page follows without a reload.
        expect(requests_list.locator("li[data-status]")).to_have_attribute("data-status", "accepted")
        expect(requests_list).to_contain_text("已安排")

        # The session was held yesterday (arranged), so the mentor reports it.
        held = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        db.execute(update(MentorSession).values(starts_at=held, ends_at=held + timedelta(hours=2)))
        db.commit()
        mentor.reload()
        mentor.fill("#mentor-calendar .report-form input[name=hours]", "1.5")
        mentor.fill("#mentor-calendar .report-form input[name=notes]", "检查ADC参考电压")
        mentor.click("#mentor-calendar .report-form button[type=submit]")
        expect(mentor.locator("#mentor-calendar")).to_contain_text("已完成")
    finally:
        mentor.context.close()

    expect(requests_list).to_contain_text("检查ADC参考电压")  # live: the notes arrived
    page.select_option("#team-requests .rate-form select[name=rating]", "5")
    page.click("#team-requests .rate-form button[type=submit]")
    expect(page.locator("#team-requests")).to_contain_text("评分 5 / 5")

    # An introduction the investor took up: the team's page shows each step as the investor moves it.
    founder = {"Authorization": f"Bearer {api_token(live_server.url, 'founder@test.example')}"}
    investor = {"Authorization": f"Bearer {api_token(live_server.url, 'investor@test.example')}"}
    made = requests.post(
        f"{live_server.url}/api/v1/introductions",
        json={
            "team_id": world.team1.id,
            "fund_id": world.fund1.id,
            "pitch": "片上目标检测芯片",
            "amount_sought_10k_cny": "300",
            "round_sought": "seed",
        },
        headers=founder,
        timeout=WAIT,
    ).json()
    requests.post(
        f"{live_server.url}/api/v1/introductions/{made['id']}/answer",
        json={"answer": "interested"},
        headers=investor,
        timeout=WAIT,
    )
    page.goto(f"{live_server.url}/mentoring")
    stage = page.locator(f'#team-introductions li[data-introduction-id="{made["id"]}"] .deal-stage')
    expect(stage).to_have_attribute("data-stage", "introduced")
    assert poll_page(page, CONNECTED)
    page.evaluate("window.__sameDocument = true")

    board = second_page(page)
    try:
        log_in(board, live_server, "investor@test.example")
        board.goto(f"{live_server.url}/deals")
        card = board.locator(f'[data-column="introduced"] [data-introduction-id="{made["id"]}"]')
        expect(card).to_contain_text("视觉芯片")
        card.locator(".move-meeting").click()
        expect(board.locator(f'[data-column="meeting"] [data-introduction-id="{made["id"]}"]')).to_have_count(
            1
        )
    finally:
        board.context.close()
    expect(stage).to_have_attribute("data-stage", "meeting")
    assert page.evaluate("window.__sameDocument === true")  # no reload: the event redrew it
