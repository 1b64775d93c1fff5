"""The documented generator of 12 months of plausible demo history, and of two variants that test the
ranking's selection. Its rules are in HISTORY.md beside this file; every row it writes is marked
``generated`` and is never real activity."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker.datasets import Dataset, Event
from models import AdmissionStatus, Interaction, InteractionKind, Resource, Space, Task, TaskStatus, Team

MONTHS = 12
Adder = Callable[..., None]
MONTHLY_RATE = {"nursery": 2.0, "incubator": 3.5, "accelerator": 4.0}
KIND_MIX = {
    "nursery": {"mentor": 0.45, "equipment": 0.27, "workspace": 0.10, "fund": 0.10, "service": 0.08},
    "incubator": {
        "mentor": 0.25,
        "equipment": 0.38,
        "workspace": 0.05,
        "fund": 0.15,
        "service": 0.10,
        "pilot_line": 0.07,
    },
    "accelerator": {
        "mentor": 0.15,
        "equipment": 0.28,
        "workspace": 0.05,
        "fund": 0.25,
        "service": 0.10,
        "pilot_line": 0.17,
    },
}
FIT_SHARPNESS = 4.0  # how strongly tag fit steers a team's choice of resource
REPEAT_PROBABILITY = 0.35  # a team goes back to a resource of that kind it used before
POPULARITY_SIGMA = 0.6  # spread of each resource's fixed log-normal popularity
NO_SHOW_RATE = 0.05
HOURS = {"equipment": (1, 6), "pilot_line": (8, 48), "workspace": (2, 8), "service": (1, 4)}


@dataclass(frozen=True)
class _Team:
    id: int
    tags: frozenset[str]
    stage_at: tuple[tuple[datetime, str], ...]  # (from when, stage), ascending
    round_sought: str | None
    ask: float | None

    def stage_on(self, moment: datetime) -> str | None:
        current = None
        for since, stage in self.stage_at:
            if since <= moment:
                current = stage
        return current


def fit(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine similarity of two tag sets: 0 with nothing shared, 1 when identical."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _poisson(rng: random.Random, lam: float) -> int:
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _moment(rng: random.Random, month_start: datetime, days: int) -> datetime:
    # Working hours 09:00-18:00 in China (UTC+8) are 01:00-10:00 UTC.
    return month_start + timedelta(days=rng.randrange(days), hours=1 + rng.random() * 9)


def generate(session: Session, space: Space, *, rng: random.Random, end: date) -> int:
    """Write the space's generated history ending at ``end``; does nothing if it is already there."""
    exists = session.scalar(
        select(Interaction.id)
        .where(Interaction.space_id == space.id, Interaction.generated.is_(True))
        .limit(1)
    )
    if exists is not None:
        return 0
    resources = list(
        session.scalars(
            select(Resource)
            .where(Resource.space_id == space.id, Resource.retired_at.is_(None))
            .options(selectinload(Resource.tags))
            .order_by(Resource.id)
        )
    )
    teams = list(
        session.scalars(
            select(Team)
            .where(Team.space_id == space.id, Team.admission_status == AdmissionStatus.ADMITTED)
            .options(selectinload(Team.tags), selectinload(Team.stage_changes))
            .order_by(Team.id)
        )
    )
    popularity = {r.id: rng.lognormvariate(0, POPULARITY_SIGMA) for r in resources}
    by_kind: dict[str, list[Resource]] = {}
    for r in resources:
        by_kind.setdefault(r.kind.value, []).append(r)
    rtags = {r.id: frozenset(t.slug for t in r.tags) for r in resources}
    plain = [
        _Team(
            id=t.id,
            tags=frozenset(tag.slug for tag in t.tags),
            stage_at=tuple((c.changed_at, c.to_stage.value) for c in t.stage_changes),
            round_sought=t.round_sought,
            ask=float(t.funding_ask_10k_cny) if t.funding_ask_10k_cny is not None else None,
        )
        for t in teams
    ]
    end_at = datetime(end.year, end.month, end.day, tzinfo=UTC)
    rows: list[Interaction] = []

    def add(team: _Team, kind: InteractionKind, at: datetime, **kw: Any) -> None:
        rows.append(
            Interaction(space_id=space.id, team_id=team.id, kind=kind, occurred_at=at, generated=True, **kw)
        )

    for m in range(MONTHS, 0, -1):
        month_start = end_at - timedelta(days=30 * m)
        for team in plain:
            stage = team.stage_on(month_start)
            if stage not in MONTHLY_RATE:
                continue  # not yet resident, or graduated / exited by then
            used: dict[str, list[Resource]] = {}
            for _ in range(_poisson(rng, MONTHLY_RATE[stage])):
                mix = KIND_MIX[stage]
                kind = rng.choices(list(mix), weights=list(mix.values()))[0]
                pool = by_kind.get(kind)
                if not pool:
                    continue
                if used.get(kind) and rng.random() < REPEAT_PROBABILITY:
                    resource = rng.choice(used[kind])
                else:
                    weights = [
                        math.exp(FIT_SHARPNESS * fit(team.tags, rtags[r.id])) * popularity[r.id] for r in pool
                    ]
                    resource = rng.choices(pool, weights=weights)[0]
                used.setdefault(kind, []).append(resource)
                at = _moment(rng, month_start, 30)
                _interact(add, rng, team, resource, fit(team.tags, rtags[resource.id]), at, end_at)

    tasks = list(
        session.scalars(
            select(Task).where(Task.space_id == space.id).options(selectinload(Task.tags)).order_by(Task.id)
        )
    )
    for task in tasks:
        _bid_and_award(add, rng, task, plain, end_at)
    session.add_all(rows)
    session.flush()
    return len(rows)


def _interact(
    add: Adder, rng: random.Random, team: _Team, resource: Resource, f: float, at: datetime, end_at: datetime
) -> None:
    kind = resource.kind.value
    if kind == "mentor":
        if rng.random() < 0.3 * (1 - f):
            add(team, InteractionKind.DECLINE, at, resource_id=resource.id, outcome="declined")
            return
        rating = max(1, min(5, round(2.6 + 2.2 * f + rng.gauss(0, 0.6))))
        add(
            team,
            InteractionKind.MENTOR_SESSION,
            at,
            resource_id=resource.id,
            quantity=float(rng.choice((1, 1, 1.5, 2))),
            rating=rating,
            outcome="completed",
        )
        return
    if kind == "fund":
        rounds = resource.attributes.get("rounds") or []
        p_accept = 0.15 + 0.5 * f + (0.2 if team.round_sought in rounds else 0.0)
        roll = rng.random()
        outcome = (
            "accepted"
            if roll < p_accept
            else "declined"
            if roll < p_accept + 0.5 * (1 - p_accept)
            else "ignored"
        )
        add(team, InteractionKind.INTRODUCTION, at, resource_id=resource.id, outcome=outcome)
        if outcome == "accepted" and team.ask and rng.random() < 0.35:
            invest_at = at + timedelta(days=rng.randrange(30, 100))
            if invest_at < end_at:
                lo = float(resource.attributes.get("ticket_min_10k_cny") or 0)
                hi = float(resource.attributes.get("ticket_max_10k_cny") or team.ask)
                amount = round(min(max(team.ask * rng.uniform(0.3, 1.0), lo), max(hi, lo)), 1)
                add(
                    team,
                    InteractionKind.INVESTMENT,
                    invest_at,
                    resource_id=resource.id,
                    quantity=amount,
                    outcome="closed",
                )
        return
    lo, hi = HOURS.get(kind, (1, 4))
    no_show = rng.random() < NO_SHOW_RATE
    add(
        team,
        InteractionKind.BOOKING,
        at,
        resource_id=resource.id,
        quantity=0.0 if no_show else float(rng.randint(lo, hi)),
        outcome="no_show" if no_show else "completed",
    )


def _bid_and_award(add: Adder, rng: random.Random, task: Task, teams: list[_Team], end_at: datetime) -> None:
    task_tags = frozenset(t.slug for t in task.tags)
    posted = end_at - timedelta(days=rng.randrange(60, 330))
    candidates = [(fit(t.tags, task_tags), t) for t in teams if t.stage_on(posted) in MONTHLY_RATE]
    candidates = [c for c in candidates if c[0] > 0]
    if not candidates:
        return
    weights = [f + 0.05 for f, _ in candidates]
    count = min(len(candidates), rng.randint(2, 6))
    chosen: dict[int, tuple[float, _Team]] = {}
    while len(chosen) < count:
        f, team = rng.choices(candidates, weights=weights)[0]
        chosen[team.id] = (f, team)
    for f, team in chosen.values():
        add(
            team,
            InteractionKind.TASK_BID,
            posted + timedelta(days=rng.randrange(1, 20)),
            task_id=task.id,
            quantity=f,
        )
    decided = posted + timedelta(days=30)
    if decided < end_at:
        _, winner = max(chosen.values(), key=lambda c: c[0] + rng.gauss(0, 0.15))
        add(winner, InteractionKind.TASK_AWARD, decided, task_id=task.id, outcome="awarded")
        task.status = TaskStatus.AWARDED
    task.deadline = (posted + timedelta(days=90)).date()


# Variants ------------------------------------------------------------------------------------------
#
# Two generated histories over the same teams and resources, built to test that the ranking serves
# whatever actually drives choices (see HISTORY.md, "Variants"): in "no-content" choices follow
# popularity that drifts over the year, each team's own repeat use and noise, never what the texts or
# tags say; in "content-only" they follow tag fit alone.
VARIANTS = ("no-content", "content-only")
VARIANT_MONTHLY_RATE = 3.0
VARIANT_REPEAT = 0.4
VARIANT_FIT_SHARPNESS = 6.0


def generate_variant(data: Dataset, variant: str, *, seed: int = 20261101, months: int = MONTHS) -> Dataset:
    """``data``'s teams and resources with a generated history of ``variant`` in place of its events."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown history variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    rng = random.Random(f"{seed}:{variant}")
    end_at = max((e.at for e in data.events), default=datetime(2026, 11, 1, tzinfo=UTC))
    resources = sorted(data.resources)
    by_space: dict[str, list[str]] = {}
    for r in resources:
        by_space.setdefault(data.resources[r].meta.get("space", ""), []).append(r)
    base = {r: rng.lognormvariate(0, 1.0) for r in resources}
    drift = {r: rng.gauss(0, 0.25) for r in resources}  # popularity rises or fades month by month
    events: list[Event] = []
    for team_id in sorted(data.teams):
        team = data.teams[team_id]
        pool = by_space.get(team.meta.get("space", ""), resources)
        if not pool:
            continue
        used: list[str] = []
        for m in range(months, 0, -1):
            month_start = end_at - timedelta(days=30 * m)
            for _ in range(_poisson(rng, VARIANT_MONTHLY_RATE * rng.uniform(0.3, 1.7))):
                if variant == "no-content":
                    if used and rng.random() < VARIANT_REPEAT:
                        choice = rng.choice(used)
                    else:
                        month = months - m
                        weights = [base[r] * math.exp(drift[r] * month) for r in pool]
                        choice = rng.choices(pool, weights=weights)[0]
                else:
                    weights = [
                        math.exp(VARIANT_FIT_SHARPNESS * fit(team.tags, data.resources[r].tags)) for r in pool
                    ]
                    choice = rng.choices(pool, weights=weights)[0]
                used.append(choice)
                at = month_start + timedelta(days=rng.random() * 30)
                events.append(Event(team_id, choice, at, "interaction"))
    return data.with_events(tuple(sorted(events, key=lambda e: e.at)))
