"""Mentor requests and sessions through the HTTP API, one account per role: ask, answer, meet, report,
rate; every refusal in the one error shape with nothing written; capacity and no-overlap held by the
database under concurrent accepts; escalation on a controlled clock; the interactions each outcome
leaves for the ranker; and the notification a real Socket.IO client receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from matchmaker.operations import matching
from models import (
    Interaction,
    JobRun,
    JobRunStatus,
    MentorMonth,
    MentorRequest,
    MentorRequestStatus,
    MentorSession,
    Notification,
    Resource,
)
from tests.conftest import Client, LiveServer, World, fresh
from tests.web.booking_support import Api, iso, next_week, token_for
from tests.web.live import api_token
from tests.web.test_booking_change_race import Call, at_once
from tests.web.test_jobs import FakeClock, until
from tests.web.test_realtime import Listener, connect_as

ROLES = ("manager", "founder", "member", "other_founder", "mentor", "investor", "outsider")


@pytest.fixture
def api(client: Client, world: World, db: Session) -> dict[str, Api]:
    return {name: Api(client, token_for(db, world.users[name])) for name in ROLES}


def ask(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "team_id": world.team1.id,
        "mentor_id": world.mentor1.id,
        "topic": "图像传感器读出电路评审 / sensor readout review",
        "needs": "We need a second opinion on the readout chain before tape-out.",
        "hours": 2,
        **extra,
    }


def counts(db: Session) -> tuple[int, int, int, int]:
    fresh(db)
    return (
        db.scalar(select(func.count(MentorRequest.id))) or 0,
        db.scalar(select(func.count(MentorSession.id))) or 0,
        db.scalar(select(func.count(Interaction.id))) or 0,
        int(db.scalar(select(func.coalesce(func.sum(MentorMonth.committed_hours), 0))) or 0),
    )


def interactions(db: Session, world: World) -> list[tuple[str, str, int | None]]:
    fresh(db)
    rows = db.scalars(
        select(Interaction)
        .where(Interaction.team_id == world.team1.id, Interaction.resource_id == world.mentor1.id)
        .order_by(Interaction.id)
    )
    return [(i.kind.value, i.outcome or "", i.rating) for i in rows]


def into_the_past(db: Session, session_id: int) -> None:
    """Arrange that a booked session was held yesterday, so it can be reported."""
    fresh(db)
    found = db.get(MentorSession, session_id)
    assert found is not None
    length = found.ends_at - found.starts_at
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    db.execute(
        update(MentorSession)
        .where(MentorSession.id == session_id)
        .values(starts_at=start, ends_at=start + length)
    )
    db.commit()


def test_a_team_asks_a_mentor_accepts_they_meet_and_both_sides_rate(
    api: dict[str, Api], world: World, db: Session
) -> None:
    made = api["founder"].post("/mentor-requests", ask(world))
    assert made.status_code == 201, made.json
    request = made.json
    assert request["status"] == "pending" and request["mentor"]["id"] == world.mentor1.id
    assert made.headers["Location"].endswith(f"/mentor-requests/{request['id']}")

    # The mentor sees it in their inbox; another founder and an investor do not see it at all.
    inbox = api["mentor"].get(f"/mentor-requests?mentor_id={world.mentor1.id}").json["items"]
    assert [r["id"] for r in inbox] == [request["id"]]
    assert api["other_founder"].get(f"/mentor-requests/{request['id']}").status_code == 404
    assert api["investor"].get("/mentor-requests").json["items"] == []
    # Only the mentor (or a manager) accepts a pending request.
    assert api["founder"].post(f"/mentor-requests/{request['id']}/accept").status_code == 403

    start = next_week(1, 10)
    accepted = api["mentor"].post(
        f"/mentor-requests/{request['id']}/accept", {"starts_at": iso(start), "minutes": 120}
    )
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "accepted"
    [booked] = accepted.json["sessions"]
    assert booked["status"] == "scheduled" and booked["starts_at"] == iso(start)
    month = accepted.json["month"]
    hours = api["founder"].get(f"/mentors/{world.mentor1.id}/hours?month={month}").json
    assert hours == {
        "mentor_id": world.mentor1.id,
        "month": month,
        "capacity_hours": 8,
        "committed_hours": 2,
        "remaining_hours": 6,
        "delivered_hours": 0.0,
    }

    # Before it starts there is nothing to report or rate.
    assert api["mentor"].post(f"/mentor-sessions/{booked['id']}/report", {"hours": 2}).status_code == 409
    into_the_past(db, booked["id"])
    assert api["founder"].post(f"/mentor-sessions/{booked['id']}/rating", {"rating": 5}).status_code == 409
    reported = api["mentor"].post(
        f"/mentor-sessions/{booked['id']}/report",
        {
            "hours": 1.5,
            "notes": "Readout chain is sound; check the ADC reference.",
            "follow_ups": "Send the SPICE deck",
        },
    )
    assert reported.status_code == 200, reported.json
    assert reported.json["status"] == "delivered" and reported.json["hours_delivered"] == 1.5

    seen = api["member"].get(f"/mentor-sessions/{booked['id']}").json
    assert seen["notes"].startswith("Readout chain")  # notes are the team's to read
    rated = api["member"].post(
        f"/mentor-sessions/{booked['id']}/rating", {"rating": 5, "comment": "很有帮助"}
    )
    assert rated.status_code == 200 and rated.json["team_rating"] == 5
    again = api["founder"].post(f"/mentor-sessions/{booked['id']}/rating", {"rating": 1})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_exists"
    prep = api["mentor"].post(f"/mentor-sessions/{booked['id']}/preparation", {"rating": 4})
    assert prep.status_code == 200 and prep.json["preparation_rating"] == 4

    # Every outcome is a labelled, timestamped edge, and the ranker's training reads them.
    assert interactions(db, world) == [
        ("mentor_session", "accepted", None),
        ("mentor_session", "delivered", None),
        ("mentor_session", "rated", 5),
    ]
    dataset = matching.dataset_from_db(db)
    learned = [e for e in dataset.events if e.resource.endswith(str(world.mentor1.id))]
    assert [(e.kind, e.outcome, e.rating) for e in learned] == [
        ("mentor_session", "accepted", None),
        ("mentor_session", "delivered", None),
        ("mentor_session", "rated", 5.0),
    ]

    # Each step told the other side.
    fresh(db)
    kinds = {
        (n.user_id, n.kind)
        for n in db.scalars(select(Notification).where(Notification.subject.like("mentor_%")))
    }
    assert (world.id("mentor"), "mentor_request_received") in kinds
    assert (world.id("founder"), "mentor_request_answered") in kinds
    assert (world.id("member"), "mentor_session_changed") in kinds
    assert (world.id("mentor"), "mentor_session_changed") in kinds


def test_a_mentor_proposes_times_and_the_team_takes_one(
    api: dict[str, Api], world: World, db: Session
) -> None:
    request = api["founder"].post("/mentor-requests", ask(world)).json
    first, second = next_week(2, 9), next_week(3, 14)
    proposed = api["mentor"].post(
        f"/mentor-requests/{request['id']}/propose",
        {"times": [{"starts_at": iso(first), "minutes": 60}, {"starts_at": iso(second), "minutes": 60}]},
    )
    assert proposed.status_code == 200, proposed.json
    assert proposed.json["status"] == "proposed" and len(proposed.json["proposed_times"]) == 2
    wrong = api["founder"].post(
        f"/mentor-requests/{request['id']}/accept", {"starts_at": iso(next_week(4, 9))}
    )
    assert wrong.status_code == 422 and wrong.json["error"]["details"]["fields"] == {
        "starts_at": "not_proposed"
    }
    taken = api["founder"].post(f"/mentor-requests/{request['id']}/accept", {"starts_at": iso(second)})
    assert taken.status_code == 200, taken.json
    assert taken.json["status"] == "accepted"
    assert [s["starts_at"] for s in taken.json["sessions"]] == [iso(second)]


def test_a_declined_request_tells_the_team_why_and_teaches_the_ranker(
    api: dict[str, Api], world: World, db: Session
) -> None:
    request = api["founder"].post("/mentor-requests", ask(world)).json
    bad = api["mentor"].post(f"/mentor-requests/{request['id']}/decline", {"reason": "busy"})
    assert bad.status_code == 422 and "reason" in bad.json["error"]["details"]["fields"]
    declined = api["mentor"].post(
        f"/mentor-requests/{request['id']}/decline", {"reason": "outside_expertise", "note": "Ask Dr Wang."}
    )
    assert declined.status_code == 200
    assert declined.json["status"] == "declined" and declined.json["decline_reason"] == "outside_expertise"
    assert interactions(db, world) == [("decline", "declined", None)]
    late = api["mentor"].post(f"/mentor-requests/{request['id']}/accept")
    assert late.status_code == 409 and late.json["error"]["code"] == "invalid_transition"
    # Declined, the team may ask again.
    assert api["founder"].post("/mentor-requests", ask(world)).status_code == 201


def retire(db: Session, world: World) -> None:
    db.execute(update(Resource).where(Resource.id == world.mentor1.id).values(retired_at=datetime.now(UTC)))
    db.commit()


BAD_ASKS: list[tuple[str, str, dict[str, Any], int, str, str | None]] = [
    ("beyond capacity", "founder", {"hours": 9}, 409, "beyond_capacity", "hours"),
    ("zero hours", "founder", {"hours": 0}, 422, "invalid_input", "hours"),
    ("not a mentor", "founder", {"mentor_id": "equipment"}, 404, "not_found", None),
    ("someone else's team", "other_founder", {}, 404, "not_found", None),
    ("a mentor for a team", "mentor", {}, 403, "forbidden", None),
    ("in the past", "founder", {"wanted_by": "2020-01-01"}, 422, "invalid_input", "wanted_by"),
    ("too long a topic", "founder", {"topic": "x" * 201}, 422, "invalid_input", "topic"),
]


def test_bad_requests_are_refused_clearly_and_write_nothing(
    api: dict[str, Api], world: World, db: Session
) -> None:
    before = counts(db)
    for case, who, body, status, code, field in BAD_ASKS:
        change = dict(body)
        if change.get("mentor_id") == "equipment":
            change["mentor_id"] = world.equipment1.id
        response = api[who].post("/mentor-requests", ask(world, **change))
        assert response.status_code == status, (case, response.json)
        assert response.json["error"]["code"] == code, case
        if field is not None:
            assert field in response.json["error"]["details"]["fields"], case
        assert counts(db) == before, case


def test_a_retired_mentor_and_a_duplicate_request_are_refused(
    api: dict[str, Api], world: World, db: Session
) -> None:
    assert api["founder"].post("/mentor-requests", ask(world)).status_code == 201
    before = counts(db)
    duplicate = api["member"].post("/mentor-requests", ask(world, topic="another topic"))
    assert duplicate.status_code == 409 and duplicate.json["error"]["code"] == "already_exists"
    assert counts(db) == before
    retire(db, world)
    retired = api["other_founder"].post("/mentor-requests", ask(world, team_id=world.team2.id))
    assert retired.status_code == 409 and retired.json["error"]["code"] == "resource_retired"
    assert counts(db) == before


def test_sessions_keep_to_office_hours_never_overlap_and_ratings_stay_in_range(
    api: dict[str, Api], world: World, db: Session
) -> None:
    mine = api["founder"].post("/mentor-requests", ask(world)).json
    theirs = api["other_founder"].post("/mentor-requests", ask(world, team_id=world.team2.id)).json
    start = next_week(0, 14)
    night = api["mentor"].post(f"/mentor-requests/{mine['id']}/accept", {"starts_at": iso(next_week(0, 22))})
    assert night.status_code == 422
    assert night.json["error"]["details"]["fields"] == {"starts_at": "outside_office_hours"}
    assert counts(db)[3] == 0  # nothing committed by the refusal
    ok = api["mentor"].post(
        f"/mentor-requests/{mine['id']}/accept", {"starts_at": iso(start), "minutes": 120}
    )
    assert ok.status_code == 200
    before = counts(db)
    clash = api["mentor"].post(
        f"/mentor-requests/{theirs['id']}/accept",
        {"starts_at": iso(start + timedelta(hours=1)), "minutes": 60},
    )
    assert clash.status_code == 409 and clash.json["error"]["code"] == "slot_taken"
    assert counts(db) == before  # the request stays pending, no hours were committed
    assert api["mentor"].get(f"/mentor-requests/{theirs['id']}").json["status"] == "pending"

    [booked] = ok.json["sessions"]
    into_the_past(db, booked["id"])
    api["mentor"].post(f"/mentor-sessions/{booked['id']}/report", {"hours": 2})
    for rating in (0, 6):
        bad = api["founder"].post(f"/mentor-sessions/{booked['id']}/rating", {"rating": rating})
        assert bad.status_code == 422 and "rating" in bad.json["error"]["details"]["fields"]
    assert api["manager"].post(f"/mentor-sessions/{booked['id']}/rating", {"rating": 4}).status_code == 403
    assert (
        api["other_founder"].post(f"/mentor-sessions/{booked['id']}/rating", {"rating": 4}).status_code == 404
    )
    fresh(db)
    assert db.get(MentorSession, booked["id"]).team_rating is None  # type: ignore[union-attr]


def test_a_published_round_turns_its_mentor_lines_into_accepted_requests(
    api: dict[str, Api], world: World, db: Session
) -> None:
    matching.reset_ranker_cache()
    body = {
        "title": "十二月导师时段",
        "resource_kind": "mentor",
        "team_ids": [world.team1.id, world.team2.id],
        "capacity": [{"resource_id": world.mentor1.id, "units": 4}],
        "units_per_assignment": 2,
    }
    made = api["manager"].post(f"/spaces/{world.space1.id}/allocation-rounds", body).json
    assert api["manager"].post(f"/allocation-rounds/{made['id']}/publish").status_code == 200
    mine = api["founder"].get(f"/mentor-requests?team_id={world.team1.id}").json["items"]
    assert [(r["status"], r["hours"], r["from_round"]) for r in mine] == [("accepted", 2, made["id"])]
    assert len(api["mentor"].get("/mentor-requests").json["items"]) == 2


def test_unanswered_requests_are_escalated_to_the_managers_on_the_jobs_clock(
    app: Flask, world: World, db: Session, api: dict[str, Api]
) -> None:
    from web import jobs
    from web.jobs.definitions import ESCALATE_MENTOR_REQUESTS
    from web.jobs.inprocess import InProcessJobs
    from web.jobs.settings import settings_of
    from web.mentoring import escalation

    request = api["founder"].post("/mentor-requests", ask(world)).json
    created = datetime.fromisoformat(request["created_at"])
    clock = FakeClock(created + timedelta(hours=1))
    layer = InProcessJobs(app, settings_of(app), clock=clock)
    app.extensions[jobs.EXTENSION] = layer
    app.config["MENTOR_ESCALATION_SECONDS"] = 3600

    def finished() -> list[JobRun]:
        fresh(db)
        return list(
            db.scalars(
                select(JobRun)
                .where(JobRun.name == ESCALATE_MENTOR_REQUESTS, JobRun.status == JobRunStatus.SUCCEEDED)
                .order_by(JobRun.id)
            )
        )

    escalation.start(app)
    try:
        until(lambda: clock.waits, "the scheduler to wait for its first tick")
        clock.advance(3600)  # two hours after the request: too early
        until(lambda: finished(), "the first escalation pass")
        assert finished()[0].result == {"escalated": 0}
        until(lambda: len(clock.waits) == 2, "the scheduler to wait for its next tick")
        clock.advance(3 * 24 * 3600)  # three days on, nobody answered
        # (runs completed more than a day before on the jobs' clock are cleared, so look for this one)
        until(lambda: [r for r in finished() if r.result == {"escalated": 1}], "the second escalation pass")
    finally:
        layer.stop()
    fresh(db)
    assert db.get(MentorRequest, request["id"]).escalated_at is not None  # type: ignore[union-attr]
    told = db.scalars(
        select(Notification.user_id).where(Notification.kind == "mentor_request_escalated")
    ).all()
    assert told == [world.id("manager")]
    assert api["manager"].get(f"/mentor-requests/{request['id']}").json["escalated_at"] is not None


ROUNDS = 6


def test_two_accepts_at_once_never_take_a_mentor_beyond_the_month(
    live_server: LiveServer, world: World, db: Session
) -> None:
    mentor = api_token(live_server.url, "mentor@test.example")
    for round_ in range(ROUNDS):
        # Two teams ask for five of the mentor's eight hours each; the mentor accepts both at once.
        db.execute(delete(MentorMonth))
        db.execute(
            update(MentorRequest)
            .where(MentorRequest.status == MentorRequestStatus.PENDING)
            .values(status=MentorRequestStatus.WITHDRAWN)
        )
        made = [
            MentorRequest(
                space_id=world.space1.id,
                team_id=team.id,
                mentor_id=world.mentor1.id,
                requested_by_id=world.id("founder"),
                topic=f"round {round_}",
                hours=5,
                status=MentorRequestStatus.PENDING,
            )
            for team in (world.team1, world.team2)
        ]
        db.add_all(made)
        db.commit()
        first, second = at_once(
            live_server.url, [Call("POST", f"/mentor-requests/{r.id}/accept", mentor) for r in made]
        )
        statuses = sorted([first.status_code, second.status_code])
        assert statuses == [200, 409], (first.text, second.text)
        loser = first if first.status_code == 409 else second
        assert loser.json()["error"]["code"] == "beyond_capacity"
        fresh(db)
        assert db.scalar(select(func.sum(MentorMonth.committed_hours))) == 5
        states = sorted(
            s.value
            for s in db.scalars(
                select(MentorRequest.status).where(MentorRequest.id.in_([r.id for r in made]))
            )
        )
        assert states == ["accepted", "pending"]


def test_the_team_hears_live_when_its_request_is_answered(live_server: LiveServer, world: World) -> None:
    import requests

    listener = Listener()
    listener.record("notification")
    listener.record("mentor_request_changed")
    connect_as(listener, live_server.url, "member@test.example")
    try:
        founder = {"Authorization": f"Bearer {api_token(live_server.url, 'founder@test.example')}"}
        mentor = {"Authorization": f"Bearer {api_token(live_server.url, 'mentor@test.example')}"}
        made = requests.post(
            f"{live_server.url}/api/v1/mentor-requests", json=ask(world), headers=founder, timeout=30
        ).json()
        answered = requests.post(
            f"{live_server.url}/api/v1/mentor-requests/{made['id']}/accept", headers=mentor, timeout=30
        )
        assert answered.status_code == 200, answered.text
        notes = listener.wait_for("notification")
        assert notes[-1]["kind"] == "mentor_request_answered"
        changes = listener.wait_for("mentor_request_changed", 2)
        assert [c["action"] for c in changes] == ["created", "accepted"]
    finally:
        listener.client.disconnect()


def test_an_accept_and_a_withdrawal_at_once_leave_exactly_one(
    live_server: LiveServer, world: World, db: Session
) -> None:
    mentor = api_token(live_server.url, "mentor@test.example")
    founder = api_token(live_server.url, "founder@test.example")
    for round_ in range(ROUNDS):
        db.execute(delete(MentorMonth))
        made = MentorRequest(
            space_id=world.space1.id,
            team_id=world.team1.id,
            mentor_id=world.mentor1.id,
            requested_by_id=world.id("founder"),
            topic=f"race {round_}",
            hours=2,
            status=MentorRequestStatus.PENDING,
        )
        db.add(made)
        db.commit()
        accept, withdraw = at_once(
            live_server.url,
            [
                Call("POST", f"/mentor-requests/{made.id}/accept", mentor),
                Call("POST", f"/mentor-requests/{made.id}/withdraw", founder),
            ],
        )
        assert sorted([accept.status_code, withdraw.status_code]) == [200, 409], (accept.text, withdraw.text)
        winner = accept if accept.status_code == 200 else withdraw
        fresh(db)
        assert db.get_one(MentorRequest, made.id).status.value == winner.json()["status"]
        committed = db.scalar(select(func.coalesce(func.sum(MentorMonth.committed_hours), 0)))
        assert committed == (2 if winner is accept else 0)  # hours only for the accept that won
