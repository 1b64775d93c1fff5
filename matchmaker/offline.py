"""Offline evaluation: the served ranking (the scorer chosen on a validation period) against the trained
model, popularity, recent popularity, item neighbours, content-only, graph-only and random baselines on
a time-based hold-out, warm and cold teams reported apart, with any loss to a baseline named."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matchmaker import evaluation as ev
from matchmaker.datasets import Dataset, cold_start_teams, time_split
from matchmaker.ranking import FEATURES, Ranker, train

SERVED = "served"
# Rows that are not baselines: what is served, and the trained model on its own.
NOT_BASELINES = frozenset({SERVED, "trained model", "served, capped exposure"})
GROUPS = ("warm", "cold")


@dataclass(frozen=True)
class Loss:
    group: str
    baseline: str
    by: float  # mean NDCG@k the served ranking trails by
    beyond_noise: bool


@dataclass(frozen=True)
class Comparison:
    groups: dict[str, dict[str, ev.Report]]  # "warm" / "cold" -> ranker name -> report
    served: dict[str, str]  # group -> the scorer that served it
    validation: dict[str, dict[str, float]]  # group -> scorer -> NDCG@10 on the validation period
    teams: dict[str, int]  # group -> teams evaluated
    events: tuple[int, int]  # train, test
    simulated_cold: int = 0  # warm teams whose history was hidden to stand in for cold ones
    losses: tuple[Loss, ...] = field(default=())

    @property
    def overall(self) -> dict[str, ev.Report]:
        return self.groups["warm"]

    @property
    def cold_start(self) -> dict[str, ev.Report]:
        return self.groups["cold"]


def _same_space(data: Dataset, ranker: ev.Ranker) -> ev.Ranker:
    """Baselines rank the whole catalogue; keep what the team's own space offers, as the model does."""

    def ranked(team: str) -> list[str]:
        space = data.teams[team].meta.get("space")
        return [r for r in ranker(team) if not space or data.resources[r].meta.get("space") in (space, None)]

    return ranked


def _by_features(ranker: Ranker, columns: Sequence[str]) -> ev.Ranker:
    """A baseline that orders the team's pool by the sum of some of the model's own features."""
    picks = [FEATURES.index(c) for c in columns]
    signals = ranker.signals

    def ranked(team: str) -> list[str]:
        pool = ranker.pool(team)
        x = np.nan_to_num(signals.features(team, pool)[:, picks])
        return [signals.resource_ids[p] for p in pool[signals.order(pool, x.sum(axis=1))]]

    return ranked


def _fair(ranker: Ranker, k: int) -> ev.Ranker:
    """The lists as served on pages: each team's share of its space's exposure-capped plan first."""

    def ranked(team: str) -> list[str]:
        head = ranker.fair_plan(team, k=k) if team in ranker.signals.team_pos else []
        return head + [r for r in ranker.rank(team) if r not in set(head)]

    return ranked


def _wide(ranker: Ranker, exclude_seen: bool) -> ev.Ranker:
    """The retrieved candidates in served order; with ``exclude_seen`` retrieved from the unseen only."""

    def ranked(team: str) -> list[str]:
        found = ranker.recommend(team, k=None, explain=False, exclude_seen=exclude_seen)
        return [r.resource for r in found]

    return ranked


def rankers(
    data: Dataset,
    trainset: Dataset,
    *,
    seed: int = 0,
    k: int = 10,
    exclude_seen: bool = False,
    capped: bool = True,
) -> tuple[Ranker, dict[str, ev.Ranker]]:
    served = train(trainset, seed=seed, exclude_seen=exclude_seen)
    candidates = sorted(data.resources)
    found: dict[str, ev.Ranker] = {SERVED: _wide(served, exclude_seen)}
    if capped:
        found["served, capped exposure"] = _fair(served, k)
    if served.model is not None:
        found["trained model"] = _wide(Ranker(served.signals, served.model), exclude_seen)
    found |= {
        "cold-start score": _wide(Ranker(served.signals), exclude_seen),
        "content-only": _by_features(served, ["content", "tag_fit"]),
        "graph-only": _by_features(served, ["walk", "repeat"]),
        "popularity": _same_space(data, ev.popularity_ranker(trainset, candidates=candidates)),
        "recent popularity (30 days)": _same_space(
            data, ev.recent_popularity_ranker(trainset, candidates=candidates)
        ),
        "item neighbours": _same_space(data, ev.item_knn_ranker(trainset, candidates=candidates)),
        "random": _same_space(data, ev.random_ranker(trainset, seed, candidates=candidates)),
    }
    return served, found


def compare(
    data: Dataset,
    *,
    k: int = 10,
    holdout: float = 0.2,
    cold_fraction: float = 0.25,
    seed: int = 0,
    exclude_seen: bool = False,
    capped: bool = True,
) -> Comparison:
    """Split by time, train (and select) on the past, rank against all candidates, score the future;
    warm teams (history before the split) and cold teams (none) apart.

    When fewer than 30 teams are naturally cold (a year of a space's history has few), a further
    ``cold_fraction`` of the warm teams have their past removed before training (the served ranking and
    every baseline then know only their profile) and are scored as cold.
    """
    trainset, test = time_split(data, holdout)
    candidates = sorted(data.resources)
    in_train = {e.team for e in trainset.events}
    evaluated = sorted(t for t in test.positives() if t in in_train)
    natural_cold = cold_start_teams(trainset, test)
    hidden: set[str] = set()
    if len(natural_cold) < 30 and len(evaluated) >= 8:
        rng = random.Random(seed)  # noqa: S311 -- a sample of teams, not a secret
        hidden = set(rng.sample(evaluated, round(len(evaluated) * cold_fraction)))
    warm_teams = set(evaluated) - hidden
    cold_teams = natural_cold | hidden

    served, found = rankers(data, trainset, seed=seed, k=k, exclude_seen=exclude_seen, capped=capped)
    groups: dict[str, dict[str, ev.Report]] = {}
    groups["warm"] = {
        name: ev.evaluate(r, trainset, test, candidates, k=k, exclude_seen=exclude_seen, teams=warm_teams)
        for name, r in found.items()
    }
    served_cold = served
    if hidden:
        forgetful = trainset.with_events(tuple(e for e in trainset.events if e.team not in hidden))
        served_cold, found = rankers(
            data, forgetful, seed=seed, k=k, exclude_seen=exclude_seen, capped=capped
        )
    else:
        forgetful = trainset
    groups["cold"] = {
        name: ev.evaluate(r, forgetful, test, candidates, k=k, exclude_seen=exclude_seen, teams=cold_teams)
        for name, r in found.items()
    }
    chosen = {"warm": served.describe()["warm"], "cold": served_cold.describe()["cold"]}
    losses = tuple(
        Loss(group, name, round(by, 4), beyond)
        for group in GROUPS
        for name, report in groups[group].items()
        if name not in NOT_BASELINES
        for by, beyond in [ev.shortfall(groups[group][SERVED], report)]
        if by > 0
    )
    return Comparison(
        groups=groups,
        served={g: str(chosen[g]["served"]) for g in GROUPS},
        validation={g: dict(chosen[g]["validation"]) for g in GROUPS},
        teams={g: groups[g][SERVED].teams_evaluated for g in GROUPS},
        events=(len(trainset.events), len(test.events)),
        simulated_cold=len(hidden),
        losses=losses,
    )


def table(comparison: Comparison, *, k: int = 10) -> str:
    """The comparison as plain text, the way `matchmaker evaluate` prints it."""
    lines = [f"time split: {comparison.events[0]} events to learn from, {comparison.events[1]} held out"]
    header = (
        f"{'ranker':<30} {f'NDCG@{k}':>8} {f'recall@{k}':>9} {'MAP':>6} {'coverage':>8} "
        f"{'exposure gini':>13} {'top share':>9} {'teams':>6}"
    )
    titles = {
        "warm": "warm teams (with history before the split)",
        "cold": "cold teams (profile only, no history before the split"
        + (f"; {comparison.simulated_cold} of them had it hidden)" if comparison.simulated_cold else ")"),
    }
    for group in GROUPS:
        reports = comparison.groups[group]
        lines.append("")
        lines.append(f"{titles[group]}: {comparison.teams[group]} evaluated")
        lines.append(f"served: {comparison.served[group]}, chosen on the validation period at the end of the")
        figures = ", ".join(f"{n} {v:.3f}" for n, v in comparison.validation[group].items())
        lines.append(f"  training history (NDCG@10 there: {figures or 'none, too little data'})")
        lines.append(header)
        for name, r in reports.items():
            label = f"{SERVED} ({comparison.served[group]})" if name == SERVED else name
            lines.append(
                f"{label:<30} {r.ndcg:>8.3f} {r.recall:>9.3f} {r.map:>6.3f} {r.coverage:>8.3f} "
                f"{r.exposure_gini:>13.3f} {r.top_share:>9.3f} {r.teams_evaluated:>6}"
            )
    beyond = [loss for loss in comparison.losses if loss.beyond_noise]
    within = [loss for loss in comparison.losses if not loss.beyond_noise]
    if within:
        lines.append("")
        lines.append(
            "within noise: the served ranking trails "
            + "; ".join(f"{x.baseline} by {x.by:.3f} ({x.group})" for x in within)
        )
    if beyond:
        lines.append("")
        lines.append(
            "WARNING: the served ranking loses to a baseline beyond noise: "
            + "; ".join(f"{x.baseline} by {x.by:.3f} NDCG@{k} ({x.group} teams)" for x in beyond)
        )
    return "\n".join(lines)
