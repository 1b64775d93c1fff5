"""Allocation rounds: optimal against brute force, within every capacity, and the same from both solvers."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker import allocation
from matchmaker.allocation import RESOLUTION, Allocation, Candidate, RoundInput, allocate
from matchmaker.errors import InvalidInput

SOLVERS = ("network_simplex", "highs")


def float_objective(spec: RoundInput, pairs: Sequence[Candidate]) -> float:
    """Total fit minus load penalty, in floats, straight from the definition in RoundInput."""
    load = Counter(c.resource_id for c in pairs)
    penalty = 0.0
    for resource_id, n in load.items():
        used = n * spec.units_per_assignment
        penalty += spec.load_penalty * (used * (used + 1) / 2) / spec.capacity[resource_id]
    return math.fsum(c.fit for c in pairs) - penalty


def brute_force(spec: RoundInput) -> float:
    """The best objective over every feasible assignment (the empty one included)."""
    by_team: dict[int, list[Candidate]] = {}
    for c in spec.candidates:
        if c.fit >= spec.min_fit:
            by_team.setdefault(c.team_id, []).append(c)
    choices = [
        [subset for size in range(spec.team_limit + 1) for subset in itertools.combinations(options, size)]
        for options in by_team.values()
    ]
    slots = {r: units // spec.units_per_assignment for r, units in spec.capacity.items()}
    best = 0.0
    for combination in itertools.product(*choices):
        pairs = [c for subset in combination for c in subset]
        load = Counter(c.resource_id for c in pairs)
        if all(n <= slots[r] for r, n in load.items()):
            best = max(best, float_objective(spec, pairs))
    return best


def random_round(seed: int, teams: int, resources: int, **options: float) -> RoundInput:
    rng = random.Random(seed)
    capacity = {r: rng.randint(0, 6) for r in range(1, resources + 1)}
    capacity[1] = max(capacity[1], 1)
    candidates = [
        Candidate(t, r, rng.choice([0.0, 0.25, 0.5, 0.75, 1.0, rng.random()]))
        for t in range(1, teams + 1)
        for r in rng.sample(range(1, resources + 1), rng.randint(1, min(6, resources)))
    ]
    return RoundInput(candidates, capacity, **options)  # type: ignore[arg-type]


def check_feasible(spec: RoundInput, result: Allocation) -> None:
    load = Counter(a.resource_id for a in result.assignments)
    for resource_id, n in load.items():
        assert n * spec.units_per_assignment <= spec.capacity[resource_id]
    per_team = Counter(a.team_id for a in result.assignments)
    assert max(per_team.values(), default=0) <= spec.team_limit
    asked = {(c.team_id, c.resource_id): c for c in spec.candidates}
    for a in result.assignments:
        assert asked[(a.team_id, a.resource_id)].fit == a.fit >= spec.min_fit
    teams = {c.team_id for c in spec.candidates}
    assert result.unassigned == sorted(teams - set(per_team))


@st.composite
def small_rounds(draw: st.DrawFn) -> RoundInput:
    n_teams = draw(st.integers(1, 5))
    n_resources = draw(st.integers(1, 3))
    capacity = {r: draw(st.integers(0, 3)) for r in range(1, n_resources + 1)}
    if sum(capacity.values()) == 0:
        capacity[1] = 1
    fits = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))
    candidates = [
        Candidate(t, r, draw(fits))
        for t in range(1, n_teams + 1)
        for r in draw(st.lists(st.integers(1, n_resources), min_size=1, max_size=3, unique=True))
    ]
    return RoundInput(
        candidates=draw(st.permutations(candidates)),
        capacity=capacity,
        units_per_assignment=draw(st.integers(1, 2)),
        team_limit=draw(st.integers(1, 2)),
        load_penalty=draw(st.sampled_from([0.0, 0.3, 1.0]) | st.floats(0.0, 2.0)),
        min_fit=draw(st.sampled_from([0.0, 0.2, 0.6])),
    )


@pytest.mark.slow  # brute force over every assignment
@settings(max_examples=150, deadline=None)
@given(small_rounds())
def test_the_allocation_is_optimal_against_brute_force(spec: RoundInput) -> None:
    best = brute_force(spec)
    # Each assignment adds a fit and a marginal load cost, each rounded to half a resolution step.
    tolerance = 2 * len(spec.candidates) / RESOLUTION
    for solver in SOLVERS:
        result = allocate(spec, solver=solver)
        check_feasible(spec, result)
        assert result.objective == pytest.approx(best, abs=tolerance)
        chosen = [Candidate(a.team_id, a.resource_id, a.fit) for a in result.assignments]
        assert float_objective(spec, chosen) == pytest.approx(best, abs=tolerance)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.5, 2.0]), st.integers(1, 3))
def test_both_solvers_reach_the_same_objective(seed: int, penalty: float, limit: int) -> None:
    spec = random_round(seed, teams=40, resources=8, load_penalty=penalty, team_limit=limit)
    simplex, highs = (allocate(spec, solver=s) for s in SOLVERS)
    assert simplex.objective == highs.objective
    assert (simplex.solver, highs.solver) == SOLVERS


@pytest.mark.parametrize("solver", SOLVERS)
def test_capacity_is_never_exceeded(solver: allocation.Solver) -> None:
    spec = random_round(3, teams=200, resources=15, units_per_assignment=2, team_limit=2)
    result = allocate(spec, solver=solver)
    check_feasible(spec, result)
    load = Counter(a.resource_id for a in result.assignments)
    assert any(load[r] * 2 > spec.capacity[r] - 2 for r in load)  # the round is tight somewhere


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_team_gets_at_most_its_limit_and_never_the_same_resource_twice(solver: allocation.Solver) -> None:
    spec = RoundInput(
        [Candidate(1, r, 0.9) for r in (1, 2, 3, 4)] + [Candidate(2, 1, 0.1)],
        {1: 5, 2: 5, 3: 5, 4: 5},
        team_limit=2,
    )
    result = allocate(spec, solver=solver)
    team_1 = [a.resource_id for a in result.assignments if a.team_id == 1]
    assert len(team_1) == len(set(team_1)) == 2  # four equally good mentors, two of them
    assert [(a.team_id, a.resource_id) for a in result.assignments][-1] == (2, 1)


@pytest.mark.parametrize("solver", SOLVERS)
def test_the_optimum_is_not_what_a_greedy_pass_would_pick(solver: allocation.Solver) -> None:
    # Greedy gives team 1 its best mentor (0.9) and leaves team 2 with nothing; 0.8 + 0.85 is better.
    spec = RoundInput([Candidate(1, 1, 0.9), Candidate(1, 2, 0.8), Candidate(2, 1, 0.85)], {1: 1, 2: 1})
    result = allocate(spec, solver=solver)
    assert [(a.team_id, a.resource_id) for a in result.assignments] == [(1, 2), (2, 1)]
    assert result.total_fit == pytest.approx(1.65)
    assert result.unassigned == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_teams_beyond_capacity_are_reported_unassigned(solver: allocation.Solver) -> None:
    fits = {1: 0.9, 2: 0.5, 3: 0.7, 4: 0.3}
    spec = RoundInput([Candidate(t, 10, f) for t, f in fits.items()], {10: 2})
    result = allocate(spec, solver=solver)
    assert [a.team_id for a in result.assignments] == [1, 3]
    assert result.unassigned == [2, 4]
    assert result.objective == pytest.approx(1.6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_pairs_below_the_minimum_fit_are_never_assigned(solver: allocation.Solver) -> None:
    spec = RoundInput(
        [Candidate(1, 1, 0.2), Candidate(2, 1, 0.6), Candidate(2, 2, 0.1), Candidate(3, 2, 0.39)],
        {1: 5, 2: 5},
        min_fit=0.4,
        team_limit=2,
    )
    result = allocate(spec, solver=solver)
    assert [(a.team_id, a.resource_id) for a in result.assignments] == [(2, 1)]
    assert result.unassigned == [1, 3]


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_resource_with_no_units_left_takes_nobody(solver: allocation.Solver) -> None:
    spec = RoundInput([Candidate(1, 1, 1.0), Candidate(1, 2, 0.2), Candidate(2, 1, 1.0)], {1: 0, 2: 3})
    result = allocate(spec, solver=solver)
    assert [(a.team_id, a.resource_id) for a in result.assignments] == [(1, 2)]
    assert result.unassigned == [2]


@pytest.mark.parametrize("solver", SOLVERS)
def test_an_assignment_uses_units_per_assignment_of_the_capacity(solver: allocation.Solver) -> None:
    spec = RoundInput([Candidate(t, 1, 0.5) for t in range(1, 6)], {1: 5}, units_per_assignment=2)
    result = allocate(spec, solver=solver)
    assert len(result.assignments) == 2  # 5 hours, 2 hours a session: two sessions, one hour unused
    assert len(result.unassigned) == 3


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_load_penalty_spreads_load_that_would_otherwise_pile_on_one_mentor(
    solver: allocation.Solver,
) -> None:
    candidates = [Candidate(t, r, f) for t in (1, 2, 3, 4) for r, f in ((1, 0.9), (2, 0.8))]
    piled = allocate(RoundInput(candidates, {1: 4, 2: 4}), solver=solver)
    assert Counter(a.resource_id for a in piled.assignments) == {1: 4}
    assert piled.objective == pytest.approx(3.6)

    # The k-th of mentor 1's four units costs k/4: net 0.65, 0.40, 0.15, -0.10; mentor 2's 0.55, 0.30, ...
    spread = allocate(RoundInput(candidates, {1: 4, 2: 4}, load_penalty=1.0), solver=solver)
    assert Counter(a.resource_id for a in spread.assignments) == {1: 2, 2: 2}
    assert spread.objective == pytest.approx(0.65 + 0.40 + 0.55 + 0.30)
    assert spread.total_fit == pytest.approx(3.4)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_team_is_left_unassigned_when_every_option_costs_more_than_it_fits(
    solver: allocation.Solver,
) -> None:
    spec = RoundInput([Candidate(1, 1, 0.9), Candidate(2, 1, 0.2)], {1: 2}, load_penalty=1.0)
    result = allocate(spec, solver=solver)
    # The first unit costs 0.5 (worth it for 0.9); a second would cost 1.0 for a fit of 0.2.
    assert [a.team_id for a in result.assignments] == [1]
    assert result.unassigned == [2]
    assert result.objective == pytest.approx(0.4)


@pytest.mark.parametrize("solver", SOLVERS)
def test_the_output_is_deterministic_whatever_the_order_of_candidates(solver: allocation.Solver) -> None:
    # Coarse fits make many optima tie; the tie must be broken the same way every time.
    spec = random_round(11, teams=60, resources=6, team_limit=2)
    coarse = [Candidate(c.team_id, c.resource_id, round(c.fit * 2) / 2) for c in spec.candidates]
    first = allocate(RoundInput(coarse, spec.capacity, team_limit=2), solver=solver)
    for seed in range(5):
        shuffled = list(coarse)
        random.Random(seed).shuffle(shuffled)
        capacity = dict(reversed(list(spec.capacity.items())))
        assert allocate(RoundInput(shuffled, capacity, team_limit=2), solver=solver) == first


@pytest.mark.parametrize("solver", SOLVERS)
def test_assignments_are_sorted_by_team_then_resource(solver: allocation.Solver) -> None:
    spec = RoundInput(
        [Candidate(9, 3, 0.5), Candidate(2, 7, 0.5), Candidate(9, 1, 0.5), Candidate(2, 3, 0.5)],
        {1: 1, 3: 2, 7: 1},
        team_limit=2,
    )
    result = allocate(spec, solver=solver)
    assert [(a.team_id, a.resource_id) for a in result.assignments] == [(2, 3), (2, 7), (9, 1), (9, 3)]


def test_a_round_nobody_asked_in_assigns_nothing() -> None:
    result = allocate(RoundInput([], {1: 3}))
    assert (result.assignments, result.unassigned, result.total_fit, result.objective) == ([], [], 0.0, 0.0)


def test_auto_uses_network_simplex_for_small_rounds_and_highs_for_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = random_round(5, teams=10, resources=4)
    small = allocate(spec)
    assert small.solver == "network_simplex"
    monkeypatch.setattr(allocation, "HIGHS_ABOVE_PAIRS", len(spec.candidates) - 1)
    large = allocate(spec)
    assert large.solver == "highs"
    assert large.objective == small.objective


def test_an_unknown_solver_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown solver"):
        allocate(RoundInput([Candidate(1, 1, 0.5)], {1: 1}), solver="greedy")  # type: ignore[arg-type]


OK = [Candidate(1, 1, 0.5)]


@pytest.mark.parametrize(
    ("spec", "field", "problem", "english"),
    [
        pytest.param(RoundInput(OK, {1: 0}), "capacity", "zero_total", "zero capacity", id="zero-capacity"),
        pytest.param(RoundInput([], {}), "capacity", "zero_total", "zero capacity", id="no-resources"),
        pytest.param(RoundInput(OK, {1: 3, 2: -1}), "capacity", "negative", "negative", id="negative"),
        pytest.param(
            RoundInput([Candidate(1, 1, 1.5)], {1: 1}),
            "candidates.fit",
            "out_of_range",
            "between",
            id="fit>1",
        ),
        pytest.param(
            RoundInput([Candidate(1, 1, -0.1)], {1: 1}),
            "candidates.fit",
            "out_of_range",
            "between",
            id="fit<0",
        ),
        pytest.param(
            RoundInput([Candidate(1, 1, math.nan)], {1: 1}),
            "candidates.fit",
            "out_of_range",
            "between",
            id="fit-nan",
        ),
        pytest.param(
            RoundInput([Candidate(1, 2, 0.5)], {1: 1}),
            "candidates.resource_id",
            "no_capacity_entry",
            "no capacity entry",
            id="unknown-resource",
        ),
        pytest.param(
            RoundInput([Candidate(1, 1, 0.5), Candidate(1, 1, 0.7)], {1: 1}),
            "candidates",
            "duplicate_pair",
            "more than once",
            id="duplicate-pair",
        ),
        pytest.param(
            RoundInput(OK, {1: 1}, team_limit=0), "team_limit", "below_one", "at least one", id="limit"
        ),
        pytest.param(
            RoundInput(OK, {1: 1}, units_per_assignment=0),
            "units_per_assignment",
            "below_one",
            "at least one unit",
            id="units",
        ),
        pytest.param(
            RoundInput(OK, {1: 1}, load_penalty=-0.5),
            "load_penalty",
            "not_non_negative",
            "penalty",
            id="penalty",
        ),
        pytest.param(
            RoundInput(OK, {1: 1}, load_penalty=math.inf),
            "load_penalty",
            "not_non_negative",
            "penalty",
            id="penalty-inf",
        ),
        pytest.param(
            RoundInput(OK, {1: 1}, min_fit=math.nan), "min_fit", "not_a_number", "minimum", id="min-fit"
        ),
    ],
)
def test_an_invalid_round_is_refused_in_both_languages(
    spec: RoundInput, field: str, problem: str, english: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        allocate(spec)
    error = caught.value
    assert error.details["fields"] == {field: problem}
    assert english in error.message_en
    assert error.message_zh and error.message_zh != error.message_en
    assert error.message("zh-CN") == error.message_zh


def test_a_refused_pair_is_named_in_the_details() -> None:
    with pytest.raises(InvalidInput) as caught:
        allocate(RoundInput([Candidate(4, 1, 0.5), Candidate(7, 9, 0.5)], {1: 1}))
    assert (caught.value.details["team_id"], caught.value.details["resource_id"]) == (7, 9)
    assert "资源 9" in caught.value.message_zh
