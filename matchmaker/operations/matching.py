"""The platform's own data as a generic interaction data set, for training and evaluating the ranking."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matchmaker.datasets import Dataset, Entity, Event
from models import AdmissionStatus, Interaction, Resource, Tag, Team


def team_key(team_id: int) -> str:
    return f"team:{team_id}"


def resource_key(resource_id: int) -> str:
    return f"resource:{resource_id}"


def dataset_from_db(session: Session) -> Dataset:
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
    events = []
    for i in session.scalars(
        select(Interaction)
        .where(Interaction.resource_id.is_not(None))
        .order_by(Interaction.occurred_at, Interaction.id)
    ):
        team, resource = team_key(i.team_id), resource_key(i.resource_id or 0)
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
