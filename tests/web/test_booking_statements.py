"""The booking path's statements: a booking through the API reads each thing it needs once, in narrow
statements, and what it hands back comes from those reads (nothing is loaded a second time)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from matchmaker.operations import accounts
from tests.conftest import Client, World, sql_statements
from tests.web.booking_support import Api, next_week, token_for


def test_a_booking_runs_seven_statements_and_reads_no_row_twice(
    client: Client, world: World, db: Session, engine: Engine
) -> None:
    api = Api(client, token_for(db, world.users["founder"]))
    # The first call records the token's use; the count is for the calls that follow.
    assert (
        api.book(world.team1.id, world.equipment1.id, next_week(1, 14), next_week(1, 15)).status_code == 201
    )
    with sql_statements(engine) as seen:
        response = api.book(world.team1.id, world.equipment1.id, next_week(1, 10), next_week(1, 12))
    assert response.status_code == 201, response.json
    # The token with its user and roles; the resource with its space and rules; the team, locked, with
    # its members; who holds the time; the allowance and this month's use; the booking; its charge.
    assert len(seen) == 7, "\n".join(seen)
    assert seen[0].startswith("SELECT api_tokens.id")
    assert sum(s.startswith("INSERT INTO bookings") for s in seen) == 1
    assert sum(s.startswith("INSERT INTO charges") for s in seen) == 1
    # What the answer shows came from those reads: the team, the resource and its space's time zone.
    assert response.json["team"]["name_en"] == world.team1.name_en
    assert response.json["resource"]["name_zh"] == world.equipment1.name_zh
    assert response.json["resource"]["timezone"] == world.space1.timezone
    assert response.json["booked_by"]["display_name"] == world.users["founder"].display_name


def test_the_principal_read_with_a_token_is_the_one_read_for_its_user(world: World, db: Session) -> None:
    """The token's statement reads the roles itself; it must give the same Principal as reading them for
    the user does, for every kind of user (roles, host organisations, teams, residencies)."""
    for name, user in world.users.items():
        secret = token_for(db, user)
        _token, with_token = accounts.token_and_principal(db, secret)
        assert with_token == accounts.principal_for(db, user), name
    manager = accounts.principal_for(db, world.users["manager"])
    founder = accounts.principal_for(db, world.users["founder"])
    assert manager.roles and founder.teams  # the comparison covered both kinds of rows
