"""Introductions, deals and the seed fund through the HTTP API, one account per role: pitch with a deck,
answer, move the deal one step at a time to an investment; every refusal clear with nothing written and
no file left behind; the fund never deploys more than it has; the interactions each outcome leaves."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models import Deal, FundPosition, Interaction, Introduction, Investment, Organization, Resource
from tests.conftest import Client, LiveServer, World, fresh
from tests.web.booking_support import Api, token_for
from tests.web.live import api_token
from tests.web.test_booking_change_race import Call, at_once

ROLES = ("manager", "founder", "member", "other_founder", "mentor", "investor")
ROUNDS = 6
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def api(client: Client, world: World, db: Session) -> dict[str, Api]:
    db.execute(
        update(Resource)
        .where(Resource.id == world.fund1.id)
        .values(attributes={"rounds": ["seed", "angel"], "fund_size_10k_cny": 500})
    )
    db.commit()
    return {name: Api(client, token_for(db, world.users[name])) for name in ROLES}


def pitch(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "team_id": world.team1.id,
        "fund_id": world.fund1.id,
        "pitch": "视觉芯片：片上完成目标检测 / on-chip object detection",
        "amount_sought_10k_cny": "300",
        "round_sought": "seed",
        "use_of_funds": "Tape-out of the second test chip.",
        **extra,
    }


def decks(app: Flask) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "decks"
    return sorted(folder.glob("*")) if folder.exists() else []


def upload(client: Client, api: Api, intro_id: int, data: bytes, name: str = "deck.pdf") -> Any:
    """A multipart upload as a browser sends it, built in memory."""
    boundary = "deck-boundary-7MA4YWxkTrZu0gW"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="deck"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        f"/api/v1/introductions/{intro_id}/deck",
        data=body,
        headers=api.headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def counts(db: Session) -> tuple[int, int, int, int]:
    fresh(db)
    return (
        db.scalar(select(func.count(Introduction.id))) or 0,
        db.scalar(select(func.count(Deal.id))) or 0,
        db.scalar(select(func.count(Investment.id))) or 0,
        db.scalar(select(func.count(Interaction.id))) or 0,
    )


def test_a_pitch_becomes_a_deal_that_moves_step_by_step_to_an_investment(
    api: dict[str, Api], world: World, db: Session, client: Client, app: Flask
) -> None:
    fund = api["founder"].get(f"/funds/{world.fund1.id}/investments").json
    assert fund["host_runs_fund"] is False and "size_10k_cny" not in fund  # the team sees who runs it
    made = api["founder"].post("/introductions", pitch(world))
    assert made.status_code == 201, made.json
    intro = made.json
    assert intro["status"] == "requested" and intro["has_deck"] is False

    uploaded = upload(client, api["founder"], intro["id"], PDF)
    assert uploaded.status_code == 200, uploaded.get_json()
    assert uploaded.get_json()["has_deck"] is True and len(decks(app)) == 1
    # The deck is for that investor, the team and the managers only.
    client.login("investor@test.example")
    assert client.get(f"/introductions/{intro['id']}/deck").data == PDF
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("mentor@test.example")
    assert client.get(f"/introductions/{intro['id']}/deck").status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})  # back to the API tokens alone
    assert api["mentor"].get(f"/introductions/{intro['id']}").status_code == 404

    flow = api["investor"].get(f"/deals/flow?fund_id={world.fund1.id}").json
    assert [i["id"] for i in flow["items"]] == [intro["id"]]
    assert world.team2.id in [t["id"] for t in flow["suggested"]]  # a team that has not asked yet
    assert api["founder"].get(f"/deals/flow?fund_id={world.fund1.id}").status_code == 404

    more = api["investor"].post(
        f"/introductions/{intro['id']}/answer", {"answer": "more_info", "note": "Yield data?"}
    )
    assert more.json["status"] == "more_info"
    again = api["founder"].post(
        f"/introductions/{intro['id']}/resubmit", {"use_of_funds": "Tape-out; yield study"}
    )
    assert again.json["status"] == "requested"
    interested = api["investor"].post(
        f"/introductions/{intro['id']}/answer", {"answer": "interested", "meeting": "Tuesday 10:00, room 3"}
    )
    assert interested.status_code == 200 and interested.json["status"] == "interested"
    deal = interested.json["deal"]
    assert deal["stage"] == "introduced" and deal["next_stages"] == ["meeting", "passed"]

    # A jump that skips a required step is refused, and nothing changes.
    skip = api["investor"].post(f"/deals/{deal['id']}/move", {"stage": "term_sheet"})
    assert skip.status_code == 409 and skip.json["error"]["code"] == "invalid_transition"
    assert api["founder"].post(f"/deals/{deal['id']}/move", {"stage": "meeting"}).status_code == 403
    for stage in ("meeting", "due_diligence", "term_sheet"):
        moved = api["investor"].post(f"/deals/{deal['id']}/move", {"stage": stage})
        assert moved.status_code == 200 and moved.json["stage"] == stage
    assert api["member"].get(f"/deals/{deal['id']}").json["stage"] == "term_sheet"  # the team sees it

    no_money = api["investor"].post(f"/deals/{deal['id']}/move", {"stage": "invested"})
    assert no_money.status_code == 422 and "investment" in no_money.json["error"]["details"]["fields"]
    invested = api["investor"].post(
        f"/deals/{deal['id']}/move",
        {
            "stage": "invested",
            "investment": {"amount_10k_cny": "300", "instrument": "equity", "invested_on": "2026-12-01"},
        },
    )
    assert invested.status_code == 200, invested.json
    fund = api["investor"].get(f"/funds/{world.fund1.id}/investments").json
    assert fund["size_10k_cny"] == "500.00" and fund["remaining_10k_cny"] == "200.00"
    assert [(i["amount_10k_cny"], i["instrument"]) for i in fund["investments"]] == [("300.00", "equity")]

    fresh(db)
    learned = [
        (i.kind.value, i.outcome)
        for i in db.scalars(
            select(Interaction).where(Interaction.resource_id == world.fund1.id).order_by(Interaction.id)
        )
    ]
    assert learned[0] == ("introduction", "requested")
    assert ("introduction", "accepted") in learned and learned[-1] == ("investment", "invested")


def test_the_fund_never_deploys_more_than_remains(api: dict[str, Api], world: World, db: Session) -> None:
    first = api["investor"].post(
        f"/funds/{world.fund1.id}/investments",
        {
            "team_id": world.team2.id,
            "amount_10k_cny": "400",
            "instrument": "safe",
            "invested_on": "2026-11-01",
        },
    )
    assert first.status_code == 201, first.json
    before = counts(db)
    over = api["investor"].post(
        f"/funds/{world.fund1.id}/investments",
        {
            "team_id": world.team2.id,
            "amount_10k_cny": "150",
            "instrument": "safe",
            "invested_on": "2026-12-01",
            "follow_on_of_id": first.json["id"],
        },
    )
    assert over.status_code == 409 and over.json["error"]["code"] == "beyond_fund"
    assert over.json["error"]["details"]["remaining_10k_cny"] == "100.00"
    negative = api["investor"].post(
        f"/funds/{world.fund1.id}/investments",
        {
            "team_id": world.team2.id,
            "amount_10k_cny": "-5",
            "instrument": "safe",
            "invested_on": "2026-12-01",
        },
    )
    assert negative.status_code == 422 and "amount_10k_cny" in negative.json["error"]["details"]["fields"]
    assert (
        api["founder"]
        .post(
            f"/funds/{world.fund1.id}/investments",
            {
                "team_id": world.team1.id,
                "amount_10k_cny": "1",
                "instrument": "safe",
                "invested_on": "2026-12-01",
            },
        )
        .status_code
        == 403
    )
    assert counts(db) == before
    follow_on = api["investor"].post(
        f"/funds/{world.fund1.id}/investments",
        {
            "team_id": world.team2.id,
            "amount_10k_cny": "100",
            "instrument": "safe",
            "invested_on": "2026-12-01",
            "follow_on_of_id": first.json["id"],
        },
    )
    assert follow_on.status_code == 201 and follow_on.json["follow_on_of_id"] == first.json["id"]
    assert api["manager"].get(f"/funds/{world.fund1.id}/investments").json["remaining_10k_cny"] == "0.00"


def test_bad_decks_are_refused_and_leave_no_file(
    api: dict[str, Api], world: World, client: Client, app: Flask
) -> None:
    from matchmaker.operations import investing

    intro = api["founder"].post("/introductions", pitch(world)).json
    not_pdf = upload(client, api["founder"], intro["id"], b"PK\x03\x04 a zip renamed", "deck.pdf")
    assert not_pdf.status_code == 422 and not_pdf.get_json()["error"]["details"]["fields"] == {
        "deck": "not_pdf"
    }
    too_big = upload(
        client, api["founder"], intro["id"], PDF + b"0" * (investing.MAX_DECK_BYTES - len(PDF) + 1)
    )
    assert too_big.status_code == 422 and too_big.get_json()["error"]["details"]["fields"] == {
        "deck": "too_large"
    }
    missing = client.post(f"/api/v1/introductions/{intro['id']}/deck", headers=api["founder"].headers)
    assert missing.status_code == 422
    assert upload(client, api["investor"], intro["id"], PDF).status_code == 403
    assert decks(app) == []
    assert api["founder"].get(f"/introductions/{intro['id']}").json["has_deck"] is False


def test_bad_introductions_are_refused_clearly(api: dict[str, Api], world: World, db: Session) -> None:
    assert api["founder"].post("/introductions", pitch(world)).status_code == 201
    before = counts(db)
    duplicate = api["member"].post("/introductions", pitch(world))
    assert duplicate.status_code == 409 and duplicate.json["error"]["code"] == "already_exists"
    negative = api["founder"].post("/introductions", pitch(world, amount_sought_10k_cny="-1"))
    assert negative.status_code == 422
    not_a_fund = api["founder"].post("/introductions", pitch(world, fund_id=world.mentor1.id))
    assert not_a_fund.status_code == 404
    stranger = api["other_founder"].post("/introductions", pitch(world))
    assert stranger.status_code == 404
    assert counts(db) == before
    intro = api["founder"].get("/introductions").json["items"][0]
    passed = api["investor"].post(f"/introductions/{intro['id']}/answer", {"answer": "pass"})
    assert passed.status_code == 422 and "reason" in passed.json["error"]["details"]["fields"]
    passed = api["investor"].post(
        f"/introductions/{intro['id']}/answer", {"answer": "pass", "reason": "stage"}
    )
    assert passed.json["status"] == "passed" and passed.json["pass_reason"] == "stage"
    assert (
        api["investor"].post(f"/introductions/{intro['id']}/answer", {"answer": "interested"}).status_code
        == 409
    )


def test_a_team_sees_before_it_sends_that_the_host_runs_the_fund(
    api: dict[str, Api], world: World, db: Session
) -> None:
    db.execute(update(Organization).where(Organization.id == world.investors1.id).values(is_host=True))
    db.commit()
    assert api["founder"].get(f"/funds/{world.fund1.id}/investments").json["host_runs_fund"] is True
    made = api["founder"].post("/introductions", pitch(world)).json
    assert made["host_runs_fund"] is True


def test_two_deployments_at_once_never_overdraw_the_fund(
    live_server: LiveServer, world: World, db: Session
) -> None:
    db.execute(
        update(Resource)
        .where(Resource.id == world.fund1.id)
        .values(attributes={"rounds": ["seed"], "fund_size_10k_cny": 500})
    )
    db.commit()
    investor = api_token(live_server.url, "investor@test.example")
    for round_ in range(ROUNDS):
        db.execute(delete(Investment))
        db.execute(delete(FundPosition))
        db.commit()
        body = {"amount_10k_cny": "300", "instrument": "equity", "invested_on": f"2026-11-{round_ + 1:02d}"}
        first, second = at_once(
            live_server.url,
            [
                Call("POST", f"/funds/{world.fund1.id}/investments", investor, {**body, "team_id": team.id})
                for team in (world.team1, world.team2)
            ],
        )
        assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
        fresh(db)
        assert db.scalar(select(func.count(Investment.id))) == 1
        assert db.get_one(FundPosition, world.fund1.id).deployed_10k_cny == Decimal("300.00")
