"""Load the demo spaces from ``seeds/data``: deterministic (a fixed seed) and idempotent (natural keys)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import passwords
from models import Resource, Space
from seeds import bookings, builders, history, mentoring
from seeds import tasks as task_history
from seeds.schema import DATA_DIR, SpaceData, TeamData, load_space_file, load_vocabulary, space_files

DEMO_PASSWORD = "maker-demo-2026"  # noqa: S105  (the documented password of the demo accounts)
DEMO_DOMAIN = "demo.example"
DEFAULT_SEED = 20261101
# The generated history ends here (not "today"), so every load produces the same rows.
HISTORY_END = date(2026, 11, 1)

Progress = Callable[[str], None]


@dataclass
class DemoLogins:
    rows: list[tuple[str, str]] = field(default_factory=list)  # (who, e-mail)

    def add(self, who: str, email: str) -> None:
        if (who, email) not in self.rows:
            self.rows.append((who, email))


def available() -> list[str]:
    return [p.stem for p in space_files()]


def load_demo(
    factory: sessionmaker[Session],
    *,
    names: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    history_end: date = HISTORY_END,
    progress: Progress = lambda _msg: None,
    data_dir: Path = DATA_DIR,
    today: date | None = None,
) -> DemoLogins:
    """Load the named demo spaces (all by default) with their generated history and bookings; safe to
    run twice. Upcoming bookings fall in the two weeks after ``today`` (the day of the load by default)."""
    vocabulary = load_vocabulary(data_dir)
    paths = {p.stem: p for p in space_files(data_dir)}
    wanted = names or sorted(paths)
    unknown = [n for n in wanted if n not in paths]
    if unknown:
        raise ValueError(
            f"unknown demo space(s): {', '.join(unknown)}; available: {', '.join(sorted(paths))}"
        )
    spaces = [load_space_file(paths[n], vocabulary) for n in wanted]
    # One hash for the shared demo password keeps loading fast; these accounts are demo-only.
    shared_hash = passwords.hash_password(DEMO_PASSWORD)
    logins = DemoLogins()

    with factory.begin() as session:
        progress(f"capability vocabulary: {len(vocabulary)} tags")
        for slug, terms in vocabulary.items():
            builders.get_or_create_tag(session, slug, terms.zh, terms.en)
        admin = builders.get_or_create_user(
            session,
            f"admin@{DEMO_DOMAIN}",
            "Platform admin 平台管理员",
            password_hash=shared_hash,
            is_admin=True,
        )
        logins.add("platform admin / 平台管理员", admin.email)

    for data in spaces:
        with factory.begin() as session:
            progress(
                f"{data.slug}: space, organisations, {len(data.resources)} resources, {len(data.teams)} teams"
            )
            space = _load_space(session, data, shared_hash, logins, history_end)
        with factory.begin() as session:
            space = session.get_one(Space, space.id)
            rng = random.Random(f"{seed}:{data.slug}")
            made = history.generate(session, space, rng=rng, end=history_end)
            progress(
                f"{data.slug}: generated history, {made} interactions"
                if made
                else f"{data.slug}: history already present"
            )
        with factory.begin() as session:
            space = session.get_one(Space, space.id)
            bookings.configure(session, space, {r.key: r.booking for r in data.resources})
            rng = random.Random(f"{seed}:{data.slug}:bookings")
            booked = bookings.generate(session, space, rng=rng, end=history_end, today=today)
            progress(
                f"{data.slug}: generated bookings, {booked.past} past ({booked.dropped} interactions left "
                f"without one), {booked.upcoming} upcoming, {booked.certificates} certificates"
                if booked
                else f"{data.slug}: bookings already present"
            )
        with factory.begin() as session:
            space = session.get_one(Space, space.id)
            rng = random.Random(f"{seed}:{data.slug}:tasks")
            lived = task_history.generate(
                session,
                space,
                rng=rng,
                end=history_end,
                today=max(today or datetime.now(UTC).date(), history_end),
            )
            progress(
                f"{data.slug}: generated task lifecycles, {lived.tasks} tasks, {lived.bids} bids, "
                f"{lived.milestones} milestones, {lived.ratings} ratings"
                if lived
                else f"{data.slug}: task lifecycles already present"
            )
        with factory.begin() as session:
            space = session.get_one(Space, space.id)
            rng = random.Random(f"{seed}:{data.slug}:mentoring")
            on = today or date.today()
            made_m = mentoring.generate(session, space, rng=rng, end=history_end, today=on)
            progress(
                f"{data.slug}: generated {made_m.requests} mentor requests, {made_m.sessions} sessions, "
                f"{made_m.introductions} introductions, {made_m.deals} deals, "
                f"{made_m.investments} investments"
                if made_m
                else f"{data.slug}: mentoring and deals already present"
            )
    return logins


def entry_criteria(policy_zh: str, policy_en: str) -> list[dict[str, str]]:
    """A space's entry policy as one criterion per clause (one clause a line in both languages), so a
    manager ticks each; a policy whose languages do not split alike stays one criterion."""
    zh = [line.strip() for line in policy_zh.splitlines() if line.strip()]
    en = [line.strip() for line in policy_en.splitlines() if line.strip()]
    if len(zh) < 2 or len(zh) != len(en):
        return [*builders.DEFAULT_ENTRY_CRITERIA, {"key": "space_rules", "zh": policy_zh, "en": policy_en}]
    pairs = enumerate(zip(zh, en, strict=True), 1)
    return [{"key": f"space_rule_{n}", "zh": z, "en": e} for n, (z, e) in pairs]


def _load_space(
    session: Session, data: SpaceData, shared_hash: str, logins: DemoLogins, history_end: date
) -> Space:
    profile = data.profile.model_dump()
    space = builders.get_or_create_space(
        session,
        data.slug,
        name_zh=data.name_zh,
        name_en=data.name_en,
        niche_zh=data.niche_zh,
        niche_en=data.niche_en,
        timezone=data.timezone,
        description_zh=data.description_zh,
        description_en=data.description_en,
        **{k: v for k, v in profile.items() if k not in ("entry_criteria_zh", "entry_criteria_en")},
        entry_criteria=entry_criteria(data.profile.entry_criteria_zh, data.profile.entry_criteria_en),
    )
    orgs = {
        o.key: builders.get_or_create_organization(
            session, space, o.key, kind=o.kind, is_host=o.is_host, name_zh=o.name_zh, name_en=o.name_en
        )
        for o in data.organizations
    }
    host = next(
        org for key, org in orgs.items() if next(o for o in data.organizations if o.key == key).is_host
    )
    domain = f"{data.slug}.{DEMO_DOMAIN}"
    manager = builders.get_or_create_user(
        session, f"manager@{domain}", f"{data.niche_zh}空间经理 Manager", password_hash=shared_hash
    )
    builders.grant(session, manager, space, "manager")
    logins.add(f"space manager / 空间经理 ({data.slug})", manager.email)
    staff = builders.get_or_create_user(
        session, f"host@{domain}", f"{host.name_zh} 主办方人员", password_hash=shared_hash
    )
    builders.grant(session, staff, space, "host_staff", host)
    logins.add(f"host staff / 主办方人员 ({data.slug})", staff.email)

    for r in data.resources:
        resource = builders.get_or_create_resource(
            session,
            space,
            orgs[r.org],
            r.key,
            **r.model_dump(exclude={"key", "org", "booking"}),
        )
        if r.kind in ("mentor", "fund") and resource.person_user_id is None:
            person = str(r.attributes.get("person_zh") or r.name_zh)
            person_en = str(r.attributes.get("person_en") or r.name_en)
            user = builders.get_or_create_user(
                session, f"{r.key}@{DEMO_DOMAIN}", f"{person} {person_en}", password_hash=shared_hash
            )
            builders.grant(session, user, space, "mentor" if r.kind == "mentor" else "investor", orgs[r.org])
            resource.person_user_id = user.id
    first_mentor = session.scalar(
        select(Resource)
        .where(Resource.space_id == space.id, Resource.person_user_id.is_not(None))
        .order_by(Resource.id)
    )
    if first_mentor is not None and first_mentor.person is not None:
        logins.add(f"mentor or investor / 导师或投资人 ({data.slug})", first_mentor.person.email)

    pending = _pending_keys(data.teams)
    founder = builders.get_or_create_user(
        session, f"founder@{DEMO_DOMAIN}", "Demo founder 演示创业者", password_hash=shared_hash
    )
    logins.add("founder, a team in every space / 创业者（各空间各一个团队）", founder.email)
    for index, t in enumerate(data.teams):
        lead = (
            founder
            if index == 0
            else builders.get_or_create_user(
                session,
                f"{t.key}@{DEMO_DOMAIN}",
                f"{t.members[0].name_zh} {t.members[0].name_en}",
                password_hash=shared_hash,
            )
        )
        team = builders.get_or_create_team(
            session,
            space,
            t.key,
            lead=lead,
            stage=t.stage,
            admitted=t.key not in pending,
            residence_start=t.residence_start,
            history=stage_history(t, history_end),
            **t.model_dump(exclude={"key", "stage", "residence_start", "members"}),
        )
        for i, member in enumerate(t.members[1:], start=1):
            user = builders.get_or_create_user(
                session,
                f"{t.key}-{i}@{DEMO_DOMAIN}",
                f"{member.name_zh} {member.name_en}",
                password_hash=shared_hash,
            )
            builders.add_team_member(session, team, user, member.role)
    for task in data.tasks:
        builders.get_or_create_task(
            session, space, orgs[task.org], task.key, **task.model_dump(exclude={"key", "org"})
        )
    return space


def _pending_keys(teams: list[TeamData], count: int = 3) -> set[str]:
    """The newest nursery applicants wait for review, so the manager's review page has work on it."""
    nursery = sorted((t for t in teams if t.stage == "nursery"), key=lambda t: (t.residence_start, t.key))
    return {t.key for t in nursery[-count:]}


CHAIN = ["nursery", "incubator", "accelerator", "graduated"]
EXIT_REASON = ("未按期完成阶段目标，经评估退出 / Missed its stage milestones and exited after review",)


def stage_history(team: TeamData, end: date) -> list[tuple[str | None, str, date, str]]:
    """A plausible path to the team's current stage: admission into the nursery, then one step every
    ~5 months (compressed when the team arrived recently), or nursery then exit."""
    path = ["nursery", "exited"] if team.stage == "exited" else CHAIN[: CHAIN.index(team.stage) + 1]
    start = team.residence_start
    room = max((end - timedelta(days=15) - start).days, len(path))
    gap = min(150, room // len(path))
    rows: list[tuple[str | None, str, date, str]] = []
    previous: str | None = None
    for i, stage in enumerate(path):
        reason = (
            "admitted / 入驻"
            if previous is None
            else EXIT_REASON[0]
            if stage == "exited"
            else "stage review passed / 阶段评审通过"
        )
        rows.append((previous, stage, start + timedelta(days=i * gap), reason))
        previous = stage
    return rows
