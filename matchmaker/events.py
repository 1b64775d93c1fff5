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


def record(session: Session, event: Event) -> None:
    session.info.setdefault(_KEY, []).append(event)


def take(session: Session) -> list[Event]:
    """Hand over (and forget) the events recorded since the last call."""
    events: list[Event] = session.info.pop(_KEY, [])
    return events


def discard(session: Session) -> None:
    session.info.pop(_KEY, None)
