"""The fair-booking settings through the API: a no-show fee below the late-cancellation fee is refused
in words and nothing is saved; what happens to bookings when access is lost is the host's choice."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.conftest import Client, World
from tests.web.booking_support import Api, token_for


def test_a_no_show_fee_below_the_late_fee_is_refused_and_nothing_is_saved(
    client: Client, world: World, db: Session
) -> None:
    host = Api(client, token_for(db, world.users["host"]))
    path = f"/resources/{world.equipment1.id}/availability"
    refused = host.patch(path, {"late_cancel_fee_percent": 50, "no_show_fee_percent": 30})
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["details"]["fields"] == {"no_show_fee_percent": "below_late_cancel_fee"}
    assert "未到场费" in error["message"]
    en = client.patch(
        f"/api/v1{path}",
        json={"no_show_fee_percent": 10},
        headers={**host.headers, "Accept-Language": "en"},
    )
    assert en.status_code == 422 and "no-show fee" in en.json["error"]["message"]
    kept = host.get(path).json
    assert kept["no_show_fee_percent"] == 100 and kept["late_cancel_fee_percent"] == 50
    assert host.patch(path, {"no_show_fee_percent": 101}).status_code == 422


def test_the_host_chooses_whether_lost_access_cancels_or_flags_bookings(
    client: Client, world: World, db: Session
) -> None:
    host = Api(client, token_for(db, world.users["host"]))
    path = f"/resources/{world.equipment1.id}/availability"
    assert host.get(path).json["lost_access_effect"] == "cancel"
    changed = host.patch(path, {"lost_access_effect": "flag", "no_show_fee_percent": 80})
    assert changed.status_code == 200, changed.json
    assert changed.json["lost_access_effect"] == "flag" and changed.json["no_show_fee_percent"] == 80
    assert host.patch(path, {"lost_access_effect": "ignore"}).status_code == 422
