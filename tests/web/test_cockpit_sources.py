"""The cockpit's mentoring, seed-fund and deal-flow figures on a week worked out by hand (the Berlin week
of ``test_cockpit_api``), the deal pipeline's CSV, and the filing workbook through the API."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AuditEntry,
    Deal,
    DealStage,
    Instrument,
    IntroductionStatus,
    Investment,
    MentorRequestStatus,
    MentorSession,
    MentorSessionStatus,
)
from seeds import builders
from tests.conftest import Client, World, bearer
from tests.web.test_cockpit_api import WEEK, local

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The week runs from Monday 00:00 CET to the next Monday 00:00 CEST: 7 days less the hour the clocks
# skip, in average months of 365.25 / 12 days; a mentor's offer is their monthly hours times that.
MONTHS = round(167 / (365.25 / 12 * 24), 4)  # 0.2286


@pytest.fixture
def sources(db: Session, world: World) -> dict[str, Any]:
    world.space1.timezone = "Europe/Berlin"
    space, host = world.space1, world.host1

    def mentor(slug: str, monthly: int) -> Any:
        return builders.get_or_create_resource(
            db,
            space,
            host,
            slug,
            kind="mentor",
            category="technical",
            name_zh=slug,
            name_en=slug,
            price_unit="free",
            attributes={"monthly_hours": monthly},
        )

    busy, idle, steady = world.mentor1, mentor("mentor-idle", 40), mentor("mentor-steady", 8)

    def sessions(who: Any, *spans: tuple[datetime, datetime, MentorSessionStatus, float | None]) -> None:
        request = builders.add_mentor_request(
            db,
            space_id=space.id,
            team_id=world.team1.id,
            mentor_id=who.id,
            topic="help",
            hours=1,
            status=MentorRequestStatus.ACCEPTED,
        )
        for start, end, status, delivered in spans:
            db.add(
                MentorSession(
                    request_id=request.id,
                    mentor_id=who.id,
                    team_id=world.team1.id,
                    starts_at=start,
                    ends_at=end,
                    status=status,
                    hours_delivered=delivered,
                )
            )

    done, planned, off = (
        MentorSessionStatus.DELIVERED,
        MentorSessionStatus.SCHEDULED,
        MentorSessionStatus.CANCELLED,
    )
    sessions(
        busy,
        (local(24, 10), local(24, 12), done, 1.5),  # reported 1.5 of 2 hours
        (local(25, 10), local(25, 11), done, None),  # not reported: the hour scheduled
        (local(27, 10), local(27, 11), planned, None),
        (local(26, 10), local(26, 13), off, None),  # cancelled: not counted
        (local(22, 10), local(22, 12), done, 2.0),  # the Sunday before
    )
    sessions(idle, (local(23, 14), local(23, 16), done, None))
    sessions(steady, (local(28, 9), local(28, 10), done, 1.0))

    world.fund1.attributes = {**world.fund1.attributes, "fund_size_10k_cny": 500}
    fund2 = builders.get_or_create_resource(
        db,
        space,
        world.investors1,
        "angel-fund",
        kind="fund",
        category="angel_fund",
        name_zh="天使基金",
        name_en="Angel fund",
        price_unit="free",
        attributes={"fund_size_10k_cny": 200},
    )
    elsewhere = builders.get_or_create_resource(
        db,
        world.space2,
        world.host2,
        "other-fund",
        kind="fund",
        category="seed_fund",
        name_zh="他处基金",
        name_en="Fund elsewhere",
        price_unit="free",
        attributes={"fund_size_10k_cny": 900},
    )
    for fund, team, amount, day in (
        (world.fund1, world.team1, 100, date(2026, 3, 10)),  # before the week: deployed, not in it
        (world.fund1, world.team2, 50, date(2026, 3, 25)),
        (world.fund1, world.team1, 30, date(2026, 3, 30)),  # after the week: not yet deployed
        (fund2, world.team2, 20, date(2026, 3, 29)),  # the week's last day
        (elsewhere, world.team3, 40, date(2026, 3, 25)),  # another space
    ):
        db.add(
            Investment(
                fund_id=fund.id,
                team_id=team.id,
                amount_10k_cny=Decimal(amount),
                instrument=Instrument.EQUITY,
                invested_on=day,
            )
        )

    founder = world.users["founder"]

    def intro(
        team: Any, fund: Any, status: IntroductionStatus, at: datetime, stage: DealStage | None = None
    ) -> None:
        made = builders.add_introduction(
            db,
            space_id=space.id,
            team_id=team.id,
            fund_id=fund.id,
            requested_by_id=founder.id,
            pitch="pitch",
            amount_sought_10k_cny=Decimal(100),
            round_sought="seed",
            status=status,
            created_at=at,
        )
        if stage is not None:
            db.add(
                Deal(
                    introduction_id=made.id,
                    space_id=space.id,
                    team_id=team.id,
                    fund_id=fund.id,
                    stage=stage,
                    created_at=at,
                )
            )

    s = IntroductionStatus
    intro(world.team1, world.fund1, s.REQUESTED, local(23, 9))
    intro(world.team2, world.fund1, s.MORE_INFO, local(24, 9))
    intro(world.team1, fund2, s.INTERESTED, local(24, 10), DealStage.DUE_DILIGENCE)
    intro(world.team2, fund2, s.PASSED, local(25, 9))
    intro(world.team1, world.fund1, s.WITHDRAWN, local(26, 9))
    intro(world.team2, world.fund1, s.INTERESTED, local(27, 9), DealStage.INVESTED)
    intro(world.team1, fund2, s.REQUESTED, local(20, 9))  # the week before
    intro(world.team2, fund2, s.INTERESTED, local(1, 9), DealStage.MEETING)  # opened before the week
    db.commit()
    return {"busy": busy, "idle": idle, "steady": steady, "fund2": fund2}


def utilization_of(client: Client, world: World) -> dict[str, Any]:
    client.login("manager@test.example")
    answer = client.get(f"/api/v1/spaces/{world.space1.id}/utilization?{WEEK}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer.get_json()  # type: ignore[no-any-return]


def test_mentor_hours_delivered_against_capacity_per_mentor_and_in_total(
    client: Client, world: World, sources: dict[str, Any]
) -> None:
    mentors = utilization_of(client, world)["mentors"]
    offer8, offer40 = round(8 * MONTHS, 2), round(40 * MONTHS, 2)
    assert (offer8, offer40) == (1.83, 9.14)
    by_id = {m["id"]: m for m in mentors["items"]}
    busy = by_id[sources["busy"].id]
    assert (busy["capacity_hours"], busy["delivered_hours"], busy["scheduled_hours"]) == (offer8, 2.5, 1.0)
    assert busy["delivery"] == round(2.5 / offer8, 4)
    assert busy["status"] == "over"  # 3.5 hours of 1.83
    idle = by_id[sources["idle"].id]
    assert (idle["delivered_hours"], idle["scheduled_hours"], idle["status"]) == (2.0, 0.0, "under")
    steady = by_id[sources["steady"].id]
    assert (steady["delivered_hours"], steady["status"]) == (1.0, "within")  # 1 of 1.83: above half
    assert mentors["mentors"] == 3
    assert mentors["capacity_hours"] == round(2 * offer8 + offer40, 2)
    assert (mentors["delivered_hours"], mentors["scheduled_hours"]) == (5.5, 1.0)
    assert mentors["delivery"] == round(5.5 / 12.8, 4)
    assert [m["id"] for m in mentors["to_act_on"]] == [sources["busy"].id, sources["idle"].id]


def test_seed_funds_deployed_against_their_size_per_fund_and_in_total(
    client: Client, world: World, sources: dict[str, Any]
) -> None:
    funds = utilization_of(client, world)["funds"]
    by_id = {f["id"]: f for f in funds["items"]}
    assert set(by_id) == {world.fund1.id, sources["fund2"].id}  # not the other space's fund
    seed = by_id[world.fund1.id]
    assert (seed["size_10k_cny"], seed["deployed_in_period_10k_cny"], seed["deployed_10k_cny"]) == (
        500,
        50,
        150,
    )
    assert seed["deployed_share"] == 0.3
    angel = by_id[sources["fund2"].id]
    assert (angel["deployed_in_period_10k_cny"], angel["deployed_10k_cny"], angel["deployed_share"]) == (
        20,
        20,
        0.1,
    )
    assert (funds["size_10k_cny"], funds["deployed_in_period_10k_cny"], funds["deployed_10k_cny"]) == (
        700,
        70,
        170,
    )
    assert funds["deployed_share"] == round(170 / 700, 4)


def test_introductions_and_deals_of_the_period_by_outcome_and_stage(
    client: Client, world: World, sources: dict[str, Any]
) -> None:
    flow = utilization_of(client, world)["deal_flow"]
    assert flow["introductions"] == {
        "requested": 6,
        "open": 2,
        "interested": 2,
        "passed": 1,
        "withdrawn": 1,
        "take_up_rate": round(2 / 3, 4),
    }
    assert flow["deals"] == {
        "introduced": 0,
        "meeting": 0,  # the deal at "meeting" opened before the week
        "due_diligence": 1,
        "term_sheet": 0,
        "invested": 1,
        "passed": 0,
    }


def test_an_empty_space_reports_zero_mentor_fund_and_deal_figures(client: Client, world: World) -> None:
    client.login("manager2@test.example")
    found = client.get(f"/api/v1/spaces/{world.space2.id}/utilization?{WEEK}").get_json()
    assert found["mentors"]["items"] == [] and found["mentors"]["delivery"] is None
    assert found["funds"]["deployed_share"] is None
    assert found["deal_flow"]["introductions"]["requested"] == 0
    assert set(found["deal_flow"]["deals"].values()) == {0}


def test_the_cockpit_page_lists_mentors_to_act_on_and_draws_the_pipeline(
    client: Client, world: World, sources: dict[str, Any]
) -> None:
    client.login("manager@test.example")
    page = client.get(f"/spaces/{world.space1.id}/cockpit?{WEEK}&lang=en").get_data(as_text=True)
    assert 'id="chart-pipeline"' in page
    assert f'data-mentor="{sources["busy"].id}" data-status="over"' in page
    assert f'data-mentor="{sources["idle"].id}" data-status="under"' in page
    assert f'data-mentor="{sources["steady"].id}"' not in page
    fragment = client.get(f"/spaces/{world.space1.id}/cockpit/figures?{WEEK}").get_data(as_text=True)
    assert 'data-figure="fund_deployed">170.0 · 24.3%' in fragment
    answer = client.get(f"/spaces/{world.space1.id}/cockpit/pipeline.csv?{WEEK}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        ["deal_stage", "deals"],
        ["introduced", "0"],
        ["meeting", "0"],
        ["due_diligence", "1"],
        ["term_sheet", "0"],
        ["invested", "1"],
        ["passed", "0"],
    ]


def test_the_filing_workbook_through_the_api_with_a_token_is_audited(
    client: Client, db: Session, world: World
) -> None:
    space_id, slug, manager_id = world.space1.id, world.space1.slug, world.id("manager")
    db.rollback()  # leave no read open on SQLite while the request writes its audit entry
    path = f"/api/v1/spaces/{space_id}/filing.xlsx"
    token = client.post(
        "/api/v1/tokens", json={"email": "manager@test.example", "password": "correct horse battery staple"}
    ).get_json()["token"]
    answer = client.get(path, headers=bearer(token))
    assert answer.status_code == 200
    assert answer.mimetype == XLSX
    assert f"{slug}-filing.xlsx" in answer.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.get_data()))
    assert book["基础信息表"]["A2"].value == "众创空间名称"
    db.expire_all()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "filing_exported")).all()
    assert [(e.space_id, e.actor_id, e.detail.get("via")) for e in entries] == [(space_id, manager_id, "api")]


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("founder", 403), ("manager2", 403)])
def test_the_filing_workbook_through_the_api_is_for_the_space_managers_only(
    client: Client, db: Session, world: World, who: str | None, status: int
) -> None:
    space_id = world.space1.id
    db.rollback()
    if who:
        client.login(f"{who}@test.example")
    answer = client.get(f"/api/v1/spaces/{space_id}/filing.xlsx")
    assert answer.status_code == status
    assert answer.get_json()["error"]["message"]
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "filing_exported")).all() == []
    assert client.get("/api/v1/spaces/999999/filing.xlsx").status_code in (401, 404)


def test_the_openapi_document_describes_the_workbook_as_a_binary_xlsx(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    ok = document["paths"]["/api/v1/spaces/{space_id}/filing.xlsx"]["get"]["responses"]["200"]
    assert ok["content"] == {XLSX: {"schema": {"type": "string", "format": "binary"}}}
