"""Fair exposure: every list is filled, no resource takes more than its share of a space's lists, and
what the teams give up is the least score possible (checked by brute force)."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker import exposure
from matchmaker.evaluation import top_share
from matchmaker.ranking import Ranker, Signals
from tests.matchmaker.test_ranking import synthetic


def test_a_resource_every_team_prefers_appears_on_at_most_its_share_of_lists() -> None:
    lists = {f"t{i}": [("star", 1.0)] + [(f"r{j}", 0.5 - j / 100) for j in range(19)] for i in range(12)}
    capped = exposure.capped_lists(lists, k=3, max_share=0.25)
    assert all(len(items) == 3 for items in capped.values())
    assert sum("star" in items for items in capped.values()) == math.ceil(0.25 * 12)
    assert top_share(list(capped.values())) <= 0.25


def test_the_cap_rises_only_as_far_as_filling_every_list_needs() -> None:
    assert exposure.cap_for(teams=40, k=5, items=100, max_share=0.25) == 10
    assert exposure.cap_for(teams=40, k=5, items=10, max_share=0.25) == 20  # 200 slots over 10 items
    assert exposure.cap_for(teams=40, k=5, items=3, max_share=0.25) == 40  # every list takes all three
    assert exposure.cap_for(teams=0, k=5, items=3) == 0


def test_each_team_keeps_its_own_order_among_what_it_is_given() -> None:
    lists = {"a": [("x", 0.9), ("y", 0.8), ("z", 0.1)], "b": [("x", 0.95), ("z", 0.5), ("y", 0.4)]}
    capped = exposure.capped_lists(lists, k=2, max_share=0.5)
    for team, items in capped.items():
        ranked = [item for item, _ in lists[team]]
        assert items == sorted(items, key=ranked.index)


scored = st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(scored, min_size=2, max_size=3), st.sampled_from([0.34, 0.5, 0.67]))
def test_the_plan_keeps_the_most_score_any_capped_choice_could(rows: list[list[float]], share: float) -> None:
    items = ["p", "q", "r", "s"]
    lists = {
        f"t{n}": sorted(zip(items, row, strict=True), key=lambda pair: -pair[1]) for n, row in enumerate(rows)
    }
    k = 2
    cap = exposure.cap_for(len(lists), k, len(items), share)
    capped = exposure.capped_lists(lists, k, share)
    assert all(len(chosen) == k for chosen in capped.values())
    assert max(sum(item in chosen for chosen in capped.values()) for item in items) <= cap
    value = {team: dict(ranked) for team, ranked in lists.items()}

    def total(choice: dict[str, tuple[str, ...]]) -> float:
        return sum(value[team][item] for team, chosen in choice.items() for item in chosen)

    best = 0.0
    teams = sorted(lists)
    for combo in itertools.product(*(itertools.combinations(items, k) for _ in teams)):
        choice = dict(zip(teams, combo, strict=True))
        if max(sum(item in chosen for chosen in choice.values()) for item in items) <= cap:
            best = max(best, total(choice))
    got = total({team: tuple(chosen) for team, chosen in capped.items()})
    assert got >= best - 0.01 * len(teams) * k  # optimal up to the tie-breaking sliver


def test_served_lists_are_capped_across_a_space() -> None:
    data = synthetic(teams=40, resources=30)
    ranker = Ranker(Signals(data))
    served = {t: [r.resource for r in ranker.recommend(t, k=5, fair=True)] for t in data.teams}
    plain = {t: [r.resource for r in ranker.recommend(t, k=5)] for t in data.teams}
    assert all(len(items) == 5 for items in served.values())
    cap = exposure.cap_for(40, 5, 30)
    assert top_share(list(served.values())) <= cap / 40
    assert top_share(list(served.values())) <= top_share(list(plain.values()))
