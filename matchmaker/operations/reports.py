"""The reports a space files: the national basic information form, filled from the platform's records
where they answer a field and from the space's profile otherwise, with what is still missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import filing
from matchmaker.operations import audit, spaces, utilization
from matchmaker.permissions import Principal
from models import EventKind, SpaceEvent
from models.base import utcnow


def filing_values(session: Session, space_id: int) -> dict[str, Any]:
    space = spaces.get_space(session, space_id)
    counts = spaces.filing_figures(session, space_id)
    funds = utilization.fund_size(session, space)
    events_recorded = session.scalar(
        select(func.count()).where(
            SpaceEvent.space_id == space.id,
            SpaceEvent.kind == EventKind.EVENT,
            SpaceEvent.starts_at < utcnow(),
        )
    )
    return {
        "name": space.name_zh,
        "founded_on": space.founded_on.isoformat() if space.founded_on else None,
        "operating_entity": space.operating_entity,
        "operating_entity_nature": space.operating_entity_nature.value,
        "legal_representative": space.legal_representative,
        "legal_representative_phone": space.legal_representative_phone,
        "person_in_charge": space.person_in_charge,
        "person_in_charge_mobile": space.person_in_charge_mobile,
        "contact_name": space.contact_name,
        "contact_mobile": space.contact_mobile,
        "address": space.address,
        "email": space.email,
        "built_by_enterprise": space.built_by_enterprise,
        "built_by_university": space.built_by_university,
        "built_by_institute": space.built_by_institute,
        "main_direction": space.main_direction,
        "management_team_size": space.management_team_size,
        "management_team_with_degree": space.management_team_with_degree,
        "mentors": counts["mentors"],
        "floor_area_m2": space.floor_area_m2,
        "public_service_area_m2": space.public_service_area_m2,
        # The funds the platform lists, when it lists any; the profile's figure otherwise.
        "angel_fund_10k_cny": funds["size_10k_cny"] if funds["funds"] else space.angel_fund_10k_cny,
        "resident_projects": counts["resident_projects"],
        "resident_enterprises": counts["resident_enterprises"],
        # The events recorded on the platform, once there are any; the profile's count before that.
        "events_held": events_recorded or space.events_held,
        "online_platform": {"name": space.online_platform_name or None},
        "public_tech_platform": space.public_tech_platform_name,
        "management_systems": {
            "entry_standards": space.has_entry_standards,
            "exit_conditions": space.has_exit_conditions,
            "project_database": space.has_project_database,
            "other": space.other_systems,
        },
    }


def filing_report(session: Session, principal: Principal, space_id: int) -> dict[str, Any]:
    """The form as JSON: every field with its label, source and value, the missing ones named."""
    space = utilization.managed_space(session, principal, space_id)
    values = filing_values(session, space.id)
    return {
        "space_id": space.id,
        "slug": space.slug,
        "fields": [
            {
                "key": f.key,
                "label_zh": f.label_zh,
                "label_en": f.label_en,
                "source": f.source,
                "value": values[f.key],
            }
            for f in filing.FIELDS
        ],
        "missing": filing.missing_fields(values),
        "name_check": filing.check_name(space.name_zh),
    }


def filing_workbook(session: Session, principal: Principal, space_id: int) -> bytes:
    report = filing_report(session, principal, space_id)
    values = {f["key"]: f["value"] for f in report["fields"]}
    return filing.workbook(values, report["missing"], report["name_check"])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_filing_workbook(
    session: Session, principal: Principal, space_id: int, *, via: str
) -> tuple[bytes, str]:
    """The filing workbook and its file name, recorded in the audit log as an export in the caller's
    transaction (``via``: the page or the API)."""
    raw = filing_workbook(session, principal, space_id)
    space = utilization.managed_space(session, principal, space_id)
    audit.record(
        session, principal, space_id=space.id, action="filing_exported", subject=f"space:{space.id}", via=via
    )
    return raw, f"{space.slug}-filing.xlsx"
