"""Quarterly outcomes, events and trainings, the audit log and the evaluation report: who may do what,
what the managers see, and that every sensitive change leaves an entry with before and after."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pypdf
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import performance
from models import AuditEntry, OutcomeStatus, StageChange, TeamOutcome
from tests.conftest import Client, LiveServer, World, fresh
from tests.web.live import WAIT, api_token
from tests.web.test_booking_change_race import Call, at_once

FIGURES = {
    "revenue_band": "1m_10m",
    "employees": 12,
    "funding_raised_10k_cny": 300,
    "patents_applied": 3,
    "patents_granted": 1,
    "technical_results": 2,
    "results_transferred": 1,
}
PERIOD = "start=2026-01-01&end=2026-12-31"


def _csrf(client: Client) -> dict[str, str]:
    return {"X-CSRFToken": client.csrf_token("/")}


def submit(client: Client, team_id: int, quarter: int = 2, **changes: object) -> object:
    body = {"year": 2026, "quarter": quarter, **FIGURES, **changes}
    return client.post(f"/api/v1/teams/{team_id}/outcomes", json=body, headers=_csrf(client))


def test_a_team_reports_a_quarter_and_a_manager_verifies_it_once(
    client: Client, world: World, db: Session
) -> None:
    client.login("founder@test.example")
    made = submit(client, world.team1.id)
    assert made.status_code == 200, made.get_data(as_text=True)  # type: ignore[attr-defined]
    outcome = made.get_json()  # type: ignore[attr-defined]
    assert (outcome["quarter"], outcome["status"]) == ("2026Q2", "submitted")
    corrected = submit(client, world.team1.id, employees=14).get_json()  # type: ignore[attr-defined]
    assert corrected["id"] == outcome["id"] and corrected["employees"] == 14
    future = submit(client, world.team1.id, quarter=4, year=2199)
    assert future.status_code == 422  # type: ignore[attr-defined]
    assert (
        client.post(
            f"/api/v1/outcomes/{outcome['id']}/review", json={"decision": "verified"}, headers=_csrf(client)
        ).status_code
        == 403
    )
    client.login("other_founder@test.example")
    assert submit(client, world.team1.id).status_code == 403  # type: ignore[attr-defined]

    client.login("manager@test.example")
    waiting = client.get(f"/api/v1/spaces/{world.space1.id}/outcomes?status=submitted").get_json()
    assert [o["id"] for o in waiting["items"]] == [outcome["id"]]
    done = client.post(
        f"/api/v1/outcomes/{outcome['id']}/review",
        json={"decision": "verified", "note": "ok"},
        headers=_csrf(client),
    )
    assert done.get_json()["status"] == "verified"
    again = client.post(
        f"/api/v1/outcomes/{outcome['id']}/review", json={"decision": "returned"}, headers=_csrf(client)
    )
    assert again.status_code == 409
    client.login("founder@test.example")
    assert submit(client, world.team1.id).status_code == 409  # type: ignore[attr-defined]  (verified is final)

    fresh(db)
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.space_id == world.space1.id).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["outcome_submitted", "outcome_submitted", "outcome_verified"]
    assert entries[1].detail["before"]["employees"] == 12
    assert entries[1].detail["after"]["employees"] == 14
    assert entries[2].detail["before"] == {"status": "submitted"}
    assert entries[2].actor_id == world.id("manager")


def test_a_verify_and_a_return_at_once_leave_exactly_one_decision(
    live_server: LiveServer, world: World, db: Session
) -> None:
    founder = api_token(live_server.url, "founder@test.example")
    manager = api_token(live_server.url, "manager@test.example")
    for year, quarter in ((2025, 1), (2025, 2), (2025, 3), (2025, 4), (2024, 1), (2024, 2)):
        made = requests.post(
            f"{live_server.url}/api/v1/teams/{world.team1.id}/outcomes",
            json={"year": year, "quarter": quarter, **FIGURES},
            headers={"Authorization": f"Bearer {founder}"},
            timeout=WAIT,
        )
        assert made.status_code == 200, made.text
        oid = made.json()["id"]
        verify, back = at_once(
            live_server.url,
            [
                Call("POST", f"/outcomes/{oid}/review", manager, {"decision": "verified"}),
                Call("POST", f"/outcomes/{oid}/review", manager, {"decision": "returned"}),
            ],
        )
        assert sorted([verify.status_code, back.status_code]) == [200, 409], (verify.text, back.text)
        winner = verify if verify.status_code == 200 else back
        fresh(db)
        stored = db.get(TeamOutcome, oid)
        assert stored is not None and stored.status.value == winner.json()["status"]
        decisions = db.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["outcome_verified", "outcome_returned"]))
        ).all()
        assert len([d for d in decisions if d.detail.get("quarter") == f"{year}Q{quarter}"]) == 1


def test_events_take_registrations_up_to_capacity_and_record_attendance(client: Client, world: World) -> None:
    client.login("manager@test.example")
    start = datetime(2026, 5, 20, 6, tzinfo=UTC)
    body = {
        "kind": "training",
        "title_zh": "失效分析培训",
        "title_en": "Failure analysis training",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "capacity": 2,
    }
    made = client.post(f"/api/v1/spaces/{world.space1.id}/events", json=body, headers=_csrf(client))
    assert made.status_code == 201
    event_id = made.get_json()["id"]
    backwards = {**body, "ends_at": (start - timedelta(hours=1)).isoformat()}
    assert (
        client.post(
            f"/api/v1/spaces/{world.space1.id}/events", json=backwards, headers=_csrf(client)
        ).status_code
        == 422
    )
    for who in ("founder", "member"):
        client.login(f"{who}@test.example")
        answer = client.post(
            f"/api/v1/events/{event_id}/registrations",
            json={"team_id": world.team1.id},
            headers=_csrf(client),
        )
        assert answer.status_code == 201
    assert (
        client.post(f"/api/v1/events/{event_id}/registrations", json={}, headers=_csrf(client)).status_code
        == 409
    )
    client.login("other_founder@test.example")
    full = client.post(f"/api/v1/events/{event_id}/registrations", json={}, headers=_csrf(client))
    assert full.status_code == 409
    client.login("manager2@test.example")
    assert (
        client.post(f"/api/v1/events/{event_id}/registrations", json={}, headers=_csrf(client)).status_code
        == 403
    )
    client.login("manager@test.example")
    stranger = client.put(
        f"/api/v1/events/{event_id}/attendance",
        json={"user_ids": [world.id("outsider")]},
        headers=_csrf(client),
    )
    assert stranger.status_code == 422
    marked = client.put(
        f"/api/v1/events/{event_id}/attendance",
        json={"user_ids": [world.id("founder")]},
        headers=_csrf(client),
    ).get_json()
    assert (marked["registered"], marked["attended"]) == (2, 1)
    filing = client.get(f"/api/v1/spaces/{world.space1.id}/filing").get_json()
    assert {f["key"]: f["value"] for f in filing["fields"]}["events_held"] == 0  # a training is not an event
    demo_day = {**body, "kind": "event", "title_zh": "路演", "title_en": "Demo day", "capacity": None}
    assert (
        client.post(
            f"/api/v1/spaces/{world.space1.id}/events", json=demo_day, headers=_csrf(client)
        ).status_code
        == 201
    )
    filing = client.get(f"/api/v1/spaces/{world.space1.id}/filing").get_json()
    assert {f["key"]: f["value"] for f in filing["fields"]}["events_held"] == 1
    listed = client.get(f"/api/v1/spaces/{world.space1.id}/events").get_json()["items"]
    assert sorted((e["id"], e["attended"]) for e in listed)[0] == (event_id, 1)
    log = client.get(f"/api/v1/spaces/{world.space1.id}/audit?action=attendance_recorded").get_json()
    assert [(e["before"], e["after"]) for e in log["items"]] == [
        ({"attended": []}, {"attended": [world.id("founder")]})
    ]


def test_managers_browse_filter_and_export_the_audit_log(client: Client, world: World) -> None:
    client.login("founder@test.example")
    submit(client, world.team1.id)
    assert client.get(f"/api/v1/spaces/{world.space1.id}/audit").status_code == 403
    assert client.get(f"/spaces/{world.space1.id}/audit").status_code == 403
    client.login("manager@test.example")
    client.get(f"/spaces/{world.space1.id}/filing.xlsx")
    page = client.get(f"/api/v1/spaces/{world.space1.id}/audit").get_json()
    assert [e["action"] for e in page["items"]] == ["filing_exported", "outcome_submitted"]
    assert page["items"][1]["actor_name"] == "Founder"
    only = client.get(f"/api/v1/spaces/{world.space1.id}/audit?action=outcome_submitted").get_json()
    assert [e["action"] for e in only["items"]] == ["outcome_submitted"]
    none = client.get(f"/api/v1/spaces/{world.space1.id}/audit?start=2001-01-01&end=2001-01-02").get_json()
    assert none["items"] == [] and none["next_before_id"] is None
    assert client.get(f"/api/v1/spaces/{world.space1.id}/audit?action=DROP TABLE").status_code == 422
    html = client.get(f"/spaces/{world.space1.id}/audit?action=&start=").get_data(as_text=True)
    assert "outcome_submitted" in html
    exported = client.get(f"/spaces/{world.space1.id}/audit.csv?action=outcome_submitted")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["id", "at", "actor_id", "actor_name", "action"]
    assert [r[4] for r in rows[1:]] == ["outcome_submitted"]
    latest = client.get(f"/api/v1/spaces/{world.space1.id}/audit").get_json()["items"][0]
    assert latest["action"] == "audit_exported" and latest["detail"] == {"rows": 1}


def test_the_evaluation_report_states_each_figure_with_evidence_and_success_cases(
    client: Client, world: World, db: Session
) -> None:
    client.login("founder@test.example")
    submit(client, world.team1.id, quarter=1)
    client.login("other_founder@test.example")
    small = {**FIGURES, "funding_raised_10k_cny": 20, "patents_granted": 0, "results_transferred": 0}
    client.post(
        f"/api/v1/teams/{world.team2.id}/outcomes",
        json={"year": 2026, "quarter": 1, **small},
        headers=_csrf(client),
    )
    client.login("manager@test.example")
    for item in client.get(f"/api/v1/spaces/{world.space1.id}/outcomes").get_json()["items"]:
        client.post(
            f"/api/v1/outcomes/{item['id']}/review", json={"decision": "verified"}, headers=_csrf(client)
        )
    db.add(
        StageChange(
            team_id=world.team2.id,
            from_stage="accelerator",
            to_stage="graduated",
            changed_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
    )
    db.commit()
    found = client.get(f"/api/v1/spaces/{world.space1.id}/evaluation?{PERIOD}").get_json()
    items = {i["key"]: i for i in found["items"]}
    assert items["investment_raised_10k_cny"]["value"] == "320.00"
    assert items["patents_granted"]["value"] == 1
    assert [e["team_id"] for e in items["patents_granted"]["evidence"]] == [world.team1.id]
    assert items["graduates"]["value"] == 1
    assert items["resident_teams"]["value"] == 2
    assert items["resident_makers"]["value"] == 3  # founder, member, other founder
    assert found["unverified_outcomes"] == 0
    # team1: 300 + 50 + 80 + 40 + 30 + 60 = 560; team2: 20 + 40 + 30 + 60 + 200 (graduated) = 350.
    assert [(c["team_id"], c["strength"]) for c in found["success_cases"]] == [
        (world.team1.id, 560.0),
        (world.team2.id, 350.0),
    ]
    page = client.get(f"/spaces/{world.space1.id}/evaluation?{PERIOD}&lang=zh").get_data(as_text=True)
    assert "自评报告" in page and 'data-item="patents_granted"' in page
    pdf = client.get(f"/spaces/{world.space1.id}/evaluation.pdf?{PERIOD}&lang=zh")
    assert pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "集成电路专业化众创空间" in text
    assert "视觉芯片" in text  # the success case, in Chinese
    client.login("manager2@test.example")
    assert client.get(f"/spaces/{world.space1.id}/evaluation.pdf").status_code == 403


def test_success_cases_rank_by_strength_and_skip_teams_with_nothing_recorded() -> None:
    records = [
        performance.TeamRecord(team_id=3, funding_raised_10k_cny=100),
        performance.TeamRecord(team_id=1, patents_granted=2),
        performance.TeamRecord(team_id=2, funding_raised_10k_cny=100),
        performance.TeamRecord(team_id=4),
        performance.TeamRecord(team_id=5, graduated=True),
        performance.TeamRecord(team_id=6, results_transferred=1),
        performance.TeamRecord(team_id=7, peak_employees=1),
        performance.TeamRecord(team_id=8, technical_results=1),
    ]
    found = [(r.team_id, s) for r, s in performance.success_cases(records)]
    assert found == [(5, 200.0), (1, 100.0), (2, 100.0), (3, 100.0), (6, 80.0)]
    assert OutcomeStatus.VERIFIED.value == "verified"


def test_every_sensitive_change_leaves_an_audit_entry_with_before_and_after(
    client: Client, world: World
) -> None:
    from tests.web.booking_support import next_week

    client.login("manager@test.example")
    base = f"/api/v1/resources/{world.equipment1.id}"
    assert (
        client.patch(
            f"{base}/availability", json={"requires_approval": True}, headers=_csrf(client)
        ).status_code
        == 200
    )
    start = next_week(1, 10, weeks=3)
    blackout = client.post(
        f"{base}/blackouts",
        json={
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "reason": "calibration",
        },
        headers=_csrf(client),
    )
    assert blackout.status_code == 201, blackout.get_data(as_text=True)
    assert (
        client.delete(f"/api/v1/blackouts/{blackout.get_json()['id']}", headers=_csrf(client)).status_code
        == 200
    )
    assert (
        client.post(
            f"{base}/certifications", json={"user_id": world.id("founder")}, headers=_csrf(client)
        ).status_code
        == 201
    )
    assert (
        client.delete(f"{base}/certifications/{world.id('founder')}", headers=_csrf(client)).status_code
        == 200
    )
    allowance = {"resource_kind": "equipment", "stage": "incubator", "free_hours_per_month": 10}
    assert (
        client.put(
            f"/api/v1/spaces/{world.space1.id}/allowances", json=allowance, headers=_csrf(client)
        ).status_code
        == 200
    )
    client.login("founder@test.example")
    later = next_week(2, 10, weeks=3)
    booked = client.post(
        "/api/v1/bookings",
        json={
            "team_id": world.team1.id,
            "resource_id": world.equipment1.id,
            "starts_at": later.isoformat(),
            "ends_at": (later + timedelta(hours=1)).isoformat(),
        },
        headers=_csrf(client),
    )
    assert booked.status_code == 201, booked.get_data(as_text=True)
    client.login("host@test.example")
    decided = client.post(
        f"/api/v1/bookings/{booked.get_json()['id']}/decision",
        json={"approve": False, "note": "busy"},
        headers=_csrf(client),
    )
    assert decided.status_code == 200
    client.login("manager@test.example")
    items = client.get(f"/api/v1/spaces/{world.space1.id}/audit").get_json()["items"]
    found = {e["action"]: e for e in items}
    assert list(reversed([e["action"] for e in items])) == [
        "booking_rules_changed",
        "blackout_added",
        "blackout_removed",
        "certificate_granted",
        "certificate_revoked",
        "allowance_set",
        "booking_rejected",
    ]
    assert found["booking_rules_changed"]["before"] == {"requires_approval": False}
    assert found["booking_rules_changed"]["after"] == {"requires_approval": True}
    assert found["booking_rejected"]["before"] == {"status": "pending"}
    assert found["booking_rejected"]["after"] == {"status": "rejected", "note": "busy"}
    assert found["booking_rejected"]["actor_name"] == "Host"
    assert (
        found["allowance_set"]["before"] == {}
        and found["allowance_set"]["after"]["free_hours_per_month"] == 10
    )
    assert found["certificate_revoked"]["detail"] == {"user_id": world.id("founder")}
