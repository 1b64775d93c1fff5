"""Headless Debian chromium: the host's and the manager's workbench walked in both languages, each
role's home, the main pages at a phone's width without sideways scrolling, and axe-core on each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import CHROMIUM, PASSWORD, LiveServer, World

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.web.test_browser import FLAGS  # noqa: E402

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
PHONE = {"width": 390, "height": 844}
LOCALES = {"zh": "zh-CN", "en": "en-GB"}
LOG_OUT = {"zh": "退出登录", "en": "Log out"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def open_page(browser: Any, lang: str, *, phone: bool = False) -> Page:
    # axe is injected by the test itself, so the page's own policy need not allow it.
    context = browser.new_context(locale=LOCALES[lang], bypass_csp=True, viewport=PHONE if phone else None)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def log_in(page: Page, server: LiveServer, email: str, lang: str) -> None:
    page.goto(f"{server.url}/login?lang={lang}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("header .account")).to_contain_text(LOG_OUT[lang])


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    found = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ["violations"]});
            return result.violations
              .filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => v.id + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
        }"""
    )
    return list(found)


# The innermost elements that reach past the right edge of the window, to say what to fix.
TOO_WIDE = """[...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + [...e.classList].join(".")
            + " " + Math.round(e.getBoundingClientRect().right))"""


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_host_sets_hours_rules_a_weekly_closure_and_certifies_a_user(
    browser: Any, live_server: LiveServer, world: World, lang: str
) -> None:
    page = open_page(browser, lang)
    log_in(page, live_server, "host@test.example", lang)
    page.goto(f"{live_server.url}/equipment/mine")
    page.locator(f'#quiet-list tr[data-resource-id="{world.equipment1.id}"] a').last.click()
    expect(page.locator("h1")).to_contain_text("扫描电子显微镜" if lang == "zh" else "SEM")

    # A slot that does not divide the hours: told beside the slot size, in the user's language.
    page.fill('input[name="open.5.0.start"]', "10:00")
    page.fill('input[name="open.5.0.end"]', "14:45")
    page.select_option('select[name="slot_minutes"]', "60")
    page.fill('input[name="min_minutes"]', "60")
    page.click("#rules-form button[type=submit]")
    problem = page.locator('#rules-form .field-error[data-field="slot_minutes"]')
    expect(problem).to_contain_text("无法整除" if lang == "zh" else "does not divide")
    expect(page.locator('input[name="open.5.0.end"]')).to_have_value("14:45")  # kept as typed

    page.fill('input[name="open.5.0.end"]', "14:00")
    page.fill('input[name="buffer_minutes"]', "15")
    page.check('input[name="requires_approval"]')
    page.click("#rules-form button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("预约规则已保存" if lang == "zh" else "saved")
    expect(page.locator('input[name="open.5.0.start"]')).to_have_value("10:00")
    expect(page.locator('input[name="buffer_minutes"]')).to_have_value("15")
    expect(page.locator('input[name="requires_approval"]')).to_be_checked()

    first = date.today() + timedelta(days=3)
    page.fill('#closure-form input[name="day"]', first.isoformat())
    page.fill('#closure-form input[name="start"]', "07:00")
    page.fill('#closure-form input[name="end"]', "08:00")
    page.fill('#closure-form input[name="reason"]', "PM")
    page.select_option('#closure-form select[name="repeat"]', "weekly")
    page.click("#closure-form button[type=submit]")
    expect(page.locator('#closure-form .field-error[data-field="until"]')).to_be_visible()
    page.fill('#closure-form input[name="until"]', (first + timedelta(days=14)).isoformat())
    page.click("#closure-form button[type=submit]")
    expect(page.locator("#closure-list tbody tr")).to_have_count(3)

    page.fill('#certificate-form input[name="email"]', "founder@test.example")
    page.fill('#certificate-form input[name="expires_on"]', (date.today() + timedelta(days=30)).isoformat())
    page.click("#certificate-form button[type=submit]")
    expect(page.locator(f'#certificate-list tr[data-user-id="{world.id("founder")}"]')).to_contain_text(
        "Founder"
    )
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_sets_an_allowance_and_admits_a_team_criterion_by_criterion(
    browser: Any, live_server: LiveServer, world: World, lang: str
) -> None:
    page = open_page(browser, lang)
    log_in(page, live_server, "manager@test.example", lang)
    page.goto(f"{live_server.url}/spaces/{world.space1.id}/workbench")
    page.select_option('#allowance-form select[name="resource_kind"]', "equipment")
    page.select_option('#allowance-form select[name="stage"]', "incubator")
    page.fill('#allowance-form input[name="free_hours_per_month"]', "12")
    page.fill('#allowance-form input[name="discount_percent"]', "150")
    page.click("#allowance-form button[type=submit]")
    expect(page.locator('#allowance-form .field-error[data-field="discount_percent"]')).to_be_visible()
    expect(page.locator('#allowance-form input[name="free_hours_per_month"]')).to_have_value("12")
    page.fill('#allowance-form input[name="discount_percent"]', "30")
    page.click("#allowance-form button[type=submit]")
    row = page.locator('#allowance-list tr[data-kind="equipment"][data-stage="incubator"]')
    expect(row).to_contain_text("12")
    expect(row).to_contain_text("30%")

    page.goto(f"{live_server.url}/home")
    page.locator(f'[data-section="admissions"] a[href="/teams/{world.pending1.id}/review"]').click()
    criteria = page.locator("#review-form [data-criterion]")
    expect(criteria.first).to_be_visible()  # the review page has loaded
    count = criteria.count()
    assert count >= 2  # one checkbox per criterion, not the whole policy in one
    for n in range(count - 1):
        criteria.nth(n).locator("input").check()
    page.click('#review-form button[value="admitted"]')
    expect(page.locator("#review-form")).to_be_visible()  # one criterion unmet: not admitted
    expect(page.locator("#review-form [data-criterion] input:checked")).to_have_count(count - 1)
    criteria.nth(count - 1).locator("input").check()
    page.click('#review-form button[value="admitted"]')
    expect(page.locator(".flash.success")).to_be_visible()
    assert serious_violations(page) == []
    page.context.close()


def main_pages(world: World) -> dict[str, list[str]]:
    space, team, equipment = world.space1.id, world.team1.id, world.equipment1.id
    return {
        "anonymous": ["/", "/catalogue?q=SEM", "/directory", "/login", f"/spaces/{space}"],
        "founder": [
            "/home",
            "/bookings",
            f"/teams/{team}",
            f"/resources/{equipment}/calendar",
            "/notifications",
        ],
        "host": ["/home", "/equipment/mine", f"/resources/{equipment}/workbench", f"/resources/{equipment}"],
        "manager": [
            "/home",
            f"/spaces/{space}/workbench",
            f"/spaces/{space}/review",
            f"/teams/{world.pending1.id}/review",
            f"/spaces/{space}/workbench/teams/{team}",
        ],
        "mentor": ["/home", f"/resources/{world.mentor1.id}", "/catalogue"],
    }


HOME_SAYS = {
    "founder": ("我的团队", "My team"),
    "host": ("我的设备", "My equipment"),
    "manager": ("工作台", "Workbench"),
    "mentor": ("与您匹配的团队", "Teams that fit you"),
}


@pytest.mark.parametrize("who", ["anonymous", "founder", "host", "manager", "mentor"])
def test_main_pages_fit_a_phone_and_axe_finds_nothing_serious(
    browser: Any, live_server: LiveServer, world: World, engine: Engine, who: str
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the pages are drawn alike on both databases; the walks above run on both")
    page = open_page(browser, "zh", phone=True)
    if who != "anonymous":
        log_in(page, live_server, f"{who}@test.example", "zh")
        assert page.url.endswith("/home")  # each role lands on its home
    problems: dict[str, Any] = {}
    for lang in ("zh", "en"):
        for n, path in enumerate(main_pages(world)[who]):
            joiner = "&" if "?" in path else "?"
            page.goto(f"{live_server.url}{path}{joiner}lang={lang}")
            if n == 0 and who != "anonymous":
                expect(page.locator("header")).to_contain_text(HOME_SAYS[who][0 if lang == "zh" else 1])
            found = serious_violations(page)
            if found or not fits_the_width(page):
                problems[f"{lang} {path}"] = {"axe": found, "too_wide": page.evaluate(TOO_WIDE)}
    assert problems == {}
    page.context.close()
