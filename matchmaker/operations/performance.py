"""The self-evaluation report of a space for a period: desks, resident makers and teams, graduates,
events and trainings, investment raised, patents, technical results and transfers, the utilization of
shared equipment, each with the records behind it, and the teams put forward as success cases."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from matchmaker import performance, utilization
from matchmaker.operations import outcomes as outcome_ops
from matchmaker.operations import utilization as util_ops
from matchmaker.permissions import Principal
from models import (
    AdmissionStatus,
    Availability,
    EventKind,
    EventRegistration,
    OutcomeStatus,
    Resource,
    ResourceKind,
    SpaceEvent,
    Stage,
    StageChange,
    Team,
    TeamMember,
    TeamOutcome,
)

EVIDENCE_LIMIT = 100


def _first_quarter_day(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def evaluation_report(
    session: Session, principal: Principal, space_id: int, period: util_ops.Period
) -> dict[str, Any]:
    space = util_ops.managed_space(session, principal, space_id)
    usages = util_ops.booking_usages(session, space, period)
    kinds = utilization.by_kind(usages)
    shared = utilization.figures(u for u in usages if u.kind in ("equipment", "pilot_line"))

    desks = session.execute(
        select(Resource.id, Resource.name_zh, Resource.name_en, Resource.capacity, Availability.units)
        .outerjoin(Availability, Availability.resource_id == Resource.id)
        .where(
            Resource.space_id == space.id,
            Resource.kind == ResourceKind.WORKSPACE,
            Resource.retired_at.is_(None),
        )
        .order_by(Resource.id)
    ).all()
    desks_provided = sum((units if units is not None else max(1, cap)) for _, _, _, cap, units in desks)
    desk = kinds.get("workspace")

    resident = (
        select(Team.id, Team.name_zh, Team.name_en, Team.stage)
        .where(Team.space_id == space.id, Team.admission_status == AdmissionStatus.ADMITTED)
        .where(Team.stage.in_(util_ops.RESIDENT_STAGES))
        .order_by(Team.id)
    )
    teams = session.execute(resident).all()
    makers = (
        session.scalar(
            select(func.count(func.distinct(TeamMember.user_id))).where(
                TeamMember.team_id.in_([t[0] for t in teams] or [0])
            )
        )
        or 0
    )
    graduated = session.execute(
        select(Team.id, Team.name_zh, Team.name_en, StageChange.changed_at)
        .join(StageChange, StageChange.team_id == Team.id)
        .where(Team.space_id == space.id, StageChange.to_stage == Stage.GRADUATED)
        .where(StageChange.changed_at >= period.start, StageChange.changed_at < period.end)
        .order_by(StageChange.changed_at)
    ).all()

    events = (
        session.execute(
            select(SpaceEvent)
            .where(
                SpaceEvent.space_id == space.id,
                SpaceEvent.starts_at >= period.start,
                SpaceEvent.starts_at < period.end,
            )
            .order_by(SpaceEvent.starts_at)
        )
        .scalars()
        .all()
    )
    attended = dict(
        session.execute(
            select(EventRegistration.event_id, func.count())
            .where(
                EventRegistration.event_id.in_([e.id for e in events] or [0]),
                EventRegistration.attended.is_(True),
            )
            .group_by(EventRegistration.event_id)
        ).all()
    )

    verified = session.execute(
        select(TeamOutcome, Team.name_zh, Team.name_en)
        .join(Team, Team.id == TeamOutcome.team_id)
        .where(TeamOutcome.space_id == space.id, TeamOutcome.status == OutcomeStatus.VERIFIED)
        .where(
            TeamOutcome.quarter_start >= _first_quarter_day(period.first),
            TeamOutcome.quarter_start <= period.last,
        )
        .order_by(TeamOutcome.quarter_start, TeamOutcome.team_id)
    ).all()
    pending = (
        session.scalar(
            select(func.count()).where(
                TeamOutcome.space_id == space.id,
                or_(
                    TeamOutcome.status == OutcomeStatus.SUBMITTED,
                    TeamOutcome.status == OutcomeStatus.RETURNED,
                ),
            )
        )
        or 0
    )
    sums: dict[str, Any] = defaultdict(int)
    per_team: dict[int, dict[str, Any]] = {}
    names: dict[int, tuple[str, str]] = {}
    for outcome, zh, en in verified:
        names[outcome.team_id] = (zh, en)
        acc = per_team.setdefault(outcome.team_id, defaultdict(int))
        for field in ("patents_applied", "patents_granted", "technical_results", "results_transferred"):
            sums[field] += getattr(outcome, field)
            acc[field] += getattr(outcome, field)
        sums["funding_raised_10k_cny"] += outcome.funding_raised_10k_cny
        acc["funding_raised_10k_cny"] += outcome.funding_raised_10k_cny
        acc["peak_employees"] = max(acc["peak_employees"], outcome.employees)
    graduated_ids = {g[0] for g in graduated}
    for tid, zh, en, _ in graduated:
        names.setdefault(tid, (zh, en))
    records = [
        performance.TeamRecord(
            team_id=tid,
            funding_raised_10k_cny=Decimal(acc.get("funding_raised_10k_cny", 0)),
            patents_applied=int(acc.get("patents_applied", 0)),
            patents_granted=int(acc.get("patents_granted", 0)),
            technical_results=int(acc.get("technical_results", 0)),
            results_transferred=int(acc.get("results_transferred", 0)),
            peak_employees=int(acc.get("peak_employees", 0)),
            graduated=tid in graduated_ids,
        )
        for tid, acc in per_team.items()
    ] + [performance.TeamRecord(team_id=tid, graduated=True) for tid in graduated_ids - set(per_team)]
    cases = performance.success_cases(records)

    def outcome_evidence(field: str) -> list[dict[str, Any]]:
        return [
            {
                "outcome_id": o.id,
                "team_id": o.team_id,
                "team_zh": zh,
                "team_en": en,
                "quarter": outcome_ops.quarter_label(o.quarter_start),
                "value": str(getattr(o, field)),
            }
            for o, zh, en in verified
            if getattr(o, field)
        ][:EVIDENCE_LIMIT]

    def item(key: str, value: Any, evidence: list[dict[str, Any]]) -> dict[str, Any]:
        return {"key": key, "value": value, "evidence": evidence}

    held = [e for e in events if e.kind is EventKind.EVENT]
    trainings = [e for e in events if e.kind is EventKind.TRAINING]

    def event_evidence(items: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "event_id": e.id,
                "title_zh": e.title_zh,
                "title_en": e.title_en,
                "day": e.starts_at.isoformat(),
                "attended": int(attended.get(e.id, 0)),
            }
            for e in items
        ][:EVIDENCE_LIMIT]

    return {
        "space_id": space.id,
        "name_zh": space.name_zh,
        "name_en": space.name_en,
        "period": period.as_dict(),
        "items": [
            item(
                "desks_provided",
                desks_provided,
                [{"resource_id": d[0], "name_zh": d[1], "name_en": d[2]} for d in desks],
            ),
            item("desk_occupancy", desk.utilization if desk else None, []),
            item(
                "resident_teams",
                len(teams),
                [{"team_id": t[0], "team_zh": t[1], "team_en": t[2], "stage": t[3].value} for t in teams][
                    :EVIDENCE_LIMIT
                ],
            ),
            item("resident_makers", int(makers), []),
            item(
                "graduates",
                len(graduated),
                [
                    {"team_id": g[0], "team_zh": g[1], "team_en": g[2], "day": g[3].isoformat()}
                    for g in graduated
                ],
            ),
            item("events_held", len(held), event_evidence(held)),
            item("trainings_held", len(trainings), event_evidence(trainings)),
            item(
                "investment_raised_10k_cny",
                str(sums["funding_raised_10k_cny"]),
                outcome_evidence("funding_raised_10k_cny"),
            ),
            item("patents_applied", int(sums["patents_applied"]), outcome_evidence("patents_applied")),
            item("patents_granted", int(sums["patents_granted"]), outcome_evidence("patents_granted")),
            item("technical_results", int(sums["technical_results"]), outcome_evidence("technical_results")),
            item(
                "results_transferred",
                int(sums["results_transferred"]),
                outcome_evidence("results_transferred"),
            ),
            item("shared_equipment_utilization", shared.utilization, []),
        ],
        "shared_equipment": {
            "available_hours": shared.available_hours,
            "booked_hours": shared.booked_hours,
            "used_hours": shared.used_hours,
        },
        "unverified_outcomes": int(pending),
        "success_cases": [
            {
                "team_id": r.team_id,
                "team_zh": names.get(r.team_id, ("", ""))[0],
                "team_en": names.get(r.team_id, ("", ""))[1],
                "strength": round(score, 1),
                "funding_raised_10k_cny": str(r.funding_raised_10k_cny),
                "patents_granted": r.patents_granted,
                "results_transferred": r.results_transferred,
                "graduated": r.graduated,
            }
            for r, score in cases
        ],
    }
