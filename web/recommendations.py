"""Recommendations where people work: a team's page lists what fits it (and starts a booking from
there); a mentor's or investor's page lists the teams that fit them. The API serves the same lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app

from matchmaker.errors import MatchmakerError
from matchmaker.operations import calendars, matching
from matchmaker.ranking import SCORER_ZH, Reason
from models import Resource, Team
from web.db import get_session
from web.i18n import current_locale
from web.security import current_principal

# What a team's page shows, in this order: things to book, people to learn from, money.
TEAM_SECTIONS = (
    ("bookable", ("equipment", "pilot_line", "workspace")),
    ("mentor", ("mentor",)),
    ("fund", ("fund",)),
)
PER_SECTION = 5
FIRST_SLOT_MINUTES = 120


def model_folder() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "models"


def reasons_out(reasons: tuple[Reason, ...]) -> list[dict[str, str]]:
    zh = current_locale() == "zh"
    return [{"feature": r.feature, "text": r.zh if zh else r.en} for r in reasons]


def mode_label(name: str) -> str:
    """The name of the scorer that ranked a list, in the viewer's language."""
    return SCORER_ZH.get(name, name) if current_locale() == "zh" else name


def for_team(team: Team) -> dict[str, Any]:
    """The team page's sections; each bookable suggestion carries its earliest free two hours this
    week, so accepting it is one click to a booking."""
    session = get_session()
    principal = current_principal()
    sections: dict[str, list[dict[str, Any]]] = {}
    mode = ""
    for name, kinds in TEAM_SECTIONS:
        mode, found = matching.recommend_for_team(
            session, principal, team.id, kinds=kinds, k=PER_SECTION, model_folder=model_folder()
        )
        sections[name] = [
            {"resource": s.resource, "reasons": reasons_out(s.reasons), "slot": _first_slot(team, s.resource)}
            if name == "bookable"
            else {"resource": s.resource, "reasons": reasons_out(s.reasons)}
            for s in found
        ]
    return {"mode": mode_label(mode), "sections": sections}


def _first_slot(team: Team, resource: Resource) -> dict[str, Any] | None:
    now = datetime.now(UTC)
    try:
        found = calendars.find_slots(
            get_session(),
            current_principal(),
            team_id=team.id,
            minutes=FIRST_SLOT_MINUTES,
            start=now,
            end=now + timedelta(days=7),
            resource_id=resource.id,
            limit=1,
            now=now,
            substitutes=False,
        )
    except MatchmakerError:  # e.g. the viewer is a manager who cannot book for the team
        return None
    return next((s for s in found if s["resource"]["id"] == resource.id), None)


def for_resource(resource: Resource) -> dict[str, Any]:
    mode, found = matching.teams_for_resource(
        get_session(), current_principal(), resource.id, k=PER_SECTION, model_folder=model_folder()
    )
    return {
        "mode": mode_label(mode),
        "teams": [{"team": s.team, "reasons": reasons_out(s.reasons)} for s in found],
    }
