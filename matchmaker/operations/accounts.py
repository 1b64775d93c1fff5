"""Accounts: registration, authentication, roles in spaces, personal access tokens, and the Principal."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from matchmaker import events, passwords
from matchmaker.catalogue import CONTROL
from matchmaker.errors import AlreadyExists, Forbidden, InvalidInput, NotAuthenticated, NotFound
from matchmaker.lifecycles import ACTIVE_STAGES
from matchmaker.permissions import ANONYMOUS, Principal, can_grant_roles
from models import AdmissionStatus, ApiToken, Membership, Organization, Role, Space, Team, TeamMember, User
from models.audit import AuditEntry
from models.base import utcnow
from models.narrow import Narrow, cast_table

EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,185}\.[^@\s\x00-\x1f\x7f]{2,63}$")
TOKEN_PREFIX = "mmk_"  # noqa: S105  (a public marker that makes leaked tokens easy to scan for)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    is_admin: bool = False,
    password_hash: str | None = None,
) -> User:
    """Register a user. ``password_hash`` lets the demo loader reuse one hash for its shared password."""
    email = normalise_email(email)
    fields: dict[str, str] = {}
    if not EMAIL.match(email):
        fields["email"] = "invalid"
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= 80 or CONTROL.search(display_name):
        fields["display_name"] = "invalid"
    if password_hash is None:
        weakness = "invalid" if CONTROL.search(password) else passwords.check_strength(password)
        if weakness:
            fields["password"] = weakness
    if fields:
        raise InvalidInput(
            "Please correct the highlighted fields (a valid e-mail, a name, a password of 10+ characters).",
            "请修改标出的字段（有效的电子邮箱、姓名、至少10个字符的密码）。",
            details={"fields": fields},
        )
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AlreadyExists(
            "An account with this e-mail already exists.",
            "该电子邮箱已注册。",
            details={"fields": {"email": "taken"}},
        )
    user = User(
        email=email,
        display_name=display_name,
        password_hash=password_hash or passwords.hash_password(password),
        is_admin=is_admin,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    email = normalise_email(email)
    user = None if CONTROL.search(email) else session.scalar(select(User).where(User.email == email))
    # Verify against a dummy hash when the user is unknown, so timing does not reveal who exists.
    stored = user.password_hash if user else _DUMMY_HASH
    if not passwords.verify_password(password, stored) or user is None or not user.is_active:
        raise InvalidInput(
            "E-mail or password is not correct.",
            "电子邮箱或密码不正确。",
            details={"fields": {"password": "mismatch"}},
        )
    return user


_DUMMY_HASH = passwords.hash_password(secrets.token_hex(8), n=2**14)


def end_sessions(session: Session, user: User) -> None:
    """Log the user out everywhere: session cookies carrying the old epoch stop working."""
    user.session_epoch += 1
    session.flush()
    events.record(session, events.ConnectionsEnded(user_id=user.id))


# Every request that carries a login reads the user's roles and teams, so the statements are built once,
# with bound parameters. Each kind comes as one text ("kind|space|role|other;..."): the roles of a user
# then travel in a single row, which lets a token's request read its token, user and roles at once.
_ROLE_TEXT = String(32)


def _listed(*parts: Any) -> Any:
    """One entry of a roles text: the parts joined by "|" (a missing one as empty)."""
    joined: Any = None
    for part in parts:
        piece = func.coalesce(cast(type_coerce(part, _ROLE_TEXT), _ROLE_TEXT), "")
        joined = piece if joined is None else joined.concat("|").concat(piece)
    return func.aggregate_strings(joined, ";")


def _roles_text(user_id: Any) -> Any:
    m = cast_table(Membership)
    return (
        select(_listed(literal("space"), m.c.space_id, m.c.role, m.c.organization_id))
        .where(m.c.user_id == user_id)
        .scalar_subquery()
    )


def _teams_text(user_id: Any) -> Any:
    t, tm = cast_table(Team), cast_table(TeamMember)
    resident = (t.c.admission_status == AdmissionStatus.ADMITTED) & t.c.stage.in_(ACTIVE_STAGES)
    kind = case((resident, literal("resident")), else_=literal("team"))
    return (
        select(_listed(kind, t.c.space_id, tm.c.role, tm.c.team_id))
        .select_from(tm.join(t, t.c.id == tm.c.team_id))
        .where(tm.c.user_id == user_id)
        .scalar_subquery()
    )


_ROLES_AND_TEAMS = select(_roles_text(bindparam("user_id")), _teams_text(bindparam("user_id")))

# A token's request: the token and its user (the columns a request uses, see ``models.narrow``) and the
# user's roles, in one statement.
_TOKEN = Narrow(ApiToken, ("user_id", "last_used_at", "revoked_at"))
_TOKEN_USER = Narrow(User, ("email", "display_name", "is_admin", "is_active", "locale", "session_epoch"))
_TOKENS, _USERS = cast_table(ApiToken), cast_table(User)
_TOKEN_BY_DIGEST = (
    select(
        *_TOKEN.columns, *_TOKEN_USER.columns, _roles_text(_TOKENS.c.user_id), _teams_text(_TOKENS.c.user_id)
    )
    .join_from(_TOKENS, _USERS, _USERS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.digest == bindparam("digest"))
)


def principal_for(session: Session, user: User | None) -> Principal:
    """The user's roles, host organisations and teams, read in one statement."""
    if user is None:
        return ANONYMOUS
    roles, teams = session.execute(_ROLES_AND_TEAMS, {"user_id": user.id}).one()
    return principal_of(user, roles, teams)


def principal_of(user: User, roles_text: str | None, teams_text: str | None) -> Principal:
    """The Principal from the user and the two roles texts read for them."""
    roles = set()
    orgs = set()
    teams = {}
    residencies = set()
    for entry in ";".join(filter(None, (roles_text, teams_text))).split(";"):
        if not entry:
            continue
        kind, space_text, role, other = entry.split("|")
        space_id = int(space_text)
        other_id = int(other) if other else None
        if kind in ("team", "resident") and other_id is not None:
            teams[other_id] = (space_id, role)
            if kind == "resident":
                residencies.add(space_id)
            continue
        roles.add((space_id, role))
        if role == Role.HOST_STAFF.value and other_id is not None:
            orgs.add((space_id, other_id))
    return Principal(
        user_id=user.id,
        is_admin=user.is_admin,
        roles=frozenset(roles),
        organizations=frozenset(orgs),
        teams=teams,
        residencies=frozenset(residencies),
    )


def grant_role(
    session: Session,
    actor: Principal | None,
    *,
    user: User,
    space: Space,
    role: Role,
    organization: Organization | None = None,
) -> Membership:
    """Give ``user`` a role in ``space``. ``actor=None`` is the command line (trusted)."""
    if actor is not None and not can_grant_roles(actor, space.id):
        raise Forbidden("grant roles in this space", "在该空间分配角色")
    if organization is not None and organization.space_id != space.id:
        raise InvalidInput(
            "That organisation belongs to another space.",
            "该机构不属于此空间。",
            details={"fields": {"organization_id": "other_space"}},
        )
    if role is Role.HOST_STAFF and organization is None:
        raise InvalidInput(
            "Host staff must belong to an organisation of the space.",
            "主办方人员必须隶属于空间内的某个机构。",
            details={"fields": {"organization_id": "required"}},
        )
    existing = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.space_id == space.id, Membership.role == role
        )
    )
    if existing is not None:
        existing.organization_id = organization.id if organization else existing.organization_id
        session.flush()
        return existing
    membership = Membership(
        user_id=user.id,
        space_id=space.id,
        role=role,
        organization_id=organization.id if organization else None,
    )
    session.add(membership)
    session.add(
        AuditEntry(
            actor_id=actor.user_id if actor else None,
            space_id=space.id,
            action="role_granted",
            subject=f"user:{user.id}",
            detail={"role": role.value},
        )
    )
    session.flush()
    return membership


# Personal access tokens ---------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored and shown only now."""
    name = name.strip()
    if not 1 <= len(name) <= 200 or CONTROL.search(name):
        raise InvalidInput(
            "Give the token a name of 1 to 200 characters.",
            "请为令牌命名（1至200个字符）。",
            details={"fields": {"name": "length_1_200"}},
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:10], digest=_digest(secret))
    session.add(token)
    session.flush()
    return token, secret


def token_for_secret(session: Session, secret: str) -> ApiToken:
    """The active token of an active user that this secret belongs to."""
    return token_and_principal(session, secret)[0]


def token_and_principal(session: Session, secret: str) -> tuple[ApiToken, Principal]:
    """The active token of an active user that this secret belongs to, with its user's Principal: one
    statement."""
    row = session.execute(_TOKEN_BY_DIGEST, {"digest": _digest(secret)}).first()
    if row is None:
        raise NotAuthenticated()
    token: ApiToken = _TOKEN.adopt(session, row)
    user: User = _TOKEN_USER.adopt(session, row)
    set_committed_value(token, "user", user)
    if not token.is_active or not user.is_active:
        raise NotAuthenticated()
    return token, principal_of(user, row[-2], row[-1])


def user_for_token(session: Session, secret: str) -> User:
    return token_for_secret(session, secret).user


TOKEN_USE_EVERY = timedelta(seconds=60)  # how stale a token's "last used" may get before it is written


def token_use_is_fresh(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether the recorded use is recent enough that recording this one would only cost a write."""
    return last_used_at is not None and last_used_at >= (now or utcnow()) - TOKEN_USE_EVERY


def note_token_use(session: Session, token_id: int, *, last_used_at: datetime | None = None) -> None:
    """Record when a token was last used, at most once a minute (reads must not write on every call).
    ``last_used_at``, when the caller has it, saves the statement while the record is fresh."""
    now = utcnow()
    if token_use_is_fresh(last_used_at, now):
        return
    threshold = now - TOKEN_USE_EVERY
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < threshold))
        .values(last_used_at=now)
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("token", "令牌", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        events.record(session, events.ConnectionsEnded(token_id=token.id))
    return token


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", "用户", user_id)
    return user
