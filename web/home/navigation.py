"""The menu: grouped, and only what the person asking can use."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.permissions import Principal
from models import Resource, ResourceKind, Space
from web.i18n import loc


@dataclass
class MenuGroup:
    label: object
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url)


def menu_for(session: Session, principal: Principal, spaces: list[Space]) -> list[MenuGroup]:
    """Find (everyone), then what the person's roles give them: their team, their equipment, their
    matching page, and each managed space's workbench."""
    find = MenuGroup(
        _l("Find"),
        [
            (str(_l("Catalogue")), url_for("catalogue.index")),
            (str(_l("Equipment directory")), url_for("catalogue.directory")),
        ],
    )
    groups = [find]
    if not principal.is_authenticated:
        return groups
    mine = MenuGroup(_l("My work"), [(str(_l("Home")), url_for("home.index"))])
    for team_id in sorted(principal.teams):
        mine.links.append((str(_l("My team")), url_for("teams.show", team_id=team_id)))
    if principal.teams:
        mine.links.append((str(_l("My bookings")), url_for("bookings.mine")))
    matched = session.scalars(
        select(Resource)
        .where(
            Resource.person_user_id == principal.user_id,
            Resource.kind.in_((ResourceKind.MENTOR, ResourceKind.FUND)),
            Resource.retired_at.is_(None),
        )
        .order_by(Resource.id)
        .limit(3)
    ).all()
    for resource in matched:
        mine.links.append((str(_l("Teams that fit you")), url_for("catalogue.show", resource_id=resource.id)))
    if principal.teams or any(r == "mentor" for _, r in principal.roles):
        mine.links.append((str(_l("Mentoring and investment")), url_for("mentoring.index")))
    if any(r == "investor" for _, r in principal.roles):
        mine.links.append((str(_l("Deal flow")), url_for("mentoring.board")))
    mine.links.append((str(_l("Tasks")), url_for("tasks.board")))
    if principal.teams:
        mine.links.append((str(_l("My bids")), url_for("tasks.my_bids")))
    if principal.organizations or principal.is_admin or any(r == "manager" for _, r in principal.roles):
        mine.links.append((str(_l("My equipment")), url_for("bookings.hosted")))
        mine.links.append((str(_l("Task desk")), url_for("tasks.desk")))
    groups.append(mine)
    for space in spaces:
        if principal.is_manager_of(space.id):
            groups.append(
                MenuGroup(
                    _l("Manage · %(niche)s", niche=loc(space, "niche")),
                    [
                        (str(_l("Workbench")), url_for("workbench.space", space_id=space.id)),
                        (str(_l("Review")), url_for("teams.review_list", space_id=space.id)),
                        (str(_l("Allocation rounds")), url_for("allocations.index", space_id=space.id)),
                        (str(_l("Cockpit")), url_for("cockpit.show", space_id=space.id)),
                    ],
                )
            )
    return groups
