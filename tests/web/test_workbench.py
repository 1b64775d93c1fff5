"""The host's and the manager's workbench pages, role homes, the menu and the page rough edges."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import rule_checks
from matchmaker.slots import Opening
from models import Allowance, Availability, Blackout, Certification
from seeds import builders
from tests.conftest import PASSWORD, Client, World, fresh
from web.home import providers

WEEKDAY_HOURS = {f"open.{d}.0.start": "09:00" for d in range(5)} | {
    f"open.{d}.0.end": "18:00" for d in range(5)
}
RULES = {
    **WEEKDAY_HOURS,
    "slot_minutes": "30",
    "min_minutes": "30",
    "max_minutes": "240",
    "lead_minutes": "60",
    "horizon_days": "30",
    "units": "1",
    "buffer_minutes": "15",
    "checkin_grace_minutes": "10",
    "free_cancel_hours": "24",
    "late_cancel_fee_percent": "50",
    "approval_hold_hours": "48",
    "certification_lapse_days": "",
    "requires_approval": "on",
}


def test_overlapping_or_reversed_opening_hours_are_named() -> None:
    overlap = rule_checks.opening_problem([Opening(0, 540, 720), Opening(0, 700, 1080)])
    reversed_ = rule_checks.opening_problem([Opening(2, 600, 540)])
    assert overlap is not None and overlap.code == "overlap"
    assert reversed_ is not None and reversed_.code == "reversed_range"
    assert rule_checks.opening_problem([Opening(0, 540, 720), Opening(0, 780, 1080)]) is None


def test_a_slot_must_divide_every_opening_and_the_lead_must_end_before_the_horizon() -> None:
    assert rule_checks.slot_problem([Opening(0, 540, 1050)], 60) is not None  # 8.5 hours
    assert rule_checks.slot_problem([Opening(0, 540, 1050)], 30) is None
    assert rule_checks.lead_problem(2 * 24 * 60, 2) is not None
    assert rule_checks.lead_problem(60, 2) is None


def test_a_weekly_closure_needs_an_end_and_at_most_five_years() -> None:
    first = date(2027, 1, 4)
    assert len(rule_checks.weekly_dates(first, first + timedelta(days=27))) == 4
    for until, code in (
        (None, "required"),
        (first - timedelta(days=1), "reversed_range"),
        (date(2033, 1, 4), "too_long"),
    ):
        with pytest.raises(rule_checks.RecurrenceProblem) as caught:
            rule_checks.weekly_dates(first, until)
        assert caught.value.problem.code == code


def test_a_host_saves_opening_hours_and_rules_on_the_workbench(
    client: Client, world: World, db: Session
) -> None:
    client.login("host@test.example")
    url = f"/resources/{world.equipment1.id}/workbench"
    form = {**RULES, "open.5.0.start": "10:00", "open.5.0.end": "14:00"}
    saved = client.form(f"{url}/rules", form, token_from=url)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-6000:]
    fresh(db)
    rules = db.get(Availability, world.equipment1.id)
    assert rules is not None and rules.requires_approval and rules.buffer_minutes == 15
    assert {"weekday": 5, "start": "10:00", "end": "14:00"} in rules.weekly_hours


@pytest.mark.parametrize(
    ("change", "field", "english"),
    [
        ({"open.0.1.start": "12:00", "open.0.1.end": "13:00"}, "weekly_hours", "overlap"),
        ({"open.1.0.start": "18:00", "open.1.0.end": "09:00"}, "weekly_hours", "end after it starts"),
        (
            {"open.2.0.end": "17:45", "slot_minutes": "60", "min_minutes": "60"},
            "slot_minutes",
            "does not divide",
        ),
        ({"min_minutes": "300", "max_minutes": "240"}, "min_minutes", "cannot be longer"),
        ({"lead_minutes": "43200", "horizon_days": "30"}, "lead_minutes", "past the booking horizon"),
    ],
)
def test_bad_rules_are_told_beside_their_field_and_nothing_is_saved(
    client: Client, world: World, db: Session, change: dict[str, str], field: str, english: str
) -> None:
    client.login("host@test.example")
    url = f"/resources/{world.equipment1.id}/workbench"
    before = db.get(Availability, world.equipment1.id)
    answer = client.form(f"{url}/rules?lang=en", {**RULES, **change}, token_from=url)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert f'data-field="{field}"' in page
    assert english in page
    assert 'value="' + next(iter(change.values())) + '"' in page  # the form is kept as typed
    fresh(db)
    assert db.get(Availability, world.equipment1.id) == before  # nothing saved
    chinese = client.form(f"{url}/rules?lang=zh", {**RULES, **change}, token_from=url).get_data(as_text=True)
    assert f'data-field="{field}"' in chinese


def test_a_weekly_maintenance_closes_every_week_until_its_last_date(
    client: Client, world: World, db: Session
) -> None:
    client.login("host@test.example")
    url = f"/resources/{world.equipment1.id}/workbench"
    first = date.today() + timedelta(days=3)
    form = {"day": first.isoformat(), "start": "08:00", "end": "09:00", "reason": "PM", "repeat": "weekly"}
    endless = client.form(f"{url}/blackouts?lang=en", form, token_from=url)
    assert endless.status_code == 422 and 'data-field="until"' in endless.get_data(as_text=True)
    too_long = client.form(
        f"{url}/blackouts?lang=en",
        {**form, "until": (first + timedelta(days=6 * 365)).isoformat()},
        token_from=url,
    )
    assert too_long.status_code == 422 and "five years" in too_long.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Blackout).where(Blackout.reason == "PM")) is None
    made = client.form(
        f"{url}/blackouts", {**form, "until": (first + timedelta(days=21)).isoformat()}, token_from=url
    )
    assert made.status_code == 302
    fresh(db)
    assert len(db.scalars(select(Blackout).where(Blackout.reason == "PM")).all()) == 4


def test_a_host_certifies_and_revokes_a_user(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    url = f"/resources/{world.equipment1.id}/workbench"
    past = (date.today() - timedelta(days=2)).isoformat()
    refused = client.form(
        f"{url}/certificates?lang=en", {"email": "founder@test.example", "expires_on": past}, token_from=url
    )
    assert refused.status_code == 422
    assert 'data-field="expires_on"' in refused.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Certification)) is None
    until = (date.today() + timedelta(days=90)).isoformat()
    assert (
        client.form(
            f"{url}/certificates", {"email": "founder@test.example", "expires_on": until}, token_from=url
        ).status_code
        == 302
    )
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "Founder" in page and until in page
    revoked = client.form(f"{url}/certificates/{world.id('founder')}/revoke", {}, token_from=url)
    assert revoked.status_code == 302
    fresh(db)
    assert db.scalar(select(Certification)).revoked_at is not None


def test_founders_cannot_open_a_resource_workbench(client: Client, world: World) -> None:
    client.login("founder@test.example")
    assert client.get(f"/resources/{world.equipment1.id}/workbench").status_code == 403


def test_a_manager_sets_an_allowance_and_a_bad_one_is_refused_beside_its_field(
    client: Client, world: World, db: Session
) -> None:
    client.login("manager@test.example")
    url = f"/spaces/{world.space1.id}/workbench"
    good = {
        "resource_kind": "equipment",
        "stage": "nursery",
        "free_hours_per_month": "10",
        "discount_percent": "20",
    }
    for bad, field in (
        ({"free_hours_per_month": "-1"}, "free_hours_per_month"),
        ({"discount_percent": "150"}, "discount_percent"),
    ):
        answer = client.form(f"{url}/allowances?lang=en", {**good, **bad}, token_from=url)
        assert answer.status_code == 422
        assert f'data-field="{field}"' in answer.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Allowance)) is None
    assert client.form(f"{url}/allowances", good, token_from=url).status_code == 302
    fresh(db)
    saved = db.scalar(select(Allowance))
    assert saved is not None and saved.free_hours_per_month == 10 and saved.discount_percent == 20


def test_a_manager_sees_a_teams_ledger_and_moves_its_stage(client: Client, world: World, db: Session) -> None:
    client.login("manager@test.example")
    url = f"/spaces/{world.space1.id}/workbench/teams/{world.team1.id}"
    assert "Ledger" in client.get(url + "?lang=en").get_data(as_text=True)
    moved = client.form(url, {"to": "accelerator", "reason": "Series A"}, token_from=url)
    assert moved.status_code == 302
    fresh(db)
    assert db.get(type(world.team1), world.team1.id).stage.value == "accelerator"


def test_only_managers_open_the_space_workbench(client: Client, world: World) -> None:
    client.login("host@test.example")
    assert client.get(f"/spaces/{world.space1.id}/workbench").status_code == 403


@pytest.mark.parametrize(
    ("who", "sees", "never"),
    [
        ("founder", ["My team", "My bookings"], ["Workbench", "My equipment"]),
        ("mentor", ["Teams that fit you"], ["Apply with your team", "My team"]),
        ("host", ["My equipment"], ["Workbench", "My team"]),
        ("manager", ["Workbench", "Review"], ["My team"]),
    ],
)
def test_each_role_lands_on_its_home_with_a_menu_of_what_it_can_use(
    client: Client, world: World, who: str, sees: list[str], never: list[str]
) -> None:
    landed = client.form(
        "/login?lang=en", {"email": f"{who}@test.example", "password": "correct horse battery"}
    )
    assert landed.status_code in (302, 422)
    client.login(f"{who}@test.example")
    home = client.get("/home?lang=en")
    page = home.get_data(as_text=True) + client.get("/?lang=en").get_data(as_text=True)
    assert home.status_code == 200
    for text in sees:
        assert text in page, text
    for text in never:
        assert text not in page, text


def test_logging_in_lands_on_the_home(client: Client, world: World) -> None:
    assert client.login("founder@test.example").headers["Location"] == "/home"


def test_a_wrong_password_is_told_once(client: Client, world: World) -> None:
    wrong = client.form("/login?lang=en", {"email": "founder@test.example", "password": "nope nope nope"})
    assert wrong.get_data(as_text=True).count("E-mail or password is not correct") == 1


def test_anonymous_bookings_go_to_the_login_and_back(client: Client, world: World) -> None:
    answer = client.get("/bookings?lang=en")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/bookings?lang=en"]
    back = client.form(
        "/login", {"email": "founder@test.example", "password": PASSWORD, "next": "/bookings?lang=en"}
    )
    assert back.headers["Location"] == "/bookings?lang=en"


def test_switching_language_keeps_the_query(client: Client, world: World) -> None:
    page = client.get("/catalogue?q=SEM&kind=equipment&lang=zh").get_data(as_text=True)
    assert 'href="?q=SEM&amp;kind=equipment&amp;lang=en"' in page


def _quiet_names(page: str) -> list[str]:
    return [name.strip() for name in re.findall(r'<tr data-resource-id="\d+"><td>([^<]+)', page)]


def test_my_equipment_lists_quiet_resources_in_a_filtered_paged_table(
    client: Client, world: World, db: Session
) -> None:
    for n in range(25):
        builders.get_or_create_resource(
            db,
            world.space1,
            world.host1,
            f"scope-{n}",
            name_zh=f"示波器{n}",
            name_en=f"Oscilloscope {n}",
            kind="equipment",
        )
    db.commit()
    client.login("host@test.example")
    page = client.get("/equipment/mine?lang=en").get_data(as_text=True)
    assert 'class="hosted-resource"' not in page  # nothing booked: no section per resource
    assert len(_quiet_names(page)) == 20  # a page of the 26 quiet resources (the SEM is one)
    filtered = _quiet_names(client.get("/equipment/mine?lang=en&q=oscilloscope 2").get_data(as_text=True))
    assert sorted(filtered) == sorted(["Oscilloscope 2", *(f"Oscilloscope {n}" for n in range(20, 25))])
    assert len(_quiet_names(client.get("/equipment/mine?lang=en&page=2").get_data(as_text=True))) == 6


def test_the_manage_group_is_named_in_chinese(client: Client, world: World) -> None:
    client.login("manager@test.example")
    assert "管理 · 集成电路" in client.get("/home?lang=zh").get_data(as_text=True)


def test_a_feature_adds_its_home_items_by_registering_a_provider(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def mentor_requests(session: Any, principal: Any, now: Any) -> list[providers.HomeItem]:
        if principal.user_id != world.id("mentor"):
            return []
        return [providers.HomeItem("mentor_requests", "Wafer-level test advice", "Team One", "/home")]

    monkeypatch.setattr(providers, "PROVIDERS", [*providers.PROVIDERS, mentor_requests])
    monkeypatch.setitem(providers.SECTIONS, "mentor_requests", "Requests for you")
    client.login("mentor@test.example")
    page = client.get("/home?lang=en").get_data(as_text=True)
    assert 'data-section="mentor_requests"' in page
    assert "Requests for you" in page and "Wafer-level test advice" in page
    client.post("/logout", data={"csrf_token": client.csrf_token("/home")})
    client.login("founder@test.example")
    assert "Wafer-level test advice" not in client.get("/home?lang=en").get_data(as_text=True)


def test_a_search_of_2000_characters_is_told_beside_the_box_and_kept(client: Client, world: World) -> None:
    typed = "扫描" * 1000
    answer = client.get(f"/catalogue?lang=en&q={typed}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'data-field="q"' in page
    assert f'value="{typed}"' in page
