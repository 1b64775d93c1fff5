"""The unmet-demand suggestions where their rules matter: an offered capability with one refusal is left
out, a need nothing offers is to be added on one team's word, a refusal on a resource with two
capabilities is one refusal in the totals, and a capability with more signs than the examples shown
counts all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from models import Booking, BookingStatus
from seeds import builders
from tests.conftest import Client, World

APRIL = "start=2026-04-01&end=2026-04-30"
FIRST = datetime(2026, 4, 6, 6, tzinfo=UTC)


def test_unmet_demand_counts_every_sign_and_lists_the_first_fifty(
    client: Client, db: Session, world: World
) -> None:
    t1, t2 = world.team1, world.team2
    assert t1.id < t2.id  # the examples of a kind come team by team
    founder, other = world.users["founder"], world.users["other_founder"]
    builders.get_or_create_tag(db, "fib-milling", ["聚焦离子束"], ["focused ion beam"])
    builders.get_or_create_tag(db, "cleanroom", ["洁净室"], ["clean room"])
    fib = builders.get_or_create_resource(
        db, world.space1, world.host1, "fib", name_zh="聚焦离子束", name_en="FIB", tags=["fib-milling"]
    )
    clean = builders.get_or_create_team(db, world.space1, "clean", stage="nursery", tags=["cleanroom"])
    made: list[Booking] = []

    def refuse(resource: Any, team: Any, who: Any, status: BookingStatus) -> None:
        start = FIRST + timedelta(hours=len(made))
        booking = Booking(
            resource_id=resource.id,
            unit=1,
            team_id=team.id,
            booked_by_id=who.id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            blocked_until=start + timedelta(hours=1),
            status=status,
        )
        db.add(booking)
        made.append(booking)

    # Made in this order, so the examples' order (kind, team, then as made) differs from it.
    for _ in range(20):
        refuse(world.equipment1, t2, other, BookingStatus.REJECTED)
    for _ in range(25):
        refuse(world.equipment1, t1, founder, BookingStatus.EXPIRED)
    for _ in range(10):
        refuse(world.equipment1, t2, other, BookingStatus.REJECTED)
    for _ in range(5):
        refuse(world.equipment1, t1, founder, BookingStatus.REJECTED)
    refuse(fib, t1, founder, BookingStatus.REJECTED)  # offered, one sign only: not enough
    db.commit()

    client.login("manager@test.example")
    found = client.get(f"/api/v1/spaces/{world.space1.id}/unmet-demand?{APRIL}").get_json()

    # Sixty-one bookings; the sixty on the SEM (two capabilities) are counted once each.
    assert found["totals"] == {"refused": 36, "expired": 25, "waitlist": 0, "no_resource": 2}
    assert [(s["tag"], s["action"], s["teams"], s["counts"]) for s in found["suggestions"]] == [
        ("failure-analysis", "expand", 2, {"expired": 25, "refused": 35}),
        ("sem-imaging", "expand", 2, {"expired": 25, "refused": 35}),
        ("cleanroom", "add", 1, {"no_resource": 1}),
        ("machine-vision", "add", 1, {"no_resource": 1}),
    ]
    on_sem = [b for b in made if b.resource_id == world.equipment1.id]
    ordered = sorted(on_sem, key=lambda b: (b.status is BookingStatus.REJECTED, b.team_id, b.id))
    expected = [
        {
            "kind": "refused" if b.status is BookingStatus.REJECTED else "expired",
            "team_id": b.team_id,
            "resource_id": world.equipment1.id,
            "at": b.starts_at.astimezone(UTC).isoformat(),
        }
        for b in ordered[:50]
    ]
    for suggestion in found["suggestions"][:2]:
        assert suggestion["evidence"] == expected
    assert [(e["kind"], e["team_id"]) for e in expected] == (
        [("expired", t1.id)] * 25 + [("refused", t1.id)] * 5 + [("refused", t2.id)] * 20
    )
    assert found["suggestions"][2]["evidence"] == [
        {"kind": "no_resource", "team_id": clean.id, "resource_id": None, "at": None}
    ]
