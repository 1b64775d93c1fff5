"""Ranking metrics, exposure measures, baseline rankers and the offline evaluation loop for recommenders."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import sparse

from matchmaker.datasets import Dataset, Event, label

# A ranker orders resource ids for one team id, best first. It should return every candidate; evaluate()
# drops ids outside the candidate list, so one ranker can be scored against several lists (per kind).
Ranker = Callable[[str], Sequence[str]]


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _first_occurrences(ranked: Sequence[str], k: int | None) -> Iterator[tuple[int, str]]:
    """(0-based position, item) in the top k, skipping repeats.

    A repeated item keeps its slot but earns nothing again: a ranker that lists the same resource twice
    loses that position, and no metric can exceed its ideal because of it.
    """
    seen: set[str] = set()
    for position, item in enumerate(ranked[:k] if k is not None else ranked):
        if item not in seen:
            seen.add(item)
            yield position, item


def _relevant(relevance: Mapping[str, float]) -> set[str]:
    return {item for item, value in relevance.items() if value > 0}


# ---------------------------------------------------------------------------------------------- accuracy


def dcg_discount(position: int) -> float:
    """The weight of a 0-based position: 1 / log2(position + 2), so 1, 0.631, 0.5, 0.431, …"""
    return 1.0 / math.log2(position + 2)


def graded_gain(relevance: float) -> float:
    """The gain of one item in nDCG: ``2**relevance - 1``, with relevance at or below 0 gaining nothing."""
    return math.pow(2.0, max(relevance, 0.0)) - 1.0


def ndcg_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top k, with graded gains ``2**rel - 1``.

    The ideal ordering is built from the relevance values themselves (so relevant items the ranking
    never shows still count against it). Relevance at or below 0 gains nothing; 0 when nothing is relevant.
    """
    _check_k(k)
    ideal = sorted((graded_gain(value) for value in relevance.values() if value > 0), reverse=True)[:k]
    ideal_dcg = sum(gain * dcg_discount(position) for position, gain in enumerate(ideal))
    if ideal_dcg == 0:
        return 0.0
    dcg = sum(
        graded_gain(relevance.get(item, 0.0)) * dcg_discount(position)
        for position, item in _first_occurrences(ranked, k)
    )
    return dcg / ideal_dcg


def recall_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """Share of the relevant items (relevance > 0) that appear in the top k; 0 when nothing is relevant."""
    _check_k(k)
    relevant = _relevant(relevance)
    if not relevant:
        return 0.0
    hits = sum(1 for _, item in _first_occurrences(ranked, k) if item in relevant)
    return hits / len(relevant)


def precision_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """Share of the k slots holding a relevant item (a list shorter than k still has k slots)."""
    _check_k(k)
    relevant = _relevant(relevance)
    return sum(1 for _, item in _first_occurrences(ranked, k) if item in relevant) / k


def average_precision(ranked: Sequence[str], relevance: Mapping[str, float], k: int | None = None) -> float:
    """Mean of precision@i over the positions i of the relevant items found (binary: relevance > 0).

    Divided by the number of relevant items, or by ``min(k, that number)`` when cut at k (the usual AP@k,
    so a top k full of relevant items scores 1 even when more exist). 0 when nothing is relevant.
    """
    if k is not None:
        _check_k(k)
    relevant = _relevant(relevance)
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for position, item in _first_occurrences(ranked, k):
        if item in relevant:
            hits += 1
            total += hits / (position + 1)
    return total / (len(relevant) if k is None else min(k, len(relevant)))


def mean_average_precision(
    queries: Iterable[tuple[Sequence[str], Mapping[str, float]]], k: int | None = None
) -> float:
    """Mean :func:`average_precision` over (ranking, relevance) pairs.

    Queries with nothing relevant are left out rather than counted as 0 (they say nothing about the
    ranker); 0 when no query has anything relevant.
    """
    scores = [
        average_precision(ranked, relevance, k) for ranked, relevance in queries if _relevant(relevance)
    ]
    return _mean(scores) if scores else 0.0


# ---------------------------------------------------------------------------------------------- exposure


def exposure_counts(
    rankings: Iterable[Sequence[str]], k: int = 10, *, position_weighted: bool = False
) -> dict[str, float]:
    """How much exposure each item gets from the top k of many lists: 1 per list it appears in, or
    :func:`dcg_discount` of its position when ``position_weighted`` (first place 1, second 0.631, …)."""
    _check_k(k)
    counts: dict[str, float] = {}
    for ranked in rankings:
        for position, item in _first_occurrences(ranked, k):
            counts[item] = counts.get(item, 0.0) + (dcg_discount(position) if position_weighted else 1.0)
    return counts


def _check_catalogue(shown: Collection[str], catalogue_size: int) -> None:
    if catalogue_size < 1:
        raise ValueError(f"catalogue_size must be at least 1, got {catalogue_size}")
    if len(shown) > catalogue_size:
        raise ValueError(f"{len(shown)} distinct items shown, more than the catalogue's {catalogue_size}")


def catalogue_coverage(rankings: Iterable[Sequence[str]], catalogue_size: int, k: int = 10) -> float:
    """Share of the catalogue that appears in at least one top-k list."""
    shown = exposure_counts(rankings, k)
    _check_catalogue(shown, catalogue_size)
    return len(shown) / catalogue_size


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 when all are equal, ``(n - 1) / n`` when one holds all.

    Computed as ``Σ (2i - n - 1) · x_i / (n · Σx)`` over the values sorted ascending, i = 1..n, which
    equals the mean absolute difference over all ordered pairs divided by twice the mean. 0 for no values
    or all zeros.
    """
    if any(value < 0 for value in values):
        raise ValueError("gini needs non-negative values")
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((2 * i - n - 1) * value for i, value in enumerate(sorted(values), start=1))
    return weighted / (n * total)


def exposure_concentration(
    rankings: Iterable[Sequence[str]], catalogue_size: int, k: int = 10, *, position_weighted: bool = False
) -> float:
    """Gini coefficient of exposure over the whole catalogue (items never shown count as 0).

    0 means every catalogue item is shown equally often; one item in every list and nothing else gives
    ``(n - 1) / n`` for a catalogue of n (the unnormalised Gini, which approaches 1 as n grows).
    """
    counts = exposure_counts(rankings, k, position_weighted=position_weighted)
    _check_catalogue(counts, catalogue_size)
    return gini([*counts.values(), *[0.0] * (catalogue_size - len(counts))])


# ---------------------------------------------------------------------------------------------- baselines


def _candidate_list(train: Dataset, candidates: Sequence[str] | None) -> list[str]:
    # Sorted ids by default so a baseline's output never depends on dict insertion order.
    return list(dict.fromkeys(candidates)) if candidates is not None else sorted(train.resources)


def random_ranker(train: Dataset, seed: int = 0, *, candidates: Sequence[str] | None = None) -> Ranker:
    """A shuffle of the candidates (default: every resource of ``train``) that is fixed per team and seed.

    Each team gets its own generator seeded with ``"seed:team"``, so its list does not depend on which
    teams were ranked before it.
    """
    pool = _candidate_list(train, candidates)

    def rank(team: str) -> list[str]:
        ranked = list(pool)
        random.Random(f"{seed}:{team}").shuffle(ranked)  # noqa: S311 -- a baseline's shuffle, not a secret
        return ranked

    return rank


def decayed_popularity(
    events: Iterable[Event], *, half_life_days: float = 90.0, now: datetime | None = None
) -> dict[str, float]:
    """Per resource, its positive events (label > 0) each weighted ``0.5 ** (age in days / half_life_days)``.

    Declines, no-shows and ignored introductions are not popularity. ``now`` defaults to the latest of the
    given events, so the result depends on the data only, never on the clock; events after ``now`` count
    as age 0. ``half_life_days=math.inf`` gives plain counts.
    """
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    events = list(events)
    if not events:
        return {}
    reference = now if now is not None else max(e.at for e in events)
    scores: dict[str, float] = {}
    for event in events:
        if label(event) > 0:
            age_days = max((reference - event.at).total_seconds() / 86400, 0.0)
            scores[event.resource] = scores.get(event.resource, 0.0) + math.pow(
                0.5, age_days / half_life_days
            )
    return scores


def popularity_ranker(
    train: Dataset,
    half_life_days: float = 90.0,
    *,
    candidates: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Ranker:
    """The same list for every team: candidates by :func:`decayed_popularity` in ``train``, highest first.

    Ties (including every never-used candidate, at 0) keep the candidates' order.
    """
    pool = _candidate_list(train, candidates)
    scores = decayed_popularity(train.events, half_life_days=half_life_days, now=now)
    # sorted() is stable, so equal scores stay in candidate order.
    ranked = sorted(pool, key=lambda resource: -scores.get(resource, 0.0))

    def rank(team: str) -> list[str]:
        return list(ranked)

    return rank


def recent_popularity_ranker(
    train: Dataset,
    days: float = 30.0,
    *,
    candidates: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Ranker:
    """The same list for every team: candidates by their positive events in the last ``days`` before
    ``now`` (default: the latest event), ties by all-time positive events, then candidate order."""
    pool = _candidate_list(train, candidates)
    events = [e for e in train.events if label(e) > 0]
    reference = now if now is not None else max((e.at for e in train.events), default=None)
    recent: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for event in events:
        total[event.resource] += 1
        if reference is not None and (reference - event.at).total_seconds() <= days * 86400:
            recent[event.resource] += 1
    ranked = sorted(pool, key=lambda r: (-recent[r], -total[r]))

    def rank(team: str) -> list[str]:
        return list(ranked)

    return rank


def item_knn_ranker(
    train: Dataset, neighbours: int = 50, *, candidates: Sequence[str] | None = None
) -> Ranker:
    """Item-based collaborative filtering: a candidate's score is the sum of its cosine similarities
    (over which teams had positive events with both) to the items the team used, each item keeping
    its ``neighbours`` most similar; ties by all-time positive events, then candidate order."""
    pool = _candidate_list(train, candidates)
    items = sorted({e.resource for e in train.events} | set(pool))
    item_pos = {r: i for i, r in enumerate(items)}
    pairs = {(e.team, item_pos[e.resource]) for e in train.events if label(e) > 0}
    teams = sorted({team for team, _ in pairs})
    team_pos = {t: i for i, t in enumerate(teams)}
    used = sparse.csr_matrix(
        (np.ones(len(pairs)), ([team_pos[t] for t, _ in pairs], [i for _, i in pairs])),
        shape=(len(teams), len(items)),
    )
    degree = np.asarray(used.sum(axis=0)).ravel()
    both = (used.T @ used).tocsr()
    both.setdiag(0.0)
    both.eliminate_zeros()
    scale = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
    cosine = (sparse.diags(scale) @ both @ sparse.diags(scale)).tocsr()
    for i in range(cosine.shape[0]):  # keep each item's most similar
        start, end = cosine.indptr[i], cosine.indptr[i + 1]
        if end - start > neighbours:
            row = cosine.data[start:end]
            row[np.argsort(-row, kind="stable")[neighbours:]] = 0.0
    cosine.eliminate_zeros()
    pool_pos = np.array([item_pos[r] for r in pool], dtype=int)

    def rank(team: str) -> list[str]:
        if team not in team_pos:
            scores = np.zeros(len(items))
        else:
            scores = np.asarray((used[team_pos[team]] @ cosine).todense()).ravel()
        order = np.lexsort((np.arange(len(pool)), -degree[pool_pos], -scores[pool_pos]))
        return [pool[i] for i in order]

    return rank


# ---------------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Report:
    """Mean accuracy over the evaluated teams at k, and how their top-k lists spread over the candidates."""

    ndcg: float
    recall: float
    map: float
    coverage: float
    exposure_gini: float
    teams_evaluated: int
    teams_skipped: int
    top_share: float = 0.0  # the largest share of the top-k lists one resource appears on
    # Each evaluated team's NDCG@k, in team order: what a paired comparison of two rankers needs.
    ndcg_by_team: tuple[tuple[str, float], ...] = ()


def evaluate(
    ranker: Ranker,
    train: Dataset,
    test: Dataset,
    candidates: Sequence[str],
    k: int = 10,
    *,
    exclude_seen: bool = False,
    teams: Collection[str] | None = None,
) -> Report:
    """Score ``ranker`` on the test teams (or only those in ``teams``, e.g. the cold-start ones).

    A team's relevance is its best :func:`~matchmaker.datasets.label` per resource over its test events,
    kept to the candidates. Teams with nothing positive there are skipped and counted. The ranker's list
    is cut to the candidates; resources a team already used in train stay in (repeat use is common and
    wanted) unless ``exclude_seen``, which removes any resource with a train event of that team from both
    its list and its relevance. ``map`` is AP@k. Coverage and exposure Gini are over the evaluated teams'
    top-k lists, against all candidates.
    """
    _check_k(k)
    pool = list(dict.fromkeys(candidates))
    if not pool:
        raise ValueError("evaluate needs at least one candidate")
    in_pool = set(pool)
    seen: dict[str, set[str]] = {}
    if exclude_seen:
        for event in train.events:
            seen.setdefault(event.team, set()).add(event.resource)

    lists: list[list[str]] = []
    names: list[str] = []
    ndcgs: list[float] = []
    recalls: list[float] = []
    aps: list[float] = []
    skipped = 0
    # Sorted so that a ranker with side effects or state sees teams in the same order every run.
    for team, labels in sorted(test.relevance().items()):
        if teams is not None and team not in teams:
            continue
        used = seen.get(team, set())
        relevance = {r: v for r, v in labels.items() if v > 0 and r in in_pool and r not in used}
        if not relevance:
            skipped += 1
            continue
        ranked = [r for r in ranker(team) if r in in_pool and r not in used]
        lists.append(ranked[:k])
        names.append(team)
        ndcgs.append(ndcg_at_k(ranked, relevance, k))
        recalls.append(recall_at_k(ranked, relevance, k))
        aps.append(average_precision(ranked, relevance, k))

    if not lists:
        return Report(0.0, 0.0, 0.0, 0.0, 0.0, teams_evaluated=0, teams_skipped=skipped)
    return Report(
        ndcg=_mean(ndcgs),
        recall=_mean(recalls),
        map=_mean(aps),
        coverage=catalogue_coverage(lists, len(pool), k),
        exposure_gini=exposure_concentration(lists, len(pool), k),
        teams_evaluated=len(lists),
        teams_skipped=skipped,
        top_share=top_share(lists),
        ndcg_by_team=tuple(zip(names, ndcgs, strict=True)),
    )


def shortfall(served: Report, baseline: Report, *, sigmas: float = 2.0) -> tuple[float, bool]:
    """How far ``served`` trails ``baseline`` in mean NDCG over the teams both evaluated (negative when
    it leads), and whether that is beyond noise: more than ``sigmas`` standard errors of the paired
    per-team difference."""
    theirs = dict(baseline.ndcg_by_team)
    diffs = [theirs[team] - value for team, value in served.ndcg_by_team if team in theirs]
    if not diffs:
        return 0.0, False
    mean = _mean(diffs)
    if len(diffs) < 2:
        return mean, mean > 0
    spread = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    return mean, mean > sigmas * spread / math.sqrt(len(diffs))


def top_share(lists: Sequence[Sequence[str]]) -> float:
    """The largest share of the lists any one resource appears on (0 when there are no lists): what a
    bound on exposure bounds."""
    if not lists:
        return 0.0
    counts = Counter(item for ranked in lists for item in set(ranked))
    return max(counts.values(), default=0) / len(lists)


def evaluate_by_group(
    ranker: Ranker,
    train: Dataset,
    test: Dataset,
    candidates: Sequence[str],
    groups: Mapping[str, Collection[str]],
    k: int = 10,
    *,
    exclude_seen: bool = False,
) -> dict[str, Report]:
    """One :func:`evaluate` report per named group of teams, e.g.
    ``{"cold start": cold_start_teams(train, test), "returning": other_teams}``."""
    return {
        name: evaluate(ranker, train, test, candidates, k, exclude_seen=exclude_seen, teams=members)
        for name, members in groups.items()
    }


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
