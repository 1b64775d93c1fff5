"""Two changes to one booking at the same moment, through HTTP and real threads, many rounds, on each
database: exactly one of two conflicting changes wins, the other gets a clean 409, never a 500, and
the ledger always agrees with where the booking ended."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.operations import accounts, booking_rules
from models import Booking, BookingStatus, Charge, ChargeKind, WaitlistEntry, WaitlistStatus
from tests.conftest import LiveServer, World, bearer, fresh
from tests.web.booking_support import iso, next_week, token_for
from tests.web.live import WAIT
from tests.web.test_booking_race import overlapping_pairs

ROUNDS = 8


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    token: str
    body: dict[str, Any] | None = None


def at_once(base: str, calls: list[Call]) -> list[requests.Response]:
    """Send every call from its own thread, all leaving one gate together."""
    gate = threading.Barrier(len(calls))

    def one(call: Call) -> requests.Response:
        gate.wait(timeout=WAIT)
        return requests.request(
            call.method, f"{base}/api/v1{call.path}", json=call.body, headers=bearer(call.token), timeout=60
        )

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def slot(round_: int, hour: int) -> tuple[datetime, datetime]:
    """A two-hour slot of its own for each round, two weeks or more ahead (no late fees)."""
    weeks, weekday = 2 + round_ // 5, round_ % 5
    return next_week(weekday, hour, weeks=weeks), next_week(weekday, hour + 2, weeks=weeks)


def book(base: str, token: str, team_id: int, resource_id: int, start: datetime, end: datetime) -> Any:
    response = requests.post(
        f"{base}/api/v1/bookings",
        json={"team_id": team_id, "resource_id": resource_id, "starts_at": iso(start), "ends_at": iso(end)},
        headers=bearer(token),
        timeout=WAIT,
    )
    assert response.status_code == 201, response.text[:300]
    return response.json()


def settled(db: Session, booking_id: int) -> tuple[Booking, list[ChargeKind], Decimal, int]:
    """The booking as committed, its ledger lines, and its usage less refunds (amount, minutes)."""
    fresh(db)
    booking = db.get(Booking, booking_id)
    assert booking is not None
    lines = db.scalars(select(Charge).where(Charge.booking_id == booking_id).order_by(Charge.id)).all()
    counted = [c for c in lines if c.kind in (ChargeKind.USAGE, ChargeKind.REFUND)]
    return (
        booking,
        [c.kind for c in lines],
        sum((c.amount_cny for c in counted), Decimal(0)),
        sum(c.minutes for c in counted),
    )


@pytest.fixture
def tokens(world: World, db: Session) -> dict[str, str]:
    return {
        name: token_for(db, world.users[name]) for name in ("founder", "other_founder", "host", "manager")
    }


def test_cancelling_one_booking_twice_at_once_cancels_and_refunds_it_once(
    live_server: LiveServer, world: World, db: Session, tokens: dict[str, str]
) -> None:
    for round_ in range(ROUNDS):
        made = book(
            live_server.url, tokens["founder"], world.team1.id, world.equipment1.id, *slot(round_, 10)
        )
        cancel = Call("POST", f"/bookings/{made['id']}/cancel", tokens["founder"], {})
        responses = at_once(live_server.url, [cancel, cancel])
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text[:200] for r in responses]
        assert [r.json()["error"]["code"] for r in responses if r.status_code == 409] == ["already_cancelled"]
        booking, kinds, amount, minutes = settled(db, made["id"])
        assert booking.status is BookingStatus.CANCELLED
        assert kinds == [ChargeKind.USAGE, ChargeKind.REFUND] and (amount, minutes) == (0, 0)


def test_an_approval_and_a_rejection_at_once_leave_one_decision_and_a_ledger_to_match(
    live_server: LiveServer, world: World, db: Session, tokens: dict[str, str]
) -> None:
    host = accounts.principal_for(db, world.users["host"])
    booking_rules.set_availability(db, host, world.equipment1.id, {"requires_approval": True})
    db.commit()
    winners = set()
    for round_ in range(ROUNDS):
        made = book(
            live_server.url, tokens["founder"], world.team1.id, world.equipment1.id, *slot(round_, 10)
        )
        assert made["status"] == "pending"
        path = f"/bookings/{made['id']}/decision"
        approve, reject = at_once(
            live_server.url,
            [
                Call("POST", path, tokens["host"], {"approve": True}),
                Call("POST", path, tokens["manager"], {"approve": False}),
            ],
        )
        assert sorted((approve.status_code, reject.status_code)) == [200, 409], (approve.text, reject.text)
        loser = approve if approve.status_code == 409 else reject
        assert loser.json()["error"]["code"] == "invalid_transition"
        booking, _kinds, amount, minutes = settled(db, made["id"])
        if approve.status_code == 200:
            winners.add("approve")
            assert booking.status is BookingStatus.CONFIRMED
            assert (amount, minutes) == (booking.amount_cny, 120) and amount > 0
        else:
            winners.add("reject")
            assert booking.status is BookingStatus.REJECTED
            assert (amount, minutes) == (0, 0)
    assert winners  # which one wins is up to the scheduler; that exactly one does is the point


def test_a_cancel_and_a_move_at_once_never_leave_a_cancelled_booking_billed(
    live_server: LiveServer, world: World, db: Session, tokens: dict[str, str]
) -> None:
    for round_ in range(ROUNDS):
        made = book(
            live_server.url, tokens["founder"], world.team1.id, world.equipment1.id, *slot(round_, 10)
        )
        start, end = slot(round_, 14)
        cancel, move = at_once(
            live_server.url,
            [
                Call("POST", f"/bookings/{made['id']}/cancel", tokens["founder"], {}),
                Call(
                    "PATCH",
                    f"/bookings/{made['id']}",
                    tokens["founder"],
                    {"starts_at": iso(start), "ends_at": iso(end)},
                ),
            ],
        )
        # Cancelling always succeeds: before the move (which then finds it cancelled) or after it.
        assert cancel.status_code == 200, cancel.text[:300]
        assert move.status_code in (200, 409), move.text[:300]
        if move.status_code == 409:
            assert move.json()["error"]["code"] == "invalid_transition"
        booking, kinds, amount, minutes = settled(db, made["id"])
        assert booking.status is BookingStatus.CANCELLED
        assert (amount, minutes) == (0, 0), kinds
        assert kinds.count(ChargeKind.USAGE) == kinds.count(ChargeKind.REFUND)


def test_moving_onto_a_slot_someone_books_at_that_moment_leaves_exactly_one_of_them(
    live_server: LiveServer, world: World, db: Session, tokens: dict[str, str]
) -> None:
    for round_ in range(ROUNDS):
        made = book(
            live_server.url, tokens["founder"], world.team1.id, world.equipment1.id, *slot(round_, 10)
        )
        start, end = slot(round_, 14)
        move, rival = at_once(
            live_server.url,
            [
                Call(
                    "PATCH",
                    f"/bookings/{made['id']}",
                    tokens["founder"],
                    {"starts_at": iso(start), "ends_at": iso(end)},
                ),
                Call(
                    "POST",
                    "/bookings",
                    tokens["other_founder"],
                    {
                        "team_id": world.team2.id,
                        "resource_id": world.equipment1.id,
                        "starts_at": iso(start),
                        "ends_at": iso(end),
                    },
                ),
            ],
        )
        assert sorted((move.status_code, rival.status_code)) in ([200, 409], [201, 409]), (
            move.text,
            rival.text,
        )
        loser = move if move.status_code == 409 else rival
        assert loser.json()["error"]["code"] == "slot_taken"
        if loser is move:
            assert move.json()["error"]["details"]["conflicts"]  # the same answer as any taken slot
        booking, _kinds, amount, minutes = settled(db, made["id"])
        assert booking.starts_at == (start if move.status_code == 200 else slot(round_, 10)[0])
        assert (amount, minutes) == (booking.amount_cny, 120)
    assert overlapping_pairs(db) == []


def test_leaving_a_waitlist_as_the_slot_frees_either_leaves_or_is_told_of_the_offer(
    live_server: LiveServer, world: World, db: Session, tokens: dict[str, str]
) -> None:
    for round_ in range(ROUNDS):
        start, end = slot(round_, 14)
        taken = book(
            live_server.url, tokens["other_founder"], world.team2.id, world.equipment1.id, start, end
        )
        joined = requests.post(
            f"{live_server.url}/api/v1/waitlist",
            json={"team_id": world.team1.id, "resource_id": world.equipment1.id,
                  "starts_at": iso(start), "ends_at": iso(end)},
            headers=bearer(tokens["founder"]),
            timeout=WAIT,
        )  # fmt: skip
        assert joined.status_code == 201, joined.text
        entry_id = joined.json()["id"]
        freed, left = at_once(
            live_server.url,
            [
                Call("POST", f"/bookings/{taken['id']}/cancel", tokens["other_founder"], {}),
                Call("DELETE", f"/waitlist/{entry_id}", tokens["founder"]),
            ],
        )
        assert freed.status_code == 200, freed.text
        assert left.status_code in (200, 409), left.text
        fresh(db)
        entry = db.get(WaitlistEntry, entry_id)
        assert entry is not None
        held = db.scalars(
            select(Booking).where(
                Booking.team_id == world.team1.id,
                Booking.resource_id == world.equipment1.id,
                Booking.starts_at == start,
                Booking.status == BookingStatus.HELD,
            )
        ).all()
        if left.status_code == 200:
            # The team left first: it holds nothing and the slot stays free for others.
            assert entry.status is WaitlistStatus.CANCELLED and held == [] and entry.offer_booking_id is None
        else:
            # The offer came first: the team is told, and the offer is really there.
            assert left.json()["error"]["details"]["offer_booking_id"] == entry.offer_booking_id
            assert entry.status is WaitlistStatus.OFFERED and [b.id for b in held] == [entry.offer_booking_id]
            release = requests.post(
                f"{live_server.url}/api/v1/bookings/{entry.offer_booking_id}/cancel",
                json={},
                headers=bearer(tokens["founder"]),
                timeout=WAIT,
            )
            assert release.status_code == 200, release.text
