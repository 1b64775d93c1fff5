"""The cockpit's figures on a small fixture worked out by hand: a week in Berlin that ends with the
change to summer time, two units, a blackout, bookings of every outcome, waits, refusals and a need
nothing offers; and who may read them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy.orm import Session

from matchmaker import filing
from matchmaker.operations import reports
from matchmaker.permissions import Principal
from models import Blackout, BlackoutEffect, Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from seeds import builders
from tests.conftest import Client, World

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = "start=2026-03-23&end=2026-03-29"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def fixture(db: Session, world: World) -> World:
    world.space1.timezone = "Europe/Berlin"
    sem = world.equipment1
    builders.get_or_create_availability(
        db,
        sem,
        weekly_hours=[{"weekday": d, "start": "00:00", "end": "18:00"} for d in range(5)]
        + [{"weekday": 6, "start": "22:00", "end": "24:00"}],
        units=2,
        free_cancel_hours=24,
    )
    db.add(
        Blackout(
            resource_id=sem.id,
            unit=1,
            starts_at=local(23, 9),
            ends_at=local(23, 12),
            reason="calibration",
            effect=BlackoutEffect.FLAG,
        )
    )
    founder, other = world.users["founder"], world.users["other_founder"]

    def book(
        team: Any,
        who: Any,
        start: datetime,
        end: datetime,
        status: BookingStatus,
        unit: int = 1,
        **extra: Any,
    ) -> None:
        db.add(
            Booking(
                resource_id=sem.id,
                unit=unit,
                team_id=team.id,
                booked_by_id=who.id,
                starts_at=start,
                ends_at=end,
                blocked_until=end,
                status=status,
                **extra,
            )
        )

    t1, t2 = world.team1, world.team2
    book(
        t1,
        founder,
        local(23, 13),
        local(23, 15),
        BookingStatus.COMPLETED,
        checked_in_at=local(23, 13, 10),
        checked_out_at=local(23, 14, 40),
    )
    book(t1, founder, local(27, 9), local(27, 12), BookingStatus.CONFIRMED, unit=2)
    book(t1, founder, local(26, 10), local(26, 11), BookingStatus.NO_SHOW)
    book(t1, founder, local(23, 0, 30), local(23, 1, 30), BookingStatus.CONFIRMED)  # Sunday 23:30 in UTC
    book(t1, founder, local(29, 23), local(29, 23, 30), BookingStatus.CONFIRMED)  # after the change
    book(t1, founder, local(22, 22), local(22, 23), BookingStatus.CONFIRMED)  # the Sunday before
    book(t1, founder, local(30, 0, 30), local(30, 1, 30), BookingStatus.CONFIRMED)  # the Monday after
    book(t1, founder, local(25, 10), local(25, 11), BookingStatus.CANCELLED, cancelled_at=local(25, 8))
    book(t1, founder, local(25, 14), local(25, 15), BookingStatus.CANCELLED, cancelled_at=local(16, 8))
    book(t1, founder, local(24, 10), local(24, 11), BookingStatus.REJECTED)
    book(t2, other, local(24, 11), local(24, 12), BookingStatus.EXPIRED)
    db.add(
        WaitlistEntry(
            resource_id=sem.id,
            team_id=t2.id,
            user_id=other.id,
            starts_at=local(26, 14),
            ends_at=local(26, 15),
            status=WaitlistStatus.LAPSED,
        )
    )
    db.commit()
    return world


def test_every_utilization_figure_matches_the_hand_computed_week(client: Client, fixture: World) -> None:
    client.login("manager@test.example")
    found = client.get(f"/api/v1/spaces/{fixture.space1.id}/utilization?{WEEK}").get_json()
    assert found["period"]["starts_at"] == "2026-03-22T23:00:00+00:00"  # Monday 00:00 CET
    assert found["period"]["ends_at"] == "2026-03-29T22:00:00+00:00"  # Monday 00:00 CEST
    total = found["total"]
    # Open: five days of 18 hours and Sunday 22-24 after the change, on two units; 3 hours blacked out.
    assert total["open_hours"] == 184
    assert total["blackout_hours"] == 3
    assert total["available_hours"] == 181
    # Granted and inside the week: 2 + 3 + 1 + 1 + 0.5 hours (not the Sunday before, not the Monday after).
    assert total["booked_hours"] == 7.5
    assert total["utilization"] == round(7.5 / 181, 4)
    assert total["used_hours"] == 1.5
    assert total["actual_use"] == 0.2
    assert total["no_show_rate"] == 0.2  # one of five that fell due
    assert total["late_cancellation_rate"] == round(1 / 9, 4)  # one of nine asked for
    assert total["bookings"] == 5
    assert found["by_kind"]["equipment"] == total
    assert set(found["by_tag"]) == {"sem-imaging", "failure-analysis"}
    assert found["by_tag"]["sem-imaging"]["booked_hours"] == 7.5
    heat = found["heatmap"]
    assert (heat[0][13], heat[4][9], heat[3][10], heat[0][0], heat[6][23]) == (1, 1, 1, 1, 1)
    assert sum(map(sum, heat)) == 5
    days = {d["day"]: d["hours"] for d in found["daily_booked_hours"]}
    assert days == {
        "2026-03-23": 3.0,
        "2026-03-24": 0.0,
        "2026-03-25": 0.0,
        "2026-03-26": 1.0,
        "2026-03-27": 3.0,
        "2026-03-28": 0.0,
        "2026-03-29": 0.5,
    }
    assert [r["id"] for r in found["least_used"]] == [fixture.equipment1.id]
    assert [t["id"] for t in found["idle_teams"]] == [fixture.team2.id]
    assert found["stage_funnel"]["incubator"] == 1
    mentors = found["mentors"]
    assert mentors["mentors"] == 1
    assert mentors["capacity_hours"] == pytest.approx(8 * 7 / (365.25 / 12), abs=0.01)
    assert (mentors["delivered_hours"], mentors["delivery"]) == (0, 0)  # no session: under capacity
    assert [(m["id"], m["status"]) for m in mentors["to_act_on"]] == [(fixture.mentor1.id, "under")]


def test_unmet_demand_suggests_the_expected_capabilities_with_their_evidence(
    client: Client, fixture: World
) -> None:
    client.login("manager@test.example")
    found = client.get(f"/api/v1/spaces/{fixture.space1.id}/unmet-demand?{WEEK}").get_json()
    assert [(s["tag"], s["action"], s["teams"], s["counts"]) for s in found["suggestions"]] == [
        ("failure-analysis", "expand", 2, {"expired": 1, "refused": 1, "waitlist": 1}),
        ("sem-imaging", "expand", 2, {"expired": 1, "refused": 1, "waitlist": 1}),
        ("machine-vision", "add", 1, {"no_resource": 1}),
    ]
    assert found["totals"] == {"refused": 1, "expired": 1, "waitlist": 1, "no_resource": 1}
    refused = next(e for e in found["suggestions"][1]["evidence"] if e["kind"] == "refused")
    assert refused["team_id"] == fixture.team1.id
    assert refused["resource_id"] == fixture.equipment1.id


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("founder", 403), ("host", 403), ("manager2", 403), ("manager", 200), ("admin", 200)],
)
def test_only_the_space_managers_read_the_cockpit(
    client: Client, world: World, who: str | None, status: int
) -> None:
    if who:
        client.login(f"{who}@test.example")
    for path in ("utilization", "unmet-demand", "filing"):
        assert client.get(f"/api/v1/spaces/{world.space1.id}/{path}").status_code == status


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("start=2026-03-29&end=2026-03-23", "before_start"),
        ("start=2020-01-01&end=2025-01-01", "too_long"),
        ("start=2026-13-01", "invalid_date"),
        ("start=1800-01-01", "out_of_range"),
    ],
)
def test_a_bad_period_is_a_clear_422(client: Client, world: World, query: str, code: str) -> None:
    client.login("manager@test.example")
    answer = client.get(f"/api/v1/spaces/{world.space1.id}/utilization?{query}")
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["message"]
    assert code in str(error["details"])


def test_an_empty_space_answers_an_explicit_empty_report(client: Client, world: World) -> None:
    client.login("manager2@test.example")
    found = client.get(f"/api/v1/spaces/{world.space2.id}/utilization?{WEEK}").get_json()
    assert found["total"]["booked_hours"] == 0
    assert found["total"]["no_show_rate"] is None
    demand = client.get(f"/api/v1/spaces/{world.space2.id}/unmet-demand?{WEEK}").get_json()
    assert demand["suggestions"] == []


def test_the_filing_form_lists_every_field_and_what_is_missing(
    client: Client, db: Session, world: World
) -> None:
    client.login("manager@test.example")
    found = client.get(f"/api/v1/spaces/{world.space1.id}/filing").get_json()
    assert [f["key"] for f in found["fields"]] == [f.key for f in filing.FIELDS]
    values = {f["key"]: f["value"] for f in found["fields"]}
    assert values["name"] == "集成电路专业化众创空间"
    assert values["mentors"] == 1
    assert values["resident_projects"] == 2
    assert found["name_check"]["ok"] is True
    assert {"founded_on", "operating_entity", "address", "built_by", "online_platform"} <= set(
        found["missing"]
    )
    world.space1.operating_entity = "微电子研究所孵化中心"
    world.space1.built_by_institute = "微电子研究所"
    world.space1.name_zh = "专业化众创空间"
    db.commit()
    again = client.get(f"/api/v1/spaces/{world.space1.id}/filing").get_json()
    assert "operating_entity" not in again["missing"]
    assert "built_by" not in again["missing"]
    assert again["name_check"]["ok"] is False


def test_the_filing_workbook_opens_and_holds_every_form_field(db: Session, world: World) -> None:
    world.space1.operating_entity = "微电子研究所孵化中心"
    world.space1.built_by_institute = "微电子研究所"
    world.space1.management_team_size = 7
    db.commit()
    manager = Principal(user_id=world.id("manager"), roles=frozenset({(world.space1.id, "manager")}))
    raw = reports.filing_workbook(db, manager, world.space1.id)
    book = openpyxl.load_workbook(io.BytesIO(raw))
    assert book.sheetnames == ["基础信息表", "待补充 Missing", "数据 Data"]
    form = book["基础信息表"]
    cells = [str(c.value) for row in form.iter_rows() for c in row if c.value is not None]
    for label in (
        "众创空间名称",
        "成立时间",
        "运营主体名称",
        "运营主体性质",
        "法人代表",
        "联系电话",
        "负责人",
        "联系人",
        "联系手机",
        "单位地址",
        "Email",
        "是否由高新技术企业或龙头骨干企业建立",
        "是否由高校建立",
        "是否由科研院所建立",
        "主要专业方向",
        "管理团队人员总数",
        "其中大专以上人数",
        "创业导师数",
        "自主支配场地建筑面积（平方米）",
        "公共办公与服务场地面积（平方米）",
        "天使投资（种子）基金（资金）规模（万元）",
        "入驻项目数",
        "入驻企业数",
        "举办创新创业活动次数",
        "是否建有线上服务平台",
        "是否建有公共技术服务平台",
        "管理制度",
    ):
        assert label in cells, label
    assert "集成电路专业化众创空间" in cells
    assert "☑是（微电子研究所）  ☐否" in cells
    assert form.cell(row=12, column=2).value == 7  # management team size beside its label
    assert form.cell(row=12, column=6).value == 1  # mentors counted by the platform
    data = {row[0]: row[4] for row in book["数据 Data"].iter_rows(min_row=2, values_only=True)}
    assert set(data) == {f.key for f in filing.FIELDS}
    missing = [row[1] for row in book["待补充 Missing"].iter_rows(min_row=3, values_only=True)]
    assert "Founding date" in missing and "Operating entity" not in missing


def test_task_figures_count_published_awarded_and_milestones_delivered_on_time(
    client: Client, db: Session, fixture: World
) -> None:
    """Four tasks created in the week: a draft (not posted), one open, one in delivery with two
    milestones (one delivered on its due day, late in the evening Berlin time, one the day after) and
    one completed; tasks of another week do not count."""
    from models import BidStatus, TaskBid, TaskMilestone, TaskStatus

    host = builders.get_or_create_organization(db, fixture.space1, "host")
    made = {}
    for key, status, day in (
        ("draft", TaskStatus.DRAFT, 23),
        ("open", TaskStatus.OPEN, 24),
        ("delivering", TaskStatus.IN_DELIVERY, 24),
        ("done", TaskStatus.COMPLETED, 25),
        ("earlier", TaskStatus.COMPLETED, 16),
    ):
        task = builders.get_or_create_task(
            db, fixture.space1, host, key, title_zh=key, title_en=key, status=status
        )
        task.created_at = local(day, 10)
        made[key] = task
    bid = TaskBid(
        task_id=made["delivering"].id,
        team_id=fixture.team1.id,
        submitted_by_id=fixture.users["founder"].id,
        approach="plan",
        price_cny=1000,
        timeline_days=10,
        status=BidStatus.AWARDED,
    )
    db.add(bid)
    db.flush()
    for position, due, delivered in ((1, 26, local(26, 23, 30)), (2, 26, local(27, 9))):
        db.add(
            TaskMilestone(
                task_id=bid.task_id,
                bid_id=bid.id,
                position=position,
                title=f"m{position}",
                due_on=datetime(2026, 3, due).date(),
                amount_cny=500,
                delivered_at=delivered,
            )
        )
    db.commit()
    client.login("manager@test.example")
    tasks = client.get(f"/api/v1/spaces/{fixture.space1.id}/utilization?{WEEK}").get_json()["tasks"]
    assert tasks == {
        "posted": 3,
        "awarded": 2,
        "completed": 1,
        "milestones_delivered": 2,
        "milestones_on_time": 1,
    }
