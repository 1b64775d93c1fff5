"""Who may do what to which object: one pure function per question, over plain records."""

from __future__ import annotations

from dataclasses import dataclass, field

MANAGER = "manager"
HOST_STAFF = "host_staff"
MENTOR = "mentor"
INVESTOR = "investor"
STAFF_ROLES = frozenset({MANAGER, HOST_STAFF, MENTOR, INVESTOR})


@dataclass(frozen=True)
class Principal:
    """What the platform knows about the person asking. Anonymous visitors have ``user_id=None``."""

    user_id: int | None = None
    is_admin: bool = False
    # (space_id, role) pairs from memberships.
    roles: frozenset[tuple[int, str]] = field(default_factory=frozenset)
    # Organisations the user works for as host staff: (space_id, organization_id).
    organizations: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    # Teams the user belongs to: team_id -> (space_id, team role).
    teams: dict[int, tuple[int, str]] = field(default_factory=dict)
    # Spaces where one of those teams is admitted and in residence (an applicant is not yet a resident).
    residencies: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has_role(self, space_id: int, role: str) -> bool:
        return (space_id, role) in self.roles

    def is_manager_of(self, space_id: int) -> bool:
        return self.is_admin or self.has_role(space_id, MANAGER)

    def is_staff_in(self, space_id: int) -> bool:
        return any((space_id, r) in self.roles for r in STAFF_ROLES)

    def has_team_in(self, space_id: int) -> bool:
        """A member of any team of the space, applicants included."""
        return any(s == space_id for s, _ in self.teams.values())

    def is_resident_in(self, space_id: int) -> bool:
        return space_id in self.residencies

    def spaces(self) -> frozenset[int]:
        return frozenset(s for s, _ in self.roles) | frozenset(s for s, _ in self.teams.values())


ANONYMOUS = Principal()


@dataclass(frozen=True)
class ResourceRef:
    id: int
    space_id: int
    organization_id: int
    person_user_id: int | None
    retired: bool


@dataclass(frozen=True)
class TeamRef:
    id: int
    space_id: int
    admitted: bool


# Spaces -------------------------------------------------------------------------------------------


def can_edit_space(p: Principal, space_id: int) -> bool:
    return p.is_manager_of(space_id)


def can_create_space(p: Principal) -> bool:
    return p.is_admin


def can_grant_roles(p: Principal, space_id: int) -> bool:
    return p.is_manager_of(space_id)


# Resources ----------------------------------------------------------------------------------------


def can_view_resource(p: Principal, r: ResourceRef) -> bool:
    """The catalogue is public (the guideline asks for an open platform); retired entries only to editors."""
    return not r.retired or can_edit_resource(p, r)


def can_create_resource(p: Principal, space_id: int, organization_id: int) -> bool:
    return p.is_manager_of(space_id) or (space_id, organization_id) in p.organizations


def can_edit_resource(p: Principal, r: ResourceRef) -> bool:
    if p.is_manager_of(r.space_id) or (r.space_id, r.organization_id) in p.organizations:
        return True
    return p.user_id is not None and p.user_id == r.person_user_id


def can_retire_resource(p: Principal, r: ResourceRef) -> bool:
    """A mentor may edit their own profile but retiring it is the organisation's or manager's call."""
    return can_run_resource(p, r)


# Teams --------------------------------------------------------------------------------------------


def is_member(p: Principal, t: TeamRef) -> bool:
    return t.id in p.teams


def is_lead(p: Principal, t: TeamRef) -> bool:
    return p.teams.get(t.id, (0, ""))[1] == "lead"


def can_view_team(p: Principal, t: TeamRef) -> bool:
    """Members, the space's managers, and — once admitted — the space's staff, mentors and investors.

    Other founders do not see a team's needs and asks; a pending application is seen only by the
    applicants and the managers who review it.
    """
    if is_member(p, t) or p.is_manager_of(t.space_id):
        return True
    return t.admitted and p.is_staff_in(t.space_id)


def can_edit_team(p: Principal, t: TeamRef) -> bool:
    return is_lead(p, t) or p.is_manager_of(t.space_id)


def can_manage_members(p: Principal, t: TeamRef) -> bool:
    return is_lead(p, t) or p.is_manager_of(t.space_id)


def can_see_recommendations(p: Principal, t: TeamRef) -> bool:
    """A team's recommendations reveal its needs and history: its members and managers only."""
    return is_member(p, t) or p.is_manager_of(t.space_id)


def can_review_team(p: Principal, t: TeamRef) -> bool:
    """Admission, stage changes, graduation and exit belong to the space's managers."""
    return p.is_manager_of(t.space_id)


def can_apply_to_space(p: Principal, space_id: int) -> bool:
    return p.is_authenticated


def can_list_teams(p: Principal, space_id: int) -> bool:
    return p.is_manager_of(space_id) or p.is_staff_in(space_id)


# Bookings -----------------------------------------------------------------------------------------


def can_run_resource(p: Principal, r: ResourceRef) -> bool:
    """The host organisation's staff and the space's managers set hours and blackouts, approve bookings,
    certify users and see who booked what."""
    return p.is_manager_of(r.space_id) or (r.space_id, r.organization_id) in p.organizations


def can_book_for(p: Principal, t: TeamRef) -> bool:
    """Members book for their own team; a manager may book on a team's behalf."""
    return is_member(p, t) or p.is_manager_of(t.space_id)


def can_handle_booking(p: Principal, t: TeamRef, r: ResourceRef) -> bool:
    """Cancel, move or check in: the booking team's members, or the resource's hosts and managers."""
    return can_book_for(p, t) or can_run_resource(p, r)


def can_set_allowances(p: Principal, space_id: int) -> bool:
    return p.is_manager_of(space_id)


def can_see_cockpit(p: Principal, space_id: int) -> bool:
    """Utilization, unmet demand, reports and the audit log of a space: its managers."""
    return p.is_manager_of(space_id)


def can_join_organization_room(p: Principal, space_id: int, organization_id: int) -> bool:
    return p.is_manager_of(space_id) or (space_id, organization_id) in p.organizations


# Real-time rooms: a join is allowed exactly when the matching HTTP read is.


def can_join_space_room(p: Principal, space_id: int) -> bool:
    return p.is_authenticated


def can_join_user_room(p: Principal, user_id: int) -> bool:
    return p.user_id == user_id
