"""The one way to build valid rows: get-or-create by natural key, so loading twice does no harm.

Tests reuse these builders for their fixtures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import passwords
from matchmaker.operations.teams import FREE_RESIDENCE_MONTHS, add_months
from models import (
    AdmissionStatus,
    Allowance,
    Availability,
    Introduction,
    Membership,
    MentorRequest,
    Organization,
    OrganizationKind,
    Resource,
    ResourceKind,
    Role,
    Space,
    Stage,
    StageChange,
    Tag,
    Task,
    Team,
    TeamMember,
    TeamRole,
    User,
)
from models.spaces import EntityNature

# The checklist a manager reviews admissions against, drawn from the guideline's project screening
# (task 5) and Hunan's entry conditions; a space's own wording is in its profile.
DEFAULT_ENTRY_CRITERIA: list[dict[str, str]] = [
    {
        "key": "niche_fit",
        "zh": "项目方向与空间专业领域及依托主体主营业务相关",
        "en": "The project fits the space's niche and the host's main business",
    },
    {
        "key": "core_team",
        "zh": "有稳定的核心团队（至少2名全职成员）",
        "en": "A stable core team (at least 2 full-time members)",
    },
    {
        "key": "technology",
        "zh": "拥有自主知识产权或明确的技术方案",
        "en": "Owns intellectual property or has a clear technical plan",
    },
    {
        "key": "rules_accepted",
        "zh": "同意遵守空间管理制度及退出条件",
        "en": "Accepts the space's management rules and exit conditions",
    },
]


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def get_or_create_tag(session: Session, slug: str, terms_zh: list[str], terms_en: list[str]) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        tag = Tag(slug=slug, label_zh=terms_zh[0], label_en=terms_en[0], terms_zh=terms_zh, terms_en=terms_en)
        session.add(tag)
        session.flush()
    return tag


def tags_by_slug(session: Session, slugs: list[str]) -> list[Tag]:
    found = {t.slug: t for t in session.scalars(select(Tag).where(Tag.slug.in_(slugs)))}
    return [found[s] for s in slugs]


def get_or_create_user(
    session: Session,
    email: str,
    display_name: str,
    *,
    password: str | None = None,
    password_hash: str | None = None,
    is_admin: bool = False,
) -> User:
    user = session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        if password_hash is None:
            password_hash = passwords.hash_password(password or "correct horse battery staple")
        user = User(
            email=email.lower(), display_name=display_name, password_hash=password_hash, is_admin=is_admin
        )
        session.add(user)
        session.flush()
    return user


def get_or_create_space(session: Session, slug: str, **fields: Any) -> Space:
    space = session.scalar(select(Space).where(Space.slug == slug))
    if space is None:
        fields.setdefault("name_zh", f"{slug}专业化众创空间")
        fields.setdefault("name_en", f"{slug} specialized maker space")
        fields.setdefault("niche_zh", slug)
        fields.setdefault("niche_en", slug)
        fields.setdefault("entry_criteria", DEFAULT_ENTRY_CRITERIA)
        if isinstance(fields.get("operating_entity_nature"), str):
            fields["operating_entity_nature"] = EntityNature(fields["operating_entity_nature"])
        space = Space(slug=slug, **fields)
        session.add(space)
        session.flush()
    return space


def get_or_create_organization(
    session: Session,
    space: Space,
    key: str,
    *,
    kind: str = "research_institute",
    is_host: bool = False,
    name_zh: str | None = None,
    name_en: str | None = None,
) -> Organization:
    org = session.scalar(
        select(Organization).where(Organization.space_id == space.id, Organization.key == key)
    )
    if org is None:
        org = Organization(
            space_id=space.id,
            key=key,
            kind=OrganizationKind(kind),
            is_host=is_host,
            name_zh=name_zh or key,
            name_en=name_en or key,
        )
        session.add(org)
        session.flush()
    return org


def get_or_create_resource(
    session: Session,
    space: Space,
    organization: Organization,
    key: str,
    *,
    kind: str = "equipment",
    category: str = "testing",
    tags: list[str] | None = None,
    **fields: Any,
) -> Resource:
    resource = session.scalar(select(Resource).where(Resource.space_id == space.id, Resource.key == key))
    if resource is None:
        fields.setdefault("name_zh", key)
        fields.setdefault("name_en", key)
        if fields.get("price_cny") is not None:
            fields["price_cny"] = Decimal(str(fields["price_cny"]))
        resource = Resource(
            space_id=space.id,
            organization_id=organization.id,
            key=key,
            kind=ResourceKind(kind),
            category=category,
            tags=tags_by_slug(session, tags or []),
            **fields,
        )
        session.add(resource)
        session.flush()
    return resource


def grant(
    session: Session, user: User, space: Space, role: str, organization: Organization | None = None
) -> Membership:
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.space_id == space.id, Membership.role == Role(role)
        )
    )
    if membership is None:
        membership = Membership(
            user_id=user.id,
            space_id=space.id,
            role=Role(role),
            organization_id=organization.id if organization else None,
        )
        session.add(membership)
        session.flush()
    return membership


def get_or_create_team(
    session: Session,
    space: Space,
    key: str,
    *,
    lead: User | None = None,
    stage: str = "nursery",
    admitted: bool = True,
    residence_start: date | None = None,
    history: list[tuple[str | None, str, date, str]] | None = None,
    tags: list[str] | None = None,
    **fields: Any,
) -> Team:
    """A team; admitted ones get their residence dates and a stage history (``history`` rows are
    ``(from, to, day, reason)``; by default one admission row into ``stage``)."""
    team = session.scalar(select(Team).where(Team.space_id == space.id, Team.key == key))
    if team is not None:
        return team
    fields.setdefault("name_zh", key)
    fields.setdefault("name_en", key)
    if fields.get("funding_ask_10k_cny") is not None:
        fields["funding_ask_10k_cny"] = Decimal(str(fields["funding_ask_10k_cny"]))
    team = Team(
        space_id=space.id, key=key, stage=Stage(stage), tags=tags_by_slug(session, tags or []), **fields
    )
    if lead is not None:
        team.members.append(TeamMember(user=lead, role=TeamRole.LEAD))
    if admitted:
        start = residence_start or date(2025, 1, 1)
        team.admission_status = AdmissionStatus.ADMITTED
        team.residence_start = start
        team.free_residence_end = add_months(start, FREE_RESIDENCE_MONTHS)
        team.criteria_met = {c["key"]: True for c in space.entry_criteria}
        team.reviewed_at = at_noon(start)
        for from_stage, to_stage, day, reason in history or [(None, stage, start, "admitted")]:
            team.stage_changes.append(
                StageChange(
                    from_stage=Stage(from_stage) if from_stage else None,
                    to_stage=Stage(to_stage),
                    reason=reason,
                    changed_at=at_noon(day),
                )
            )
        if stage in ("graduated", "exited"):
            team.ended_at = at_noon((history or [(None, stage, start, "")])[-1][2])
    session.add(team)
    session.flush()
    return team


def add_team_member(session: Session, team: Team, user: User, role: str = "member") -> TeamMember:
    existing = next((m for m in team.members if m.user_id == user.id), None)
    if existing is not None:
        return existing
    member = TeamMember(user=user, role=TeamRole(role))
    team.members.append(member)
    session.flush()
    return member


def get_or_create_task(
    session: Session, space: Space, organization: Organization, key: str, **fields: Any
) -> Task:
    task = session.scalar(select(Task).where(Task.space_id == space.id, Task.key == key))
    if task is None:
        tags = fields.pop("tags", [])
        if "budget_10k_cny" in fields:
            fields["budget_10k_cny"] = Decimal(str(fields["budget_10k_cny"]))
        task = Task(
            space_id=space.id,
            organization_id=organization.id,
            key=key,
            tags=tags_by_slug(session, tags),
            **fields,
        )
        session.add(task)
        session.flush()
    return task


def get_or_create_availability(session: Session, resource: Resource, **fields: Any) -> Availability:
    """A bookable resource's booking rules; rules already set (by a host, say) are left as they are."""
    availability = session.get(Availability, resource.id)
    if availability is None:
        availability = Availability(resource_id=resource.id, **fields)
        session.add(availability)
        session.flush()
    return availability


def get_or_create_allowance(
    session: Session,
    space: Space,
    resource_kind: str,
    stage: str,
    *,
    free_hours_per_month: int = 0,
    discount_percent: int = 0,
    max_hours_per_month: int | None = None,
) -> Allowance:
    """What a space grants its teams of one stage for one kind of resource; an existing row is kept."""
    allowance = session.scalar(
        select(Allowance).where(
            Allowance.space_id == space.id, Allowance.resource_kind == resource_kind, Allowance.stage == stage
        )
    )
    if allowance is None:
        allowance = Allowance(
            space_id=space.id,
            resource_kind=resource_kind,
            stage=stage,
            free_hours_per_month=free_hours_per_month,
            discount_percent=discount_percent,
            max_hours_per_month=max_hours_per_month,
        )
        session.add(allowance)
        session.flush()
    return allowance


def add_mentor_request(session: Session, **fields: Any) -> MentorRequest:
    """A mentor request as given (generated demo rows and tests); the caller keeps it consistent."""
    request = MentorRequest(**fields)
    session.add(request)
    session.flush()
    return request


def add_introduction(session: Session, **fields: Any) -> Introduction:
    """An introduction request as given (generated demo rows and tests)."""
    intro = Introduction(**fields)
    session.add(intro)
    session.flush()
    return intro
