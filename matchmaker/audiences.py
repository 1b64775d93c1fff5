"""Who may read which field of a space, team, resource or person: declared once, applied by every answer."""

from __future__ import annotations

from enum import IntEnum

from matchmaker.permissions import Principal


class Audience(IntEnum):
    """Widening circles around one space; each sees what the circles outside it see."""

    PUBLIC = 0  # anyone, logged in or not, including people of other spaces
    RESIDENT = 1  # members of a team admitted to the space and in residence there
    HOST_STAFF = 2  # the host's staff, mentors and investors of the space
    MANAGER = 3  # the space's managers and platform administrators
    SELF = 4  # only the person the record is about (or, for a team, its own members)


# Fields not named here are public. Personal phone numbers and e-mails never reach the public nor
# residents of other spaces: a space's contact mobile is for its own residents, the person in charge
# is reached through the host's staff, and the legal representative's phone is for the filing only.
FIELD_AUDIENCE: dict[str, dict[str, Audience]] = {
    "space": {
        "email": Audience.RESIDENT,
        "contact_mobile": Audience.RESIDENT,
        "person_in_charge_mobile": Audience.HOST_STAFF,
        "legal_representative_phone": Audience.MANAGER,
        "figures": Audience.MANAGER,
    },
    "team": {
        "members": Audience.RESIDENT,
        "needs_zh": Audience.RESIDENT,
        "needs_en": Audience.RESIDENT,
        "funding_ask_10k_cny": Audience.HOST_STAFF,
        "round_sought": Audience.HOST_STAFF,
        "stage_history": Audience.HOST_STAFF,
        "exit_reason": Audience.HOST_STAFF,
        "free_residence_end": Audience.HOST_STAFF,
    },
    "resource": {
        "person_user_id": Audience.RESIDENT,
        "retired_reason": Audience.HOST_STAFF,
    },
    "person": {
        "email": Audience.SELF,
        "is_admin": Audience.SELF,
        "roles": Audience.SELF,
        "teams": Audience.SELF,
    },
}


def audience_in(principal: Principal, space_id: int) -> Audience:
    """How close the principal stands to one space (a role in another space counts for nothing)."""
    if principal.is_manager_of(space_id):
        return Audience.MANAGER
    if principal.is_staff_in(space_id):
        return Audience.HOST_STAFF
    if principal.is_resident_in(space_id):
        return Audience.RESIDENT
    return Audience.PUBLIC


def team_audience(principal: Principal, team_id: int, space_id: int) -> Audience:
    """A team's own members read all of it; everyone else as they stand in its space."""
    return Audience.SELF if team_id in principal.teams else audience_in(principal, space_id)


def person_audience(principal: Principal, user_id: int) -> Audience:
    return Audience.SELF if principal.user_id == user_id else Audience.PUBLIC


def hidden_fields(entity: str, audience: Audience) -> frozenset[str]:
    """The fields of ``entity`` that a reader standing at ``audience`` does not get."""
    return frozenset(name for name, needed in FIELD_AUDIENCE[entity].items() if needed > audience)
