"""Posting, editing and publishing tasks, the task board, invitations, accepted terms, and the teams that
fit a task."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from matchmaker import lifecycles
from matchmaker import tasks as rules
from matchmaker.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    check_editable,
)
from matchmaker.operations.tasks.access import (
    _bidder_user_ids,
    _changed,
    _hosted,
    _invited,
    _member_ids,
    _tell,
    get_task,
    my_teams,
    ref,
)
from matchmaker.permissions import Principal
from matchmaker.ranking import Reason
from models import (
    AdmissionStatus,
    IpTerms,
    Organization,
    Space,
    Task,
    TaskInvitation,
    TaskRecommendation,
    TaskRevision,
    TaskStatus,
    TaskTermsAcceptance,
    TaskVisibility,
    Team,
)
from models.resources import Tag

TERMS = (
    "title_zh",
    "title_en",
    "description_zh",
    "description_en",
    "deliverables_zh",
    "deliverables_en",
    "reward_min_cny",
    "reward_max_cny",
    "bid_deadline",
    "delivery_deadline",
    "ip_terms",
    "ip_terms_custom",
    "confidentiality_terms",
    "tags",
)


EDITABLE = (*TERMS, "visibility", "confidential", "max_awards")


@dataclass(frozen=True)
class BoardFilter:
    tags: Sequence[str] = ()
    status: str | None = None
    reward_at_least: Decimal | None = None
    deadline_before: date | None = None
    space_id: int | None = None
    organization_id: int | None = None
    limit: int = 100


def list_tasks(session: Session, principal: Principal, wanted: BoardFilter) -> list[Task]:
    """The task board: every task the asker may see, newest first, filtered."""
    query = select(Task).options(selectinload(Task.tags)).order_by(Task.id.desc())
    if wanted.status:
        query = query.where(Task.status == wanted.status)
    if wanted.space_id:
        query = query.where(Task.space_id == wanted.space_id)
    if wanted.organization_id:
        query = query.where(Task.organization_id == wanted.organization_id)
    if wanted.reward_at_least is not None:
        query = query.where(Task.reward_max_cny >= wanted.reward_at_least)
    if wanted.deadline_before is not None:
        query = query.where(Task.deadline <= wanted.deadline_before)
    if wanted.tags:
        query = query.where(Task.tags.any(Tag.slug.in_(list(wanted.tags))))
    teams = my_teams(session, principal)
    shown: list[Task] = []
    for task in session.scalars(query):
        if rules.can_view_task(principal, ref(session, task), teams):
            shown.append(task)
            if len(shown) >= wanted.limit:
                break
    return shown


@dataclass
class TaskSpec:
    space_id: int
    organization_id: int
    title_zh: str
    title_en: str
    description_zh: str = ""
    description_en: str = ""
    deliverables_zh: str = ""
    deliverables_en: str = ""
    tags: Sequence[str] = ()
    reward_min_cny: Decimal | None = None
    reward_max_cny: Decimal | None = None
    bid_deadline: datetime | None = None
    delivery_deadline: date | None = None
    ip_terms: str = IpTerms.HOST_OWNS
    ip_terms_custom: str = ""
    visibility: str = TaskVisibility.RESIDENTS
    confidential: bool = False
    confidentiality_terms: str = ""
    max_awards: int = 1
    publish: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _tags(session: Session, slugs: Sequence[str]) -> list[Tag]:
    wanted = sorted(set(slugs))
    found = list(session.scalars(select(Tag).where(Tag.slug.in_(wanted)).order_by(Tag.slug)))
    unknown = sorted(set(wanted) - {t.slug for t in found})
    if unknown:
        raise InvalidInput(
            f"Unknown capability tags: {', '.join(unknown)}.",
            f"未知的能力标签：{'、'.join(unknown)}。",
            details={"fields": {"tags": "unknown"}, "tags": unknown},
        )
    return found


def _check_terms(task: Task, now: datetime, *, publishing: bool) -> None:
    rules.check_reward(task.reward_min_cny, task.reward_max_cny)
    rules.check_task_dates(now, task.bid_deadline, task.deadline, publishing=publishing)
    if task.ip_terms is IpTerms.CUSTOM and not task.ip_terms_custom.strip():
        raise InvalidInput(
            "Custom IP terms need their text.",
            "自定义知识产权条款须填写条款内容。",
            details={"fields": {"ip_terms_custom": "required"}},
        )
    if task.confidential and not task.confidentiality_terms.strip():
        raise InvalidInput(
            "A confidential task needs the terms teams accept before they read its details.",
            "保密任务须填写团队查看详情前须接受的保密条款。",
            details={"fields": {"confidentiality_terms": "required"}},
        )


def post_task(session: Session, principal: Principal, spec: TaskSpec, now: datetime) -> Task:
    """A host organisation's staff (or a manager) post a task as a draft, or publish it at once."""
    space = session.get(Space, spec.space_id)
    org = session.get(Organization, spec.organization_id)
    if space is None:
        raise NotFound("space", "空间", spec.space_id)
    if org is None or org.space_id != space.id:
        raise InvalidInput(
            "That organisation is not part of this space.",
            "该机构不属于本空间。",
            details={"fields": {"organization_id": "not_in_space"}},
        )
    if not (principal.is_manager_of(space.id) or (space.id, org.id) in principal.organizations):
        raise Forbidden("post tasks for this organisation", "为该机构发布任务")
    task = Task(
        space_id=space.id,
        organization_id=org.id,
        key=f"task-{uuid.uuid4().hex}",  # posted tasks have no natural key; demo tasks do
        title_zh=spec.title_zh,
        title_en=spec.title_en,
        description_zh=spec.description_zh,
        description_en=spec.description_en,
        deliverables_zh=spec.deliverables_zh,
        deliverables_en=spec.deliverables_en,
        reward_min_cny=spec.reward_min_cny,
        reward_max_cny=spec.reward_max_cny,
        budget_10k_cny=(spec.reward_max_cny or Decimal(0)) / Decimal(10000),
        bid_deadline=spec.bid_deadline,
        deadline=spec.delivery_deadline,
        ip_terms=IpTerms(spec.ip_terms),
        ip_terms_custom=spec.ip_terms_custom,
        visibility=TaskVisibility(spec.visibility),
        confidential=spec.confidential,
        confidentiality_terms=spec.confidentiality_terms,
        max_awards=spec.max_awards,
        status=TaskStatus.DRAFT,
        created_by_id=principal.user_id,
    )
    task.tags = _tags(session, spec.tags)
    _check_terms(task, now, publishing=False)
    session.add(task)
    session.flush()
    if spec.publish:
        publish_task(session, principal, task.id, now)
    return task


def _terms_of(task: Task) -> dict[str, Any]:
    return {
        "title_zh": task.title_zh,
        "title_en": task.title_en,
        "description_zh": task.description_zh,
        "description_en": task.description_en,
        "deliverables_zh": task.deliverables_zh,
        "deliverables_en": task.deliverables_en,
        "reward_min_cny": task.reward_min_cny,
        "reward_max_cny": task.reward_max_cny,
        "bid_deadline": task.bid_deadline,
        "delivery_deadline": task.deadline,
        "ip_terms": task.ip_terms.value,
        "ip_terms_custom": task.ip_terms_custom,
        "confidentiality_terms": task.confidentiality_terms,
        "tags": sorted(t.slug for t in task.tags),
        "visibility": task.visibility.value,
        "confidential": task.confidential,
        "max_awards": task.max_awards,
    }


def update_task(
    session: Session, principal: Principal, task_id: int, changes: dict[str, Any], now: datetime
) -> Task:
    """Drafts are edited freely; once published, a change is a change of terms: it is kept in the task's
    history (a new version) and every bidder is told."""
    check_editable(changes, EDITABLE)
    task = _hosted(session, principal, task_id, lock=True)
    lifecycles.check_task_editable(task.status)
    before = _terms_of(task)
    after = {k: (sorted(set(v)) if k == "tags" else v) for k, v in changes.items()}
    diff = rules.changed_terms(before, after)
    if not diff:
        return task
    for name, value in changes.items():
        if name == "tags":
            task.tags = _tags(session, value)
        elif name == "delivery_deadline":
            task.deadline = value
        elif name == "ip_terms":
            task.ip_terms = IpTerms(value)
        elif name == "visibility":
            task.visibility = TaskVisibility(value)
        else:
            setattr(task, name, value)
    if "reward_max_cny" in changes:
        task.budget_10k_cny = (task.reward_max_cny or Decimal(0)) / Decimal(10000)
    published = task.status is not TaskStatus.DRAFT
    _check_terms(task, now, publishing=published and "bid_deadline" in changes)
    if published:
        task.terms_version += 1
        session.add(
            TaskRevision(
                task_id=task.id,
                version=task.terms_version,
                changed_by_id=principal.user_id or 0,
                changes=diff,
                changed_at=now,
            )
        )
        bidders = _bidder_user_ids(session, task.id)
        if bidders:
            fields_changed = ", ".join(sorted(diff))
            _tell(
                session,
                task,
                "task_terms_changed",
                f"Terms changed: {task.title_en}",
                f"任务条款已变更：{task.title_zh}",
                f"Changed: {fields_changed}. Check your bid still holds.",
                f"变更项：{fields_changed}。请确认您的投标仍然适用。",
                user_ids=bidders,
            )
        _changed(session, task, "updated")
    session.flush()
    return task


def _tell_invited(session: Session, task: Task, user_ids: tuple[int, ...]) -> None:
    """Invited teams hear of a task once it is open: at publication, or at once when invited later."""
    _tell(
        session,
        task,
        "task_invited",
        f"Invited to bid: {task.title_en}",
        f"邀请投标：{task.title_zh}",
        user_ids=user_ids,
    )


def publish_task(session: Session, principal: Principal, task_id: int, now: datetime) -> Task:
    """Open the task for bids; invited teams are told at once. The best-fitting teams are told later,
    off the request, by a job the web layer enqueues once this publication has committed (see
    ``tell_fitting_teams``): ranking them takes seconds."""
    task = _hosted(session, principal, task_id, lock=True)
    lifecycles.check_task_move(task.status, TaskStatus.OPEN)
    _check_terms(task, now, publishing=True)
    task.status = TaskStatus.OPEN
    task.published_at = now
    session.flush()
    invited = _member_ids(session, _invited(session, task.id))
    if invited:
        _tell_invited(session, task, invited)
    _changed(session, task, "published")
    return task


def tells_fitting_teams(task: Task) -> bool:
    """Whether the best-fitting teams hear of the task: while it is open to more than invited teams."""
    return task.status is TaskStatus.OPEN and task.visibility is not TaskVisibility.INVITED


def fitting_teams_to_tell(session: Session, task_id: int) -> list[int]:
    """The teams that fit a published task best, to be told of it (none once it is no longer open, or
    when only invited teams may see it). Only reads: the telling is ``tell_fitting_teams``."""
    from matchmaker.operations.task_matching import TOLD_ON_PUBLICATION

    task = session.get(Task, task_id)
    if task is None or not tells_fitting_teams(task):
        return []
    return [f.team_id for f in rank_teams_for(session, task)[:TOLD_ON_PUBLICATION]]


def tell_fitting_teams(session: Session, task_id: int, team_ids: Sequence[int], now: datetime) -> list[int]:
    """Tell the members of ``team_ids`` that the task fits their team, each team once per task, and
    only while the task is still open to them; the teams told now. Locks the task first, so a
    cancellation committed meanwhile is seen and one in progress waits; a team already told (by an
    earlier or concurrent run) is skipped by the table's key, not by a check that could race."""
    task = session.get(Task, task_id, with_for_update=True, populate_existing=True)
    if task is None or not tells_fitting_teams(task):
        return []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    told: list[int] = []
    for team_id in dict.fromkeys(team_ids):
        won = session.execute(
            insert(TaskRecommendation)
            .values(task_id=task.id, team_id=team_id, told_at=now)
            .on_conflict_do_nothing(index_elements=["task_id", "team_id"])
            .returning(TaskRecommendation.team_id)
        ).scalar_one_or_none()
        if won is not None:
            told.append(won)
    users = _member_ids(session, set(told))
    if users:
        _tell(
            session,
            task,
            "task_recommended",
            f"A new task fits your team: {task.title_en}",
            f"有新任务适合您的团队：{task.title_zh}",
            user_ids=users,
        )
    return told


def invite_team(
    session: Session, principal: Principal, task_id: int, team_id: int, now: datetime
) -> TaskInvitation:
    """The host invites a team to see and bid on the task (told at once if the task is published)."""
    task = _hosted(session, principal, task_id, lock=True)
    if task.status not in (TaskStatus.DRAFT, TaskStatus.OPEN):
        lifecycles.check_task_editable(task.status)
    team = session.get(Team, team_id)
    if team is None or not team.is_resident:
        raise InvalidInput(
            "Only admitted, active teams can be invited.",
            "只能邀请已入驻且在孵的团队。",
            details={"fields": {"team_id": "not_admitted"}},
        )
    existing = session.scalar(
        select(TaskInvitation).where(TaskInvitation.task_id == task.id, TaskInvitation.team_id == team.id)
    )
    if existing is not None:
        return existing
    invitation = TaskInvitation(
        task_id=task.id, team_id=team.id, invited_by_id=principal.user_id or 0, invited_at=now
    )
    session.add(invitation)
    session.flush()
    if task.status is TaskStatus.OPEN:
        _tell_invited(session, task, _member_ids(session, {team.id}))
    return invitation


def accept_terms(
    session: Session, principal: Principal, task_id: int, team_id: int, now: datetime
) -> TaskTermsAcceptance:
    """A team member accepts a confidential task's terms for the team; the acceptance is recorded."""
    task = get_task(session, principal, task_id)
    team = _own_team(session, principal, task, team_id)
    existing = session.scalar(
        select(TaskTermsAcceptance).where(
            TaskTermsAcceptance.task_id == task.id, TaskTermsAcceptance.team_id == team.id
        )
    )
    if existing is not None:
        if existing.terms_version != task.terms_version:
            existing.terms_version = task.terms_version
            existing.accepted_at = now
            existing.user_id = principal.user_id or 0
            session.flush()
        return existing
    accepted = TaskTermsAcceptance(
        task_id=task.id,
        team_id=team.id,
        user_id=principal.user_id or 0,
        terms_version=task.terms_version,
        accepted_at=now,
    )
    session.add(accepted)
    session.flush()
    return accepted


def _own_team(session: Session, principal: Principal, task: Task, team_id: int) -> Team:
    """One of the asker's teams, admitted, and one the task reaches."""
    if team_id not in principal.teams:
        raise Forbidden("act for that team", "代表该团队操作")
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("team", "团队", team_id)
    if not rules.team_may_see(rules.BidderTeam(team.id, team.space_id, team.is_resident), ref(session, task)):
        raise Forbidden("bid on this task for that team", "以该团队投标此任务")
    return team


FITTING_TEAMS = 10


def fitting_teams(session: Session, principal: Principal, task_id: int) -> list[TeamFit]:
    """For the host: the teams the task could reach, ranked by how well they fit it, with the reasons."""
    task = _hosted(session, principal, task_id)
    return rank_teams_for(session, task)[:FITTING_TEAMS]


@dataclass(frozen=True)
class TeamFit:
    team_id: int
    name_zh: str
    name_en: str
    score: float
    reasons: tuple[Reason, ...]
    invited: bool


def rank_teams_for(session: Session, task: Task) -> list[TeamFit]:
    """Resident teams the task could reach, best fit first (see ``matchmaker.operations.task_matching``)."""
    from matchmaker.operations import task_matching

    return task_matching.rank_teams(session, task)


def admitted_teams(session: Session, space_id: int) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .where(Team.space_id == space_id, Team.admission_status == AdmissionStatus.ADMITTED)
            .options(selectinload(Team.tags))
            .order_by(Team.id)
        )
    )
