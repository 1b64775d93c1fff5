"""Teams record their operating data each quarter; the space's managers verify it or return it with a
note. Verified figures feed the evaluation report and the filing form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker import lifecycles
from matchmaker.errors import Conflict, Forbidden, InvalidInput, NotFound
from matchmaker.operations import audit
from matchmaker.operations.utilization import managed_space
from matchmaker.permissions import Principal, TeamRef, is_member
from models import AdmissionStatus, OutcomeStatus, RevenueBand, Team, TeamOutcome
from models.base import utcnow

FIGURES = (
    "revenue_band",
    "employees",
    "funding_raised_10k_cny",
    "patents_applied",
    "patents_granted",
    "technical_results",
    "results_transferred",
)


@dataclass(frozen=True)
class OutcomeFigures:
    revenue_band: RevenueBand
    employees: int
    funding_raised_10k_cny: Decimal
    patents_applied: int
    patents_granted: int
    technical_results: int
    results_transferred: int


def quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * (quarter - 1) + 1, 1)


def quarter_label(start: date) -> str:
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"


def _snapshot(outcome: TeamOutcome) -> dict[str, Any]:
    return {name: getattr(outcome, name) for name in (*FIGURES, "status")}


def submit_outcome(
    session: Session,
    principal: Principal,
    team_id: int,
    year: int,
    quarter: int,
    figures: OutcomeFigures,
    *,
    today: date | None = None,
) -> TeamOutcome:
    """A member of the team submits (or corrects) a quarter's figures; verified figures stay as they are."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("team", "团队", team_id)
    ref = TeamRef(team.id, team.space_id, team.admission_status is AdmissionStatus.ADMITTED)
    if not is_member(principal, ref):
        raise Forbidden("report this team's figures", "填报该团队的数据")
    if not ref.admitted:
        raise Conflict("Only admitted teams report quarterly figures.", "仅已入驻团队填报季度数据。")
    start = quarter_start(year, quarter)
    if start > (today or utcnow().date()):
        raise InvalidInput(
            "That quarter has not begun yet.",
            "该季度尚未开始。",
            details={"fields": {"quarter": "in_the_future"}},
        )
    existing = session.scalar(
        select(TeamOutcome)
        .where(TeamOutcome.team_id == team.id, TeamOutcome.quarter_start == start)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    values = {name: getattr(figures, name) for name in FIGURES}
    if existing is not None:
        lifecycles.check_outcome_move(existing.status, OutcomeStatus.SUBMITTED)
        before = _snapshot(existing)
        for name, value in values.items():
            setattr(existing, name, value)
        existing.status = OutcomeStatus.SUBMITTED
        existing.submitted_by_id = principal.user_id or existing.submitted_by_id
        outcome = existing
    else:
        before = {}
        outcome = TeamOutcome(
            team_id=team.id,
            space_id=team.space_id,
            quarter_start=start,
            status=OutcomeStatus.SUBMITTED,
            submitted_by_id=principal.user_id,
            **values,
        )
        try:
            with session.begin_nested():
                session.add(outcome)
        except IntegrityError:
            raise Conflict(
                "Someone else submitted this quarter at the same moment; open it again.",
                "其他人刚刚提交了该季度的数据，请重新打开后再修改。",
            ) from None
    session.flush()
    audit.record(
        session,
        principal,
        space_id=team.space_id,
        action="outcome_submitted",
        subject=f"team:{team.id}",
        before=before,
        after=_snapshot(outcome),
        quarter=quarter_label(start),
    )
    session.flush()
    return outcome


def review_outcome(
    session: Session, principal: Principal, outcome_id: int, decision: str, note: str = ""
) -> TeamOutcome:
    """Verify or return submitted figures. Two managers at once: the first decision wins, the other
    is told what happened (the change is conditional on the figures still waiting)."""
    outcome = session.get(TeamOutcome, outcome_id)
    if outcome is None:
        raise NotFound("quarterly figures", "季度数据", outcome_id)
    managed_space(session, principal, outcome.space_id)
    target = OutcomeStatus(decision)
    lifecycles.check_outcome_move(outcome.status, target)
    if target is OutcomeStatus.SUBMITTED:
        raise InvalidInput(
            "Verify or return the figures.",
            "请核实或退回该数据。",
            details={"fields": {"decision": "not_a_choice"}},
        )
    now: datetime = utcnow()
    won = session.execute(
        update(TeamOutcome)
        .where(TeamOutcome.id == outcome.id, TeamOutcome.status == OutcomeStatus.SUBMITTED)
        .values(status=target, verified_by_id=principal.user_id, verified_at=now, review_note=note)
        .returning(TeamOutcome.id)
    ).scalar_one_or_none()
    current = session.scalar(
        select(TeamOutcome).where(TeamOutcome.id == outcome.id).execution_options(populate_existing=True)
    )
    assert current is not None  # noqa: S101  (rows are never deleted while a space exists)
    if won is None:
        lifecycles.check_outcome_move(current.status, target)
    audit.record(
        session,
        principal,
        space_id=current.space_id,
        action=f"outcome_{target.value}",
        subject=f"team:{current.team_id}",
        before={"status": OutcomeStatus.SUBMITTED},
        after={"status": target, "review_note": note},
        quarter=quarter_label(current.quarter_start),
    )
    session.flush()
    return current


def list_outcomes(
    session: Session,
    principal: Principal,
    space_id: int,
    *,
    status: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[TeamOutcome]:
    managed_space(session, principal, space_id)
    query = select(TeamOutcome).where(TeamOutcome.space_id == space_id)
    if status:
        query = query.where(TeamOutcome.status == OutcomeStatus(status))
    if first:
        query = query.where(
            TeamOutcome.quarter_start >= date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
        )
    if last:
        query = query.where(TeamOutcome.quarter_start <= last)
    return list(session.scalars(query.order_by(TeamOutcome.quarter_start.desc(), TeamOutcome.team_id)))


def team_outcomes(session: Session, principal: Principal, team_id: int) -> list[TeamOutcome]:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("team", "团队", team_id)
    ref = TeamRef(team.id, team.space_id, team.admission_status is AdmissionStatus.ADMITTED)
    if not (is_member(principal, ref) or principal.is_manager_of(team.space_id)):
        raise Forbidden("see this team's figures", "查看该团队的数据")
    return list(
        session.scalars(
            select(TeamOutcome)
            .where(TeamOutcome.team_id == team_id)
            .order_by(TeamOutcome.quarter_start.desc())
        )
    )


def outcome_out(outcome: TeamOutcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "team_id": outcome.team_id,
        "space_id": outcome.space_id,
        "quarter": quarter_label(outcome.quarter_start),
        "revenue_band": outcome.revenue_band.value,
        "employees": outcome.employees,
        "funding_raised_10k_cny": str(outcome.funding_raised_10k_cny),
        "patents_applied": outcome.patents_applied,
        "patents_granted": outcome.patents_granted,
        "technical_results": outcome.technical_results,
        "results_transferred": outcome.results_transferred,
        "status": outcome.status.value,
        "verified_at": outcome.verified_at.isoformat() if outcome.verified_at else None,
        "review_note": outcome.review_note,
    }
