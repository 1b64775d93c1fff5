"""Crowdsourced tasks (众包): a host posts a task, teams bid, the host awards, the team delivers per
milestone, the host accepts, both sides rate. Every change of state goes through the lifecycle tables;
those two people can make at once lock the task (or milestone) row and read it afresh."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from matchmaker import events, lifecycles
from matchmaker import tasks as rules
from matchmaker.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    check_editable,
)
from matchmaker.permissions import Principal
from matchmaker.ranking import Reason
from models import (
    AdmissionStatus,
    BidStatus,
    CancelReason,
    Interaction,
    InteractionKind,
    IpTerms,
    MilestoneStatus,
    Organization,
    PaymentStatus,
    Space,
    Task,
    TaskAttachment,
    TaskBid,
    TaskInvitation,
    TaskMilestone,
    TaskQuestion,
    TaskRating,
    TaskRevision,
    TaskStatus,
    TaskTermsAcceptance,
    TaskVisibility,
    Team,
    TeamMember,
)
from models.resources import Tag

STANDING = (BidStatus.SUBMITTED, BidStatus.SHORTLISTED, BidStatus.AWARDED)
# The fields that make up a task's terms: a change to one of them after publication is recorded in the
# task's history and told to every bidder.
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


def _not_found(task_id: int) -> NotFound:
    return NotFound("task", "任务", task_id)


# Reading -------------------------------------------------------------------------------------------


def _invited(session: Session, task_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(TaskInvitation.team_id).where(TaskInvitation.task_id == task_id)))


def ref(session: Session, task: Task) -> rules.TaskRef:
    return rules.TaskRef(
        id=task.id,
        space_id=task.space_id,
        organization_id=task.organization_id,
        status=task.status.value,
        visibility=task.visibility.value,
        confidential=task.confidential,
        invited_team_ids=_invited(session, task.id)
        if task.visibility is not TaskVisibility.PUBLIC
        else frozenset(),
    )


def my_teams(session: Session, principal: Principal) -> list[rules.BidderTeam]:
    if not principal.teams:
        return []
    found = session.scalars(select(Team).where(Team.id.in_(list(principal.teams))).order_by(Team.id))
    return [rules.BidderTeam(t.id, t.space_id, t.is_resident) for t in found]


def get_task(session: Session, principal: Principal, task_id: int, *, lock: bool = False) -> Task:
    """The task, if the asker may see it (a task they may not see does not exist for them)."""
    task = session.get(Task, task_id, with_for_update=lock, populate_existing=lock)
    if task is None or not rules.can_view_task(principal, ref(session, task), my_teams(session, principal)):
        raise _not_found(task_id)
    return task


def _hosted(session: Session, principal: Principal, task_id: int, *, lock: bool = False) -> Task:
    task = get_task(session, principal, task_id, lock=lock)
    if not rules.is_host_of(principal, ref(session, task)):
        raise Forbidden("run this task", "管理该任务")
    return task


def details_visible(session: Session, principal: Principal, task: Task) -> bool:
    """A confidential task's details: its host, and teams that accepted its terms."""
    if not task.confidential or rules.is_host_of(principal, ref(session, task)):
        return True
    if not principal.teams:
        return False
    accepted = session.scalar(
        select(func.count())
        .select_from(TaskTermsAcceptance)
        .where(TaskTermsAcceptance.task_id == task.id, TaskTermsAcceptance.team_id.in_(list(principal.teams)))
    )
    return bool(accepted)


def check_details_visible(session: Session, principal: Principal, task: Task) -> None:
    if not details_visible(session, principal, task):
        raise Forbidden(
            "read this confidential task before your team accepts its terms", "在接受保密条款前查看该任务详情"
        )


def bid_count(session: Session, task_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(TaskBid)
            .where(TaskBid.task_id == task_id, TaskBid.status.in_(STANDING))
        )
        or 0
    )


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


# Posting and editing --------------------------------------------------------------------------------


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
            events.record(
                session,
                events.TaskNews(
                    "task_terms_changed",
                    task.id,
                    task.organization_id,
                    f"Terms changed: {task.title_en}",
                    f"任务条款已变更：{task.title_zh}",
                    f"Changed: {fields_changed}. Check your bid still holds.",
                    f"变更项：{fields_changed}。请确认您的投标仍然适用。",
                    user_ids=bidders,
                ),
            )
        _changed(session, task, "updated")
    session.flush()
    return task


def publish_task(session: Session, principal: Principal, task_id: int, now: datetime) -> Task:
    task = _hosted(session, principal, task_id, lock=True)
    lifecycles.check_task_move(task.status, TaskStatus.OPEN)
    _check_terms(task, now, publishing=True)
    task.status = TaskStatus.OPEN
    task.published_at = now
    session.flush()
    invited = _member_ids(session, _invited(session, task.id))
    if invited:
        events.record(
            session,
            events.TaskNews(
                "task_invited",
                task.id,
                task.organization_id,
                f"Invited to bid: {task.title_en}",
                f"邀请投标：{task.title_zh}",
                user_ids=invited,
            ),
        )
    if task.visibility is not TaskVisibility.INVITED:
        from matchmaker.operations.task_matching import TOLD_ON_PUBLICATION

        best = [f.team_id for f in rank_teams_for(session, task)[:TOLD_ON_PUBLICATION]]
        told = _member_ids(session, set(best))
        if told:
            events.record(
                session,
                events.TaskNews(
                    "task_recommended",
                    task.id,
                    task.organization_id,
                    f"A new task fits your team: {task.title_en}",
                    f"有新任务适合您的团队：{task.title_zh}",
                    user_ids=told,
                ),
            )
    _changed(session, task, "published")
    return task


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
        events.record(
            session,
            events.TaskNews(
                "task_invited",
                task.id,
                task.organization_id,
                f"Invited to bid: {task.title_en}",
                f"邀请投标：{task.title_zh}",
                user_ids=_member_ids(session, {team.id}),
            ),
        )
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


# Bidding ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BidSpec:
    team_id: int
    approach: str
    price_cny: Decimal
    timeline_days: int
    credentials: str = ""


def _check_bidding_open(task: Task, now: datetime) -> None:
    if task.status is TaskStatus.OPEN and not rules.bid_open(task.status.value, task.bid_deadline, now):
        raise InvalidTransition(
            "The bid deadline has passed; bids can no longer be placed, changed or withdrawn.",
            "投标已截止，不能再提交、修改或撤回投标。",
            details={
                "status": task.status.value,
                "bid_deadline": task.bid_deadline.isoformat() if task.bid_deadline else None,
            },
        ) from None
    if task.status is not TaskStatus.OPEN:
        now_en, now_zh = lifecycles.TASK_STATUS_NAMES[task.status]
        raise InvalidTransition(
            f"This task is {now_en}; it takes no bids.",
            f"该任务{now_zh}，不接受投标。",
            details={"status": task.status.value, "wanted": "bid"},
        )


def _check_price(price: Decimal, timeline_days: int) -> None:
    rules.check_amount(price, "price_cny")
    if not 1 <= timeline_days <= rules.MAX_TIMELINE_DAYS:
        raise InvalidInput(
            f"The timeline must be between 1 and {rules.MAX_TIMELINE_DAYS} days.",
            f"工期须在 1 至 {rules.MAX_TIMELINE_DAYS} 天之间。",
            details={"fields": {"timeline_days": "out_of_range"}},
        )


def place_bid(session: Session, principal: Principal, task_id: int, spec: BidSpec, now: datetime) -> TaskBid:
    """One proposal per team per task, before the deadline (the server's clock), once the team accepted a
    confidential task's terms. A second bid by the same team is refused (and the database refuses it)."""
    task = get_task(session, principal, task_id, lock=True)
    team = _own_team(session, principal, task, spec.team_id)
    _check_bidding_open(task, now)
    if task.confidential and not session.scalar(
        select(TaskTermsAcceptance.id).where(
            TaskTermsAcceptance.task_id == task.id, TaskTermsAcceptance.team_id == team.id
        )
    ):
        raise Forbidden(
            "bid on this confidential task before your team accepts its terms",
            "在接受保密条款前投标该保密任务",
        )
    _check_price(spec.price_cny, spec.timeline_days)
    bid = TaskBid(
        task_id=task.id,
        team_id=team.id,
        submitted_by_id=principal.user_id or 0,
        approach=spec.approach,
        price_cny=spec.price_cny,
        timeline_days=spec.timeline_days,
        credentials=spec.credentials,
    )
    try:
        with session.begin_nested():
            session.add(bid)
            session.flush()
    except IntegrityError:
        raise AlreadyExists(
            "Your team has already bid on this task; change that bid instead.",
            "您的团队已投标此任务，请修改原投标。",
            details={"task_id": task.id, "team_id": team.id},
        ) from None
    _edge(
        session,
        task,
        team.id,
        InteractionKind.TASK_BID,
        now,
        quantity=float(spec.price_cny),
        outcome="submitted",
    )
    events.record(
        session,
        events.TaskNews(
            "task_bid_received",
            task.id,
            task.organization_id,
            f"New bid on {task.title_en}: {team.name_en}",
            f"{task.title_zh}收到新投标：{team.name_zh}",
            to_hosts=True,
        ),
    )
    _changed(session, task, "bid_placed")
    return bid


def _bid(session: Session, bid_id: int, *, lock: bool = False) -> TaskBid:
    bid = session.get(TaskBid, bid_id, with_for_update=lock, populate_existing=lock)
    if bid is None:
        raise NotFound("bid", "投标", bid_id)
    return bid


def _own_bid(session: Session, principal: Principal, bid_id: int) -> tuple[TaskBid, Task]:
    bid = _bid(session, bid_id)
    if bid.team_id not in principal.teams:
        raise NotFound("bid", "投标", bid_id)
    task = get_task(session, principal, bid.task_id, lock=True)
    session.refresh(bid)
    return bid, task


def update_bid(
    session: Session, principal: Principal, bid_id: int, changes: dict[str, Any], now: datetime
) -> TaskBid:
    check_editable(changes, ("approach", "price_cny", "timeline_days", "credentials"))
    bid, task = _own_bid(session, principal, bid_id)
    _check_bidding_open(task, now)
    if bid.status not in lifecycles.BID_EDITABLE:
        lifecycles.check_bid_move(bid.status, BidStatus.SUBMITTED)
    _check_price(changes.get("price_cny", bid.price_cny), changes.get("timeline_days", bid.timeline_days))
    for name, value in changes.items():
        setattr(bid, name, value)
    bid.clarification_request = ""
    session.flush()
    team = session.get(Team, bid.team_id)
    events.record(
        session,
        events.TaskNews(
            "task_bid_received",
            task.id,
            task.organization_id,
            f"Bid changed on {task.title_en}: {team.name_en if team else ''}",
            f"{task.title_zh}的投标已更新：{team.name_zh if team else ''}",
            to_hosts=True,
        ),
    )
    return bid


def withdraw_bid(session: Session, principal: Principal, bid_id: int, now: datetime) -> TaskBid:
    bid, task = _own_bid(session, principal, bid_id)
    _check_bidding_open(task, now)
    lifecycles.check_bid_move(bid.status, BidStatus.WITHDRAWN)
    bid.status = BidStatus.WITHDRAWN
    session.flush()
    _changed(session, task, "bid_withdrawn")
    return bid


def shortlist_bid(session: Session, principal: Principal, bid_id: int, clarification: str = "") -> TaskBid:
    """The host shortlists a bid, and may ask its team to clarify something."""
    bid = _bid(session, bid_id)
    task = _hosted(session, principal, bid.task_id, lock=True)
    session.refresh(bid)
    if bid.status is not BidStatus.SHORTLISTED:
        lifecycles.check_bid_move(bid.status, BidStatus.SHORTLISTED)
        bid.status = BidStatus.SHORTLISTED
    if clarification:
        bid.clarification_request = clarification
        events.record(
            session,
            events.TaskNews(
                "task_clarification",
                task.id,
                task.organization_id,
                f"Please clarify your bid: {task.title_en}",
                f"请澄清您的投标：{task.title_zh}",
                clarification,
                clarification,
                user_ids=_member_ids(session, {bid.team_id}),
            ),
        )
    session.flush()
    return bid


def bids_for(
    session: Session, principal: Principal, task_id: int, *, model_folder: Any = None
) -> tuple[Task, list[TaskBid]]:
    """The host sees every bid, ranked; a team sees its own."""
    task = get_task(session, principal, task_id)
    query = select(TaskBid).where(TaskBid.task_id == task.id).options(selectinload(TaskBid.team))
    if rules.is_host_of(principal, ref(session, task)):
        found = list(session.scalars(query))
        fits = team_fits(session, task, [b.team_id for b in found], model_folder=model_folder)
        order = rules.rank_bids(
            [
                rules.BidFacts(
                    b.id,
                    b.price_cny,
                    b.timeline_days,
                    fits.get(b.team_id, 0.0),
                    b.status is BidStatus.SHORTLISTED,
                )
                for b in found
                if b.status is not BidStatus.WITHDRAWN
            ],
            task.reward_max_cny,
        )
        by_id = {b.id: b for b in found}
        return task, [by_id[i] for i in order] + [b for b in found if b.status is BidStatus.WITHDRAWN]
    mine = list(principal.teams)
    return task, list(session.scalars(query.where(TaskBid.team_id.in_(mine)).order_by(TaskBid.id)))


def team_fits(
    session: Session, task: Task, team_ids: Sequence[int], *, model_folder: Any = None
) -> dict[int, float]:
    """How well each team fits the task, by its capability tags (the share of the task's tags it has)."""
    if not team_ids:
        return {}
    wanted = {t.slug for t in task.tags}
    teams = session.scalars(select(Team).where(Team.id.in_(list(team_ids))).options(selectinload(Team.tags)))
    return {t.id: (len(wanted & {x.slug for x in t.tags}) / len(wanted) if wanted else 0.0) for t in teams}


def attach(
    session: Session, principal: Principal, bid_id: int, filename: str, content: bytes, now: datetime
) -> TaskAttachment:
    """Attach a file to one's own bid while bidding is open; its type is proven by its first bytes."""
    bid, task = _own_bid(session, principal, bid_id)
    _check_bidding_open(task, now)
    if bid.status not in lifecycles.BID_EDITABLE:
        lifecycles.check_bid_move(bid.status, BidStatus.SUBMITTED)
    existing = session.scalar(
        select(func.count()).select_from(TaskAttachment).where(TaskAttachment.bid_id == bid.id)
    )
    media_type = rules.check_attachment(content, int(existing or 0))
    found = TaskAttachment(
        bid_id=bid.id,
        filename=filename,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by_id=principal.user_id or 0,
        uploaded_at=now,
    )
    session.add(found)
    session.flush()
    return found


def attachments_of(session: Session, bid_ids: Sequence[int]) -> dict[int, list[TaskAttachment]]:
    found: dict[int, list[TaskAttachment]] = {}
    if bid_ids:
        query = (
            select(TaskAttachment).where(TaskAttachment.bid_id.in_(list(bid_ids))).order_by(TaskAttachment.id)
        )
        for a in session.scalars(query):
            found.setdefault(a.bid_id, []).append(a)
    return found


def get_attachment(session: Session, principal: Principal, attachment_id: int) -> TaskAttachment:
    """For the task's host and the bidding team only."""
    found = session.get(TaskAttachment, attachment_id)
    if found is None:
        raise NotFound("attachment", "附件", attachment_id)
    bid = _bid(session, found.bid_id)
    try:
        task = get_task(session, principal, bid.task_id)
    except NotFound:
        raise NotFound("attachment", "附件", attachment_id) from None
    if bid.team_id not in principal.teams and not is_host(session, principal, task):
        raise NotFound("attachment", "附件", attachment_id)
    return found


# Questions and answers ------------------------------------------------------------------------------


def ask(
    session: Session, principal: Principal, task_id: int, team_id: int, question: str, now: datetime
) -> TaskQuestion:
    task = get_task(session, principal, task_id)
    team = _own_team(session, principal, task, team_id)
    check_details_visible(session, principal, task)
    if task.status not in (TaskStatus.OPEN, TaskStatus.BIDDING_CLOSED):
        raise InvalidTransition(
            "Questions are asked while the task is open for bids.",
            "只能在任务招标期间提问。",
            details={"status": task.status.value, "wanted": "ask"},
        )
    asked = TaskQuestion(
        task_id=task.id, team_id=team.id, asked_by_id=principal.user_id or 0, question=question
    )
    session.add(asked)
    session.flush()
    events.record(
        session,
        events.TaskNews(
            "task_question_asked",
            task.id,
            task.organization_id,
            f"New question on {task.title_en}",
            f"{task.title_zh}有新提问",
            question,
            question,
            to_hosts=True,
        ),
    )
    return asked


def answer(
    session: Session, principal: Principal, question_id: int, text: str, now: datetime
) -> TaskQuestion:
    asked = session.get(TaskQuestion, question_id, with_for_update=True, populate_existing=True)
    if asked is None:
        raise NotFound("question", "问题", question_id)
    task = _hosted(session, principal, asked.task_id)
    asked.answer = text
    asked.answered_at = now
    session.flush()
    bidders = set(_bidder_user_ids(session, task.id)) | set(_member_ids(session, {asked.team_id}))
    events.record(
        session,
        events.TaskNews(
            "task_answered",
            task.id,
            task.organization_id,
            f"Answered: {task.title_en}",
            f"答疑：{task.title_zh}",
            f"Q: {asked.question}\nA: {text}",
            f"问：{asked.question}\n答：{text}",
            user_ids=tuple(sorted(bidders)),
        ),
    )
    return asked


def questions(session: Session, principal: Principal, task_id: int) -> list[TaskQuestion]:
    """The thread is for everyone who may read the task's details: the answers are for all bidders."""
    task = get_task(session, principal, task_id)
    check_details_visible(session, principal, task)
    return list(
        session.scalars(select(TaskQuestion).where(TaskQuestion.task_id == task.id).order_by(TaskQuestion.id))
    )


# Deadlines ------------------------------------------------------------------------------------------


def close_lapsed_bidding(session: Session, now: datetime) -> list[int]:
    """Close bidding on every open task whose bid deadline has come (the scheduled job runs this).
    Conditional on the task still being open, so a host's award at the same moment is not undone."""
    due = list(
        session.scalars(
            select(Task.id).where(
                Task.status == TaskStatus.OPEN, Task.bid_deadline.is_not(None), Task.bid_deadline <= now
            )
        )
    )
    closed: list[int] = []
    for task_id in due:
        won = session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.OPEN)
            .values(status=TaskStatus.BIDDING_CLOSED)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            closed.append(task_id)
            task = session.get(Task, task_id, populate_existing=True)
            if task is not None:
                _changed(session, task, "bidding_closed")
    session.flush()
    return closed


# Award and cancellation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    due_on: date
    amount_cny: Decimal


def award(
    session: Session,
    principal: Principal,
    task_id: int,
    bid_id: int,
    milestones: Sequence[MilestoneSpec],
    now: datetime,
) -> TaskBid:
    """Award a bid: the task row is locked and read afresh, so of two awards at once the second sees the
    first; on a single-award task the database also refuses a second award."""
    task = _hosted(session, principal, task_id, lock=True)
    bid = _bid(session, bid_id, lock=True)
    if bid.task_id != task.id:
        raise NotFound("bid", "投标", bid_id)
    awarded = (
        session.scalar(
            select(func.count())
            .select_from(TaskBid)
            .where(TaskBid.task_id == task.id, TaskBid.status == BidStatus.AWARDED)
        )
        or 0
    )
    if task.status is TaskStatus.AWARDED and awarded >= task.max_awards:
        raise InvalidTransition(
            "This task has already been awarded.",
            "该任务已授标。",
            details={"status": task.status.value, "wanted": TaskStatus.AWARDED.value},
        )
    lifecycles.check_task_move(task.status, TaskStatus.AWARDED)
    lifecycles.check_bid_move(bid.status, BidStatus.AWARDED)
    plan = list(milestones) or [MilestoneSpec("交付 / Delivery", task.deadline or now.date(), bid.price_cny)]
    if len(plan) > rules.MAX_MILESTONES:
        raise InvalidInput(
            f"At most {rules.MAX_MILESTONES} milestones.",
            f"里程碑最多 {rules.MAX_MILESTONES} 个。",
            details={"fields": {"milestones": "too_long"}},
        )
    for m in plan:
        rules.check_amount(m.amount_cny, "milestones.amount_cny")
        if m.due_on < now.date():
            raise InvalidInput(
                "A milestone cannot be due in the past.",
                "里程碑的到期日不能早于今天。",
                details={"fields": {"milestones.due_on": "in_the_past"}},
            )
    try:
        with session.begin_nested():
            bid.status = BidStatus.AWARDED
            bid.awarded_at = now
            bid.sole_award = True if task.max_awards == 1 else None
            session.flush()
    except IntegrityError:
        raise InvalidTransition(
            "This task has already been awarded.",
            "该任务已授标。",
            details={"status": TaskStatus.AWARDED.value, "wanted": TaskStatus.AWARDED.value},
        ) from None
    task.status = TaskStatus.AWARDED
    for position, m in enumerate(plan, start=1):
        session.add(
            TaskMilestone(
                task_id=task.id,
                bid_id=bid.id,
                position=position,
                title=m.title,
                due_on=m.due_on,
                amount_cny=m.amount_cny,
            )
        )
    if awarded + 1 >= task.max_awards:
        _release_others(
            session, task, keep=bid.id, reason_en="awarded to another team", reason_zh="已授予其他团队"
        )
    session.flush()
    _edge(
        session,
        task,
        bid.team_id,
        InteractionKind.TASK_AWARD,
        now,
        quantity=float(bid.price_cny),
        outcome="awarded",
    )
    events.record(
        session,
        events.TaskNews(
            "task_decided",
            task.id,
            task.organization_id,
            f"Your bid won: {task.title_en}",
            f"您的投标已中标：{task.title_zh}",
            user_ids=_member_ids(session, {bid.team_id}),
        ),
    )
    _changed(session, task, "awarded")
    return bid


def _release_others(
    session: Session, task: Task, *, keep: int | None, reason_en: str, reason_zh: str, comment: str = ""
) -> None:
    others = list(
        session.scalars(
            select(TaskBid).where(
                TaskBid.task_id == task.id,
                TaskBid.status.in_((BidStatus.SUBMITTED, BidStatus.SHORTLISTED)),
                TaskBid.id != (keep or 0),
            )
        )
    )
    for other in others:
        other.status = BidStatus.NOT_AWARDED
    users = _member_ids(session, {o.team_id for o in others})
    if users:
        body_en = f"{reason_en}." + (f" {comment}" if comment else "")
        body_zh = f"{reason_zh}。" + (f"{comment}" if comment else "")
        events.record(
            session,
            events.TaskNews(
                "task_decided",
                task.id,
                task.organization_id,
                f"Not awarded: {task.title_en}",
                f"未中标：{task.title_zh}",
                body_en,
                body_zh,
                user_ids=users,
            ),
        )


CANCEL_REASONS: dict[str, tuple[str, str]] = {
    CancelReason.NO_BIDS: ("no bids", "无人投标"),
    CancelReason.NO_SUITABLE_BID: ("no suitable bid", "无合适投标"),
    CancelReason.REQUIREMENTS_CHANGED: ("the requirements changed", "需求变更"),
    CancelReason.BUDGET_WITHDRAWN: ("the budget was withdrawn", "预算撤销"),
    CancelReason.TEAM_UNRESPONSIVE: ("the awarded team did not respond", "中标团队无响应"),
}


def cancel_task(
    session: Session, principal: Principal, task_id: int, reason: str, comment: str, now: datetime
) -> Task:
    """Cancel with a reason from the fixed set and a comment every bidder sees."""
    task = _hosted(session, principal, task_id, lock=True)
    lifecycles.check_task_move(task.status, TaskStatus.CANCELLED)
    task.status = TaskStatus.CANCELLED
    task.cancel_reason = CancelReason(reason)
    task.cancel_comment = comment
    reason_en, reason_zh = CANCEL_REASONS[reason]
    _release_others(
        session,
        task,
        keep=None,
        reason_en=f"Cancelled: {reason_en}",
        reason_zh=f"已取消：{reason_zh}",
        comment=comment,
    )
    awarded = list(
        session.scalars(
            select(TaskBid).where(TaskBid.task_id == task.id, TaskBid.status == BidStatus.AWARDED)
        )
    )
    if awarded:
        events.record(
            session,
            events.TaskNews(
                "task_decided",
                task.id,
                task.organization_id,
                f"Cancelled: {task.title_en}",
                f"任务已取消：{task.title_zh}",
                f"Reason: {reason_en}. {comment}".strip(),
                f"原因：{reason_zh}。{comment}".strip(),
                user_ids=_member_ids(session, {b.team_id for b in awarded}),
            ),
        )
    session.flush()
    _changed(session, task, "cancelled")
    return task


# Delivery -------------------------------------------------------------------------------------------


def _milestone(session: Session, principal: Principal, milestone_id: int) -> tuple[TaskMilestone, Task, bool]:
    found = session.get(TaskMilestone, milestone_id)
    if found is None:
        raise NotFound("milestone", "里程碑", milestone_id)
    team_id = found.bid.team_id
    try:
        task = get_task(session, principal, found.task_id, lock=True)
    except NotFound:
        raise NotFound("milestone", "里程碑", milestone_id) from None
    host = rules.is_host_of(principal, ref(session, task))
    if not host and team_id not in principal.teams:
        raise NotFound("milestone", "里程碑", milestone_id)
    session.refresh(found, with_for_update=True)
    return found, task, host


def deliver(
    session: Session, principal: Principal, milestone_id: int, note: str, now: datetime
) -> TaskMilestone:
    found, task, _host = _milestone(session, principal, milestone_id)
    if found.bid.team_id not in principal.teams:
        raise Forbidden("deliver work for another team", "代替其他团队交付")
    if task.status is TaskStatus.CANCELLED:
        lifecycles.check_task_move(task.status, TaskStatus.IN_DELIVERY)
    lifecycles.check_milestone_move(found.status, MilestoneStatus.DELIVERED)
    if task.status is TaskStatus.AWARDED:
        lifecycles.check_task_move(task.status, TaskStatus.IN_DELIVERY)
        task.status = TaskStatus.IN_DELIVERY
    found.status = MilestoneStatus.DELIVERED
    found.delivery_note = note
    found.delivered_at = now
    session.flush()
    events.record(
        session,
        events.TaskNews(
            "task_milestone_delivered",
            task.id,
            task.organization_id,
            f"Delivered: {found.title} ({task.title_en})",
            f"已交付：{found.title}（{task.title_zh}）",
            note,
            note,
            to_hosts=True,
        ),
    )
    _changed(session, task, "delivered")
    return found


def review(
    session: Session, principal: Principal, milestone_id: int, accept: bool, comment: str, now: datetime
) -> TaskMilestone:
    """The host accepts a delivered milestone, or asks for a revision with comments. The last accepted
    milestone of the last awarded team completes the task."""
    found, task, host = _milestone(session, principal, milestone_id)
    if not host:
        raise Forbidden("review this delivery", "验收该交付")
    target = MilestoneStatus.ACCEPTED if accept else MilestoneStatus.REVISION_REQUESTED
    lifecycles.check_milestone_move(found.status, target)
    if not accept and not comment.strip():
        raise InvalidInput(
            "Say what should be revised.",
            "请说明需要修改的内容。",
            details={"fields": {"comment": "required"}},
        )
    found.status = target
    found.review_comment = comment
    if accept:
        found.accepted_at = now
    session.flush()
    on_time = found.delivered_at is not None and found.delivered_at.date() <= found.due_on
    _edge(
        session,
        task,
        found.bid.team_id,
        InteractionKind.TASK_DELIVERY,
        now,
        quantity=float(found.amount_cny),
        outcome="accepted" if accept else "revision_requested",
        detail={"milestone_id": found.id, "on_time": on_time},
    )
    open_left = session.scalar(
        select(func.count())
        .select_from(TaskMilestone)
        .where(TaskMilestone.task_id == task.id, TaskMilestone.status != MilestoneStatus.ACCEPTED)
    )
    if accept and not open_left and task.status is TaskStatus.IN_DELIVERY:
        lifecycles.check_task_move(task.status, TaskStatus.COMPLETED)
        task.status = TaskStatus.COMPLETED
    verb_en, verb_zh = ("Accepted", "已验收") if accept else ("Revision requested", "需修改")
    events.record(
        session,
        events.TaskNews(
            "task_milestone_reviewed",
            task.id,
            task.organization_id,
            f"{verb_en}: {found.title} ({task.title_en})",
            f"{verb_zh}：{found.title}（{task.title_zh}）",
            comment,
            comment,
            user_ids=_member_ids(session, {found.bid.team_id}),
        ),
    )
    session.flush()
    _changed(session, task, "reviewed")
    return found


def mark_paid(session: Session, principal: Principal, milestone_id: int, now: datetime) -> TaskMilestone:
    found, _task, host = _milestone(session, principal, milestone_id)
    if not host:
        raise Forbidden("record payments", "记录付款")
    lifecycles.check_payment(found.status, found.payment_status, PaymentStatus.PAID)
    found.payment_status = PaymentStatus.PAID
    found.paid_at = now
    session.flush()
    return found


def milestones_of(session: Session, principal: Principal, task_id: int) -> list[TaskMilestone]:
    task = get_task(session, principal, task_id)
    query = (
        select(TaskMilestone)
        .where(TaskMilestone.task_id == task.id)
        .order_by(TaskMilestone.bid_id, TaskMilestone.position)
    )
    if not rules.is_host_of(principal, ref(session, task)):
        query = query.join(TaskBid, TaskBid.id == TaskMilestone.bid_id).where(
            TaskBid.team_id.in_(list(principal.teams) or [0])
        )
    return list(session.scalars(query))


# Ratings --------------------------------------------------------------------------------------------


def rate(
    session: Session,
    principal: Principal,
    task_id: int,
    team_id: int,
    score: int,
    comment: str,
    now: datetime,
) -> TaskRating:
    """When the task is completed, the host rates each awarded team and each awarded team rates the host;
    once each."""
    task = get_task(session, principal, task_id, lock=True)
    if task.status is not TaskStatus.COMPLETED:
        now_en, now_zh = lifecycles.TASK_STATUS_NAMES[task.status]
        raise InvalidTransition(
            f"Ratings are given once a task is completed; this one is {now_en}.",
            f"任务完成后方可评价；该任务当前{now_zh}。",
            details={"status": task.status.value, "wanted": "rated"},
        )
    awarded = session.scalar(
        select(TaskBid.id).where(
            TaskBid.task_id == task.id, TaskBid.team_id == team_id, TaskBid.status == BidStatus.AWARDED
        )
    )
    if awarded is None:
        raise InvalidInput(
            "Only a team that did the work is rated, and rates.",
            "只有承接该任务的团队可以被评价或评价。",
            details={"fields": {"team_id": "not_awarded"}},
        )
    if rules.is_host_of(principal, ref(session, task)):
        side = "host"
    elif team_id in principal.teams:
        side = "team"
    else:
        raise Forbidden("rate this task", "评价该任务")
    rating = TaskRating(
        task_id=task.id,
        team_id=team_id,
        by_side=side,
        rated_by_id=principal.user_id,
        score=score,
        comment=comment,
        rated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise AlreadyExists(
            "You have already rated this.", "您已评价过。", details={"task_id": task.id, "team_id": team_id}
        ) from None
    if side == "host":
        _edge(session, task, team_id, InteractionKind.TASK_RATING, now, rating=score, outcome="")
        users = _member_ids(session, {team_id})
        events.record(
            session,
            events.TaskNews(
                "task_rated",
                task.id,
                task.organization_id,
                f"The host rated your work on {task.title_en}: {score}/5",
                f"发布方对您在“{task.title_zh}”中的工作评分：{score}/5",
                comment,
                comment,
                user_ids=users,
            ),
        )
    else:
        events.record(
            session,
            events.TaskNews(
                "task_rated",
                task.id,
                task.organization_id,
                f"A team rated your task {task.title_en}: {score}/5",
                f"团队对您的任务“{task.title_zh}”评分：{score}/5",
                comment,
                comment,
                to_hosts=True,
            ),
        )
    return rating


def ratings_of(session: Session, principal: Principal, task_id: int) -> list[TaskRating]:
    task = get_task(session, principal, task_id)
    return list(
        session.scalars(select(TaskRating).where(TaskRating.task_id == task.id).order_by(TaskRating.id))
    )


def history_of(session: Session, principal: Principal, task_id: int) -> list[TaskRevision]:
    task = get_task(session, principal, task_id)
    check_details_visible(session, principal, task)
    return list(
        session.scalars(
            select(TaskRevision).where(TaskRevision.task_id == task.id).order_by(TaskRevision.version)
        )
    )


# Figures --------------------------------------------------------------------------------------------


def figures(session: Session, space_id: int) -> dict[str, Any]:
    """What managers report: tasks posted, awarded, the value awarded, and milestones delivered on time."""
    posted = (
        session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.space_id == space_id, Task.status != TaskStatus.DRAFT)
        )
        or 0
    )
    awarded_bids = list(
        session.scalars(
            select(TaskBid)
            .join(Task, Task.id == TaskBid.task_id)
            .where(Task.space_id == space_id, TaskBid.status == BidStatus.AWARDED)
        )
    )
    delivered = list(
        session.scalars(
            select(TaskMilestone)
            .join(Task, Task.id == TaskMilestone.task_id)
            .where(Task.space_id == space_id, TaskMilestone.delivered_at.is_not(None))
        )
    )
    on_time = sum(1 for m in delivered if m.delivered_at is not None and m.delivered_at.date() <= m.due_on)
    return {
        "tasks_posted": int(posted),
        "tasks_awarded": len({b.task_id for b in awarded_bids}),
        "value_awarded_cny": str(sum((b.price_cny for b in awarded_bids), Decimal(0))),
        "milestones_delivered": len(delivered),
        "milestones_on_time": on_time,
    }


def space_figures(session: Session, principal: Principal, space_id: int) -> dict[str, Any]:
    if session.get(Space, space_id) is None:
        raise NotFound("space", "空间", space_id)
    if not principal.is_manager_of(space_id):
        raise Forbidden("see this space's task figures", "查看该空间的任务统计")
    return figures(session, space_id)


def my_bid(session: Session, principal: Principal, task_id: int) -> TaskBid | None:
    if not principal.teams:
        return None
    return session.scalar(
        select(TaskBid).where(TaskBid.task_id == task_id, TaskBid.team_id.in_(list(principal.teams))).limit(1)
    )


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


# Helpers --------------------------------------------------------------------------------------------


def _member_ids(session: Session, team_ids: set[int] | frozenset[int]) -> tuple[int, ...]:
    if not team_ids:
        return ()
    return tuple(
        sorted(set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(list(team_ids))))))
    )


def _bidder_user_ids(session: Session, task_id: int) -> tuple[int, ...]:
    teams = set(
        session.scalars(
            select(TaskBid.team_id).where(TaskBid.task_id == task_id, TaskBid.status.in_(STANDING))
        )
    )
    return _member_ids(session, teams)


def _edge(
    session: Session,
    task: Task,
    team_id: int,
    kind: InteractionKind,
    at: datetime,
    *,
    quantity: float = 0.0,
    rating: int | None = None,
    outcome: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Bids, awards, deliveries and ratings become edges of the graph the matchmaker learns from."""
    session.add(
        Interaction(
            space_id=task.space_id,
            team_id=team_id,
            task_id=task.id,
            kind=kind,
            occurred_at=at,
            quantity=quantity,
            rating=rating,
            outcome=outcome or None,
            detail=detail or {},
        )
    )


def public_state(session: Session, task: Task) -> dict[str, Any]:
    """What anyone who may see the task may know live: its state and how many bids stand."""
    return {"id": task.id, "status": task.status.value, "bid_count": bid_count(session, task.id)}


def _changed(session: Session, task: Task, action: str) -> None:
    session.flush()
    events.record(
        session,
        events.TaskChanged(
            action,
            task.space_id,
            task.id,
            task.organization_id,
            task.visibility.value,
            public_state(session, task),
        ),
    )


def is_host(session: Session, principal: Principal, task: Task) -> bool:
    return rules.is_host_of(principal, ref(session, task))


def admitted_teams(session: Session, space_id: int) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .where(Team.space_id == space_id, Team.admission_status == AdmissionStatus.ADMITTED)
            .options(selectinload(Team.tags))
            .order_by(Team.id)
        )
    )
