"""The calendar in headless Debian chromium: a suggested slot opens selected and books in one click;
time already begun shows as past; the time column stays beside its row when the grid scrolls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import CHROMIUM, LiveServer, World
from tests.web.booking_support import SHANGHAI, iso, next_week
from tests.web.test_browser import FLAGS, log_in

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 600})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def test_a_suggested_slot_opens_selected_and_books_with_one_click(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "founder@test.example")
    start = next_week(2, 10)
    end = start + timedelta(hours=2)
    query = urlencode({"view": "day", "start": iso(start), "end": iso(end), "team": world.team1.id})
    page.goto(f"{live_server.url}/resources/{world.equipment1.id}/calendar?{query}")
    first = page.locator(f'td[data-start="{iso(start)}"]')
    expect(first).to_have_class("cell free selected")
    expect(first).to_have_text("空闲")  # free time, not free of charge
    expect(page.locator("#booking-panel")).to_be_visible()
    page.click("#book")  # the one click
    expect(page.locator("#booking-result")).to_contain_text("预约成功")
    expect(first).to_have_attribute("data-state", "mine")
    expect(page.locator(f'td[data-start="{iso(start + timedelta(minutes=90))}"]')).to_have_attribute(
        "data-state", "mine"
    )


def test_time_already_begun_is_past_and_the_time_column_stays_beside_its_row(
    page: Page, live_server: LiveServer, world: World
) -> None:
    log_in(page, live_server, "founder@test.example")
    yesterday = (datetime.now(SHANGHAI) - timedelta(days=1)).date().isoformat()
    page.goto(f"{live_server.url}/resources/{world.equipment1.id}/calendar?view=week&date={yesterday}")
    expect(page.locator("#calendar")).to_have_attribute("data-ready", "true")
    states = page.eval_on_selector_all(
        "#slots td[data-start]", "tds => tds.map(td => [td.dataset.start, td.dataset.state])"
    )
    now = datetime.now(SHANGHAI)
    for start, state in states:
        if datetime.fromisoformat(start) < now:
            assert state == "past", start  # never "free" (offered) nor "not open"
    assert any(state == "past" for _start, state in states)
    # Scroll the grid: each row's time label stays on its row, the day header at the top.
    page.eval_on_selector(".slots-scroll", "box => { box.scrollTop = 200; }")
    rows = page.eval_on_selector_all(
        "#slots tbody tr",
        "trs => trs.map(tr => [tr.querySelector('th').getBoundingClientRect().top,"
        " tr.querySelector('td').getBoundingClientRect().top])",
    )
    assert rows and all(abs(th - td) < 1 for th, td in rows)
    header = page.eval_on_selector("#slots thead th[scope=col]", "th => th.getBoundingClientRect().top")
    box = page.eval_on_selector(".slots-scroll", "box => box.getBoundingClientRect().top")
    assert abs(header - box) < 1


def test_a_founder_books_from_a_recommendation_in_two_clicks(
    page: Page, live_server: LiveServer, world: World
) -> None:
    """From the team page: the recommendation's "Book: free from …" opens the calendar with that slot
    selected (the first click), and the panel's Book button books it (the second)."""
    log_in(page, live_server, "founder@test.example")
    page.goto(f"{live_server.url}/teams/{world.team1.id}")
    suggestion = page.locator("a.book-suggestion").first
    expect(suggestion).to_be_visible()
    suggestion.click()  # one
    expect(page.locator("#calendar")).to_have_attribute("data-ready", "true")
    selected = page.locator("#slots td.selected").first
    expect(selected).to_have_attribute("data-state", "free")
    start = selected.get_attribute("data-start")
    page.click("#book")  # two
    expect(page.locator("#booking-result")).to_contain_text("预约成功")
    expect(page.locator(f'#slots td[data-start="{start}"]')).to_have_attribute("data-state", "mine")
