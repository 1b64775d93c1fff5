"""Domain events collected on the session during an operation and broadcast only after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "matchmaker.events"


@dataclass(frozen=True)
class Event:
    name = "event"


@dataclass(frozen=True)
class ResourceChanged(Event):
    """A resource was added, edited or retired; ``payload`` is its public summary."""

    name = "resource_changed"
    action: str  # "added" | "updated" | "retired"
    space_id: int
    resource_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class TeamChanged(Event):
    name = "team_changed"
    action: str  # "applied" | "admitted" | "rejected" | "stage_changed" | "exited" | "updated"
    space_id: int
    team_id: int
    payload: dict[str, Any]
    member_user_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class BookingChanged(Event):
    """A booking was made, offered, approved, moved, cancelled, checked in or released.

    ``public`` is what anyone who can see the resource's calendar may know (the slot is taken);
    ``private`` adds the team and the money, for the team and the resource's hosts.
    """

    name = "booking_changed"
    action: str
    space_id: int
    resource_id: int
    organization_id: int
    team_id: int
    public: dict[str, Any]
    private: dict[str, Any]
    member_user_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class CalendarChanged(Event):
    """A resource's blackouts or opening hours changed: calendars showing it should redraw."""

    name = "calendar_changed"
    action: str  # "blackout_added" | "blackout_removed" | "availability_changed"
    space_id: int
    resource_id: int
    organization_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class RecommendationsChanged(Event):
    """A team's history grew (a booking was used, a session held): what fits it may have changed."""

    name = "recommendations_changed"
    team_id: int
    member_user_ids: tuple[int, ...]


@dataclass(frozen=True)
class RoundPublished(Event):
    """An allocation round was published: its teams and mentors should look at their assignments."""

    name = "allocation_published"
    space_id: int
    round_id: int
    title: str
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class CertificateChanged(Event):
    """A host granted or revoked a user's certificate for a piece of equipment."""

    name = "certificate_changed"
    action: str  # "granted" | "revoked"
    user_id: int
    resource_id: int
    resource_name_en: str
    resource_name_zh: str


@dataclass(frozen=True)
class ConnectionsEnded(Event):
    """A user logged out everywhere, or revoked a token: their live connections must close."""

    name = "session_ended"
    user_id: int | None = None
    token_id: int | None = None


@dataclass(frozen=True)
class NotificationCreated(Event):
    """A notification was stored for a user; ``payload`` is what their notification centre shows."""

    name = "notification"
    user_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class TaskChanged(Event):
    """A task was published, bid on, closed, awarded, delivered or cancelled. ``payload`` holds only what
    anyone who may see the task may know (its state and the number of standing bids, never amounts)."""

    name = "task_changed"
    action: str
    space_id: int
    task_id: int
    organization_id: int
    visibility: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class TaskNews(Event):
    """Something about a task for particular people: the named users and, with ``to_hosts``, the host
    organisation's staff. It becomes a notification of ``kind`` (and reaches them through it)."""

    name = "task_news"
    kind: str
    task_id: int
    organization_id: int
    title_en: str
    title_zh: str
    body_en: str = ""
    body_zh: str = ""
    user_ids: tuple[int, ...] = ()
    to_hosts: bool = False


@dataclass(frozen=True)
class MentorRequestChanged(Event):
    """A mentor request was made, answered, withdrawn or escalated; ``payload`` is its summary, for the
    team, the mentor and the space's managers (and only them)."""

    name = "mentor_request_changed"
    action: str  # "created" | "proposed" | "accepted" | "declined" | "withdrawn" | "escalated"
    space_id: int
    request_id: int
    payload: dict[str, Any]
    member_user_ids: tuple[int, ...] = ()
    mentor_user_id: int | None = None
    manager_user_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class MentorSessionChanged(Event):
    """A mentor session was booked, delivered, cancelled or rated; same audience as its request."""

    name = "mentor_session_changed"
    action: str  # "scheduled" | "delivered" | "cancelled" | "rated" | "preparation_rated"
    space_id: int
    session_id: int
    payload: dict[str, Any]
    member_user_ids: tuple[int, ...] = ()
    mentor_user_id: int | None = None


@dataclass(frozen=True)
class IntroductionChanged(Event):
    """An introduction was requested or answered, or a deal moved; ``payload`` is for the team, the
    investor and the space's managers only."""

    name = "introduction_changed"
    action: str  # "requested" | "more_info" | "interested" | "passed" | "withdrawn" | "deal_moved"
    space_id: int
    introduction_id: int
    payload: dict[str, Any]
    member_user_ids: tuple[int, ...] = ()
    investor_user_id: int | None = None


def record(session: Session, event: Event) -> None:
    """Keep ``event`` until the unit of work commits; it is dropped if the transaction (or the
    savepoint) it was recorded in rolls back."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_KEY, []).append((event, transaction))


def take(session: Session) -> list[Event]:
    """Hand over (and forget) the events recorded since the last call."""
    recorded: list[tuple[Event, SessionTransaction | None]] = session.info.pop(_KEY, [])
    return [event for event, _ in recorded]


def pending(session: Session) -> list[Event]:
    """The events recorded so far and not yet handed over (for work done just before a commit)."""
    return [event for event, _ in session.info.get(_KEY, [])]


def discard(session: Session) -> None:
    session.info.pop(_KEY, None)


def _recorded_within(recorded_in: SessionTransaction | None, ended: SessionTransaction) -> bool:
    if recorded_in is None:  # recorded before anything began: part of whatever the root does
        return ended.parent is None
    current: SessionTransaction | None = recorded_in
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rollback takes back what its transaction recorded (and only that: events recorded before a
    savepoint that rolls back are kept)."""
    recorded = session.info.get(_KEY)
    if recorded:
        session.info[_KEY] = [
            (event, txn) for event, txn in recorded if not _recorded_within(txn, previous_transaction)
        ]
