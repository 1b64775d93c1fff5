"""Space use cases: the list of spaces, a profile, and the figures the national filing form asks for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from matchmaker.errors import Forbidden, InvalidInput, NotFound, check_editable
from matchmaker.permissions import Principal, can_edit_space
from models import AdmissionStatus, AuditEntry, Resource, ResourceKind, Space, Stage, Team
from models.base import utcnow

PROFILE_FIELDS = (
    "name_zh",
    "name_en",
    "niche_zh",
    "niche_en",
    "description_zh",
    "description_en",
    "founded_on",
    "operating_entity",
    "operating_entity_nature",
    "legal_representative",
    "legal_representative_phone",
    "person_in_charge",
    "person_in_charge_mobile",
    "contact_name",
    "contact_mobile",
    "address",
    "email",
    "built_by_enterprise",
    "built_by_university",
    "built_by_institute",
    "main_direction",
    "management_team_size",
    "management_team_with_degree",
    "floor_area_m2",
    "public_service_area_m2",
    "angel_fund_10k_cny",
    "events_held",
    "online_platform_name",
    "public_tech_platform_name",
    "has_entry_standards",
    "has_exit_conditions",
    "has_project_database",
    "other_systems",
    "exit_conditions_zh",
    "exit_conditions_en",
)


def list_spaces(session: Session) -> list[Space]:
    return list(session.scalars(select(Space).order_by(Space.id)))


def get_space(session: Session, space_id: int) -> Space:
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space", "空间", space_id)
    return space


def summary(space: Space) -> dict[str, Any]:
    return {
        "id": space.id,
        "slug": space.slug,
        "name_zh": space.name_zh,
        "name_en": space.name_en,
        "niche_zh": space.niche_zh,
        "niche_en": space.niche_en,
        "timezone": space.timezone,
        "hosts": [{"id": o.id, "name_zh": o.name_zh, "name_en": o.name_en} for o in space.host_organizations],
    }


def detail(space: Space) -> dict[str, Any]:
    out = summary(space)
    for name in PROFILE_FIELDS:
        value = getattr(space, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else getattr(value, "value", value)
    out["entry_criteria"] = space.entry_criteria
    out["organizations"] = [
        {"id": o.id, "kind": o.kind.value, "is_host": o.is_host, "name_zh": o.name_zh, "name_en": o.name_en}
        for o in space.organizations
    ]
    return out


def update_profile(session: Session, principal: Principal, space_id: int, changes: dict[str, Any]) -> Space:
    space = get_space(session, space_id)
    if not can_edit_space(principal, space_id):
        raise Forbidden("edit this space's profile", "编辑该空间的信息")
    check_editable(changes, PROFILE_FIELDS)
    name_zh = changes.get("name_zh", space.name_zh)
    if not name_zh.endswith("专业化众创空间"):
        raise InvalidInput(
            "The Chinese name must read 'XXX专业化众创空间', XXX being the niche.",
            "空间中文名称须为“XXX专业化众创空间”，XXX为专业领域。",
            details={"fields": {"name_zh": "must_end_with_niche_suffix"}},
        )
    for name, value in changes.items():
        setattr(space, name, value)
    space.updated_at = utcnow()
    session.add(
        AuditEntry(
            actor_id=principal.user_id,
            space_id=space.id,
            action="space_updated",
            subject=f"space:{space.id}",
            detail={"fields": sorted(changes)},
        )
    )
    session.flush()
    return space


# A resident team (入驻): admitted and still in the incubation chain, neither graduated nor exited.
RESIDENT_STAGES = (Stage.NURSERY, Stage.INCUBATOR, Stage.ACCELERATOR)


def is_resident() -> ColumnElement[bool]:
    """The one definition of a resident team, as a condition on ``Team``: every count of resident
    teams (the list of spaces, the filing figures) uses it."""
    return and_(Team.admission_status == AdmissionStatus.ADMITTED, Team.stage.in_(RESIDENT_STAGES))


def resident_team_counts(session: Session) -> dict[int, int]:
    """How many resident teams each space has, by space id."""
    rows = session.execute(
        select(Team.space_id, func.count(Team.id)).where(is_resident()).group_by(Team.space_id)
    )
    return {space_id: int(n) for space_id, n in rows}


def filing_figures(session: Session, space_id: int) -> dict[str, int]:
    """The counts of the basic information form that the platform's own data answers."""
    resident = select(func.count(Team.id)).where(Team.space_id == space_id, is_resident())
    mentors = select(func.count(Resource.id)).where(
        Resource.space_id == space_id, Resource.kind == ResourceKind.MENTOR, Resource.retired_at.is_(None)
    )
    return {
        "mentors": session.scalar(mentors) or 0,
        "resident_projects": session.scalar(resident.where(Team.registered_enterprise.is_(False))) or 0,
        "resident_enterprises": session.scalar(resident.where(Team.registered_enterprise.is_(True))) or 0,
        "graduated": session.scalar(
            select(func.count(Team.id)).where(Team.space_id == space_id, Team.stage == Stage.GRADUATED)
        )
        or 0,
        "shared_equipment": session.scalar(
            select(func.count(Resource.id)).where(
                Resource.space_id == space_id,
                Resource.kind.in_([ResourceKind.EQUIPMENT, ResourceKind.PILOT_LINE]),
                Resource.retired_at.is_(None),
            )
        )
        or 0,
    }
