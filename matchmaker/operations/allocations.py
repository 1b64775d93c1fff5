"""Allocation rounds: score every asked (team, resource) pair with the matchmaker, solve the round
optimally, keep it as a draft the managers review, then publish it to the teams and the mentors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker import allocation, events, lifecycles
from matchmaker.errors import Forbidden, InvalidInput, NotFound
from matchmaker.operations import audit, matching
from matchmaker.permissions import Principal
from models import (
    AdmissionStatus,
    AllocationAssignment,
    AllocationRound,
    Resource,
    RoundStatus,
    Space,
    Team,
    TeamMember,
)
from models.base import utcnow

ASKED = 0.01
ROUND_KINDS = ("mentor", "pilot_line")  # mentor hours, pilot-line weeks


@dataclass(frozen=True)
class RoundSpec:
    space_id: int
    title: str
    resource_kind: str
    team_ids: Sequence[int]
    capacity: Mapping[int, int]  # resource id -> units this round
    units_per_assignment: int = 1
    team_limit: int = 1
    load_penalty: float = 0.0
    min_fit: float = 0.0


def _managed_space(session: Session, principal: Principal, space_id: int) -> Space:
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space", "空间", space_id)
    if not principal.is_manager_of(space_id):
        raise Forbidden("run this space's allocation rounds", "管理该空间的分配轮次")
    return space


def _fields(message_en: str, message_zh: str, field: str, code: str, **extra: object) -> InvalidInput:
    return InvalidInput(message_en, message_zh, details={"fields": {field: code}, **extra})


def create_round(
    session: Session, principal: Principal, spec: RoundSpec, *, model_folder: Path | None = None
) -> AllocationRound:
    """Compute a round as a draft. Every team must be an admitted, active team of the space; every
    resource a mentor (or pilot line) of the space."""
    _managed_space(session, principal, spec.space_id)
    if spec.resource_kind not in ROUND_KINDS:
        raise _fields(
            "A round shares mentor hours or pilot-line weeks.",
            "分配轮次用于导师时长或中试线周期。",
            "resource_kind",
            "not_a_choice",
        )
    team_ids = sorted(set(spec.team_ids))
    if not team_ids:
        raise _fields("Name the teams that asked.", "请列出提出申请的团队。", "team_ids", "required")
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(team_ids)))}
    wrong_teams = [
        i
        for i in team_ids
        if i not in teams
        or teams[i].space_id != spec.space_id
        or teams[i].admission_status is not AdmissionStatus.ADMITTED
        or teams[i].stage.value not in lifecycles.ACTIVE_STAGES
    ]
    if wrong_teams:
        raise _fields(
            "Some teams are not admitted, active teams of this space.",
            "部分团队不是本空间已入驻且在孵的团队。",
            "team_ids",
            "not_in_space",
            team_ids=wrong_teams,
        )
    resource_ids = sorted(spec.capacity)
    resources = {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(resource_ids)))}
    wrong_resources = [
        i
        for i in resource_ids
        if i not in resources
        or resources[i].space_id != spec.space_id
        or resources[i].is_retired
        or resources[i].kind.value != spec.resource_kind
    ]
    if wrong_resources:
        raise _fields(
            "Some resources are not active resources of this kind in this space.",
            "部分资源不是本空间该类的在用资源。",
            "capacity",
            "not_in_space",
            resource_ids=wrong_resources,
        )
    mode, fits = matching.pair_fits(session, team_ids, resource_ids, model_folder=model_folder)
    # A team that asked prefers some slot to none: every eligible pair gains a little beyond its fit,
    # so spare capacity is never left idle while a team waits.
    candidates = [
        allocation.Candidate(t, r, ASKED + (1 - ASKED) * fits[(t, r)])
        for t in team_ids
        for r in resource_ids
        if (t, r) in fits and fits[(t, r)] >= spec.min_fit
    ]
    result = allocation.allocate(
        allocation.RoundInput(
            candidates,
            capacity=dict(spec.capacity),
            units_per_assignment=spec.units_per_assignment,
            team_limit=spec.team_limit,
            load_penalty=spec.load_penalty,
        )
    )
    found = AllocationRound(
        space_id=spec.space_id,
        title=spec.title,
        resource_kind=spec.resource_kind,
        team_ids=team_ids,
        capacity={str(r): u for r, u in spec.capacity.items()},
        units_per_assignment=spec.units_per_assignment,
        team_limit=spec.team_limit,
        load_penalty=spec.load_penalty,
        min_fit=spec.min_fit,
        unassigned_team_ids=result.unassigned,
        total_fit=sum(fits[(a.team_id, a.resource_id)] for a in result.assignments),
        solver=result.solver,
        scorer=mode,
        created_by_id=principal.user_id,
    )
    found.assignments = [
        AllocationAssignment(
            team_id=a.team_id, resource_id=a.resource_id, units=spec.units_per_assignment, fit=a.fit
        )
        for a in result.assignments
    ]
    session.add(found)
    session.flush()
    return found


def get_round(session: Session, principal: Principal, round_id: int) -> AllocationRound:
    """Drafts are the managers' alone; a published round is seen by its managers, and each team and
    mentor sees its own assignments through :func:`round_out`."""
    found = session.get(AllocationRound, round_id, options=[selectinload(AllocationRound.assignments)])
    if found is None:
        raise NotFound("allocation round", "分配轮次", round_id)
    if principal.is_manager_of(found.space_id):
        return found
    if found.status is RoundStatus.PUBLISHED and _involved(session, principal, found):
        return found
    raise NotFound("allocation round", "分配轮次", round_id)


def _involved(session: Session, principal: Principal, found: AllocationRound) -> bool:
    teams = {a.team_id for a in found.assignments} | set(found.team_ids)
    if teams & set(principal.teams):
        return True
    people = {a.resource.person_user_id for a in found.assignments}
    return principal.user_id in people


def list_rounds(session: Session, principal: Principal, space_id: int) -> list[AllocationRound]:
    _managed_space(session, principal, space_id)
    return list(
        session.scalars(
            select(AllocationRound)
            .where(AllocationRound.space_id == space_id)
            .order_by(AllocationRound.id.desc())
        )
    )


def _decide(session: Session, principal: Principal, round_id: int, status: RoundStatus) -> AllocationRound:
    # Locked and read afresh: of a publish and a discard at once, the second waits, then sees the
    # first's decision and is refused (SQLite writers already queue with BEGIN IMMEDIATE).
    found = session.get(AllocationRound, round_id, with_for_update=True, populate_existing=True)
    if found is None:
        raise NotFound("allocation round", "分配轮次", round_id)
    _managed_space(session, principal, found.space_id)
    lifecycles.check_round_move(found.status, status)
    found.status = status
    if status is RoundStatus.PUBLISHED:
        found.published_at = utcnow()
    session.flush()
    return found


def publish_round(session: Session, principal: Principal, round_id: int) -> AllocationRound:
    """Tell every team that asked (assigned or not) and every assigned mentor."""
    found = _decide(session, principal, round_id, RoundStatus.PUBLISHED)
    audit.record(
        session,
        principal,
        space_id=found.space_id,
        action="allocation_round_published",
        subject=f"allocation_round:{found.id}",
        before={"status": RoundStatus.DRAFT},
        after={"status": found.status},
    )
    if found.resource_kind == "mentor":  # each published mentor line is an accepted request
        from matchmaker.operations import mentoring

        for a in found.assignments:
            mentoring.accept_round_line(
                session,
                round_id=found.id,
                team_id=a.team_id,
                mentor=a.resource,
                hours=a.units,
                title=found.title,
                now=found.published_at or utcnow(),
            )
    members: dict[int, set[int]] = {}
    for tm in session.scalars(select(TeamMember).where(TeamMember.team_id.in_(found.team_ids))):
        members.setdefault(tm.team_id, set()).add(tm.user_id)
    people = {a.resource.person_user_id for a in found.assignments if a.resource.person_user_id}
    users = sorted(set().union(*members.values(), people)) if members or people else []
    events.record(session, events.RoundPublished(found.space_id, found.id, found.title, tuple(users)))
    return found


def discard_round(session: Session, principal: Principal, round_id: int) -> AllocationRound:
    found = _decide(session, principal, round_id, RoundStatus.DISCARDED)
    audit.record(
        session,
        principal,
        space_id=found.space_id,
        action="allocation_round_discarded",
        subject=f"allocation_round:{found.id}",
        before={"status": RoundStatus.DRAFT},
        after={"status": found.status},
    )
    return found


def round_out(found: AllocationRound, principal: Principal) -> dict[str, Any]:
    """Managers see the whole round; a team sees its own line, a mentor the teams assigned to them."""
    manager = principal.is_manager_of(found.space_id)
    visible = [
        a
        for a in found.assignments
        if manager or a.team_id in principal.teams or a.resource.person_user_id == principal.user_id
    ]
    used: dict[int, int] = {}
    for a in found.assignments:
        used[a.resource_id] = used.get(a.resource_id, 0) + a.units
    out: dict[str, Any] = {
        "id": found.id,
        "space_id": found.space_id,
        "title": found.title,
        "resource_kind": found.resource_kind,
        "status": found.status.value,
        "scorer": found.scorer,
        "published_at": found.published_at.isoformat() if found.published_at else None,
        "assignments": [
            {
                "team": {"id": a.team_id, "name_zh": a.team.name_zh, "name_en": a.team.name_en},
                "resource": {
                    "id": a.resource_id,
                    "name_zh": a.resource.name_zh,
                    "name_en": a.resource.name_en,
                },
                "units": a.units,
                "fit": round(a.fit, 4),
            }
            for a in visible
        ],
    }
    if manager:
        out.update(
            team_ids=found.team_ids,
            unassigned_team_ids=found.unassigned_team_ids,
            capacity={r: {"offered": u, "used": used.get(int(r), 0)} for r, u in found.capacity.items()},
            units_per_assignment=found.units_per_assignment,
            team_limit=found.team_limit,
            load_penalty=found.load_penalty,
            min_fit=found.min_fit,
            total_fit=round(found.total_fit, 4),
            solver=found.solver,
        )
    else:
        mine = set(principal.teams) & set(found.team_ids)
        out["unassigned"] = sorted(mine & set(found.unassigned_team_ids))
    return out
