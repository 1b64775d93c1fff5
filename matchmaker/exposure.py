"""Fair exposure: every team still gets its k recommendations, but no resource appears on more than a
set share of the lists of one space; which teams give up which popular items is decided optimally
(an allocation round that maximises the total score kept), not greedily."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from matchmaker.allocation import Candidate, RoundInput, allocate

# No resource on more than this share of a space's lists (unless the lists could not be filled
# otherwise: then the smallest cap that fills them).
MAX_SHARE = 0.25
# Each team's candidates for the plan: its best WIDTH * k, so giving up a popular item costs little.
WIDTH = 3


def cap_for(teams: int, k: int, items: int, max_share: float = MAX_SHARE) -> int:
    """Lists one resource may appear on: the share's bound, raised only as far as filling every list
    of ``k`` from ``items`` resources requires."""
    if teams <= 0:
        return 0
    return max(1, math.ceil(max_share * teams), math.ceil(teams * min(k, items) / max(items, 1)))


def capped_lists(
    lists: Mapping[str, Sequence[tuple[str, float]]], k: int, max_share: float = MAX_SHARE
) -> dict[str, list[str]]:
    """Choose ``k`` items for each team from its scored candidates (best first) so that no item is
    chosen for more than :func:`cap_for` teams, keeping as much of the total score as possible.

    Scores are normalised to [0, 1] by the largest; a team keeps its own order among what it is given.
    """
    teams = sorted(lists)
    items = sorted({item for ranked in lists.values() for item, _ in ranked})
    if not teams or not items or k <= 0:
        return {team: [] for team in teams}
    team_index = {t: i for i, t in enumerate(teams)}
    item_index = {r: i for i, r in enumerate(items)}
    top = max((score for ranked in lists.values() for _, score in ranked), default=0.0)
    scale = top if top > 0 else 1.0
    candidates = [
        # A sliver of rank keeps ties in each team's own order when scores are equal.
        Candidate(
            team_index[team], item_index[item], min(1.0, max(0.0, score / scale)) * 0.999 + 0.001 / (n + 1)
        )
        for team, ranked in lists.items()
        for n, (item, score) in enumerate(ranked)
    ]
    cap = cap_for(len(teams), k, len(items), max_share)
    result = allocate(RoundInput(candidates, capacity=dict.fromkeys(range(len(items)), cap), team_limit=k))
    chosen: dict[str, set[str]] = {team: set() for team in teams}
    for a in result.assignments:
        chosen[teams[a.team_id]].add(items[a.resource_id])
    return {team: [item for item, _ in lists[team] if item in chosen[team]] for team in teams}
