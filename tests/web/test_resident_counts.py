"""One definition of a resident team: the list of spaces and the space's filing figures agree."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from matchmaker.operations import accounts, teams
from matchmaker.operations import spaces as space_ops
from tests.conftest import Client, World


def test_the_spaces_list_counts_only_teams_still_in_residence_as_the_space_page_does(
    client: Client, world: World, db: Session
) -> None:
    manager = accounts.principal_for(db, world.users["manager"])
    before = space_ops.resident_team_counts(db)[world.space1.id]
    teams.change_stage(db, manager, world.team2.id, to="exited", reason="closed down")
    db.commit()
    page = client.get("/?lang=en").get_data(as_text=True)
    listed = re.findall(r"(\d+) resident teams", page)
    figures = space_ops.filing_figures(db, world.space1.id)
    resident = figures["resident_projects"] + figures["resident_enterprises"]
    assert resident == before - 1
    assert str(resident) in listed
    assert space_ops.resident_team_counts(db)[world.space1.id] == resident
