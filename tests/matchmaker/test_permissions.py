"""The permission rules as pure functions over plain records."""

from __future__ import annotations

import pytest

from matchmaker import permissions as p

SPACE, OTHER_SPACE, ORG, OTHER_ORG = 1, 2, 10, 11
EQUIPMENT = p.ResourceRef(id=1, space_id=SPACE, organization_id=ORG, person_user_id=None, retired=False)
MENTOR_PROFILE = p.ResourceRef(id=2, space_id=SPACE, organization_id=ORG, person_user_id=7, retired=False)
RETIRED = p.ResourceRef(id=3, space_id=SPACE, organization_id=ORG, person_user_id=None, retired=True)
TEAM = p.TeamRef(id=5, space_id=SPACE, admitted=True)
PENDING = p.TeamRef(id=6, space_id=SPACE, admitted=False)

ANON = p.ANONYMOUS
ADMIN = p.Principal(user_id=1, is_admin=True)
MANAGER = p.Principal(user_id=2, roles=frozenset({(SPACE, "manager")}))
OTHER_MANAGER = p.Principal(user_id=3, roles=frozenset({(OTHER_SPACE, "manager")}))
HOST = p.Principal(
    user_id=4, roles=frozenset({(SPACE, "host_staff")}), organizations=frozenset({(SPACE, ORG)})
)
OTHER_HOST = p.Principal(
    user_id=5, roles=frozenset({(SPACE, "host_staff")}), organizations=frozenset({(SPACE, OTHER_ORG)})
)
MENTOR = p.Principal(user_id=7, roles=frozenset({(SPACE, "mentor")}))
LEAD = p.Principal(user_id=8, teams={5: (SPACE, "lead")})
MEMBER = p.Principal(user_id=9, teams={5: (SPACE, "member")})
OTHER_FOUNDER = p.Principal(user_id=10, teams={99: (SPACE, "lead")})


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ADMIN, True),
        (MANAGER, True),
        (HOST, True),
        (OTHER_HOST, False),
        (OTHER_MANAGER, False),
        (MENTOR, False),
        (LEAD, False),
        (ANON, False),
    ],
)
def test_only_the_owning_organisation_and_managers_edit_equipment(who: p.Principal, expected: bool) -> None:
    assert p.can_edit_resource(who, EQUIPMENT) is expected


def test_a_mentor_edits_their_own_profile_but_cannot_retire_it() -> None:
    assert p.can_edit_resource(MENTOR, MENTOR_PROFILE)
    assert not p.can_retire_resource(MENTOR, MENTOR_PROFILE)
    assert p.can_retire_resource(HOST, MENTOR_PROFILE)


def test_retired_resources_are_hidden_from_everyone_but_their_editors() -> None:
    assert not p.can_view_resource(ANON, RETIRED)
    assert not p.can_view_resource(LEAD, RETIRED)
    assert p.can_view_resource(HOST, RETIRED)
    assert p.can_view_resource(ANON, EQUIPMENT)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (LEAD, True),
        (MEMBER, True),
        (MANAGER, True),
        (ADMIN, True),
        (MENTOR, True),
        (HOST, True),
        (OTHER_FOUNDER, False),
        (OTHER_MANAGER, False),
        (ANON, False),
    ],
)
def test_who_sees_an_admitted_team(who: p.Principal, expected: bool) -> None:
    assert p.can_view_team(who, TEAM) is expected


def test_a_pending_application_is_seen_only_by_applicants_and_managers() -> None:
    applicant = p.Principal(user_id=20, teams={6: (SPACE, "lead")})
    assert p.can_view_team(applicant, PENDING)
    assert p.can_view_team(MANAGER, PENDING)
    assert not p.can_view_team(MENTOR, PENDING)
    assert not p.can_view_team(HOST, PENDING)


def test_only_the_lead_or_a_manager_edits_a_team() -> None:
    assert p.can_edit_team(LEAD, TEAM)
    assert not p.can_edit_team(MEMBER, TEAM)
    assert p.can_edit_team(MANAGER, TEAM)
    assert not p.can_edit_team(OTHER_MANAGER, TEAM)


def test_only_managers_review_and_change_stages() -> None:
    assert p.can_review_team(MANAGER, TEAM)
    assert p.can_review_team(ADMIN, TEAM)
    for who in (LEAD, HOST, MENTOR, OTHER_MANAGER, ANON):
        assert not p.can_review_team(who, TEAM)


def test_host_staff_add_resources_only_for_their_own_organisation() -> None:
    assert p.can_create_resource(HOST, SPACE, ORG)
    assert not p.can_create_resource(HOST, SPACE, OTHER_ORG)
    assert not p.can_create_resource(HOST, OTHER_SPACE, ORG)
    assert p.can_create_resource(MANAGER, SPACE, OTHER_ORG)


def test_user_rooms_are_private() -> None:
    assert p.can_join_user_room(LEAD, 8)
    assert not p.can_join_user_room(LEAD, 9)
    assert not p.can_join_space_room(ANON, SPACE)
