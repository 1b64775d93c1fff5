"""Headless Debian chromium: a host posts a task, a team bids (the host's open page counts the bid
live), the host awards it, the team delivers and the host accepts the milestone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import CHROMIUM, LiveServer, World

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.web.test_browser import browser, log_in, page  # noqa: E402, F401  (shared fixtures)


def test_post_bid_award_and_accept_a_milestone_in_the_browser(
    page: Any,  # noqa: F811
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    world: World,
) -> None:
    log_in(page, live_server, "host@test.example")
    page.click("summary:has-text('我的工作')")  # the menu group that holds the desk
    page.click("text=任务管理台")
    page.fill("input[name=title_zh]", "晶圆图缺陷分类")
    page.fill("input[name=title_en]", "Wafer map defect classification")
    page.fill("textarea[name=description_zh]", "用深度学习对晶圆图缺陷分类")
    page.check("input[name=tags][value=machine-vision]")
    page.fill("input[name=reward_min_cny]", "20000")
    page.fill("input[name=reward_max_cny]", "60000")
    deadline = datetime.now(UTC) + timedelta(days=10)
    page.fill("input[name=bid_deadline]", deadline.strftime("%Y-%m-%dT10:00"))
    page.fill("input[name=delivery_deadline]", (deadline + timedelta(days=40)).date().isoformat())
    page.click("#post-task")
    expect(page.locator("#task-status")).to_have_text("招标中")
    expect(page.locator("#task")).to_have_attribute(
        "data-live-joined", page.locator("#task").get_attribute("data-live-room") + ";"
    )
    task_url = page.url

    context = browser.new_context(locale="zh-CN")
    team = context.new_page()
    team.set_default_timeout(10_000)
    try:
        log_in(team, live_server, "founder@test.example")
        team.goto(task_url)
        form = team.locator(f"#bid-form-{world.team1.id}")
        form.locator("textarea[name=approach]").fill("卷积网络加主动学习")
        form.locator("input[name=price_cny]").fill("45000")
        form.locator("input[name=timeline_days]").fill("30")
        form.locator("button[type=submit]").click()
        expect(team.locator("#my-bid")).to_contain_text("45,000")

        expect(page.locator("#bid-count")).to_have_text("1")  # live, without a reload
        page.reload()
        page.locator("#bids button", has_text="授标").first.click()
        expect(page.locator("#task-status")).to_have_text("已中标")

        team.reload()
        team.locator("#milestones input[name=note]").fill("模型与测试报告")
        team.locator("#milestones button", has_text="交付").click()
        expect(team.locator("#milestones .milestone-status")).to_have_text("已交付")

        page.reload()
        page.locator("#milestones button", has_text="验收通过").click()
        expect(page.locator("#milestones .milestone-status")).to_have_text("已验收")
        expect(page.locator("#task-status")).to_have_text("已完成")
    finally:
        context.close()
