"""Offline evaluation: the trained ranking against random, popularity, content-only and graph-only
baselines on a time-based hold-out, with cold-start teams reported separately."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matchmaker import evaluation as ev
from matchmaker.datasets import Dataset, cold_start_teams, time_split
from matchmaker.ranking import FEATURES, Ranker, train


@dataclass(frozen=True)
class Comparison:
    overall: dict[str, ev.Report]
    cold_start: dict[str, ev.Report]
    cold_start_teams: int
    events: tuple[int, int]  # train, test


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
        return [signals.resource_ids[p] for p in pool[np.argsort(-x.sum(axis=1), kind="stable")]]

    return ranked


def _fair(ranker: Ranker, k: int) -> ev.Ranker:
    """The model's lists as served: each team's share of its space's exposure-capped plan first."""

    def ranked(team: str) -> list[str]:
        head = ranker.fair_plan(team, k=k) if team in ranker.signals.team_pos else []
        return head + [r for r in ranker.rank(team) if r not in set(head)]

    return ranked


def rankers(data: Dataset, trainset: Dataset, *, seed: int = 0, k: int = 10) -> dict[str, ev.Ranker]:
    model = train(trainset, seed=seed)
    candidates = sorted(data.resources)
    return {
        "trained model": model.rank,
        "model, capped exposure": _fair(model, k),
        "cold-start score": Ranker(model.signals).rank,
        "content-only": _by_features(model, ["content", "tag_fit"]),
        "graph-only": _by_features(model, ["walk", "repeat"]),
        "popularity": _same_space(data, ev.popularity_ranker(trainset, candidates=candidates)),
        "random": _same_space(data, ev.random_ranker(trainset, seed, candidates=candidates)),
    }


def compare(
    data: Dataset, *, k: int = 10, holdout: float = 0.2, cold_fraction: float = 0.25, seed: int = 0
) -> Comparison:
    """Split by time, train on the past, rank against all candidates, score the future.

    Cold start: teams with no past at all are rare in a year of history, so a further
    ``cold_fraction`` of the evaluated teams have their past removed before training (the model and
    every baseline then know only their profile), and are scored apart.
    """
    trainset, test = time_split(data, holdout)
    candidates = sorted(data.resources)
    overall = {
        name: ev.evaluate(r, trainset, test, candidates, k=k)
        for name, r in rankers(data, trainset, seed=seed, k=k).items()
    }

    evaluated = sorted(t for t in test.positives() if any(e.team == t for e in trainset.events))
    chosen = (
        set(random.Random(seed).sample(evaluated, round(len(evaluated) * cold_fraction)))  # noqa: S311
        if evaluated
        else set()
    )
    chosen |= cold_start_teams(trainset, test)
    forgetful = trainset.with_events(tuple(e for e in trainset.events if e.team not in chosen))
    cold = {
        name: ev.evaluate(r, forgetful, test, candidates, k=k, teams=chosen)
        for name, r in rankers(data, forgetful, seed=seed, k=k).items()
    }
    return Comparison(overall, cold, len(chosen), (len(trainset.events), len(test.events)))


def table(comparison: Comparison) -> str:
    """The comparison as a plain-text table, the way `matchmaker evaluate` prints it."""
    lines = [
        f"time split: {comparison.events[0]} events to learn from, {comparison.events[1]} held out",
        f"{'ranker':<22} {'NDCG@10':>8} {'recall@10':>9} {'MAP':>6} {'coverage':>8} "
        f"{'exposure gini':>13} {'top share':>9} {'teams':>6}",
    ]

    def rows(reports: dict[str, ev.Report]) -> list[str]:
        return [
            f"{name:<22} {r.ndcg:>8.3f} {r.recall:>9.3f} {r.map:>6.3f} {r.coverage:>8.3f} "
            f"{r.exposure_gini:>13.3f} {r.top_share:>9.3f} {r.teams_evaluated:>6}"
            for name, r in reports.items()
        ]

    lines += rows(comparison.overall)
    lines.append(f"cold-start teams (profile only, no history): {comparison.cold_start_teams}")
    lines += rows(comparison.cold_start)
    return "\n".join(lines)
