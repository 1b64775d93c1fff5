"""Domain events collected on the session during an operation and broadcast only after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

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


def record(session: Session, event: Event) -> None:
    session.info.setdefault(_KEY, []).append(event)


def take(session: Session) -> list[Event]:
    """Hand over (and forget) the events recorded since the last call."""
    events: list[Event] = session.info.pop(_KEY, [])
    return events


def discard(session: Session) -> None:
    session.info.pop(_KEY, None)
