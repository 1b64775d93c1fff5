"""Team use cases: apply for admission, edit the profile and members, review, move stages, exit."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker import events, lifecycles
from matchmaker.errors import (
    AlreadyExists,
    CriteriaNotMet,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    check_editable,
)
from matchmaker.operations.catalogue import resolve_tags
from matchmaker.permissions import (
    Principal,
    TeamRef,
    can_apply_to_space,
    can_book_for,
    can_edit_team,
    can_list_teams,
    can_manage_members,
    can_review_team,
    can_view_team,
)
from models import AdmissionStatus, AuditEntry, Space, Stage, StageChange, Team, TeamMember, TeamRole, User
from models.base import utcnow

PROFILE_FIELDS = (
    "name_zh",
    "name_en",
    "description_zh",
    "description_en",
    "needs_zh",
    "needs_en",
    "registered_enterprise",
    "funding_ask_10k_cny",
    "round_sought",
    "tags",
)
FREE_RESIDENCE_MONTHS = 6  # the Hunan rules' floor; a space may grant more


def ref(team: Team) -> TeamRef:
    return TeamRef(
        id=team.id, space_id=team.space_id, admitted=team.admission_status is AdmissionStatus.ADMITTED
    )


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"{year}-{month} has no day {day.day}")  # pragma: no cover


def local_today(space: Space, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(space.timezone)).date()


def summary(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "space_id": team.space_id,
        "name_zh": team.name_zh,
        "name_en": team.name_en,
        "stage": team.stage.value,
        "admission_status": team.admission_status.value,
        "tags": [t.slug for t in team.tags],
    }


def detail(team: Team) -> dict[str, Any]:
    out = summary(team)
    out.update(
        description_zh=team.description_zh,
        description_en=team.description_en,
        needs_zh=team.needs_zh,
        needs_en=team.needs_en,
        registered_enterprise=team.registered_enterprise,
        funding_ask_10k_cny=float(team.funding_ask_10k_cny) if team.funding_ask_10k_cny is not None else None,
        round_sought=team.round_sought,
        residence_start=team.residence_start.isoformat() if team.residence_start else None,
        free_residence_end=team.free_residence_end.isoformat() if team.free_residence_end else None,
        exit_reason=team.exit_reason,
        members=[
            {"user_id": m.user_id, "display_name": m.user.display_name, "role": m.role.value}
            for m in team.members
        ],
        stage_history=[
            {
                "from": c.from_stage.value if c.from_stage else None,
                "to": c.to_stage.value,
                "reason": c.reason,
                "changed_at": c.changed_at.isoformat(),
                "changed_by": c.changed_by.display_name if c.changed_by else None,
            }
            for c in team.stage_changes
        ],
    )
    return out


def get_team(session: Session, principal: Principal, team_id: int) -> Team:
    """A team the principal may see; others get 404 so existence is not revealed."""
    team = session.get(Team, team_id)
    if team is None or not can_view_team(principal, ref(team)):
        raise NotFound("team", "团队", team_id)
    return team


def team_to_act_for(session: Session, principal: Principal, team_id: int, what_en: str, what_zh: str) -> Team:
    """A team the principal may see and act for (``what_en``/``what_zh`` name the act in the refusal)."""
    team = get_team(session, principal, team_id)
    if not can_book_for(principal, ref(team)):
        raise Forbidden(what_en, what_zh)
    return team


def list_teams(
    session: Session, principal: Principal, space_id: int, status: str | None = None
) -> list[Team]:
    if session.get(Space, space_id) is None:
        raise NotFound("space", "空间", space_id)
    if not can_list_teams(principal, space_id):
        raise Forbidden("list the teams of this space", "查看该空间的团队列表")
    stmt = (
        select(Team).where(Team.space_id == space_id).options(selectinload(Team.tags)).order_by(Team.name_en)
    )
    if status:
        stmt = stmt.where(Team.admission_status == AdmissionStatus(status))
    return [t for t in session.scalars(stmt) if can_view_team(principal, ref(t))]


def teams_of(session: Session, user: User) -> list[Team]:
    return list(
        session.scalars(select(Team).join(TeamMember).where(TeamMember.user_id == user.id).order_by(Team.id))
    )


def apply_for_admission(
    session: Session, principal: Principal, user: User, *, space_id: int, fields: dict[str, Any]
) -> Team:
    """A founder applies to a space: the team is created pending, with the applicant as its lead."""
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space", "空间", space_id)
    if not can_apply_to_space(principal, space_id):
        raise Forbidden("apply to this space", "申请入驻该空间")
    requested = fields.pop("stage", Stage.NURSERY.value)
    if requested not in lifecycles.ACTIVE_STAGES:
        raise InvalidInput(
            "A team applies for the nursery, incubator or accelerator stage.",
            "申请阶段只能是创业苗圃、孵化器或加速器。",
            details={"fields": {"stage": "not_an_entry_stage"}},
        )
    name_taken = session.scalar(
        select(Team.id).where(
            Team.space_id == space_id,
            (Team.name_zh == fields["name_zh"]) | (Team.name_en == fields["name_en"]),
        )
    )
    if name_taken is not None:
        raise AlreadyExists(
            "A team with this name already applied to this space.",
            "该空间已有同名团队。",
            details={"fields": {"name_en": "taken"}},
        )
    tags = resolve_tags(session, fields.pop("tags", None) or [])
    team = Team(
        space_id=space_id,
        key=fields.pop("key", None) or f"team-{secrets.token_hex(4)}",
        stage=Stage(requested),
        tags=tags,
        **{k: v for k, v in fields.items() if k in PROFILE_FIELDS},
    )
    team.members.append(TeamMember(user=user, role=TeamRole.LEAD))
    session.add(team)
    session.flush()
    _audit(session, principal, team, "team_applied", {"stage": requested})
    events.record(session, events.TeamChanged("applied", space_id, team.id, summary(team), _member_ids(team)))
    return team


def update_team(session: Session, principal: Principal, team_id: int, changes: dict[str, Any]) -> Team:
    team = get_team(session, principal, team_id)
    if not can_edit_team(principal, ref(team)):
        raise Forbidden("edit this team", "编辑该团队")
    if team.stage in (Stage.EXITED, Stage.GRADUATED):
        raise InvalidTransition(
            "This team has left the space; its profile is kept as it was.",
            "该团队已离开空间，档案保持原样。",
            details={"stage": team.stage.value},
        )
    check_editable(changes, PROFILE_FIELDS)
    if "tags" in changes:
        team.tags = resolve_tags(session, changes.pop("tags") or [])
    for name, value in changes.items():
        setattr(team, name, value)
    team.updated_at = utcnow()
    session.flush()
    events.record(
        session, events.TeamChanged("updated", team.space_id, team.id, summary(team), _member_ids(team))
    )
    return team


def review_admission(
    session: Session,
    principal: Principal,
    team_id: int,
    *,
    decision: str,
    criteria_met: dict[str, bool],
    note: str = "",
    stage: str | None = None,
    residence_start: date | None = None,
    free_months: int = FREE_RESIDENCE_MONTHS,
) -> Team:
    """A manager decides an application against the space's entry criteria.

    Admitting needs every criterion marked met; rejecting needs a note the applicants will read.
    """
    team = get_team(session, principal, team_id)
    if not can_review_team(principal, ref(team)):
        raise Forbidden("review admissions in this space", "审核该空间的入驻申请")
    lifecycles.check_admission(team.admission_status.value, decision)
    space = team.space
    keys = [c["key"] for c in space.entry_criteria]
    unknown = sorted(set(criteria_met) - set(keys))
    if unknown:
        raise InvalidInput(
            f"Unknown criteria: {', '.join(unknown)}.",
            f"未知的入驻标准：{'、'.join(unknown)}。",
            details={"fields": {"criteria_met": "unknown_keys"}, "unknown": unknown},
        )
    if decision == lifecycles.ADMITTED:
        unmet = [k for k in keys if not criteria_met.get(k)]
        if unmet:
            raise CriteriaNotMet(
                "A team can be admitted only when every entry criterion is met.",
                "只有满足全部入驻标准的团队才能被录取。",
                details={"unmet": unmet},
            )
        target = stage or team.stage.value
        if target not in lifecycles.ACTIVE_STAGES:
            raise InvalidInput(
                "Admit into the nursery, incubator or accelerator stage.",
                "只能录取到创业苗圃、孵化器或加速器阶段。",
                details={"fields": {"stage": "not_an_entry_stage"}},
            )
        if not 6 <= free_months <= 60:
            raise InvalidInput(
                "Free residence is at least 6 months (and at most 60).",
                "免费入驻期至少6个月（最多60个月）。",
                details={"fields": {"free_months": "range_6_60"}},
            )
        start = residence_start or local_today(space)
        if not date(2000, 1, 1) <= start <= date(2099, 12, 31):
            raise InvalidInput(
                "The residence start must be a date between 2000 and 2099.",
                "入驻开始日期须在2000年至2099年之间。",
                details={"fields": {"residence_start": "out_of_range"}},
            )
        team.admission_status = AdmissionStatus.ADMITTED
        team.stage = Stage(target)
        team.residence_start = start
        team.free_residence_end = add_months(start, free_months)
        team.stage_changes.append(
            StageChange(
                from_stage=None,
                to_stage=Stage(target),
                reason=note.strip() or "admitted",
                changed_by_id=principal.user_id,
            )
        )
    else:
        if not note.strip():
            raise InvalidInput(
                "Please tell the applicants why the application is declined.",
                "请向申请团队说明未通过的原因。",
                details={"fields": {"note": "required"}},
            )
        team.admission_status = AdmissionStatus.REJECTED
    team.criteria_met = {k: bool(criteria_met.get(k)) for k in keys}
    team.review_note = note.strip()
    team.reviewed_by_id = principal.user_id
    team.reviewed_at = utcnow()
    session.flush()
    _audit(session, principal, team, f"team_{decision}", {"criteria_met": team.criteria_met})
    events.record(
        session, events.TeamChanged(decision, team.space_id, team.id, summary(team), _member_ids(team))
    )
    return team


def change_stage(session: Session, principal: Principal, team_id: int, *, to: str, reason: str) -> Team:
    """Promote, move back, graduate or exit a resident team; every step is kept in its history."""
    team = get_team(session, principal, team_id)
    if not can_review_team(principal, ref(team)):
        raise Forbidden("change this team's stage", "变更该团队的阶段")
    if team.admission_status is not AdmissionStatus.ADMITTED:
        raise InvalidTransition(
            "Only an admitted team has a stage to change.",
            "只有已入驻的团队才能变更阶段。",
            details={"admission_status": team.admission_status.value},
        )
    lifecycles.check_stage_change(team.stage.value, to, reason)
    if len(reason) > 1000:
        raise InvalidInput(
            "The reason is limited to 1000 characters.",
            "原因不能超过1000字。",
            details={"fields": {"reason": "too_long"}},
        )
    previous = team.stage
    team.stage = Stage(to)
    team.stage_changes.append(
        StageChange(
            from_stage=previous, to_stage=team.stage, reason=reason.strip(), changed_by_id=principal.user_id
        )
    )
    if team.stage in (Stage.EXITED, Stage.GRADUATED):
        team.ended_at = utcnow()
        if team.stage is Stage.EXITED:
            team.exit_reason = reason.strip()
    session.flush()
    if team.stage in (Stage.EXITED, Stage.GRADUATED):
        _settle_bookings_of_leaving_team(session, team)
    action = "exited" if team.stage is Stage.EXITED else "stage_changed"
    _audit(session, principal, team, f"team_{action}", {"from": previous.value, "to": to})
    events.record(
        session, events.TeamChanged(action, team.space_id, team.id, summary(team), _member_ids(team))
    )
    return team


def _settle_bookings_of_leaving_team(session: Session, team: Team) -> None:
    """A team leaving residence keeps no future bookings or places in a queue: each booking is
    cancelled and refunded, or flagged for its host, as the resource's host chose."""
    # Imported here: the booking operations build on this module.
    from matchmaker.operations.bookings.changes import settle_lost_access
    from models import Booking, WaitlistEntry, WaitlistStatus

    now = team.ended_at or utcnow()
    why = "team graduated" if team.stage is Stage.GRADUATED else "team left the space"
    settle_lost_access(session, Booking.team_id == team.id, why, now)
    for entry in session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.team_id == team.id, WaitlistEntry.status == WaitlistStatus.WAITING
        )
    ):
        entry.status = WaitlistStatus.CANCELLED
    session.flush()


def add_member(
    session: Session, principal: Principal, team_id: int, *, email: str, role: str = "member"
) -> TeamMember:
    team = get_team(session, principal, team_id)
    if not can_manage_members(principal, ref(team)):
        raise Forbidden("change this team's members", "管理该团队的成员")
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise InvalidInput(
            "No account uses this e-mail; ask the person to register first.",
            "没有使用该邮箱的账户，请先让对方注册。",
            details={"fields": {"email": "unknown"}},
        )
    if any(m.user_id == user.id for m in team.members):
        raise AlreadyExists(
            "This person is already a member of the team.",
            "此人已是团队成员。",
            details={"fields": {"email": "already_member"}},
        )
    member = TeamMember(user=user, role=TeamRole(role))
    team.members.append(member)
    session.flush()
    return member


def remove_member(session: Session, principal: Principal, team_id: int, user_id: int) -> None:
    team = get_team(session, principal, team_id)
    if not can_manage_members(principal, ref(team)):
        raise Forbidden("change this team's members", "管理该团队的成员")
    member = next((m for m in team.members if m.user_id == user_id), None)
    if member is None:
        raise NotFound("team member", "团队成员", user_id)
    leads = [m for m in team.members if m.role is TeamRole.LEAD]
    if member.role is TeamRole.LEAD and len(leads) == 1:
        raise InvalidTransition(
            "A team keeps at least one lead; make someone else lead first.",
            "团队至少保留一名负责人，请先指定其他负责人。",
            details={"user_id": user_id},
        )
    team.members.remove(member)
    session.flush()


def _member_ids(team: Team) -> tuple[int, ...]:
    return tuple(m.user_id for m in team.members)


def _audit(session: Session, principal: Principal, team: Team, action: str, detail: dict[str, Any]) -> None:
    session.add(
        AuditEntry(
            actor_id=principal.user_id,
            space_id=team.space_id,
            action=action,
            subject=f"team:{team.id}",
            detail=detail,
        )
    )
