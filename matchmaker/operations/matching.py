"""The platform's own data as a generic interaction data set, for training and evaluating the ranking."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from matchmaker.datasets import Dataset, Entity, Event
from matchmaker.errors import Forbidden, InvalidTransition, NotFound
from matchmaker.operations import catalogue as catalogue_ops
from matchmaker.operations import teams as teams_ops
from matchmaker.permissions import Principal, can_edit_resource, can_see_recommendations, can_view_team
from matchmaker.ranking import TRAINED, Ranker, Reason, Signals, load_latest_model
from models import AdmissionStatus, Interaction, Resource, Tag, Task, TaskStatus, Team


def team_key(team_id: int) -> str:
    return f"team:{team_id}"


def resource_key(resource_id: int) -> str:
    return f"resource:{resource_id}"


def task_key(task_id: int) -> str:
    return f"task:{task_id}"


def dataset_from_db(session: Session, *, with_tasks: bool = False) -> Dataset:
    """Admitted teams, active resources and every team–resource interaction, with the facts the
    features use (space, stage, sought round and ask; a fund's rounds and ticket range). Each text
    carries its capability tags' Chinese and English terms, so the two languages meet."""
    terms = {
        t.slug: " ".join([t.label_zh, t.label_en, *t.terms_zh, *t.terms_en])
        for t in session.scalars(select(Tag))
    }
    teams = {}
    for t in session.scalars(
        select(Team).where(Team.admission_status == AdmissionStatus.ADMITTED).options(selectinload(Team.tags))
    ):
        meta = {"space": str(t.space_id), "stage": t.stage.value}
        if t.round_sought:
            meta["round"] = t.round_sought
        if t.funding_ask_10k_cny is not None:
            meta["ask"] = str(t.funding_ask_10k_cny)
        text = "\n".join(
            [t.name_zh, t.name_en, t.description_zh, t.description_en, t.needs_zh, t.needs_en]
            + [terms[x.slug] for x in t.tags]
        )
        teams[team_key(t.id)] = Entity(team_key(t.id), text, frozenset(x.slug for x in t.tags), "team", meta)
    resources = {}
    for r in session.scalars(
        select(Resource).where(Resource.retired_at.is_(None)).options(selectinload(Resource.tags))
    ):
        meta = {"space": str(r.space_id)}
        attrs = r.attributes
        if attrs.get("rounds"):
            meta["rounds"] = ";".join(attrs["rounds"])
        for source, target in (("ticket_min_10k_cny", "ticket_min"), ("ticket_max_10k_cny", "ticket_max")):
            if attrs.get(source) is not None:
                meta[target] = str(attrs[source])
        described = " ".join(str(v) for v in attrs.values() if isinstance(v, str))
        text = "\n".join(
            [
                r.name_zh,
                r.name_en,
                r.description_zh,
                r.description_en,
                r.service_content_zh,
                r.service_content_en,
                described,
            ]
            + [terms[x.slug] for x in r.tags]
        )
        resources[resource_key(r.id)] = Entity(
            resource_key(r.id), text, frozenset(x.slug for x in r.tags), r.kind.value, meta
        )
    # With ``with_tasks``, a host's published tasks are ranked items too (kind "task"), with their bids,
    # awards, deliveries and ratings as the interactions. They are kept out of the resources' ranker: a
    # different kind of item with its own interactions would change which scorer serves resources.
    tasks = (
        session.scalars(select(Task).where(Task.status != TaskStatus.DRAFT).options(selectinload(Task.tags)))
        if with_tasks
        else ()
    )
    for task in tasks:
        text = "\n".join(
            [task.title_zh, task.title_en, task.description_zh, task.description_en]
            + [task.deliverables_zh, task.deliverables_en]
            + [terms[x.slug] for x in task.tags]
        )
        resources[task_key(task.id)] = Entity(
            task_key(task.id),
            text,
            frozenset(x.slug for x in task.tags),
            "task",
            {"space": str(task.space_id)},
        )
    events = []
    for i in session.scalars(select(Interaction).order_by(Interaction.occurred_at, Interaction.id)):
        team = team_key(i.team_id)
        resource = resource_key(i.resource_id) if i.resource_id is not None else task_key(i.task_id or 0)
        if team in teams and resource in resources:
            events.append(
                Event(
                    team,
                    resource,
                    i.occurred_at,
                    i.kind.value,
                    i.outcome or "",
                    float(i.rating) if i.rating else None,
                    i.quantity,
                )
            )
    return Dataset(teams=teams, resources=resources, events=tuple(events))


# Serving ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A recommendation ready to show: the row, its score and its reasons."""

    resource: Resource
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class TeamSuggestion:
    team: Team
    score: float
    reasons: tuple[Reason, ...]
    sides: tuple[float, float] | None = None  # the team's side and the resource's, blended in score


class _RankerCache:
    """One ranker per state of the data and of the saved models. Building one takes seconds on a real
    space, so once a ``refresher`` is installed (the web processes install one, see ``web/rankers.py``)
    a change of state is answered from the ranker already built while the refresher builds the new
    one in the background: no request waits for a build, except before the first is ready."""

    def __init__(self, *, with_tasks: bool = False) -> None:
        self.with_tasks = with_tasks
        self._build_lock = threading.Lock()  # one build at a time
        self._key: tuple[object, ...] | None = None
        self._ranker: Ranker | None = None
        self.refresher: Callable[[], None] | None = None

    def _state(self, session: Session, model_folder: Path | None) -> tuple[object, ...]:
        state = session.execute(
            select(func.count(Interaction.id), func.max(Interaction.id)).select_from(Interaction)
        ).one()
        resources = session.execute(select(func.count(Resource.id), func.max(Resource.updated_at))).one()
        teams = session.execute(select(func.count(Team.id), func.max(Team.updated_at))).one()
        tasks = (
            session.execute(select(func.count(Task.id), func.max(Task.updated_at))).one()
            if self.with_tasks
            else ()
        )
        models = (
            sorted(model_folder.glob("ranker-*.pkl"))[-1:] if model_folder and model_folder.exists() else []
        )
        bind = session.get_bind()
        return (id(bind), *state, *resources, *teams, *tasks, *(str(m) for m in models))

    @property
    def ready(self) -> bool:
        return self._ranker is not None

    def get(self, session: Session, model_folder: Path | None) -> Ranker:
        key = self._state(session, model_folder)
        ranker = self._ranker
        if ranker is not None and key == self._key:
            return ranker
        if ranker is not None and self.refresher is not None:
            self.refresher()
            return ranker
        return self.build(session, model_folder, key)

    def build(
        self, session: Session, model_folder: Path | None, key: tuple[object, ...] | None = None
    ) -> Ranker:
        """Build the ranker for the data as ``session`` sees it (unless one is built for that state
        already) and serve it from now on."""
        key = key or self._state(session, model_folder)
        with self._build_lock:
            if self._ranker is not None and key == self._key:
                return self._ranker
            data = dataset_from_db(session, with_tasks=self.with_tasks)
            loaded = load_latest_model(model_folder) if model_folder else None
            labels = {t.slug: (t.label_en, t.label_zh) for t in session.scalars(select(Tag))}
            model, selection = (loaded[0], loaded[1]) if loaded else (None, None)
            ranker = Ranker(Signals(data, tag_labels=labels), model, selection)
            self._ranker, self._key = ranker, key
            return ranker


_rankers = _RankerCache()
_task_rankers = _RankerCache(with_tasks=True)


def reset_ranker_cache() -> None:
    global _rankers, _task_rankers
    _rankers = _RankerCache()
    _task_rankers = _RankerCache(with_tasks=True)


def ranker_for(session: Session, model_folder: Path | None = None, *, with_tasks: bool = False) -> Ranker:
    """The ranker serving this state of the data; ``with_tasks``: the one that ranks tasks too."""
    return (_task_rankers if with_tasks else _rankers).get(session, model_folder)


def team_for_recommendations(session: Session, principal: Principal, team_id: int) -> Team:
    return _team_for_recommendations(session, principal, team_id)


def refresh_rankers_with(refresher: Callable[[], None] | None) -> None:
    """From now on a change of data is served by the ranker already built while ``refresher`` (which
    must return at once) has ``refresh_ranker`` build the new one elsewhere; None builds on demand."""
    _rankers.refresher = refresher


def refresh_ranker(session: Session, *, model_folder: Path | None = None) -> None:
    """Build the ranker for the data as it is now, for the requests that follow (a warm-up at start and
    each background refresh)."""
    _rankers.build(session, model_folder)


def ranker_ready() -> bool:
    return _rankers.ready


def _team_for_recommendations(session: Session, principal: Principal, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or not can_view_team(principal, teams_ops.ref(team)):
        raise NotFound("team", "团队", team_id)
    if not can_see_recommendations(principal, teams_ops.ref(team)):
        raise Forbidden("see this team's recommendations", "查看该团队的推荐")
    if team.admission_status is not AdmissionStatus.ADMITTED:
        raise InvalidTransition(
            "Recommendations start once the team is admitted.",
            "团队入驻后才会有推荐。",
            details={"admission_status": team.admission_status.value},
        )
    return team


def recommend_for_team(
    session: Session,
    principal: Principal,
    team_id: int,
    *,
    kinds: Sequence[str] = (),
    k: int = 10,
    model_folder: Path | None = None,
) -> tuple[str, list[Suggestion]]:
    """The team's top resources (of the given kinds), with reasons, and which scorer produced them."""
    team = _team_for_recommendations(session, principal, team_id)
    ranker = _rankers.get(session, model_folder)
    # Exposure-capped: popular resources cannot take every team's list (see matchmaker.exposure).
    found = ranker.recommend(team_key(team.id), kinds=kinds, k=k, fair=True)
    rows = {
        r.id: r
        for r in session.scalars(select(Resource).where(Resource.id.in_([_id(x.resource) for x in found])))
    }
    return ranker.served_by(team_key(team.id)), [
        Suggestion(rows[_id(x.resource)], x.score, x.reasons) for x in found
    ]


def ranker_summary(session: Session, *, model_folder: Path | None = None) -> dict[str, object]:
    """Which scorer serves warm and cold teams, and the validation figures it was chosen on."""
    return _rankers.get(session, model_folder).describe()


def why_not(
    session: Session,
    principal: Principal,
    team_id: int,
    resource_id: int,
    *,
    model_folder: Path | None = None,
) -> dict[str, object]:
    """Where a resource the user names stands for the team, and which features hold it back compared
    with the team's last recommendation shown."""
    team = _team_for_recommendations(session, principal, team_id)
    resource = session.get(Resource, resource_id)
    if resource is None or resource.is_retired:
        raise NotFound("resource", "资源", resource_id)
    ranker = _rankers.get(session, model_folder)
    return ranker.explain_absence(team_key(team.id), resource_key(resource.id))


def teams_for_resource(
    session: Session, principal: Principal, resource_id: int, *, k: int = 10, model_folder: Path | None = None
) -> tuple[str, list[TeamSuggestion]]:
    """For a mentor, an investor or a task owner: teams ranked by both sides' fit."""
    resource = session.get(Resource, resource_id)
    if resource is None or resource.is_retired:
        raise NotFound("resource", "资源", resource_id)
    if not can_edit_resource(principal, catalogue_ops.ref(resource)):
        raise Forbidden("see which teams fit this resource", "查看适合该资源的团队")
    ranker = _rankers.get(session, model_folder)
    found = ranker.teams_for(resource_key(resource.id), k=k)
    rows = {
        t.id: t for t in session.scalars(select(Team).where(Team.id.in_([_id(x.resource) for x in found])))
    }
    # Both sides' fit uses the trained model's probability when there is one (see Ranker._both_sides).
    mode = TRAINED if ranker.model is not None else "cold-start score"
    return mode, [TeamSuggestion(rows[_id(x.resource)], x.score, x.reasons, x.sides) for x in found]


def _id(key: str) -> int:
    return int(key.rsplit(":", 1)[1])


def pair_fits(
    session: Session,
    team_ids: Sequence[int],
    resource_ids: Sequence[int],
    *,
    model_folder: Path | None = None,
) -> tuple[str, dict[tuple[int, int], float]]:
    """Both sides' fit, in [0, 1], of every named team with every named resource (for allocation
    rounds), and which scorer produced them."""
    ranker = _rankers.get(session, model_folder)
    keys = [resource_key(r) for r in resource_ids]
    fits: dict[tuple[int, int], float] = {}
    for team_id in team_ids:
        for key, value in ranker.both_sides(team_key(team_id), keys).items():
            fits[(team_id, _id(key))] = value
    return (TRAINED if ranker.model is not None else "cold-start score"), fits
