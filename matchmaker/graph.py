"""The bipartite graph of teams and what they used: weighted, decayed interactions and the queries on it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np
from scipy import sparse

# Node keys carry their side, so team 7 and resource 7 can never collide.
Node = tuple[str, int]
TEAM, RESOURCE, TASK = "team", "resource", "task"

# How much one interaction says about a team–resource fit, before decay. Declines, no-shows and
# ignored introductions add nothing (they are negative evidence for the ranking model, not edges).
KIND_WEIGHTS: dict[str, float] = {
    "booking": 1.0,
    "mentor_session": 1.5,
    "introduction": 1.0,
    "investment": 3.0,
    "task_bid": 0.5,
    "task_award": 2.0,
    "decline": 0.0,
    # Generic kinds of data sets from elsewhere (see matchmaker.datasets.LABELS).
    "rating": 1.0,
    "interaction": 1.0,
}
NO_EDGE_OUTCOMES = frozenset({"declined", "ignored", "no_show"})


@dataclass(frozen=True)
class Interaction:
    """One typed, timestamped team–resource (or team–task) event, as plain data."""

    team_id: int
    kind: str
    at: datetime
    resource_id: int | None = None
    task_id: int | None = None
    quantity: float = 0.0
    rating: int | None = None
    outcome: str | None = None

    @property
    def counterpart(self) -> Node:
        if self.resource_id is not None:
            return (RESOURCE, self.resource_id)
        if self.task_id is not None:
            return (TASK, self.task_id)
        raise ValueError("an interaction names a resource or a task")


def interaction_weight(event: Interaction) -> float:
    """The evidence one event gives, before decay: its kind, scaled by a rating when there is one."""
    if event.outcome in NO_EDGE_OUTCOMES:
        return 0.0
    weight = KIND_WEIGHTS.get(event.kind, 0.0)
    if event.rating is not None:
        weight *= event.rating / 3.0  # a 3-star session counts as the kind's base weight
    return weight


def decay(age_days: float, half_life_days: float) -> float:
    """Exponential forgetting: an interaction ``half_life_days`` old counts half."""
    return float(0.5 ** (max(age_days, 0.0) / half_life_days))


class InteractionGraph:
    """Teams on one side (the explicit top nodes), resources and tasks on the other."""

    def __init__(
        self,
        team_ids: Iterable[int],
        resource_ids: Iterable[int],
        interactions: Iterable[Interaction],
        *,
        now: datetime,
        half_life_days: float = 180.0,
        task_ids: Iterable[int] = (),
    ) -> None:
        if not (math.isfinite(half_life_days) and half_life_days > 0):
            raise ValueError("the half-life must be a positive number of days")
        self.graph: nx.Graph[Node] = nx.Graph()
        self.teams: list[Node] = [(TEAM, t) for t in team_ids]
        self.items: list[Node] = [(RESOURCE, r) for r in resource_ids] + [(TASK, t) for t in task_ids]
        self.graph.add_nodes_from(self.teams, bipartite=0)
        self.graph.add_nodes_from(self.items, bipartite=1)
        for event in interactions:
            weight = interaction_weight(event) * decay(
                (now - event.at).total_seconds() / 86400, half_life_days
            )
            team, item = (TEAM, event.team_id), event.counterpart
            if weight <= 0 or team not in self.graph or item not in self.graph:
                continue
            if self.graph.has_edge(team, item):
                edge = self.graph.edges[team, item]
                edge["weight"] += weight
                edge["count"] += 1
            else:
                self.graph.add_edge(team, item, weight=weight, count=1)
        self._team_index = {node: i for i, node in enumerate(self.teams)}
        self._item_index = {node: i for i, node in enumerate(self.items)}
        self._matrix: sparse.csr_matrix | None = None
        self._walks: dict[float, tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray]] = {}

    # Simple queries ---------------------------------------------------------------------------

    def neighbourhood(self, team_id: int) -> dict[Node, float]:
        """What a team has used, with the decayed weight of that use, heaviest first."""
        node = (TEAM, team_id)
        if node not in self.graph:
            return {}
        pairs = sorted(self.graph[node].items(), key=lambda kv: (-kv[1]["weight"], kv[0]))
        return {item: data["weight"] for item, data in pairs}

    def unused_items(self) -> list[Node]:
        """Resources and tasks nobody has used: what a manager should see first."""
        return [n for n in self.items if self.graph.degree(n) == 0]

    def unserved_teams(self) -> list[Node]:
        return [n for n in self.teams if self.graph.degree(n) == 0]

    def clusters(self, *, seed: int = 0, resolution: float = 1.0) -> list[tuple[set[int], set[Node]]]:
        """Communities of teams and the resources they share (Louvain on the weighted graph).

        Isolated nodes are left out: a community needs at least one edge. Largest first.
        """
        active = self.graph.subgraph([n for n in self.graph if self.graph.degree(n) > 0])
        if active.number_of_edges() == 0:
            return []
        communities = nx.community.louvain_communities(
            active, weight="weight", seed=seed, resolution=resolution
        )
        out = [({n[1] for n in c if n[0] == TEAM}, {n for n in c if n[0] != TEAM}) for c in communities]
        out.sort(key=lambda pair: (-(len(pair[0]) + len(pair[1])), min(pair[0], default=-1)))
        return out

    # Random-walk proximity --------------------------------------------------------------------

    def biadjacency(self) -> sparse.csr_matrix:
        if self._matrix is None:
            rows, cols, vals = [], [], []
            for team, item, data in self.graph.edges(data=True):
                if team[0] != TEAM:
                    team, item = item, team
                rows.append(self._team_index[team])
                cols.append(self._item_index[item])
                vals.append(data["weight"])
            self._matrix = sparse.csr_matrix(
                (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(len(self.teams), len(self.items))
            )
        return self._matrix

    def proximity(self, team_id: int, *, alpha: float = 1.0, beta: float = 0.5) -> dict[Node, float]:
        """RP3β: the probability of reaching each item in a 3-step walk team → item → team → item,
        each step's probability raised to ``alpha`` and the end divided by the item's popularity to the
        power ``beta``, so the most-used instruments and mentors do not win every list.

        (Common-neighbour scores between the two sides of a bipartite graph are always zero; a walk
        of odd length is what connects a team to items it has not used.)
        """
        scores = self.proximity_scores(team_id, alpha=alpha, beta=beta)
        order = np.argsort(-scores, kind="stable")
        return {self.items[i]: float(scores[i]) for i in order if scores[i] > 0}

    def proximity_scores(self, team_id: int, *, alpha: float = 1.0, beta: float = 0.5) -> np.ndarray:
        """``proximity`` as an array over all items in their order (zeros for the unreachable); the
        form a hot path wants."""
        scores = np.zeros(len(self.items))
        node = (TEAM, team_id)
        if node not in self._team_index:
            return scores
        row = self._team_index[node]
        a = self.biadjacency()
        if a.indptr[row] == a.indptr[row + 1]:
            return scores
        team_out, item_out, degree = self._walk_matrices(alpha)
        reach = (team_out[row] @ item_out) @ team_out  # 1 x items
        reached = reach.tocoo()
        scores[reached.col] = reached.data
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(degree > 0, scores / np.power(degree, beta), 0.0)

    def _walk_matrices(self, alpha: float) -> tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray]:
        """Transition matrices (team → item, item → team) and item degrees, computed once per alpha."""
        if alpha not in self._walks:
            a = self.biadjacency()
            team_out = _row_normalise(a)
            item_out = _row_normalise(a.T.tocsr())
            if alpha != 1.0:
                team_out, item_out = team_out.power(alpha), item_out.power(alpha)
            degree = np.asarray((a > 0).sum(axis=0)).ravel().astype(np.float64)
            self._walks[alpha] = (team_out.tocsr(), item_out.tocsr(), degree)
        return self._walks[alpha]

    def popularity(self) -> dict[Node, float]:
        """Decayed total use of each item (the time-aware popularity the ranking retrieves from)."""
        totals = np.asarray(self.biadjacency().sum(axis=0)).ravel()
        return {self.items[i]: float(totals[i]) for i in np.argsort(-totals, kind="stable") if totals[i] > 0}


def _row_normalise(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    inverse = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sparse.diags(inverse) @ matrix
