"""What a booking request names, loaded and checked against every rule that does not depend on who
else holds the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.orm import Session

from matchmaker import slots
from matchmaker.errors import Conflict, Forbidden, NotFound
from matchmaker.operations.booking_rules import (
    bookable_with_rules,
    check_certified,
    occupancy,
    rules_of,
)
from matchmaker.operations.bookings.output import remember_members
from matchmaker.operations.teams import ref as team_ref
from matchmaker.permissions import (
    Principal,
    can_book_for,
)
from models import (
    AdmissionStatus,
    Availability,
    Resource,
    Team,
    TeamMember,
)
from models.narrow import Narrow

if TYPE_CHECKING:
    from matchmaker.operations.bookings.requests import BookingRequest


ACTIVE_TEAM_STAGES = ("nursery", "incubator", "accelerator")


# The statements every booking request runs are built once, with bound parameters.
_TEAM = select(Team).where(Team.id == bindparam("team_id"))


# One team's bookings are serialised, so two at once cannot both pass its monthly cap. FOR NO KEY UPDATE:
# rows that merely refer to the team (a waitlist offer's booking, a ledger line) need not wait for it.
# The team's member ids come with the lock (the booking's private event goes to them), in one round trip,
# and only the columns a booking uses are read (see ``models.narrow``).
_TEAM_FOR_BOOKING = Narrow(Team, ("space_id", "name_zh", "name_en", "admission_status", "stage"))
_TEAMS, _MEMBERS = Team.__table__, TeamMember.__table__
_MEMBER_LIST = (
    select(func.aggregate_strings(cast(_MEMBERS.c.user_id, String), ","))
    .where(_MEMBERS.c.team_id == _TEAMS.c.id)
    .scalar_subquery()
)
_LOCKED_TEAM = (
    select(*_TEAM_FOR_BOOKING.columns, _MEMBER_LIST)
    .where(_TEAMS.c.id == bindparam("team_id"))
    .with_for_update(key_share=True, of=_TEAMS)
)


def team_for_booking(session: Session, principal: Principal, team_id: int, *, lock: bool) -> Team:
    if lock:
        row = session.execute(_LOCKED_TEAM, {"team_id": team_id}).first()
        team: Team | None = _TEAM_FOR_BOOKING.adopt(session, row) if row else None
        if row is not None:
            remember_members(session, team_id, row[-1])
    else:
        team = session.scalar(_TEAM, {"team_id": team_id})
    if team is None or not can_book_for(principal, team_ref(team)):
        raise NotFound("team", "团队", team_id)
    if team.admission_status is not AdmissionStatus.ADMITTED or team.stage.value not in ACTIVE_TEAM_STAGES:
        raise Conflict(
            "Only admitted teams that are still in residence can book.",
            "只有已入驻且仍在孵的团队可以预约。",
            details={"team_id": team.id, "stage": team.stage.value},
        )
    return team


def check_space(team: Team, resource: Resource, availability: Availability) -> None:
    if team.space_id != resource.space_id and not availability.open_to_other_spaces:
        raise Forbidden("book resources of another space", "预约其他空间的资源")


@dataclass(frozen=True)
class Checked:
    resource: Resource
    team: Team
    availability: Availability
    rules: slots.Rules
    occupancy: slots.Occupancy


def checked(
    session: Session,
    principal: Principal,
    request: BookingRequest,
    now: datetime,
    *,
    lock: bool,
    certified: bool,
) -> Checked:
    """Load what a request names and check every rule that does not depend on who else holds the
    time: who may book for the team, the space, the certificate (when ``certified``), the range."""
    resource, availability = bookable_with_rules(session, principal, request.resource_id)
    team = team_for_booking(session, principal, request.team_id, lock=lock)
    check_space(team, resource, availability)
    if certified:
        check_certified(session, principal, resource, availability, now, until=request.ends_at)
    rules = rules_of(resource, availability)
    occ = occupancy(session, resource, rules, request.starts_at, request.ends_at)
    slots.check_request(rules, request.starts_at, request.ends_at, now, closures=occ.closures)
    return Checked(resource, team, availability, rules, occ)
