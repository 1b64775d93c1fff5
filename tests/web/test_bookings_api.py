"""Booking through the JSON API: the rules, the clean refusals, conflicts with alternatives, idempotent
retries, series, approval, waitlist, blackouts, certificates, allowances and the ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Booking, Charge, IdempotencyRecord
from seeds import builders
from tests.conftest import Client, World, fresh
from tests.web.booking_support import Api, iso, next_week, token_for

USERS = ("founder", "member", "other_founder", "host", "manager", "outsider", "host2", "admin")


@pytest.fixture
def api(client: Client, world: World, db: Session) -> dict[str, Api]:
    return {name: Api(client, token_for(db, world.users[name])) for name in USERS}


def bookings_in(db: Session) -> int:
    fresh(db)
    return int(db.scalar(select(func.count()).select_from(Booking)) or 0)


TUE_10 = next_week(1, 10)
TUE_12 = next_week(1, 12)
TUE_14 = next_week(1, 14)


def test_a_founder_books_a_free_slot_and_the_calendar_shows_it_taken(
    api: dict[str, Api], world: World
) -> None:
    response = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12, note="wafer 3")
    assert response.status_code == 201, response.json
    booking = response.json
    assert booking["status"] == "confirmed"
    assert booking["unit"] == 1
    assert booking["amount_cny"] == "800.00"  # 2 hours at 400 an hour, no allowance set
    calendar = (
        api["other_founder"]
        .get(
            f"/resources/{world.equipment1.id}/calendar?start={iso(TUE_10 - timedelta(hours=2))}".replace(
                "+", "%2B"
            )
        )
        .json
    )
    taken = [b for b in calendar["bookings"] if b["id"] == booking["id"]]
    assert taken and taken[0]["mine"] is False and "team" not in taken[0]
    mine = api["member"].get(
        f"/resources/{world.equipment1.id}/calendar?start={iso(TUE_10)}".replace("+", "%2B")
    )
    assert mine.json["bookings"][0]["team"]["id"] == world.team1.id


def test_ranges_are_half_open_so_back_to_back_bookings_do_not_clash(
    api: dict[str, Api], world: World
) -> None:
    assert api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 201
    after = api["other_founder"].book(world.team2.id, world.equipment1.id, TUE_12, TUE_14)
    assert after.status_code == 201, after.json


def test_a_taken_slot_is_refused_with_the_conflict_and_concrete_alternatives(
    api: dict[str, Api], world: World, db: Session
) -> None:
    twin = builders.get_or_create_resource(
        db,
        world.space1,
        world.host1,
        "sem-2",
        name_zh="第二台扫描电镜",
        name_en="Second SEM",
        price_cny=300,
        tags=["sem-imaging", "failure-analysis"],
    )
    db.commit()
    api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    before = bookings_in(db)
    response = api["other_founder"].book(
        world.team2.id, world.equipment1.id, TUE_10 + timedelta(hours=1), TUE_14
    )
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "slot_taken"
    assert error["details"]["conflicts"][0]["starts_at"] == iso(TUE_10)
    alternatives = error["details"]["alternatives"]
    assert alternatives["later"]["starts_at"] == iso(TUE_12)  # same three hours, right after
    assert alternatives["earlier"] is not None
    assert alternatives["shorter"] == {"starts_at": iso(TUE_12), "ends_at": iso(TUE_14)}
    assert [s["resource_id"] for s in alternatives["substitutes"]] == [twin.id]
    assert bookings_in(db) == before


def test_identical_units_are_booked_side_by_side_until_all_are_taken(
    api: dict[str, Api], world: World
) -> None:
    assert (
        api["host"].patch(f"/resources/{world.equipment1.id}/availability", {"units": 2}).status_code == 200
    )
    first = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    second = api["other_founder"].book(world.team2.id, world.equipment1.id, TUE_10, TUE_12)
    assert {first.json["unit"], second.json["unit"]} == {1, 2}
    third = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    assert third.status_code == 409


def test_the_changeover_buffer_keeps_the_next_booking_away(api: dict[str, Api], world: World) -> None:
    api["host"].patch(f"/resources/{world.equipment1.id}/availability", {"buffer_minutes": 30})
    api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    too_close = api["other_founder"].book(world.team2.id, world.equipment1.id, TUE_12, TUE_14)
    assert too_close.status_code == 409
    assert too_close.json["error"]["details"]["alternatives"]["later"]["starts_at"] == iso(
        TUE_12 + timedelta(minutes=30)
    )
    later = api["other_founder"].book(
        world.team2.id, world.equipment1.id, TUE_12 + timedelta(minutes=30), TUE_14
    )
    assert later.status_code == 201


@pytest.mark.parametrize(
    ("start", "end", "status", "code"),
    [
        (TUE_12, TUE_10, 422, "reversed_range"),
        (TUE_10, TUE_10, 422, "empty_range"),
        (TUE_10 + timedelta(minutes=10), TUE_12, 422, "misaligned"),
        (next_week(1, 7), next_week(1, 9), 422, "outside_hours"),
        (next_week(5, 10), next_week(5, 12), 422, "outside_hours"),  # Saturday
        (next_week(1, 10, weeks=-1) - timedelta(days=7), next_week(1, 12, weeks=-2), 422, "in_the_past"),
        (next_week(1, 10, weeks=12), next_week(1, 12, weeks=12), 422, "beyond_horizon"),
        (next_week(1, 9), next_week(1, 18), 422, "too_long"),
        (TUE_10, TUE_10 + timedelta(minutes=30), 201, None),
    ],
)
def test_each_broken_rule_has_its_own_code_and_writes_nothing(
    api: dict[str, Api], world: World, db: Session, start: Any, end: Any, status: int, code: str | None
) -> None:
    before = bookings_in(db)
    response = api["founder"].book(world.team1.id, world.equipment1.id, start, end)
    assert response.status_code == status, response.json
    if code is not None:
        assert response.json["error"]["code"] == code
        assert response.json["error"]["message"]
        assert bookings_in(db) == before


def test_times_without_a_zone_are_refused_as_ambiguous(api: dict[str, Api], world: World) -> None:
    response = api["founder"].post(
        "/bookings",
        {
            "team_id": world.team1.id,
            "resource_id": world.equipment1.id,
            "starts_at": "2030-01-01T10:00:00",
            "ends_at": "2030-01-01T11:00:00",
        },
    )
    assert response.status_code == 422
    assert response.json["error"]["details"]["fields"]["starts_at"] == "needs_timezone"


def test_a_blackout_refuses_bookings_and_cancels_the_ones_it_covers(
    api: dict[str, Api], world: World, db: Session
) -> None:
    booked = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).json
    blackout = api["host"].post(
        f"/resources/{world.equipment1.id}/blackouts",
        {"starts_at": iso(TUE_10), "ends_at": iso(TUE_14), "reason": "calibration"},
    )
    assert blackout.status_code == 201, blackout.json
    assert blackout.json["affected"] == [
        {"id": booked["id"], "status": "cancelled", "team_id": world.team1.id}
    ]
    refused = api["other_founder"].book(world.team2.id, world.equipment1.id, TUE_12, TUE_14)
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "in_blackout"
    ledger = api["founder"].get(f"/teams/{world.team1.id}/ledger").json
    assert ledger["balance_cny"] == "0.00"  # charged, then refunded in full
    assert [line["kind"] for line in ledger["lines"]] == ["usage", "refund"]


def test_a_flagging_blackout_keeps_the_booking_but_marks_it(api: dict[str, Api], world: World) -> None:
    booked = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).json
    api["host"].post(
        f"/resources/{world.equipment1.id}/blackouts",
        {"starts_at": iso(TUE_10), "ends_at": iso(TUE_12), "reason": "power work", "effect": "flag"},
    )
    after = api["founder"].get(f"/bookings/{booked['id']}").json
    assert after["status"] == "confirmed"
    assert after["flagged_reason"] == "power work"


def test_a_retired_resource_cannot_be_booked(api: dict[str, Api], world: World, db: Session) -> None:
    api["host"].post(f"/resources/{world.equipment1.id}/retire", {"reason": "sold"})
    response = api["host"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    assert response.status_code in (404, 409)
    assert bookings_in(db) == 0


def test_mentors_and_funds_are_not_bookable(api: dict[str, Api], world: World) -> None:
    response = api["founder"].book(world.team1.id, world.mentor1.id, TUE_10, TUE_12)
    assert response.status_code == 422
    assert response.json["error"]["details"]["fields"]["resource_id"] == "not_bookable"


def test_nobody_books_for_a_team_they_do_not_belong_to(
    api: dict[str, Api], world: World, db: Session
) -> None:
    assert api["other_founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 404
    assert api["host"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 404
    assert api["manager"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 201


def test_a_team_books_only_in_its_own_space_unless_the_resource_is_open(
    api: dict[str, Api], world: World
) -> None:
    refused = api["founder"].book(world.team1.id, world.equipment2.id, TUE_10, TUE_12)
    assert refused.status_code == 403
    api["host2"].patch(f"/resources/{world.equipment2.id}/availability", {"open_to_other_spaces": True})
    assert api["founder"].book(world.team1.id, world.equipment2.id, TUE_10, TUE_12).status_code == 201


def test_another_teams_booking_cannot_be_cancelled_and_a_cancelled_one_not_twice(
    api: dict[str, Api], world: World
) -> None:
    booked = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).json
    other = api["other_founder"].post(f"/bookings/{booked['id']}/cancel")
    assert other.status_code == 403
    assert other.json["error"]["code"] == "not_your_booking"
    assert (
        api["member"].post(f"/bookings/{booked['id']}/cancel", {"reason": "plans changed"}).status_code == 200
    )
    again = api["founder"].post(f"/bookings/{booked['id']}/cancel")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_cancelled"


def test_a_retry_with_the_same_idempotency_key_returns_the_first_booking(
    api: dict[str, Api], world: World, db: Session
) -> None:
    body = {
        "team_id": world.team1.id,
        "resource_id": world.equipment1.id,
        "starts_at": iso(TUE_10),
        "ends_at": iso(TUE_12),
    }
    first = api["founder"].post("/bookings", body, **{"Idempotency-Key": "order-17"})
    retry = api["founder"].post("/bookings", body, **{"Idempotency-Key": "order-17"})
    assert first.status_code == retry.status_code == 201
    assert retry.json["id"] == first.json["id"]
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert bookings_in(db) == 1
    changed = api["founder"].post("/bookings", {**body, "note": "x"}, **{"Idempotency-Key": "order-17"})
    assert changed.status_code == 422
    assert changed.json["error"]["details"]["fields"]["Idempotency-Key"] == "reused"
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_a_weekly_series_is_all_or_nothing_and_lists_each_clash(
    api: dict[str, Api], world: World, db: Session
) -> None:
    clash_day = next_week(1, 10, weeks=3)
    api["other_founder"].book(world.team2.id, world.equipment1.id, clash_day, clash_day + timedelta(hours=1))
    before = bookings_in(db)
    series = {"repeat": {"frequency": "weekly", "count": 4}}
    refused = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12, **series)
    assert refused.status_code == 409
    occurrences = refused.json["error"]["details"]["occurrences"]
    assert [o["starts_at"] for o in occurrences] == [iso(clash_day)]
    assert bookings_in(db) == before
    skipping = {"repeat": {"frequency": "weekly", "count": 4, "skip_conflicts": True}}
    made = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12, **skipping)
    assert made.status_code == 201, made.json
    assert len(made.json["bookings"]) == 3
    assert [s["starts_at"] for s in made.json["skipped"]] == [iso(clash_day)]
    # One occurrence moves alone; the rest stay.
    first, second = made.json["bookings"][0], made.json["bookings"][1]
    moved = api["founder"].patch(
        f"/bookings/{second['id']}",
        {"starts_at": iso(next_week(2, 14, weeks=2)), "ends_at": iso(next_week(2, 16, weeks=2))},
    )
    assert moved.status_code == 200, moved.json
    assert api["founder"].post(f"/bookings/{first['id']}/cancel").status_code == 200
    left = api["founder"].get(f"/bookings?team_id={world.team1.id}").json["items"]
    statuses = {b["id"]: b["status"] for b in left}
    assert statuses[first["id"]] == "cancelled"
    assert statuses[second["id"]] == "confirmed"
    assert statuses[made.json["bookings"][2]["id"]] == "confirmed"


def test_bookings_needing_approval_hold_the_slot_until_the_host_decides(
    api: dict[str, Api], world: World
) -> None:
    api["host"].patch(f"/resources/{world.equipment1.id}/availability", {"requires_approval": True})
    pending = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).json
    assert pending["status"] == "pending"
    assert api["other_founder"].book(world.team2.id, world.equipment1.id, TUE_10, TUE_12).status_code == 409
    assert api["founder"].post(f"/bookings/{pending['id']}/decision", {"approve": True}).status_code == 403
    hosted = api["host"].get("/bookings/hosted").json["items"]
    assert [b["id"] for r in hosted for b in r["pending"]] == [pending["id"]]
    approved = api["host"].post(f"/bookings/{pending['id']}/decision", {"approve": True})
    assert approved.json["status"] == "confirmed"
    again = api["host"].post(f"/bookings/{pending['id']}/decision", {"approve": False})
    assert again.status_code == 409


def test_certified_equipment_refuses_untrained_users_until_certified(
    api: dict[str, Api], world: World
) -> None:
    api["host"].patch(
        f"/resources/{world.equipment1.id}/availability",
        {"requires_certification": True, "certification_lapse_days": 90},
    )
    refused = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "not_certified"
    assert (
        api["founder"]
        .post(f"/resources/{world.equipment1.id}/certifications", {"user_id": world.id("founder")})
        .status_code
        == 403
    )
    granted = api["host"].post(
        f"/resources/{world.equipment1.id}/certifications", {"user_id": world.id("founder")}
    )
    assert granted.status_code == 201 and granted.json["valid"] is True
    assert api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 201
    api["host"].delete(f"/resources/{world.equipment1.id}/certifications/{world.id('founder')}")
    assert api["founder"].book(world.team1.id, world.equipment1.id, TUE_12, TUE_14).status_code == 403


def test_free_monthly_hours_and_the_stage_discount_come_off_the_price(
    api: dict[str, Api], world: World
) -> None:
    allowance = {
        "resource_kind": "equipment",
        "stage": "incubator",
        "free_hours_per_month": 3,
        "discount_percent": 50,
    }
    assert api["founder"].put(f"/spaces/{world.space1.id}/allowances", allowance).status_code == 403
    assert api["manager"].put(f"/spaces/{world.space1.id}/allowances", allowance).status_code == 200
    quote = (
        api["founder"]
        .post(
            "/bookings/quote",
            {
                "team_id": world.team1.id,
                "resource_id": world.equipment1.id,
                "starts_at": iso(TUE_10),
                "ends_at": iso(TUE_12),
            },
        )
        .json
    )
    assert quote["free_minutes"] == 120 and quote["amount_cny"] == "0.00"
    api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12)
    second = api["founder"].book(world.team1.id, world.equipment1.id, TUE_12, TUE_14).json
    # One free hour left; the other hour at 400 with half off.
    assert second["free_minutes"] == 60
    assert second["amount_cny"] == "200.00"


def test_a_monthly_cap_refuses_the_booking_that_would_pass_it(
    api: dict[str, Api], world: World, db: Session
) -> None:
    api["manager"].put(
        f"/spaces/{world.space1.id}/allowances",
        {
            "resource_kind": "equipment",
            "stage": "incubator",
            "free_hours_per_month": 0,
            "max_hours_per_month": 3,
        },
    )
    assert api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 201
    over = api["founder"].book(world.team1.id, world.equipment1.id, TUE_12, TUE_14)
    assert over.status_code == 409
    assert over.json["error"]["code"] == "quota_exceeded"
    assert bookings_in(db) == 1


def test_cancelling_after_the_deadline_costs_the_late_fee(
    api: dict[str, Api], world: World, db: Session
) -> None:
    api["host"].patch(
        f"/resources/{world.equipment1.id}/availability",
        {"free_cancel_hours": 24 * 30, "late_cancel_fee_percent": 25},
    )
    booked = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).json
    api["founder"].post(f"/bookings/{booked['id']}/cancel")
    ledger = api["founder"].get(f"/teams/{world.team1.id}/ledger").json
    assert [line["kind"] for line in ledger["lines"]] == ["usage", "refund", "late_cancel_fee"]
    assert ledger["balance_cny"] == "200.00"
    fresh(db)
    assert db.scalar(select(func.sum(Charge.amount_cny))) == 200


def test_a_team_waits_for_a_taken_slot_and_is_offered_it_when_it_frees(
    api: dict[str, Api], world: World
) -> None:
    taken = api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).json
    wait = {
        "team_id": world.team2.id,
        "resource_id": world.equipment1.id,
        "starts_at": iso(TUE_10),
        "ends_at": iso(TUE_12),
    }
    entry = api["other_founder"].post("/waitlist", wait)
    assert entry.status_code == 201 and entry.json["status"] == "waiting"
    free = api["other_founder"].post("/waitlist", {**wait, "starts_at": iso(TUE_12), "ends_at": iso(TUE_14)})
    assert free.status_code == 409
    api["founder"].post(f"/bookings/{taken['id']}/cancel")
    offers = api["other_founder"].get(f"/bookings?team_id={world.team2.id}").json["items"]
    assert [o["status"] for o in offers] == ["held"]
    assert api["founder"].book(world.team1.id, world.equipment1.id, TUE_10, TUE_12).status_code == 409
    accepted = api["other_founder"].post(f"/bookings/{offers[0]['id']}/accept")
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "confirmed"


def test_the_slot_finder_ranks_equipment_with_the_capability_by_start_then_price(
    api: dict[str, Api], world: World, db: Session
) -> None:
    cheap = builders.get_or_create_resource(
        db,
        world.space1,
        world.host1,
        "sem-cheap",
        name_zh="旧电镜",
        name_en="Old SEM",
        price_cny=100,
        tags=["sem-imaging"],
    )
    db.commit()
    api["founder"].book(world.team1.id, cheap.id, TUE_10 - timedelta(hours=1), TUE_14)
    start = iso(TUE_10 - timedelta(hours=1)).replace("+", "%2B")
    found = api["founder"].get(f"/slots?team_id={world.team1.id}&tag=sem-imaging&minutes=240&start={start}")
    assert found.status_code == 200, found.json
    items = found.json["items"]
    assert [i["resource"]["id"] for i in items] == [world.equipment1.id, cheap.id]
    assert items[0]["starts_at"] == iso(TUE_10 - timedelta(hours=1))
    assert items[1]["starts_at"] == iso(TUE_14)


def test_booking_rules_are_validated(api: dict[str, Api], world: World) -> None:
    bad = api["host"].patch(
        f"/resources/{world.equipment1.id}/availability",
        {"weekly_hours": [{"weekday": 1, "start": "18:00", "end": "09:00"}]},
    )
    assert bad.status_code == 422
    shorter = api["host"].patch(f"/resources/{world.equipment1.id}/availability", {"min_minutes": 600})
    assert shorter.status_code == 422
    assert (
        api["founder"].patch(f"/resources/{world.equipment1.id}/availability", {"units": 3}).status_code
        == 403
    )
