"""Allocation rounds: the optimal capacity-constrained assignment of scarce resource units to teams."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
from scipy import optimize, sparse

from matchmaker.errors import InvalidInput

# The flow solver needs integer costs, so fits and load penalties are counted in units of
# 1/RESOLUTION: two assignments whose objectives differ by less than that may be treated as equal,
# and the result is optimal to within 1/RESOLUTION per assignment (far below the matchmaker's noise).
RESOLUTION = 10_000

# Eligible (team, resource) pairs above which the round goes to HiGHS. Measured on 2 cores: networkx's
# pure-Python network simplex takes 0.6 s at 12,000 pairs, 2.5 s at 25,000 and ~20 s at 125,000 (a
# 10,000-team round), while HiGHS takes 0.1 s, 0.3 s and 0.7-2.4 s; both reach the same objective.
HIGHS_ABOVE_PAIRS = 10_000

Solver = Literal["auto", "network_simplex", "highs"]

Node = tuple[str, int]
SOURCE: Node = ("source", 0)
SINK: Node = ("sink", 0)
UNASSIGNED: Node = ("unassigned", 0)


@dataclass(frozen=True)
class Candidate:
    """A pair a team asked for, with the matchmaker's fit score in [0, 1]."""

    team_id: int
    resource_id: int
    fit: float


@dataclass(frozen=True)
class RoundInput:
    """One allocation round.

    ``capacity`` maps each resource to the units it offers this round (mentor hours, pilot-line weeks).
    Every assignment uses ``units_per_assignment`` units of its resource (the same for every pair, so
    a resource can take ``capacity // units_per_assignment`` assignments). A team gets at most
    ``team_limit`` assignments and never the same resource twice. The k-th unit used of a resource
    costs ``load_penalty * k / capacity``: the marginal cost only grows, which spreads load without
    giving up optimality. Pairs with a fit below ``min_fit`` are never assigned.
    """

    candidates: Sequence[Candidate]
    capacity: Mapping[int, int]
    units_per_assignment: int = 1
    team_limit: int = 1
    load_penalty: float = 0.0
    min_fit: float = 0.0


@dataclass(frozen=True)
class Assignment:
    """One team gets one assignment of one resource (``units_per_assignment`` of its units)."""

    team_id: int
    resource_id: int
    fit: float


@dataclass(frozen=True)
class Allocation:
    """The outcome of a round.

    ``assignments`` are sorted by (team_id, resource_id); ``unassigned`` lists, ascending, the teams
    that asked and got nothing. ``total_fit`` is the exact sum of the assigned fits; ``objective`` is
    what the solver maximised (total fit minus load penalty, each term at 1/RESOLUTION), which is
    identical whichever solver ran. ``solver`` names the path taken: "network_simplex" or "highs".
    """

    assignments: list[Assignment]
    unassigned: list[int]
    total_fit: float
    objective: float
    solver: str


@dataclass(frozen=True)
class _Problem:
    """The validated round in canonical order: ties are broken the same way whatever the input order."""

    teams: list[int]  # every team that asked, ascending
    pairs: list[Candidate]  # eligible pairs, sorted by (team_id, resource_id)
    gains: list[int]  # fit of each pair, in 1/RESOLUTION units
    # For each resource that eligible pairs name, ascending: (resource_id, marginal costs of its
    # 1st, 2nd, ... assignment in 1/RESOLUTION units), non-decreasing and no longer than it can use.
    slots: list[tuple[int, list[int]]]
    team_limit: int


def allocate(round: RoundInput, *, solver: Solver = "auto") -> Allocation:
    """Assign resources to teams to maximise total fit minus load penalty, within every capacity.

    ``solver="auto"`` takes networkx's network simplex for small rounds and HiGHS (through scipy) above
    ``HIGHS_ABOVE_PAIRS`` eligible pairs; both reach the same optimal objective.
    """
    if solver not in ("auto", "network_simplex", "highs"):
        raise ValueError(f"unknown solver {solver!r}")
    problem = _prepare(round)
    chosen = solver
    if chosen == "auto":
        chosen = "highs" if len(problem.pairs) > HIGHS_ABOVE_PAIRS else "network_simplex"
    if not problem.pairs:
        picked: list[int] = []
    elif chosen == "network_simplex":
        picked = _solve_network_simplex(problem)
    else:
        picked = _solve_highs(problem)
    return _result(problem, picked, chosen)


# Validation -----------------------------------------------------------------------------------------


def _invalid(message_en: str, message_zh: str, fields: dict[str, str], **extra: object) -> InvalidInput:
    return InvalidInput(message_en, message_zh, details={"fields": fields, **extra})


def _validate(spec: RoundInput) -> None:
    if spec.team_limit < 1:
        raise _invalid(
            "Each team must be allowed at least one assignment.",
            "每个团队至少应允许分配一次。",
            {"team_limit": "below_one"},
            team_limit=spec.team_limit,
        )
    if spec.units_per_assignment < 1:
        raise _invalid(
            "Each assignment must use at least one unit.",
            "每次分配至少应占用一个单位。",
            {"units_per_assignment": "below_one"},
            units_per_assignment=spec.units_per_assignment,
        )
    if not (math.isfinite(spec.load_penalty) and spec.load_penalty >= 0):
        # A negative penalty would reward piling onto one resource and make the cost concave,
        # which a min-cost flow cannot solve optimally.
        raise _invalid(
            "The load penalty must be a number of zero or more.",
            "负载惩罚必须是大于或等于零的数。",
            {"load_penalty": "not_non_negative"},
        )
    if math.isnan(spec.min_fit):
        raise _invalid(
            "The minimum fit must be a number.", "最低匹配度必须是数字。", {"min_fit": "not_a_number"}
        )
    negative = sorted(r for r, units in spec.capacity.items() if units < 0)
    if negative:
        raise _invalid(
            f"Capacity cannot be negative (resources {', '.join(map(str, negative))}).",
            f"容量不能为负数（资源 {'、'.join(map(str, negative))}）。",
            {"capacity": "negative"},
            resource_ids=negative,
        )
    if sum(spec.capacity.values()) == 0:
        raise _invalid(
            "This is a round with zero capacity: no resource offers any units.",
            "本轮分配的容量为零：没有任何资源提供可分配的单位。",
            {"capacity": "zero_total"},
        )
    seen: set[tuple[int, int]] = set()
    for c in spec.candidates:
        if not (0.0 <= c.fit <= 1.0):  # also false for NaN
            raise _invalid(
                f"The fit of team {c.team_id} with resource {c.resource_id} must be between 0 and 1.",
                f"团队 {c.team_id} 与资源 {c.resource_id} 的匹配度必须在 0 到 1 之间。",
                {"candidates.fit": "out_of_range"},
                team_id=c.team_id,
                resource_id=c.resource_id,
            )
        if c.resource_id not in spec.capacity:
            raise _invalid(
                f"Resource {c.resource_id} has no capacity entry in this round.",
                f"资源 {c.resource_id} 在本轮没有容量记录。",
                {"candidates.resource_id": "no_capacity_entry"},
                team_id=c.team_id,
                resource_id=c.resource_id,
            )
        key = (c.team_id, c.resource_id)
        if key in seen:
            raise _invalid(
                f"Team {c.team_id} is listed with resource {c.resource_id} more than once.",
                f"团队 {c.team_id} 与资源 {c.resource_id} 的配对重复出现。",
                {"candidates": "duplicate_pair"},
                team_id=c.team_id,
                resource_id=c.resource_id,
            )
        seen.add(key)


def _prepare(spec: RoundInput) -> _Problem:
    _validate(spec)
    per_assignment = spec.units_per_assignment
    usable = {r: units // per_assignment for r, units in spec.capacity.items()}
    pairs = sorted(
        (c for c in spec.candidates if c.fit >= spec.min_fit and usable[c.resource_id] > 0),
        key=lambda c: (c.team_id, c.resource_id),
    )
    asking: dict[int, int] = defaultdict(int)
    for c in pairs:
        asking[c.resource_id] += 1
    slots = []
    for resource_id in sorted(asking):
        capacity = spec.capacity[resource_id]
        # More slots than teams asking could never be filled; leaving them out keeps the graph small.
        count = min(usable[resource_id], asking[resource_id])
        costs = []
        for j in range(1, count + 1):
            first, last = (j - 1) * per_assignment + 1, j * per_assignment
            units_sum = (first + last) * per_assignment // 2  # k summed over the units this assignment uses
            # Rounding is monotone, so rounded marginal costs stay non-decreasing (the flow stays convex).
            costs.append(round(RESOLUTION * spec.load_penalty * units_sum / capacity))
        slots.append((resource_id, costs))
    return _Problem(
        teams=sorted({c.team_id for c in spec.candidates}),
        pairs=pairs,
        gains=[round(c.fit * RESOLUTION) for c in pairs],
        slots=slots,
        team_limit=spec.team_limit,
    )


def _runs(costs: list[int]) -> list[tuple[int, int]]:
    """Equal consecutive marginal costs as (cost, how many): one arc or variable each, not one per slot."""
    out: list[tuple[int, int]] = []
    for cost in costs:
        if out and out[-1][0] == cost:
            out[-1] = (cost, out[-1][1] + 1)
        else:
            out.append((cost, 1))
    return out


# Solvers: each returns the indices of the chosen pairs in problem.pairs ------------------------------


def _solve_network_simplex(problem: _Problem) -> list[int]:
    """Min-cost flow: source -> team (team_limit) -> resource (1 per pair) -> sink (a parallel arc per
    run of equal marginal load cost), with team -> unassigned -> sink at cost 0 so every team's demand
    can always be met and leaving a team out is an explicit, costed choice."""
    graph: nx.MultiDiGraph[Node] = nx.MultiDiGraph()
    per_team: dict[int, int] = defaultdict(int)
    for c in problem.pairs:
        per_team[c.team_id] += 1
    supply = 0
    for team_id in sorted(per_team):
        limit = min(problem.team_limit, per_team[team_id])
        supply += limit
        graph.add_edge(SOURCE, ("team", team_id), capacity=limit, weight=0)
        graph.add_edge(("team", team_id), UNASSIGNED, capacity=limit, weight=0)
    for c, gain in zip(problem.pairs, problem.gains, strict=True):
        graph.add_edge(("team", c.team_id), ("resource", c.resource_id), capacity=1, weight=-gain)
    for resource_id, costs in problem.slots:
        for cost, count in _runs(costs):
            graph.add_edge(("resource", resource_id), SINK, capacity=count, weight=cost)
    graph.add_edge(UNASSIGNED, SINK, capacity=supply, weight=0)
    graph.nodes[SOURCE]["demand"] = -supply
    graph.nodes[SINK]["demand"] = supply
    _, flow = nx.network_simplex(graph)
    # Normalise the flow to pair indices once: team -> resource arcs are the only ones that say who got what.
    return [
        i
        for i, c in enumerate(problem.pairs)
        if flow[("team", c.team_id)][("resource", c.resource_id)][0] > 0
    ]


def _solve_highs(problem: _Problem) -> list[int]:
    """The same flow as a linear programme for HiGHS.

    Variables: one x in [0, 1] per pair, one y in [0, count] per run of equal marginal load cost.
    Rows: each team's x sum to at most team_limit; each resource's x minus its y equal zero. That
    matrix is a bipartite incidence matrix with unit columns appended, hence totally unimodular, so a
    basic optimal solution (what dual simplex returns) is integral; with integer costs its reduced
    costs are integers too, so HiGHS's tolerances cannot stop it short of the exact optimum.
    """
    n_pairs = len(problem.pairs)
    team_row = {t: i for i, t in enumerate(sorted({c.team_id for c in problem.pairs}))}
    resource_row = {r: i for i, (r, _) in enumerate(problem.slots)}
    y_costs: list[int] = []
    y_bounds: list[int] = []
    y_rows: list[int] = []
    for resource_id, costs in problem.slots:
        for cost, count in _runs(costs):
            y_costs.append(cost)
            y_bounds.append(count)
            y_rows.append(resource_row[resource_id])
    n_y = len(y_costs)
    objective = np.concatenate(
        [-np.asarray(problem.gains, dtype=np.float64), np.asarray(y_costs, dtype=np.float64)]
    )
    upper = np.concatenate([np.ones(n_pairs), np.asarray(y_bounds, dtype=np.float64)])
    pair_cols = np.arange(n_pairs)
    a_ub = sparse.csr_matrix(
        (
            np.ones(n_pairs),
            (np.fromiter((team_row[c.team_id] for c in problem.pairs), np.int64, n_pairs), pair_cols),
        ),
        shape=(len(team_row), n_pairs + n_y),
    )
    a_eq = sparse.csr_matrix(
        (
            np.concatenate([np.ones(n_pairs), -np.ones(n_y)]),
            (
                np.concatenate(
                    [
                        np.fromiter((resource_row[c.resource_id] for c in problem.pairs), np.int64, n_pairs),
                        np.asarray(y_rows, dtype=np.int64),
                    ]
                ),
                np.concatenate([pair_cols, n_pairs + np.arange(n_y)]),
            ),
        ),
        shape=(len(resource_row), n_pairs + n_y),
    )
    result = optimize.linprog(
        objective,
        A_ub=a_ub,
        b_ub=np.full(len(team_row), float(problem.team_limit)),
        A_eq=a_eq,
        b_eq=np.zeros(len(resource_row)),
        bounds=np.column_stack([np.zeros(n_pairs + n_y), upper]),
        method="highs-ds",
    )
    if result.status != 0:
        raise RuntimeError(f"HiGHS could not solve the allocation round: {result.message}")
    x = np.asarray(result.x[:n_pairs])
    if np.max(np.abs(x - np.rint(x)), initial=0.0) > 1e-6:
        # Cannot happen for a basic solution of a totally unimodular LP; refuse rather than guess.
        raise RuntimeError("HiGHS returned a fractional allocation")
    return [int(i) for i in np.flatnonzero(x > 0.5)]


# Result ---------------------------------------------------------------------------------------------


def _result(problem: _Problem, picked: list[int], solver: str) -> Allocation:
    load: dict[int, int] = defaultdict(int)
    gain = 0
    for i in picked:
        load[problem.pairs[i].resource_id] += 1
        gain += problem.gains[i]
    # Each resource's cheapest marginal costs first: that is how both solvers fill it, since they
    # are non-decreasing, so this is the objective the solver reached, computed the same way for both.
    slot_costs = dict(problem.slots)
    penalty = sum(sum(slot_costs[r][:n]) for r, n in load.items())
    assignments = [
        Assignment(problem.pairs[i].team_id, problem.pairs[i].resource_id, problem.pairs[i].fit)
        for i in sorted(picked)
    ]
    served = {a.team_id for a in assignments}
    return Allocation(
        assignments=assignments,
        unassigned=[t for t in problem.teams if t not in served],
        total_fit=math.fsum(a.fit for a in assignments),
        objective=(gain - penalty) / RESOLUTION,
        solver=solver,
    )
