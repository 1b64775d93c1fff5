"""The two-stage ranking on small hand-made data sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from matchmaker.datasets import Dataset, Entity, Event
from matchmaker.offline import compare
from matchmaker.ranking import FEATURES, Ranker, Signals, load_latest_model, save_model, train

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def team(ident: str, text: str, tags: set[str], **meta: str) -> Entity:
    return Entity(ident, text, frozenset(tags), "team", {"space": "1", "stage": "incubator", **meta})


def resource(ident: str, text: str, tags: set[str], kind: str = "mentor", **meta: str) -> Entity:
    return Entity(ident, text, frozenset(tags), kind, {"space": "1", **meta})


def used(t: str, r: str, days_ago: float, kind: str = "booking", **kw: object) -> Event:
    return Event(t, r, NOW - timedelta(days=days_ago), kind, **kw)  # type: ignore[arg-type]


def test_an_english_mentor_finds_a_chinese_team_through_shared_capability_terms() -> None:
    # The vocabulary puts both languages' terms of a tag into each text (see operations.matching).
    data = Dataset(
        teams={"t": team("t", "我们做工业机器视觉检测相机 机器视觉 machine vision", {"machine-vision"})},
        resources={
            "vision": resource("vision", "Mentor for machine vision and optics 机器视觉", {"machine-vision"}),
            "hplc": resource("hplc", "HPLC method development 高效液相色谱", {"hplc"}),
        },
    )
    top = Ranker(Signals(data, now=NOW)).recommend("t", k=1)
    assert top[0].resource == "vision"


def test_without_a_trained_model_the_cold_start_score_serves_and_says_so() -> None:
    data = Dataset(teams={"t": team("t", "a", {"x"})}, resources={"r": resource("r", "a", {"x"})})
    ranker = Ranker(Signals(data, now=NOW))
    assert ranker.mode == "cold start (content and graph)"
    assert ranker.recommend("t")[0].resource == "r"


def test_reasons_name_the_feature_that_drove_the_score() -> None:
    data = Dataset(
        teams={"t": team("t", "wafer probing", {"probe", "wafer"}), "u": team("u", "other", {"bio"})},
        resources={
            "fit": resource("fit", "probe station for wafer work", {"probe", "wafer"}, kind="equipment"),
            "far": resource("far", "cell culture hood", {"bio"}, kind="equipment"),
        },
    )
    best = Ranker(Signals(data, now=NOW)).recommend("t", k=1)[0]
    assert best.resource == "fit"
    assert best.reasons[0].feature in ("content", "tag_fit")
    named = {r.feature for r in best.reasons}
    assert "tag_fit" in named
    tag_reason = next(r for r in best.reasons if r.feature == "tag_fit")
    assert "probe" in tag_reason.en and "probe" in tag_reason.zh


def test_a_resource_the_team_used_before_is_explained_as_such() -> None:
    data = Dataset(
        teams={"t": team("t", "x", set()), "u": team("u", "y", set())},
        resources={
            "a": resource("a", "z", set(), kind="equipment"),
            "b": resource("b", "w", set(), kind="equipment"),
        },
        events=(used("t", "a", 3), used("t", "a", 10), used("u", "b", 5)),
    )
    best = Ranker(Signals(data, now=NOW)).recommend("t", k=1)[0]
    assert best.resource == "a"
    assert any(r.feature in ("repeat", "walk") for r in best.reasons)


def test_a_fund_that_invests_in_the_teams_round_and_ticket_gets_the_investor_features() -> None:
    data = Dataset(
        teams={"t": team("t", "funding", {"fin"}, round="seed", ask="300")},
        resources={
            "seed": resource(
                "seed", "fund", {"fin"}, kind="fund", rounds="seed;angel", ticket_min="100", ticket_max="500"
            ),
            "late": resource(
                "late", "fund", {"fin"}, kind="fund", rounds="b", ticket_min="2000", ticket_max="9000"
            ),
        },
    )
    signals = Signals(data, now=NOW)
    x = signals.features("t", np.array([signals.res_pos["seed"], signals.res_pos["late"]]))
    round_fit, ticket_fit = FEATURES.index("round_fit"), FEATURES.index("ticket_fit")
    assert x[:, round_fit].tolist() == [1.0, 0.0]
    assert x[:, ticket_fit].tolist() == [1.0, 0.0]


def test_teams_see_only_their_own_spaces_resources() -> None:
    data = Dataset(
        teams={"t": team("t", "probe", {"p"})},
        resources={
            "here": resource("here", "probe", {"p"}),
            "there": Entity("there", "probe", frozenset({"p"}), "mentor", {"space": "2"}),
        },
    )
    assert [r.resource for r in Ranker(Signals(data, now=NOW)).recommend("t")] == ["here"]


def synthetic(seed: int = 1, teams: int = 60, resources: int = 30) -> Dataset:
    """Teams come back to resources whose tags fit theirs: the kind of signal the model must find."""
    rng = np.random.default_rng(seed)
    tags = [f"tag{i}" for i in range(8)]
    ts = {
        f"t{i}": team(f"t{i}", " ".join(rng.choice(tags, 2)), set(rng.choice(tags, 2))) for i in range(teams)
    }
    rs = {
        f"r{i}": resource(f"r{i}", " ".join(rng.choice(tags, 2)), set(rng.choice(tags, 2)), kind="equipment")
        for i in range(resources)
    }
    events = []
    for day in range(300, 0, -3):
        for t in rng.choice(list(ts), 6):
            weights = np.array([1 + 4 * len(ts[t].tags & r.tags) for r in rs.values()], dtype=float)
            r = rng.choice(list(rs), p=weights / weights.sum())
            events.append(used(t, r, day + rng.random(), outcome="completed"))
    return Dataset(teams=ts, resources=rs, events=tuple(sorted(events, key=lambda e: e.at)))


@pytest.mark.slow  # trains a model
def test_training_learns_a_model_that_beats_random_and_popularity_on_planted_fit() -> None:
    result = compare(synthetic(), k=5)
    assert result.overall["trained model"].ndcg > result.overall["random"].ndcg
    assert result.overall["trained model"].ndcg > result.overall["popularity"].ndcg
    assert (
        set(result.overall)
        == set(result.cold_start)
        == {
            "trained model",
            "model, capped exposure",
            "cold-start score",
            "content-only",
            "graph-only",
            "popularity",
            "random",
        }
    )
    assert result.cold_start_teams > 0


def test_a_saved_model_loads_back_and_ranks_the_same(tmp_path: Path) -> None:
    data = synthetic(seed=2)
    ranker = train(data)
    assert ranker.model is not None
    path = save_model(ranker, tmp_path, trained_on="synthetic")
    loaded = load_latest_model(tmp_path)
    assert loaded is not None
    model, meta = loaded
    assert meta["features"] == list(FEATURES) and path.exists()
    assert Ranker(ranker.signals, model).rank("t0") == ranker.rank("t0")


def test_a_model_with_other_features_is_not_loaded(tmp_path: Path) -> None:
    ranker = train(synthetic(seed=3))
    path = save_model(ranker, tmp_path, trained_on="synthetic")
    meta = path.with_suffix(".json")
    meta.write_text(meta.read_text().replace('"content"', '"something-else"'))
    assert load_latest_model(tmp_path) is None


def test_saving_an_untrained_ranker_is_refused(tmp_path: Path) -> None:
    data = Dataset(teams={"t": team("t", "a", {"x"})}, resources={"r": resource("r", "a", {"x"})})
    with pytest.raises(ValueError, match="no trained model"):
        save_model(Ranker(Signals(data, now=NOW)), tmp_path, trained_on="x")
