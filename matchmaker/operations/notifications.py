"""The notification centre: store what concerns each person in the transaction that caused it, list,
page and mark read, and keep per-kind preferences.

Notifications are derived from the unit of work's domain events just before it commits (a
``before_commit`` hook), so every operation that records an event tells the people concerned without
knowing about them, and a transaction that rolls back leaves neither events nor notifications.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matchmaker import events
from matchmaker.errors import InvalidInput, NotFound
from matchmaker.notifications import CHANNELS, KINDS, Draft, drafts_for
from models import Membership, Notification, NotificationPreference, Role
from models.base import utcnow

_SEEN = "matchmaker.notifications.seen"
PAGE_MAX = 100


# Storing ------------------------------------------------------------------------------------------


def _staff_of(session: Session) -> Any:
    def staff(organization_id: int) -> tuple[int, ...]:
        return tuple(
            session.scalars(
                select(Membership.user_id)
                .where(Membership.organization_id == organization_id, Membership.role == Role.HOST_STAFF)
                .distinct()
            )
        )

    return staff


def deliver_pending(session: Session) -> list[Notification]:
    """Turn the events recorded since the last call into stored notifications (skipping kinds the
    recipient switched off) and record a ``NotificationCreated`` for each, to be pushed after commit."""
    seen: set[int] = session.info.setdefault(_SEEN, set())
    fresh = [e for e in events.pending(session) if id(e) not in seen]
    if not fresh:
        return []
    seen.update(id(e) for e in fresh)
    drafts = [d for e in fresh for d in drafts_for(e, _staff_of(session)) if d.user_ids]
    if not drafts:
        return []
    muted = _muted(session, {u for d in drafts for u in d.user_ids})
    stored = [
        _store(session, draft, user_id)
        for draft in drafts
        for user_id in dict.fromkeys(draft.user_ids)
        if (user_id, draft.kind) not in muted
    ]
    if not stored:
        return []
    session.flush()
    counts = unread_counts(session, {n.user_id for n in stored})
    for note in stored:
        created = events.NotificationCreated(
            note.user_id, {**out(note), "unread_count": counts[note.user_id]}
        )
        seen.add(id(created))
        events.record(session, created)
    return stored


def _store(session: Session, draft: Draft, user_id: int) -> Notification:
    note = Notification(
        user_id=user_id,
        kind=draft.kind,
        channel="in_app",
        subject=draft.subject[:64],
        title_en=draft.title_en[:200],
        title_zh=draft.title_zh[:200],
        body_en=draft.body_en,
        body_zh=draft.body_zh,
        link=draft.link[:300],
        created_at=utcnow(),
    )
    session.add(note)
    return note


def _muted(session: Session, user_ids: set[int]) -> set[tuple[int, str]]:
    rows = session.execute(
        select(NotificationPreference.user_id, NotificationPreference.kind).where(
            NotificationPreference.user_id.in_(user_ids),
            NotificationPreference.channel == "in_app",
            NotificationPreference.enabled.is_(False),
        )
    )
    return {(user_id, kind) for user_id, kind in rows}


@sa_event.listens_for(Session, "before_commit")
def _deliver_before_commit(session: Session) -> None:
    deliver_pending(session)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_seen(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole unit of work ended (a savepoint's end is not that)
        session.info.pop(_SEEN, None)


# Reading ------------------------------------------------------------------------------------------


def out(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind,
        "channel": note.channel,
        "subject": note.subject,
        "title_en": note.title_en,
        "title_zh": note.title_zh,
        "body_en": note.body_en,
        "body_zh": note.body_zh,
        "link": note.link,
        "created_at": note.created_at.isoformat(),
        "read_at": note.read_at.isoformat() if note.read_at else None,
    }


def encode_cursor(note_id: int) -> str:
    return base64.urlsafe_b64encode(f"n:{note_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor stands for; anything we did not hand out is a clear 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "n" or not number.isdigit() or len(number) > 10:
            raise ValueError(text)
        return int(number)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidInput(
            "This cursor is not one the notification list handed out.",
            "该游标无效，请使用通知列表返回的游标。",
            details={"fields": {"cursor": "invalid"}},
        ) from exc


def list_for(
    session: Session, user_id: int, *, cursor: str | None = None, limit: int = 20, unread_only: bool = False
) -> tuple[list[Notification], str | None]:
    """Newest first; ``cursor`` continues after the last item of the previous page."""
    limit = max(1, min(limit, PAGE_MAX))
    query = select(Notification).where(Notification.user_id == user_id)
    if cursor:
        query = query.where(Notification.id < decode_cursor(cursor))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def since(session: Session, user_id: int, after_id: int, limit: int = 50) -> list[Notification]:
    """What arrived after ``after_id``, oldest first: the catch-up after a reconnect."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.id > after_id)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def unread_counts(session: Session, user_ids: set[int]) -> dict[int, int]:
    counts = dict.fromkeys(user_ids, 0)
    rows = session.execute(
        select(Notification.user_id, func.count())
        .where(Notification.user_id.in_(user_ids), Notification.read_at.is_(None))
        .group_by(Notification.user_id)
    )
    counts.update({user_id: int(n) for user_id, n in rows})
    return counts


def unread_count(session: Session, user_id: int) -> int:
    return unread_counts(session, {user_id})[user_id]


def latest_id(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(Notification.id), 0)).where(Notification.user_id == user_id)
        )
        or 0
    )


# Changing -----------------------------------------------------------------------------------------


def get_own(session: Session, user_id: int, note_id: int) -> Notification:
    """One of the user's own notifications; another user's is "not found" (ids reveal nothing)."""
    note = session.get(Notification, note_id)
    if note is None or note.user_id != user_id:
        raise NotFound("notification", "通知", note_id)
    return note


def mark_read(session: Session, user_id: int, note_id: int, now: datetime | None = None) -> Notification:
    note = get_own(session, user_id, note_id)
    if note.read_at is None:
        note.read_at = now or utcnow()
        session.flush()
    return note


def mark_all_read(session: Session, user_id: int, now: datetime | None = None) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def preferences(session: Session, user_id: int) -> dict[str, dict[str, bool]]:
    """Every kind with its setting per channel (on unless switched off)."""
    chosen = {
        (p.kind, p.channel): p.enabled
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    return {kind: {ch: chosen.get((kind, ch), True) for ch in CHANNELS} for kind in KINDS}


def set_preferences(session: Session, user_id: int, wanted: dict[str, bool], channel: str = "in_app") -> None:
    """Switch kinds on or off; an unknown kind or channel is refused before anything is written."""
    unknown = sorted(k for k in wanted if k not in KINDS)
    if unknown or channel not in CHANNELS:
        fields = {k: "unknown_kind" for k in unknown} or {"channel": "unknown_channel"}
        raise InvalidInput(
            f"Unknown notification kind: {', '.join(unknown) or channel}. Known: {', '.join(KINDS)}.",
            f"未知的通知类型：{'、'.join(unknown) or channel}。",
            details={"fields": fields},
        )
    for kind, enabled in wanted.items():
        row = session.get(NotificationPreference, (user_id, kind, channel))
        if row is None:
            session.add(NotificationPreference(user_id=user_id, kind=kind, channel=channel, enabled=enabled))
        else:
            row.enabled = enabled
    session.flush()
