"""The two-stage ranking on small hand-made data sets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from matchmaker.datasets import Dataset, Entity, Event
from matchmaker.evaluation import Report, shortfall
from matchmaker.offline import Comparison, Loss, compare, table
from matchmaker.ranking import (
    FEATURES,
    HARD_NEGATIVES,
    HARD_WEIGHT,
    UNIFORM_NEGATIVES,
    Choice,
    Ranker,
    Selection,
    Signals,
    _choose,
    load_latest_model,
    negative_sample,
    save_model,
    select,
    train,
)

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
    assert ranker.mode == "cold-start score"
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
    warm = result.groups["warm"]
    assert warm["trained model"].ndcg > warm["random"].ndcg
    assert warm["trained model"].ndcg > warm["popularity"].ndcg
    assert warm["served"].ndcg > warm["popularity"].ndcg
    assert (
        set(result.groups["warm"])
        == set(result.groups["cold"])
        >= {
            "served",
            "trained model",
            "cold-start score",
            "content-only",
            "graph-only",
            "popularity",
            "recent popularity (30 days)",
            "item neighbours",
            "random",
        }
    )
    assert result.teams["cold"] > 0 and result.teams["warm"] > 0


@pytest.mark.slow
def test_a_saved_model_loads_back_and_ranks_the_same(tmp_path: Path) -> None:
    data = synthetic(seed=2)
    ranker = train(data)
    assert ranker.model is not None
    path = save_model(ranker, tmp_path, trained_on="synthetic")
    loaded = load_latest_model(tmp_path)
    assert loaded is not None
    model, selection, meta = loaded
    assert meta["features"] == list(FEATURES) and path.exists()
    assert selection == ranker.selection and selection is not None
    assert meta["selection"]["warm"]["served"] == selection.warm.served
    assert Ranker(ranker.signals, model, selection).rank("t0") == ranker.rank("t0")


@pytest.mark.slow
def test_a_model_with_other_features_is_not_loaded(tmp_path: Path) -> None:
    ranker = train(synthetic(seed=3))
    path = save_model(ranker, tmp_path, trained_on="synthetic")
    meta = path.with_suffix(".json")
    meta.write_text(meta.read_text().replace('"content"', '"something-else"'))
    assert load_latest_model(tmp_path) is None


def test_saving_an_untrained_ranker_is_refused(tmp_path: Path) -> None:
    data = Dataset(teams={"t": team("t", "a", {"x"})}, resources={"r": resource("r", "a", {"x"})})
    with pytest.raises(ValueError, match="no trained model and no selection"):
        save_model(Ranker(Signals(data, now=NOW)), tmp_path, trained_on="x")


def test_the_negative_sample_draws_from_the_whole_pool_and_weighs_retrieved_ones_less() -> None:
    pool = np.arange(1000)
    retrieved = np.arange(200)  # what retrieval returns: here the first fifth of the pool
    wanted = {3, 500}
    negatives, weights = negative_sample(np.random.default_rng(0), pool, retrieved, wanted)
    assert len(negatives) == len(set(negatives.tolist())) == UNIFORM_NEGATIVES + HARD_NEGATIVES
    assert not wanted & set(negatives.tolist())
    uniform, hard = negatives[:UNIFORM_NEGATIVES], negatives[UNIFORM_NEGATIVES:]
    assert weights[:UNIFORM_NEGATIVES].tolist() == [1.0] * UNIFORM_NEGATIVES
    assert weights[UNIFORM_NEGATIVES:].tolist() == [HARD_WEIGHT] * HARD_NEGATIVES
    assert set(hard.tolist()) <= set(retrieved.tolist())
    # Uniform over the pool: most fall outside what retrieval returns (four fifths expected).
    assert (uniform >= 200).mean() > 0.6


def popular_but_unrelated(n: int = 300) -> Dataset:
    """A cold team whose words match nothing, in a space of ``n`` resources; others recently used a
    few resources with ids at the end of the alphabet, and long ago a few others."""
    resources = {
        f"r{i:03d}": resource(f"r{i:03d}", f"instrument {i}", set(), kind="equipment") for i in range(n)
    }
    teams = {"cold": team("cold", "quantum origami", set())} | {
        f"u{i}": team(f"u{i}", "x", set()) for i in range(20)
    }
    events = [used(f"u{i}", f"r{n - 1 - j:03d}", 5 + j) for i in range(20) for j in range(10)]
    events += [used(f"u{i}", f"r{j:03d}", 330 + j) for i in range(3) for j in range(10)]
    return Dataset(teams, resources, tuple(sorted(events, key=lambda e: e.at)))


def test_a_cold_team_gets_recent_popularity_rather_than_id_order() -> None:
    data = popular_but_unrelated()
    signals = Signals(data, now=NOW)
    recent = {f"r{299 - j:03d}" for j in range(10)}
    assert set(signals.resource_ids[p] for p in signals.candidates("cold")) >= recent
    assert set(Ranker(signals).rank("cold", limit=10)) == recent
    chosen = Selection(Choice("recent popularity"), Choice("recent popularity"))
    assert set(Ranker(signals, selection=chosen).rank("cold", limit=10)) == recent


def test_ties_are_broken_by_popularity_and_never_by_id() -> None:
    data = popular_but_unrelated()
    signals = Signals(data, now=NOW)
    chosen = Selection(Choice("recent popularity"), Choice("recent popularity"))
    ranked = Ranker(signals, selection=chosen).rank("cold")
    # r299 and r000 tie on 30-day use (r000: none; r299: …) — the most used comes first whatever its id.
    assert ranked[0] == "r299"
    unused = [r for r in ranked if signals.popularity[signals.res_pos[r]] == 0]
    assert len(unused) > 20 and unused != sorted(unused) and unused != sorted(unused, reverse=True)
    # The same scores in another order of ids: the order follows the scores, not the names.
    positions = np.array([signals.res_pos[r] for r in ("r000", "r150", "r299")])
    order = signals.order(positions, np.zeros(3))
    assert signals.resource_ids[positions[order[0]]] == "r299"


def no_signal_but_popularity(seed: int = 5, teams: int = 80, resources: int = 40) -> Dataset:
    """Choices follow a fixed popularity only: texts and tags are random and say nothing."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(30)]
    ts = {
        f"t{i}": team(f"t{i}", " ".join(rng.choice(words, 3)), {str(rng.choice(words))}) for i in range(teams)
    }
    rs = {
        f"r{i:02d}": resource(
            f"r{i:02d}", " ".join(rng.choice(words, 3)), {str(rng.choice(words))}, "equipment"
        )
        for i in range(resources)
    }
    appeal = rng.permutation(np.arange(1, resources + 1) ** -1.2)
    events = []
    for day in range(360, 0, -2):
        for t in rng.choice(list(ts), 4):
            r = rng.choice(list(rs), p=appeal / appeal.sum())
            events.append(used(str(t), str(r), day + rng.random(), outcome="completed"))
    return Dataset(ts, rs, tuple(sorted(events, key=lambda e: e.at)))


@pytest.mark.slow
def test_the_selection_serves_popularity_when_the_data_holds_nothing_else() -> None:
    selection, _ = select(no_signal_but_popularity())
    popular = {"popularity", "reach", "recent popularity", "stage popularity"}
    assert selection.warm.served in popular, selection.warm.validation
    assert selection.cold.served in popular, selection.cold.validation
    assert selection.warm.teams > 0 and selection.cold.teams > 0
    best_text = max(selection.cold.validation[n] for n in ("content", "cold-start score"))
    assert selection.cold.validation[selection.cold.served] > best_text


def test_an_evaluation_table_warns_when_the_served_ranking_loses() -> None:
    report = Report(0.1, 0.1, 0.1, 0.5, 0.2, 3, 0)
    groups = {g: {"served": report, "popularity": report} for g in ("warm", "cold")}
    base = Comparison(
        groups=groups,
        served={"warm": "trained model", "cold": "popularity"},
        validation={"warm": {"trained model": 0.3}, "cold": {}},
        teams={"warm": 3, "cold": 3},
        events=(10, 5),
    )
    assert "WARNING" not in table(base)
    lost = replace(base, losses=(Loss("cold", "popularity", 0.05, True),))
    assert "WARNING: the served ranking loses to a baseline beyond noise: popularity by 0.050" in table(lost)
    noisy = replace(base, losses=(Loss("warm", "popularity", 0.01, False),))
    assert "WARNING" not in table(noisy) and "within noise" in table(noisy)


def test_losses_beyond_noise_are_found_per_team() -> None:
    served = Report(0.2, 0, 0, 0, 0, 4, 0, ndcg_by_team=(("a", 0.2), ("b", 0.2), ("c", 0.2), ("d", 0.2)))
    better = Report(0.5, 0, 0, 0, 0, 4, 0, ndcg_by_team=(("a", 0.5), ("b", 0.6), ("c", 0.4), ("d", 0.5)))
    mixed = Report(0.2, 0, 0, 0, 0, 4, 0, ndcg_by_team=(("a", 0.6), ("b", 0.0), ("c", 0.0), ("d", 0.3)))
    assert shortfall(served, better) == (pytest.approx(0.3), True)
    by, beyond = shortfall(served, mixed)
    assert by == pytest.approx(0.025) and not beyond
    assert shortfall(better, served)[0] < 0


def test_shared_words_leave_out_stop_words_and_bare_numbers() -> None:
    data = Dataset(
        teams={"t": team("t", "the 150 wafer bonding of the lidar", set()), "u": team("u", "zz", set())},
        resources={
            "fit": resource("fit", "the 150 wafer bonding station of the lab", set(), kind="equipment"),
            "far": resource("far", "zebrafish tanks", set(), kind="equipment"),
        },
    )
    signals = Signals(data, now=NOW)
    words = Ranker(signals)._shared_words("t", signals.res_pos["fit"])
    assert words and set(words) <= {"wafer", "bonding"}
    best = Ranker(signals).recommend("t", k=1)[0]
    content = next(r for r in best.reasons if r.feature == "content")
    assert "the" not in content.en.split() and "150" not in content.en


class FundMinded:
    """A stand-in model whose score rises most with a fund's round and ticket fit."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        columns = [FEATURES.index(n) for n in ("round_fit", "ticket_fit", "content", "tag_fit")]
        p = np.clip(0.2 + 0.1 * x[:, columns].sum(axis=1), 0.0, 1.0)
        return np.column_stack([1 - p, p])


def test_why_not_never_holds_equipment_back_by_a_funds_round_or_ticket() -> None:
    data = Dataset(
        teams={"t": team("t", "seed money for lidar", {"lidar"}, round="seed", ask="300")},
        resources={
            "sem": resource("sem", "electron microscope", {"sem"}, kind="equipment"),
            **{
                f"f{i}": resource(
                    f"f{i}",
                    "lidar fund",
                    {"lidar"},
                    kind="fund",
                    rounds="seed",
                    ticket_min="100",
                    ticket_max="500",
                )
                for i in range(12)
            },
        },
    )
    trained = Selection(Choice("trained model"), Choice("trained model"))
    answer = Ranker(Signals(data, now=NOW), FundMinded(), trained).explain_absence("t", "sem")  # type: ignore[arg-type]
    assert answer["rank"] == 13
    held_back = {r.feature for r in answer["held_back_by"]}  # type: ignore[attr-defined]
    assert held_back and not held_back & {"round_fit", "ticket_fit"}


def test_exited_teams_are_never_offered_to_mentors_and_stages_read_in_chinese() -> None:
    data = Dataset(
        teams={
            "gone": team("gone", "machine vision", {"mv"}, stage="exited"),
            "here": team("here", "machine vision", {"mv"}, stage="accelerator"),
        },
        resources={"m": resource("m", "machine vision mentor", {"mv"})},
    )
    found = Ranker(Signals(data, now=NOW)).teams_for("m")
    assert [r.resource for r in found] == ["here"]
    assert "处于加速器阶段" in [r.zh for r in found[0].reasons]


def test_the_choice_goes_to_the_simplest_scorer_within_noise_of_the_best() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, size=60)
    noisy = base + rng.normal(0, 0.05, size=60)  # about as good as the model
    per_team = {"trained model": base + 0.005, "popularity": noisy, "content": base - 0.2}
    choice = _choose(per_team, "cold-start score")
    assert choice.served == "popularity" and choice.teams == 60
    assert choice.validation["trained model"] == pytest.approx(float((base + 0.005).mean()))
    clearly_better = {"trained model": base + 0.1, "popularity": noisy, "content": base - 0.2}
    assert _choose(clearly_better, "cold-start score").served == "trained model"
    assert _choose({}, "cold-start score") == Choice("cold-start score")
