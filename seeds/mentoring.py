"""Generated mentor requests and sessions, introductions, deals and investments of the demo spaces.

They follow the generated history: the mentor and fund interactions of its last months become the
requests, sessions, introductions and deals behind them, and a few open ones are added so that every
state of each lifecycle appears. The rules are in HISTORY.md ("Mentoring and investment"); every row
written here is marked ``generated`` and is never real activity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import lifecycles, slots
from models import (
    Deal,
    DealStage,
    DeclineReason,
    FundPosition,
    Instrument,
    Interaction,
    InteractionKind,
    Introduction,
    IntroductionStatus,
    Investment,
    MentorMonth,
    MentorRequest,
    MentorRequestStatus,
    MentorSession,
    MentorSessionStatus,
    PassReason,
    Resource,
    Space,
    Team,
    TeamMember,
)
from seeds import builders

RECENT_DAYS = 90  # history interactions of the last three months become requests and introductions
TOPICS = (
    ("技术路线评审", "Technical roadmap review"),
    ("融资材料打磨", "Pitch deck review"),
    ("中试放大方案", "Scale-up plan"),
    ("知识产权布局", "IP strategy"),
    ("样品测试方案", "Sample test plan"),
)


@dataclass
class Made:
    requests: int = 0
    sessions: int = 0
    introductions: int = 0
    deals: int = 0
    investments: int = 0

    def __bool__(self) -> bool:
        return bool(self.requests or self.introductions)


class _Calendar:
    """Free office-hour starts per mentor: generated sessions never overlap (the database checks too)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.taken: set[tuple[int, datetime]] = set()

    def place(self, mentor_id: int, day: date, hours: int) -> tuple[datetime, datetime]:
        while True:
            if day.weekday() < 5:
                for hour in range(9, 18 - hours):
                    start = datetime.combine(day, time(hour), tzinfo=self.zone).astimezone(UTC)
                    slots_needed = {(mentor_id, start + timedelta(hours=h)) for h in range(hours)}
                    if not slots_needed & self.taken:
                        self.taken |= slots_needed
                        return start, start + timedelta(hours=hours)
            day += timedelta(days=1)


def generate(session: Session, space: Space, *, rng: random.Random, end: date, today: date) -> Made:
    """Write the space's generated mentoring and investment rows, once."""
    made = Made()
    if session.scalar(
        select(MentorRequest.id).where(MentorRequest.space_id == space.id, MentorRequest.generated.is_(True))
    ):
        return made
    zone = ZoneInfo(space.timezone)
    end_at = datetime(end.year, end.month, end.day, tzinfo=UTC)
    since = end_at - timedelta(days=RECENT_DAYS)
    resources = {r.id: r for r in session.scalars(select(Resource).where(Resource.space_id == space.id))}
    leads = {
        tm.team_id: tm.user_id
        for tm in session.scalars(
            select(TeamMember).join(Team).where(Team.space_id == space.id, TeamMember.role == "lead")
        )
    }
    history = list(
        session.scalars(
            select(Interaction)
            .where(
                Interaction.space_id == space.id,
                Interaction.generated.is_(True),
                Interaction.occurred_at >= since,
                Interaction.kind.in_(
                    (
                        InteractionKind.MENTOR_SESSION,
                        InteractionKind.DECLINE,
                        InteractionKind.INTRODUCTION,
                        InteractionKind.INVESTMENT,
                    )
                ),
            )
            .order_by(Interaction.occurred_at, Interaction.id)
        )
    )
    calendar = _Calendar(zone)
    deal_stages = (*lifecycles.DEAL_PIPELINE[:-1], DealStage.PASSED)  # "invested" comes with investments
    open_pairs: set[tuple[int, int]] = set()
    committed: dict[tuple[int, str], int] = {}

    def request_for(i: Interaction, status: MentorRequestStatus, hours: int) -> MentorRequest:
        mentor = resources[i.resource_id or 0]
        zh, en = rng.choice(TOPICS)
        return builders.add_mentor_request(
            session,
            space_id=space.id,
            team_id=i.team_id,
            mentor_id=mentor.id,
            requested_by_id=leads.get(i.team_id),
            topic=f"{zh} / {en}",
            hours=hours,
            status=status,
            created_at=i.occurred_at - timedelta(days=rng.randint(2, 6)),
            answered_at=i.occurred_at - timedelta(days=1),
            generated=True,
        )

    for i in history:
        resource = resources.get(i.resource_id or 0)
        if resource is None or i.team_id not in leads:
            continue
        if resource.kind.value == "mentor" and i.kind is InteractionKind.DECLINE:
            request = request_for(i, MentorRequestStatus.DECLINED, rng.choice((1, 2)))
            request.decline_reason = rng.choice(list(DeclineReason))
            made.requests += 1
        elif resource.kind.value == "mentor" and i.kind is InteractionKind.MENTOR_SESSION:
            hours = max(1, round(i.quantity or 1))
            month = slots.local_month(i.occurred_at, space.timezone)
            capacity = int(resource.attributes.get("monthly_hours") or 8)
            if committed.get((resource.id, month), 0) + hours > capacity:
                continue  # the mentor's month is full: the history row stays without a request
            committed[(resource.id, month)] = committed.get((resource.id, month), 0) + hours
            request = request_for(i, MentorRequestStatus.ACCEPTED, hours)
            request.month = month
            start, finish = calendar.place(resource.id, i.occurred_at.astimezone(zone).date(), hours)
            session.add(
                MentorSession(
                    request_id=request.id,
                    mentor_id=resource.id,
                    team_id=i.team_id,
                    starts_at=start,
                    ends_at=finish,
                    status=MentorSessionStatus.DELIVERED,
                    hours_delivered=i.quantity or float(hours),
                    notes="Generated demo session notes.",
                    team_rating=i.rating,
                    preparation_rating=rng.randint(2, 5),
                    generated=True,
                )
            )
            made.requests += 1
            made.sessions += 1
        elif resource.kind.value == "fund" and i.kind is InteractionKind.INTRODUCTION:
            status = {
                "accepted": IntroductionStatus.INTERESTED,
                "declined": IntroductionStatus.PASSED,
            }.get(i.outcome or "", IntroductionStatus.WITHDRAWN)
            intro = _introduction(session, space, i, resource, status, leads, rng)
            made.introductions += 1
            if status is IntroductionStatus.INTERESTED:
                # How far the deal got: in turn over the steps before "invested" (investments come next).
                _deal(session, intro, DealStage(deal_stages[made.deals % len(deal_stages)]), rng)
                made.deals += 1
        elif (
            resource.kind.value == "fund"
            and i.kind is InteractionKind.INVESTMENT
            and _invest(session, space, i, resource, leads, rng)
        ):
            made.introductions += 1
            made.deals += 1
            made.investments += 1
    session.flush()
    for (mentor_id, month), hours in committed.items():
        capacity = int(resources[mentor_id].attributes.get("monthly_hours") or 8)
        session.add(
            MentorMonth(mentor_id=mentor_id, month=month, capacity_hours=capacity, committed_hours=hours)
        )
    session.flush()
    made = _open_ones(session, space, resources, leads, calendar, open_pairs, committed, rng, today, made)
    session.flush()
    return made


def _introduction(
    session: Session,
    space: Space,
    i: Interaction,
    fund: Resource,
    status: IntroductionStatus,
    leads: dict[int, int],
    rng: random.Random,
) -> Introduction:
    team = session.get_one(Team, i.team_id)
    ask = team.funding_ask_10k_cny or Decimal(rng.choice((100, 200, 300, 500)))
    intro = builders.add_introduction(
        session,
        space_id=space.id,
        team_id=team.id,
        fund_id=fund.id,
        requested_by_id=leads[team.id],
        pitch=f"{team.name_zh} / {team.name_en}: generated demo pitch.",
        amount_sought_10k_cny=Decimal(ask),
        round_sought=team.round_sought or "seed",
        status=status,
        host_runs_fund=bool(fund.organization.is_host),
        created_at=i.occurred_at - timedelta(days=rng.randint(3, 10)),
        answered_at=None if status is IntroductionStatus.WITHDRAWN else i.occurred_at,
        generated=True,
    )
    if status is IntroductionStatus.PASSED:
        intro.pass_reason = rng.choice(list(PassReason))
    return intro


def _deal(session: Session, intro: Introduction, stage: DealStage, rng: random.Random) -> Deal:
    deal = Deal(
        introduction_id=intro.id,
        space_id=intro.space_id,
        team_id=intro.team_id,
        fund_id=intro.fund_id,
        stage=stage,
        pass_reason=rng.choice(list(PassReason)) if stage is DealStage.PASSED else None,
        generated=True,
    )
    session.add(deal)
    session.flush()
    return deal


def _invest(
    session: Session, space: Space, i: Interaction, fund: Resource, leads: dict[int, int], rng: random.Random
) -> bool:
    """An investment of the history, through a deal that reached "invested", while the fund has it."""
    size = Decimal(str(fund.attributes.get("fund_size_10k_cny") or 0))
    amount = Decimal(str(round(i.quantity or 0, 1))).quantize(Decimal("0.01"))
    position = session.get(FundPosition, fund.id)
    if position is None:
        position = FundPosition(fund_id=fund.id, size_10k_cny=size, deployed_10k_cny=Decimal(0))
        session.add(position)
    if amount <= 0 or position.deployed_10k_cny + amount > size:
        return False
    position.deployed_10k_cny += amount
    intro = _introduction(session, space, i, fund, IntroductionStatus.INTERESTED, leads, rng)
    deal = _deal(session, intro, DealStage.INVESTED, rng)
    session.add(
        Investment(
            fund_id=fund.id,
            team_id=i.team_id,
            deal_id=deal.id,
            amount_10k_cny=amount,
            instrument=rng.choice(list(Instrument)),
            invested_on=i.occurred_at.date(),
            generated=True,
        )
    )
    return True


def _open_ones(
    session: Session,
    space: Space,
    resources: dict[int, Resource],
    leads: dict[int, int],
    calendar: _Calendar,
    open_pairs: set[tuple[int, int]],
    committed: dict[tuple[int, str], int],
    rng: random.Random,
    today: date,
    made: Made,
) -> Made:
    """Requests still waiting, times proposed, a withdrawn one, sessions coming up and one cancelled, and
    introductions waiting or asked for more: the states the history does not end in."""
    mentors = sorted(
        (r for r in resources.values() if r.kind.value == "mentor" and not r.is_retired), key=lambda r: r.id
    )
    funds = sorted(
        (r for r in resources.values() if r.kind.value == "fund" and not r.is_retired), key=lambda r: r.id
    )
    teams = sorted(leads)
    if not mentors or not funds or not teams:
        return made
    now = datetime.combine(today, time(9), tzinfo=UTC)
    plan = (
        [MentorRequestStatus.PENDING] * 3
        + [MentorRequestStatus.PROPOSED] * 2
        + [MentorRequestStatus.WITHDRAWN]
        + [MentorRequestStatus.ACCEPTED] * 3
    )
    for n, status in enumerate(plan):
        mentor = mentors[n % len(mentors)]
        team_id = teams[(n * 3) % len(teams)]
        if status in (MentorRequestStatus.PENDING, MentorRequestStatus.PROPOSED):
            if (team_id, mentor.id) in open_pairs:
                continue
            open_pairs.add((team_id, mentor.id))
        zh, en = TOPICS[n % len(TOPICS)]
        request = builders.add_mentor_request(
            session,
            space_id=space.id,
            team_id=team_id,
            mentor_id=mentor.id,
            requested_by_id=leads[team_id],
            topic=f"{zh} / {en}",
            hours=1,
            status=status,
            created_at=now - timedelta(days=rng.randint(0, 5)),
            answered_at=None if status is MentorRequestStatus.PENDING else now,
            generated=True,
        )
        made.requests += 1
        day = today + timedelta(days=2 + n)
        if status is MentorRequestStatus.PROPOSED:
            start, finish = calendar.place(mentor.id, day, 1)
            request.proposed_times = [{"starts_at": start.isoformat(), "ends_at": finish.isoformat()}]
        if status is MentorRequestStatus.ACCEPTED:
            start, finish = calendar.place(mentor.id, day, 1)
            month = slots.local_month(start, space.timezone)
            capacity = int(mentor.attributes.get("monthly_hours") or 8)
            if committed.get((mentor.id, month), 0) + 1 > capacity:
                request.status = MentorRequestStatus.WITHDRAWN
                continue
            committed[(mentor.id, month)] = committed.get((mentor.id, month), 0) + 1
            row = session.get(MentorMonth, (mentor.id, month))
            if row is None:
                session.add(
                    MentorMonth(mentor_id=mentor.id, month=month, capacity_hours=capacity, committed_hours=1)
                )
            else:
                row.committed_hours += 1
            request.month = month
            # The last accepted one was cancelled; the others are coming up.
            cancelled = n == len(plan) - 1
            session.add(
                MentorSession(
                    request_id=request.id,
                    mentor_id=mentor.id,
                    team_id=team_id,
                    starts_at=start,
                    ends_at=finish,
                    status=MentorSessionStatus.CANCELLED if cancelled else MentorSessionStatus.SCHEDULED,
                    generated=True,
                )
            )
            made.sessions += 1
        session.flush()
    waiting = (IntroductionStatus.REQUESTED, IntroductionStatus.REQUESTED, IntroductionStatus.MORE_INFO)
    for n, intro_status in enumerate(waiting):
        fund = funds[n % len(funds)]
        team_id = teams[(n * 5 + 1) % len(teams)]
        if session.scalar(
            select(Introduction.id).where(
                Introduction.team_id == team_id,
                Introduction.fund_id == fund.id,
                Introduction.status.in_((IntroductionStatus.REQUESTED, IntroductionStatus.MORE_INFO)),
            )
        ):
            continue
        team = session.get_one(Team, team_id)
        builders.add_introduction(
            session,
            space_id=space.id,
            team_id=team_id,
            fund_id=fund.id,
            requested_by_id=leads[team_id],
            pitch=f"{team.name_zh} / {team.name_en}: generated demo pitch.",
            amount_sought_10k_cny=Decimal(team.funding_ask_10k_cny or 200),
            round_sought=team.round_sought or "seed",
            status=intro_status,
            host_runs_fund=bool(fund.organization.is_host),
            investor_note="Please send last quarter's test data."
            if intro_status is IntroductionStatus.MORE_INFO
            else "",
            created_at=now - timedelta(days=n + 1),
            generated=True,
        )
        made.introductions += 1
    return made
