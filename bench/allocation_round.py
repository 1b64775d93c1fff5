"""Allocation round benchmark: an optimal round of 10,000 teams over 1,000 mentors, timed per solver.

Each team asks for 5 to 20 mentors picked at random with random fits; each mentor offers 8 to 20 hours
(seeded, so every run solves the same rounds). Three scenarios: one session per team; up to two
sessions per team with a load penalty, where demand exceeds capacity; and pilot-line weeks at two
units per assignment. Prints a table and writes bench/results/allocation_round.json.

    python bench/allocation_round.py [--teams 10000] [--mentors 1000] [--repeats 3] [--networkx]

``--networkx`` also times the network simplex path on the full round (slow: it is what the automatic
choice avoids above matchmaker.allocation.HIGHS_ABOVE_PAIRS).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import machine  # noqa: E402
from matchmaker.allocation import Candidate, RoundInput, Solver, allocate  # noqa: E402

SCENARIOS: dict[str, dict[str, Any]] = {
    "one session per team": {},
    "two sessions per team, load penalty 0.5": {"team_limit": 2, "load_penalty": 0.5},
    "two-week pilot-line slots, min fit 0.2": {"units_per_assignment": 2, "min_fit": 0.2},
}


def make_round(teams: int, mentors: int, seed: int = 7) -> tuple[list[Candidate], dict[int, int]]:
    rng = random.Random(seed)
    capacity = {m: rng.randint(8, 20) for m in range(1, mentors + 1)}
    candidates = [
        Candidate(t, m, round(rng.random(), 4))
        for t in range(1, teams + 1)
        for m in rng.sample(range(1, mentors + 1), rng.randint(5, 20))
    ]
    return candidates, capacity


def run(teams: int, mentors: int, repeats: int, with_networkx: bool) -> dict[str, object]:
    candidates, capacity = make_round(teams, mentors)
    print(
        f"{teams} teams, {mentors} mentors, {len(candidates)} candidate pairs, "
        f"{sum(capacity.values())} hours of capacity"
    )
    rows = []
    for name, options in SCENARIOS.items():
        spec = RoundInput(candidates, capacity, **options)
        solvers: list[Solver] = ["auto", "network_simplex"] if with_networkx else ["auto"]
        for solver in solvers:
            times = []
            for _ in range(repeats if solver == "auto" else 1):
                started = time.perf_counter()
                result = allocate(spec, solver=solver)
                times.append(time.perf_counter() - started)
            row = {
                "scenario": name,
                "solver": result.solver,
                "runs": len(times),
                "median_s": round(statistics.median(times), 2),
                "max_s": round(max(times), 2),
                "assignments": len(result.assignments),
                "unassigned_teams": len(result.unassigned),
                "objective": result.objective,
            }
            rows.append(row)
            print(
                f"  {name:<42} {row['solver']:<16} median {row['median_s']:>6.2f} s  "
                f"max {row['max_s']:>6.2f} s  {row['assignments']:>6} assigned  "
                f"{row['unassigned_teams']:>5} unassigned  objective {row['objective']:.4f}"
            )
    return {
        "benchmark": "allocation_round",
        **machine(),
        "teams": teams,
        "mentors": mentors,
        "candidate_pairs": len(candidates),
        "capacity_units": sum(capacity.values()),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--mentors", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--networkx", action="store_true", help="also time the network simplex path")
    args = parser.parse_args()
    result = run(args.teams, args.mentors, args.repeats, args.networkx)
    out = ROOT / "bench" / "results" / "allocation_round.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
