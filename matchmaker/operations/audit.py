"""The audit log: every sensitive change is written in the same transaction as the change, with who,
what, when and the values before and after; the space's managers browse, filter and export it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.errors import Forbidden, NotFound
from matchmaker.permissions import Principal, can_see_cockpit
from models import AuditEntry, Space, User

PAGE = 100
CSV_LIMIT = 50_000


def plain(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, amounts as decimal text, enums as their value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def record(
    session: Session,
    principal: Principal,
    *,
    space_id: int | None,
    action: str,
    subject: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    **extra: Any,
) -> AuditEntry:
    """Add an entry to the caller's transaction: it commits or rolls back with the change itself."""
    detail: dict[str, Any] = {"before": plain(before or {}), "after": plain(after or {})}
    detail.update(plain(extra))
    entry = AuditEntry(
        actor_id=principal.user_id, space_id=space_id, action=action, subject=subject, detail=detail
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor_id: int | None = None
    subject: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    before_id: int | None = None


def browse(
    session: Session, principal: Principal, space_id: int, wanted: AuditFilter, *, limit: int = PAGE
) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` pages back through older entries."""
    if session.get(Space, space_id) is None:
        raise NotFound("space", "空间", space_id)
    if not can_see_cockpit(principal, space_id):
        raise Forbidden("read this space's audit log", "查看该空间的操作日志")
    query = (
        select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.space_id == space_id)
    )
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.actor_id:
        query = query.where(AuditEntry.actor_id == wanted.actor_id)
    if wanted.subject:
        query = query.where(AuditEntry.subject == wanted.subject)
    if wanted.start:
        query = query.where(AuditEntry.at >= wanted.start)
    if wanted.end:
        query = query.where(AuditEntry.at < wanted.end)
    if wanted.before_id:
        query = query.where(AuditEntry.id < wanted.before_id)
    rows = session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
    return [entry_out(entry, name) for entry, name in rows]


def entry_out(entry: AuditEntry, actor_name: str | None) -> dict[str, Any]:
    detail = entry.detail or {}
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": actor_name,
        "action": entry.action,
        "subject": entry.subject,
        "before": detail.get("before", {}),
        "after": detail.get("after", {}),
        "detail": {k: v for k, v in detail.items() if k not in ("before", "after")},
    }


def actions(session: Session, space_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.space_id == space_id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    )
