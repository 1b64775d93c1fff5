"""Tasks as ranked items of the matchmaker: which teams fit a task (for its host, and to tell them when
it is published) and which open tasks fit a team, with the ranker's reasons."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import tasks as rules
from matchmaker.operations import matching
from matchmaker.permissions import Principal
from matchmaker.ranking import Reason
from models import Task, TaskInvitation, TaskStatus, Team

if TYPE_CHECKING:
    from matchmaker.operations.tasks import TeamFit

TASK_KIND = "task"
# How many of the best-fitting teams hear of a task when it is published.
TOLD_ON_PUBLICATION = 5


def task_key(task_id: int) -> str:
    return f"task:{task_id}"


def rank_teams(session: Session, task: Task, *, model_folder: Path | None = None) -> list[TeamFit]:
    """Resident teams the task reaches, best fit first: both sides' fit from the ranker (the team's
    interest in the task and the task's need for the team's capabilities), with its reasons."""
    from matchmaker.operations.tasks import TeamFit, ref

    ranker = matching.ranker_for(session, model_folder, with_tasks=True)
    found = ranker.teams_for(task_key(task.id), k=50)
    teams = {
        t.id: t for t in session.scalars(select(Team).where(Team.id.in_([_id(x.resource) for x in found])))
    }
    invited = set(session.scalars(select(TaskInvitation.team_id).where(TaskInvitation.task_id == task.id)))
    task_ref = ref(session, task)
    # An invited-only task's fitting teams are all the resident teams: the host decides whom to invite.
    open_ref = rules.TaskRef(
        task_ref.id, task_ref.space_id, task_ref.organization_id, "open", "residents", task_ref.confidential
    )
    fits: list[TeamFit] = []
    for x in found:
        team = teams.get(_id(x.resource))
        if team is None or not rules.team_may_see(
            rules.BidderTeam(team.id, team.space_id, team.is_resident), open_ref
        ):
            continue
        fits.append(
            TeamFit(
                team.id,
                team.name_zh,
                team.name_en,
                x.score,
                x.reasons,
                team.id in invited,
            )
        )
    return fits


def tasks_for_team(
    session: Session, principal: Principal, team_id: int, *, k: int = 10, model_folder: Path | None = None
) -> list[tuple[Task, float, tuple[Reason, ...]]]:
    """A team's recommended open tasks (only tasks the team may see), best first, with reasons."""
    team = matching.team_for_recommendations(session, principal, team_id)
    ranker = matching.ranker_for(session, model_folder, with_tasks=True)
    found = ranker.recommend(matching.team_key(team.id), kinds=[TASK_KIND], k=None)
    ids = [_id(x.resource) for x in found]
    rows = {
        t.id: t for t in session.scalars(select(Task).where(Task.id.in_(ids), Task.status == TaskStatus.OPEN))
    }
    bidder = rules.BidderTeam(team.id, team.space_id, team.is_resident)
    from matchmaker.operations.tasks import ref

    picked: list[tuple[Task, float, tuple[Reason, ...]]] = []
    for x in found:
        task = rows.get(_id(x.resource))
        if task is None or not rules.team_may_see(bidder, ref(session, task)):
            continue
        picked.append((task, x.score, x.reasons))
        if len(picked) >= k:
            break
    return picked


def _id(key: str) -> int:
    return int(key.rsplit(":", 1)[1])
