"""What each field of a space, team, resource and person reveals, reader by reader: the matrix of
``matchmaker.audiences.FIELD_AUDIENCE`` checked through the API, plus the rule that holds whatever the
table says: personal phones and e-mails never reach the public or residents of other spaces."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from matchmaker.audiences import FIELD_AUDIENCE, Audience
from matchmaker.operations import accounts
from matchmaker.permissions import ANONYMOUS, Principal
from seeds import builders
from tests.conftest import PASSWORD_HASH, Client, World, bearer
from web.api import answers

PHONES = {
    "legal_representative_phone": "010-6000-1111",
    "person_in_charge_mobile": "139-0000-2222",
    "contact_mobile": "138-0000-3333",
    "email": "office@ic-space.example",
}
# Where each reader stands towards space 1 and its team "vision chip", written out by hand so the
# test does not reuse the code it checks. None: the reader cannot see the record at all.
READERS: dict[str | None, dict[str, Audience | None]] = {
    None: {"space": Audience.PUBLIC, "resource": Audience.PUBLIC, "team": None},
    "founder": {"space": Audience.RESIDENT, "resource": Audience.RESIDENT, "team": Audience.SELF},
    "bio_founder": {"space": Audience.PUBLIC, "resource": Audience.PUBLIC, "team": None},
    "other_founder": {"space": Audience.RESIDENT, "resource": Audience.RESIDENT, "team": None},
    "host": {"space": Audience.HOST_STAFF, "resource": Audience.HOST_STAFF, "team": Audience.HOST_STAFF},
    "investor": {"space": Audience.HOST_STAFF, "resource": Audience.HOST_STAFF, "team": Audience.HOST_STAFF},
    "manager": {"space": Audience.MANAGER, "resource": Audience.MANAGER, "team": Audience.MANAGER},
    "manager2": {"space": Audience.PUBLIC, "resource": Audience.PUBLIC, "team": None},
    "admin": {"space": Audience.MANAGER, "resource": Audience.MANAGER, "team": Audience.MANAGER},
}
OUTSIDERS = (None, "bio_founder", "manager2")  # the public, and people of the other space only


@pytest.fixture
def headers(world: World, db: Session) -> dict[str | None, dict[str, str]]:
    """A bearer token per reader; a founder whose only team is in space 2 joins the world."""
    bio_founder = builders.get_or_create_user(db, "bio@test.example", "Bio", password_hash=PASSWORD_HASH)
    builders.get_or_create_team(
        db, world.space2, "assay", lead=bio_founder, name_zh="检测", name_en="Assay", stage="incubator"
    )
    for name, value in PHONES.items():
        setattr(world.space1, name, value)
    db.commit()
    users = {**world.users, "bio_founder": bio_founder}
    out: dict[str | None, dict[str, str]] = {None: {}}
    for name in READERS:
        if name is not None:
            out[name] = bearer(accounts.create_token(db, users[name], "privacy")[1])
    db.commit()
    return out


def _urls(world: World) -> dict[str, str]:
    return {
        "space": f"/api/v1/spaces/{world.space1.id}",
        "resource": f"/api/v1/resources/{world.mentor1.id}",
        "team": f"/api/v1/teams/{world.team1.id}",
    }


@pytest.mark.parametrize("entity", ["space", "resource", "team"])
@pytest.mark.parametrize("reader", list(READERS))
def test_each_field_reaches_exactly_its_audience(
    client: Client, world: World, headers: dict[str | None, dict[str, str]], reader: str | None, entity: str
) -> None:
    response = client.get(_urls(world)[entity], headers=headers[reader])
    standing = READERS[reader][entity]
    if standing is None:  # anonymous visitors must log in; others are told it does not exist
        assert response.status_code == (401 if reader is None else 404)
        return
    assert response.status_code == 200
    body = response.json
    for field, needed in FIELD_AUDIENCE[entity].items():
        assert (field in body) == (standing >= needed), (reader, entity, field)
    assert "name_en" in body and "id" in body  # public fields reach everyone who sees the record


@pytest.mark.parametrize("reader", [*OUTSIDERS, "founder", "other_founder"])
def test_personal_phones_and_emails_never_reach_the_public_or_other_spaces(
    client: Client, world: World, headers: dict[str | None, dict[str, str]], reader: str | None
) -> None:
    """Whatever the table says: the public and people of other spaces never read a personal phone,
    and residents never read the legal representative's phone or the person in charge's mobile."""
    text = client.get(f"/api/v1/spaces/{world.space1.id}", headers=headers[reader]).get_data(as_text=True)
    assert PHONES["legal_representative_phone"] not in text
    assert PHONES["person_in_charge_mobile"] not in text
    if reader in OUTSIDERS:
        assert PHONES["contact_mobile"] not in text
        assert PHONES["email"] not in text
    listed = client.get("/api/v1/spaces", headers=headers[reader]).get_data(as_text=True)
    assert not any(value in listed for value in PHONES.values())


def test_an_applicant_not_yet_admitted_reads_the_space_as_the_public(
    client: Client, world: World, db: Session, headers: dict[str | None, dict[str, str]]
) -> None:
    """Applying is not residing: the lead of a team still waiting for admission to space 1 gets
    neither the space's contact mobile and e-mail nor a resource's person, as the public."""
    applicant = bearer(accounts.create_token(db, world.users["outsider"], "privacy")[1])
    db.commit()
    space = client.get(f"/api/v1/spaces/{world.space1.id}", headers=applicant)
    assert space.status_code == 200
    assert not any(value in space.get_data(as_text=True) for value in PHONES.values())
    assert not set(FIELD_AUDIENCE["space"]) & set(space.json)
    resource = client.get(f"/api/v1/resources/{world.mentor1.id}", headers=applicant).json
    assert not set(FIELD_AUDIENCE["resource"]) & set(resource)


def test_the_managers_read_every_contact_of_their_space(
    client: Client, world: World, headers: dict[str | None, dict[str, str]]
) -> None:
    body = client.get(f"/api/v1/spaces/{world.space1.id}", headers=headers["manager"]).json
    assert {name: body[name] for name in PHONES} == PHONES
    assert body["figures"]["mentors"] == 1


PERSON = {
    "id": 7,
    "display_name": "Wang",
    "email": "wang@test.example",
    "is_admin": False,
    "roles": [{"space_id": 1, "role": "mentor"}],
    "teams": [],
}


@pytest.mark.parametrize(
    ("principal", "sees_all"),
    [
        (ANONYMOUS, False),
        (Principal(user_id=8, roles=frozenset({(1, "manager")})), False),
        (Principal(user_id=8, is_admin=True), False),
        (Principal(user_id=7), True),
    ],
)
def test_a_persons_email_and_roles_reach_only_that_person(principal: Principal, sees_all: bool) -> None:
    shown = answers.render(answers.UserOut, PERSON, principal)
    assert shown == (PERSON if sees_all else {"id": 7, "display_name": "Wang"})


def test_every_restricted_field_may_be_left_out_of_its_documented_answer(app: Flask) -> None:
    """A field some readers do not get cannot be required in the OpenAPI document."""
    from tests.contract import document

    schemas = document()["components"]["schemas"]
    for model in (answers.SpaceDetail, answers.TeamDetail, answers.ResourceDetail, answers.UserOut):
        required = set(schemas[model.__name__].get("required", []))
        assert not required & set(FIELD_AUDIENCE[model.entity]), model.__name__
