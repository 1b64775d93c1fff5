"""The interaction graph on small hand-made cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import networkx as nx
import pytest

from matchmaker.graph import RESOURCE, TASK, TEAM, Interaction, InteractionGraph, decay, interaction_weight

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def used(team: int, resource: int, days_ago: float = 0, kind: str = "booking", **kw: object) -> Interaction:
    return Interaction(team_id=team, resource_id=resource, kind=kind, at=NOW - timedelta(days=days_ago), **kw)  # type: ignore[arg-type]


def graph(
    events: list[Interaction], teams: range = range(1, 5), resources: range = range(1, 6)
) -> InteractionGraph:
    return InteractionGraph(teams, resources, events, now=NOW, half_life_days=30)


def test_keys_never_collide_and_the_sides_are_explicit() -> None:
    g = graph([used(1, 1)])
    assert g.graph.has_edge((TEAM, 1), (RESOURCE, 1))
    assert not g.graph.has_edge((TEAM, 1), (TEAM, 1))
    assert nx.bipartite.is_bipartite_node_set(g.graph, g.teams)  # works although most nodes are isolated


def test_repeated_use_adds_up_and_old_use_fades() -> None:
    g = graph([used(1, 1), used(1, 1, days_ago=30), used(1, 2, days_ago=60)])
    hood = g.neighbourhood(1)
    assert hood[(RESOURCE, 1)] == pytest.approx(1.0 + 0.5)
    assert hood[(RESOURCE, 2)] == pytest.approx(0.25)
    assert list(hood) == [(RESOURCE, 1), (RESOURCE, 2)]
    assert g.graph.edges[(TEAM, 1), (RESOURCE, 1)]["count"] == 2


def test_ratings_scale_and_refusals_add_nothing() -> None:
    assert interaction_weight(used(1, 1, kind="mentor_session", rating=5)) == pytest.approx(1.5 * 5 / 3)
    assert interaction_weight(used(1, 1, kind="introduction", outcome="declined")) == 0
    assert interaction_weight(used(1, 1, outcome="no_show")) == 0
    g = graph([used(1, 1, kind="decline")])
    assert g.neighbourhood(1) == {}


def test_decay_halves_at_the_half_life() -> None:
    assert decay(0, 30) == 1
    assert decay(30, 30) == pytest.approx(0.5)
    assert decay(-5, 30) == 1  # a clock skew never boosts an event


def test_tasks_sit_on_the_resource_side() -> None:
    g = InteractionGraph(
        [1], [1], [Interaction(team_id=1, task_id=9, kind="task_award", at=NOW)], now=NOW, task_ids=[9]
    )
    assert g.neighbourhood(1) == {(TASK, 9): pytest.approx(2.0)}


def test_unused_resources_and_unserved_teams_are_listed() -> None:
    g = graph([used(1, 1), used(2, 2)])
    assert g.unused_items() == [(RESOURCE, 3), (RESOURCE, 4), (RESOURCE, 5)]
    assert g.unserved_teams() == [(TEAM, 3), (TEAM, 4)]


def test_the_walk_reaches_what_similar_teams_used() -> None:
    # Teams 1 and 2 share resource 1; team 2 also used resource 2. Team 1 should be led to resource 2,
    # and never to resource 3, which only the unrelated team 3 used.
    g = graph([used(1, 1), used(2, 1), used(2, 2), used(3, 3)])
    scores = g.proximity(1)
    assert (RESOURCE, 2) in scores
    assert (RESOURCE, 3) not in scores


def test_the_walk_matches_a_hand_computed_value() -> None:
    # A = [[1,0],[1,1]] (teams 1,2 x resources 1,2). Team→item: t1=[1,0], t2=[.5,.5].
    # Item→team: r1=[.5,.5], r2=[0,1]. From t1: t1→r1 (1) → t1 (.5) or t2 (.5) →
    # r1: .5*1 + .5*.5 = .75 ; r2: .5*.5 = .25. Degrees: r1=2, r2=1; beta=0 keeps them, beta=1 divides.
    g = InteractionGraph([1, 2], [1, 2], [used(1, 1), used(2, 1), used(2, 2)], now=NOW)
    assert g.proximity(1, beta=0) == {(RESOURCE, 1): pytest.approx(0.75), (RESOURCE, 2): pytest.approx(0.25)}
    assert g.proximity(1, beta=1) == {(RESOURCE, 1): pytest.approx(0.375), (RESOURCE, 2): pytest.approx(0.25)}


def test_the_popularity_penalty_divides_by_how_many_teams_used_an_item() -> None:
    events = [used(1, 1), used(1, 2), used(2, 2), used(2, 3), used(3, 1), used(4, 1), used(3, 4), used(4, 4)]
    plain = graph(events).proximity(2, beta=0)
    penalised = graph(events).proximity(2, beta=1)
    # Resource 1 is used by three teams, resource 3 by one: beta=1 divides by those counts.
    assert penalised[(RESOURCE, 1)] / plain[(RESOURCE, 1)] == pytest.approx(1 / 3)
    assert penalised[(RESOURCE, 3)] / plain[(RESOURCE, 3)] == pytest.approx(1.0)


def test_a_team_without_history_gets_no_walk_scores() -> None:
    assert graph([used(1, 1)]).proximity(4) == {}
    assert graph([used(1, 1)]).proximity(99) == {}


def test_clusters_separate_two_niches() -> None:
    chips = [used(t, r) for t in (1, 2) for r in (1, 2)]
    bio = [used(t, r) for t in (3, 4) for r in (3, 4)]
    clusters = graph(chips + bio).clusters(seed=1)
    assert sorted(sorted(teams) for teams, _ in clusters) == [[1, 2], [3, 4]]
    assert all({n[1] for n in items} in ({1, 2}, {3, 4}) for _, items in clusters)


def test_popularity_is_decayed_use() -> None:
    g = graph([used(1, 1), used(2, 1, days_ago=30), used(3, 2)])
    assert g.popularity() == {(RESOURCE, 1): pytest.approx(1.5), (RESOURCE, 2): pytest.approx(1.0)}


def test_a_nonsense_half_life_is_refused() -> None:
    with pytest.raises(ValueError, match="half-life"):
        InteractionGraph([1], [1], [], now=NOW, half_life_days=0)
