"""Ranking metrics, exposure and the evaluation loop, against values worked out by hand."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker.datasets import Dataset, Entity, Event, cold_start_teams, time_split
from matchmaker.evaluation import (
    Ranker,
    Report,
    average_precision,
    catalogue_coverage,
    decayed_popularity,
    evaluate,
    evaluate_by_group,
    exposure_concentration,
    exposure_counts,
    gini,
    mean_average_precision,
    ndcg_at_k,
    popularity_ranker,
    precision_at_k,
    random_ranker,
    recall_at_k,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)
LOG2_3 = math.log2(3)  # the discount of the second position is 1 / log2(3) ≈ 0.6309


def ev(team: str, resource: str, day: float = 0, kind: str = "booking", **kw: Any) -> Event:
    return Event(team=team, resource=resource, at=T0 + timedelta(days=day), kind=kind, **kw)


def dataset(events: list[Event], resources: Sequence[str] = ("r1", "r2", "r3", "r4")) -> Dataset:
    teams = {e.team: Entity(e.team, "") for e in events}
    return Dataset(teams=teams, resources={r: Entity(r, "") for r in resources}, events=tuple(events))


def fixed(lists: dict[str, list[str]]) -> Ranker:
    return lambda team: lists.get(team, [])


# ---------------------------------------------------------------------------------------------- nDCG


def test_ndcg_matches_a_hand_computed_example() -> None:
    relevance = {"b": 3, "c": 1, "e": 2}
    # top 3 of [a, b, c, d]: a gains 0; b gains 2³-1 = 7 at position 2 → 7/log2(3); c gains 2¹-1 = 1 at
    # position 3 → 1/log2(4) = 0.5.  DCG = 7/1.58496 + 0.5 = 4.41650 + 0.5 = 4.91650
    # ideal top 3: gains 7 (b), 3 (e: 2²-1), 1 (c) → 7/1 + 3/1.58496 + 1/2 = 7 + 1.89279 + 0.5 = 9.39279
    # nDCG@3 = 4.91650 / 9.39279 = 0.52343
    expected = (7 / LOG2_3 + 0.5) / (7 + 3 / LOG2_3 + 0.5)
    assert ndcg_at_k(["a", "b", "c", "d"], relevance, k=3) == pytest.approx(expected)
    assert expected == pytest.approx(0.52343, abs=1e-5)


def test_ndcg_is_one_for_the_ideal_order_and_zero_with_nothing_relevant() -> None:
    relevance = {"x": 2, "y": 1, "z": 0}
    assert ndcg_at_k(["x", "y", "z"], relevance) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"x": 0, "y": -1}) == 0.0  # 0 and negative relevance gain nothing
    assert ndcg_at_k(["x", "y"], {}) == 0.0
    assert ndcg_at_k([], relevance) == 0.0


def test_ndcg_with_k_larger_than_the_list_counts_missing_relevant_items_against_it() -> None:
    # ranked [x] only; y (rel 1) is never shown. DCG = 3 (x: 2²-1 at position 1);
    # IDCG = 3 + 1/log2(3) = 3.63093 → 0.82622
    assert ndcg_at_k(["x"], {"x": 2, "y": 1}, k=50) == pytest.approx(3 / (3 + 1 / LOG2_3))


def test_a_duplicate_in_the_ranking_takes_a_slot_but_earns_nothing() -> None:
    relevance = {"b": 1, "c": 1}
    # [b, b, c] scores like [b, (miss), c]: (1 + 1/log2(4)) / (1 + 1/log2(3)) = 1.5 / 1.63093 = 0.91972
    assert ndcg_at_k(["b", "b", "c"], relevance) == pytest.approx(ndcg_at_k(["b", "x", "c"], relevance))
    assert ndcg_at_k(["b", "b", "c"], relevance) == pytest.approx(1.5 / (1 + 1 / LOG2_3))
    assert ndcg_at_k(["b", "b", "b"], {"b": 3}) == pytest.approx(1.0)  # never above the ideal


def test_metrics_refuse_a_cut_below_one() -> None:
    for metric in (ndcg_at_k, recall_at_k, precision_at_k):
        with pytest.raises(ValueError, match="k must be at least 1"):
            metric(["a"], {"a": 1}, 0)


@settings(deadline=None, max_examples=200)
@given(
    relevance=st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from([0, 0.5, 1, 2, 3]), max_size=8),
    order=st.permutations(list("abcdefgh")),
    k=st.integers(1, 10),
)
def test_ndcg_stays_between_zero_and_one_and_the_ideal_order_scores_one(
    relevance: dict[str, float], order: list[str], k: int
) -> None:
    assert 0.0 <= ndcg_at_k(order, relevance, k) <= 1.0 + 1e-12
    ideal = sorted(order, key=lambda item: -relevance.get(item, 0))
    assert ndcg_at_k(ideal, relevance, k) == pytest.approx(
        1.0 if any(v > 0 for v in relevance.values()) else 0.0
    )


# -------------------------------------------------------------------------------------- recall, precision, AP


def test_recall_and_precision_match_hand_counts() -> None:
    relevance = {"a": 1, "b": 2, "c": 0, "d": 1}  # relevant: a, b, d (c has relevance 0)
    ranked = ["a", "c", "e", "b"]
    assert recall_at_k(ranked, relevance, k=3) == pytest.approx(1 / 3)  # top 3 holds a only
    assert recall_at_k(ranked, relevance, k=10) == pytest.approx(2 / 3)  # a and b; d never shown
    assert precision_at_k(ranked, relevance, k=2) == pytest.approx(1 / 2)  # a in 2 slots
    assert precision_at_k(ranked, relevance, k=10) == pytest.approx(
        2 / 10
    )  # a shorter list still has 10 slots
    assert recall_at_k(["a", "a", "a"], relevance, k=3) == pytest.approx(1 / 3)  # repeats find nothing new
    assert recall_at_k(ranked, {"c": 0}) == 0.0


def test_average_precision_matches_a_hand_computed_example() -> None:
    relevance = {"a": 1, "b": 1, "c": 2, "z": 1}  # 4 relevant; z is never ranked
    ranked = ["a", "x", "b", "y", "c"]
    # hits at positions 1, 3, 5: precision 1/1, 2/3, 3/5 → (1 + 0.66667 + 0.6) / 4 = 2.26667 / 4 = 0.56667
    assert average_precision(ranked, relevance) == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)
    # AP@3: hits at 1 and 3 → (1 + 2/3) / min(3, 4) = 1.66667 / 3 = 0.55556
    assert average_precision(ranked, relevance, k=3) == pytest.approx((1 + 2 / 3) / 3)
    # AP@1 with a hit: 1 / min(1, 4) = 1, a perfect top 1
    assert average_precision(ranked, relevance, k=1) == 1.0


def test_average_precision_counts_a_repeated_hit_once_and_is_zero_without_relevant_items() -> None:
    # [a, a, b]: a at 1 → 1/1; the second a is skipped; b at 3 → 2/3; (1 + 0.66667) / 2 = 0.83333
    assert average_precision(["a", "a", "b"], {"a": 1, "b": 1}) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(["a", "b"], {"a": 0}) == 0.0
    assert average_precision([], {"a": 1}) == 0.0


def test_mean_average_precision_averages_queries_that_have_something_relevant() -> None:
    queries: list[tuple[Sequence[str], dict[str, float]]] = [
        (["a", "b"], {"a": 1}),  # AP = 1
        (["x", "a"], {"a": 1}),  # AP = (1/2) / 1 = 0.5
        (["a"], {"a": 0}),  # nothing relevant: left out, not a 0
    ]
    assert mean_average_precision(queries) == pytest.approx((1 + 0.5) / 2)
    assert mean_average_precision(iter(queries), k=1) == pytest.approx((1 + 0) / 2)  # AP@1 of query 2 is 0
    assert mean_average_precision([]) == 0.0


# ---------------------------------------------------------------------------------------------- exposure


def test_coverage_counts_distinct_items_in_the_top_k_over_the_catalogue() -> None:
    rankings = [["a", "b", "c"], ["a", "b", "d"]]
    assert catalogue_coverage(rankings, catalogue_size=5, k=2) == pytest.approx(2 / 5)  # {a, b}
    assert catalogue_coverage(rankings, catalogue_size=5, k=3) == pytest.approx(4 / 5)  # {a, b, c, d}
    assert catalogue_coverage([], catalogue_size=5) == 0.0
    with pytest.raises(ValueError, match="more than the catalogue"):
        catalogue_coverage(rankings, catalogue_size=3, k=3)
    with pytest.raises(ValueError, match="catalogue_size"):
        catalogue_coverage(rankings, catalogue_size=0)


def test_gini_matches_a_hand_computed_example() -> None:
    # sorted [0, 1, 1, 2], n = 4, total 4: Σ (2i - n - 1)·x_i = (-3)·0 + (-1)·1 + 1·1 + 3·2 = 6
    # → 6 / (4 · 4) = 0.375 (same as Σ|x_i - x_j| over ordered pairs / (2·n·total) = 12 / 32)
    assert gini([2, 0, 1, 1]) == pytest.approx(0.375)
    assert gini([]) == 0.0
    assert gini([0, 0, 0]) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_exposure_gini_is_zero_when_every_item_is_shown_equally() -> None:
    rankings = [["a", "b"], ["b", "c"], ["c", "a"]]  # each of the 3 items shown twice
    assert exposure_concentration(rankings, catalogue_size=3, k=2) == 0.0


def test_exposure_gini_is_three_quarters_when_one_of_four_items_gets_everything() -> None:
    # counts [5, 0, 0, 0] (the three never-shown items count as 0): Σ (2i - 5)·x_i = 3·5 = 15
    # → 15 / (4 · 5) = 0.75 = (n - 1) / n
    assert exposure_concentration([["a"]] * 5, catalogue_size=4, k=10) == pytest.approx(3 / 4)
    assert exposure_concentration([["a"]] * 5, catalogue_size=100) == pytest.approx(99 / 100)


def test_position_weighted_exposure_discounts_lower_places() -> None:
    rankings = [["a", "b"], ["a", "b"]]
    assert exposure_counts(rankings, k=2) == {"a": 2.0, "b": 2.0}
    weighted = exposure_counts(rankings, k=2, position_weighted=True)
    assert weighted == pytest.approx({"a": 2.0, "b": 2 / LOG2_3})  # b: 2 × 0.63093 = 1.26186
    # sorted [1.26186, 2]: (-1·1.26186 + 1·2) / (2 · 3.26186) = 0.73814 / 6.52372 = 0.11315
    expected = (2 - 2 / LOG2_3) / (2 * (2 + 2 / LOG2_3))
    assert exposure_concentration(rankings, 2, k=2, position_weighted=True) == pytest.approx(expected)
    assert expected == pytest.approx(0.11315, abs=1e-5)
    assert exposure_concentration(rankings, 2, k=2) == 0.0


@settings(deadline=None, max_examples=200)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=30))
def test_gini_lies_between_zero_and_its_all_on_one_maximum(values: list[float]) -> None:
    n = len(values)
    assert -1e-9 <= gini(values) <= (n - 1) / n + 1e-9
    assert gini(values) == pytest.approx(gini(list(reversed(values))), abs=1e-9)


# ---------------------------------------------------------------------------------------------- baselines


def test_popularity_ranks_by_decayed_counts_of_positive_events() -> None:
    train = dataset(
        [
            ev("a", "r1", day=20),  # age 0  → 1
            ev("b", "r1", day=10),  # age 10 → 0.5
            ev("a", "r2", day=20, kind="mentor_session", rating=5),  # age 0 → 1
            ev("c", "r3", day=20, kind="introduction", outcome="declined"),  # not popularity
            ev("a", "r4", day=0),  # age 20 → 0.25, three times
            ev("b", "r4", day=0),
            ev("c", "r4", day=0),
        ],
        resources=("r1", "r2", "r3", "r4", "r5"),
    )
    # half-life 10 days, now = latest event (day 20): r1 = 1 + 0.5 = 1.5; r2 = 1; r4 = 3 × 0.25 = 0.75
    assert decayed_popularity(train.events, half_life_days=10) == pytest.approx(
        {"r1": 1.5, "r2": 1.0, "r4": 0.75}
    )
    # r3 and r5 tie at 0 and keep the candidates' order (r5 before r3)
    rank = popularity_ranker(train, half_life_days=10, candidates=["r5", "r3", "r4", "r2", "r1"])
    assert rank("anyone") == ["r1", "r2", "r4", "r5", "r3"]
    # with no decay the three old r4 events win: r4 = 3, r1 = 2, r2 = 1
    assert popularity_ranker(train, half_life_days=math.inf)("x") == ["r4", "r1", "r2", "r3", "r5"]


def test_popularity_measures_age_from_an_explicit_now_and_never_from_the_clock() -> None:
    events = [ev("a", "r1", day=0), ev("a", "r2", day=30)]
    # now = day 30 + 30: r1 is 60 days old → 0.5² = 0.25 with a 30-day half-life; r2 is 30 days → 0.5
    later = T0 + timedelta(days=60)
    assert decayed_popularity(events, half_life_days=30, now=later) == pytest.approx({"r1": 0.25, "r2": 0.5})
    # an event after an explicit now counts as brand new, not as more than 1
    assert decayed_popularity(events, half_life_days=30, now=T0) == pytest.approx({"r1": 1.0, "r2": 1.0})
    assert decayed_popularity([]) == {}
    with pytest.raises(ValueError, match="half_life_days"):
        decayed_popularity(events, half_life_days=0)


def test_the_random_ranker_is_a_fixed_shuffle_per_team_and_seed() -> None:
    train = dataset([], resources=[f"r{i:02}" for i in range(20)])
    rank = random_ranker(train, seed=1)
    first = rank("a")
    assert sorted(first) == sorted(train.resources)
    rank("b")  # ranking another team in between changes nothing
    assert rank("a") == first == random_ranker(train, seed=1)("a")
    assert random_ranker(train, seed=2)("a") != first
    assert rank("b") != first
    assert sorted(random_ranker(train, candidates=["r01", "r02", "r01"])("a")) == ["r01", "r02"]


# ---------------------------------------------------------------------------------------------- evaluate

# Test events: A used r2 (booking, 1) and got an investment from r3 (3); B had a 4-star session with r1 (2);
# C was declined by r4 (0, so C is skipped).
TEST = dataset(
    [
        ev("A", "r2", 40),
        ev("A", "r3", 41, kind="investment", outcome="closed"),
        ev("B", "r1", 40, kind="mentor_session", rating=4),
        ev("C", "r4", 40, kind="decline", outcome="declined"),
    ]
)
TRAIN = dataset([ev("A", "r3", 1, kind="introduction", outcome="accepted"), ev("D", "r1", 2)])
LISTS = {"A": ["r3", "r1", "r2", "r4"], "B": ["r2", "r1", "r3", "r4"], "C": ["r4", "r3", "r2", "r1"]}
CANDIDATES = ["r1", "r2", "r3", "r4"]


def test_evaluate_matches_a_hand_computed_report() -> None:
    report = evaluate(fixed(LISTS), TRAIN, TEST, CANDIDATES, k=2)
    # A: relevance {r2: 1, r3: 3}, top 2 [r3, r1]. DCG = 7; IDCG = 7 + 1/log2(3) = 7.63093 → 0.91732;
    #    recall 1/2; AP@2 = (1/1) / min(2, 2) = 0.5
    # B: relevance {r1: 2}, top 2 [r2, r1]. DCG = 3/log2(3) = 1.89279; IDCG = 3 → 0.63093;
    #    recall 1; AP@2 = (1/2) / 1 = 0.5
    # means: nDCG (0.91732 + 0.63093) / 2 = 0.77413; recall 0.75; MAP 0.5
    # top-2 lists [r3, r1], [r2, r1] → shown {r1, r2, r3} of 4 → coverage 0.75;
    # exposure r1 2, r2 1, r3 1, r4 0 → Gini of [0, 1, 1, 2] = 0.375; r1 is on both lists → top share 1
    expected = Report(
        ndcg=(7 / (7 + 1 / LOG2_3) + 1 / LOG2_3) / 2,
        recall=0.75,
        map=0.5,
        coverage=0.75,
        exposure_gini=0.375,
        teams_evaluated=2,
        teams_skipped=1,
        top_share=1.0,
    )
    assert astuple(report)[:-1] == pytest.approx(astuple(expected)[:-1])
    assert report.ndcg == pytest.approx(0.77413, abs=1e-5)
    assert dict(report.ndcg_by_team) == pytest.approx({"A": 7 / (7 + 1 / LOG2_3), "B": 1 / LOG2_3})


def test_resources_seen_in_train_stay_in_unless_excluded() -> None:
    # A already had r3 in train (an accepted introduction). By default r3 stays: same as above.
    kept = evaluate(fixed(LISTS), TRAIN, TEST, CANDIDATES, k=2, teams={"A"})
    assert kept.ndcg == pytest.approx(7 / (7 + 1 / LOG2_3))
    # Excluded: r3 leaves both A's list and A's relevance. A: relevance {r2: 1}, top 2 [r1, r2]
    # → nDCG = (1/log2(3)) / 1 = 0.63093, recall 1, AP@2 = (1/2) / 1 = 0.5
    excluded = evaluate(fixed(LISTS), TRAIN, TEST, CANDIDATES, k=2, teams={"A"}, exclude_seen=True)
    assert (excluded.ndcg, excluded.recall, excluded.map) == pytest.approx((1 / LOG2_3, 1.0, 0.5))
    # a team whose only positive was seen before is skipped when seen items are excluded
    only_seen = dataset([ev("A", "r3", 50, kind="investment")])
    report = evaluate(fixed(LISTS), TRAIN, only_seen, CANDIDATES, exclude_seen=True)
    assert (report.teams_evaluated, report.teams_skipped) == (0, 1)


def test_evaluate_keeps_to_the_candidates() -> None:
    # Against [r1, r2] only: A's r3 (relevance 3) is out of scope, so A is judged on r2 alone,
    # and the ranker's r3 and r4 are dropped: A's list becomes [r1, r2] → nDCG 1/log2(3), recall 1.
    report = evaluate(fixed(LISTS), TRAIN, TEST, ["r1", "r2", "r1"], k=2, teams={"A"})
    assert (report.ndcg, report.recall, report.coverage) == pytest.approx((1 / LOG2_3, 1.0, 1.0))
    with pytest.raises(ValueError, match="at least one candidate"):
        evaluate(fixed(LISTS), TRAIN, TEST, [])


def test_evaluate_by_group_reports_cold_start_teams_separately() -> None:
    cold = cold_start_teams(TRAIN, TEST)
    assert cold == {"B", "C"}
    reports = evaluate_by_group(
        fixed(LISTS), TRAIN, TEST, CANDIDATES, {"cold start": cold, "returning": {"A"}, "nobody": set()}, k=2
    )
    assert reports["cold start"].ndcg == pytest.approx(1 / LOG2_3)  # B only; C skipped
    assert (reports["cold start"].teams_evaluated, reports["cold start"].teams_skipped) == (1, 1)
    assert reports["returning"].ndcg == pytest.approx(7 / (7 + 1 / LOG2_3))
    assert reports["nobody"] == Report(0.0, 0.0, 0.0, 0.0, 0.0, teams_evaluated=0, teams_skipped=0)


def test_popularity_beats_random_on_data_where_popularity_drives_use() -> None:
    # 30 resources whose chance of being used falls off steeply with their index; 40 teams, 10 uses each
    rng = random.Random(7)
    resources = [f"r{i:02}" for i in range(30)]
    weights = [0.7**i for i in range(30)]
    events = [
        ev(f"t{t}", rng.choices(resources, weights)[0], day=rng.uniform(0, 100))
        for t in range(40)
        for _ in range(10)
    ]
    train, test = time_split(dataset(events, resources), 0.2)
    popular = evaluate(popularity_ranker(train), train, test, resources, k=5)
    shuffled = evaluate(random_ranker(train, seed=0), train, test, resources, k=5)
    assert popular.teams_evaluated == shuffled.teams_evaluated > 0
    assert popular.ndcg > shuffled.ndcg
    # one list for everyone: 5 of 30 items covered, and exposure far more concentrated than random's
    assert popular.coverage == pytest.approx(5 / 30)
    assert popular.exposure_gini > shuffled.exposure_gini
