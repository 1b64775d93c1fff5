"""The self-evaluation report's rules (Hunan's management rules arts. 13-15, Shanghai's arts. 8-9): which
figures it states, and which teams it puts forward as success cases. Pure, over plain totals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

MIN_CASES = 3
MAX_CASES = 5


@dataclass(frozen=True)
class TeamRecord:
    """One team's verified outcomes summed over the report's period, and whether it graduated."""

    team_id: int
    funding_raised_10k_cny: Decimal = Decimal(0)
    patents_applied: int = 0
    patents_granted: int = 0
    technical_results: int = 0
    results_transferred: int = 0
    peak_employees: int = 0
    graduated: bool = False


def strength(record: TeamRecord) -> float:
    """How strong a team's recorded outcomes are, on one scale: funding raised (10,000 CNY) counts as
    is; each granted patent as 50, each transferred result as 80, each technical result as 20, each
    application as 10, each employee as 5, and graduating as 200. The weights put a transfer or a
    grant (what the rules call results) ahead of headcount."""
    return (
        float(record.funding_raised_10k_cny)
        + 50 * record.patents_granted
        + 80 * record.results_transferred
        + 20 * record.technical_results
        + 10 * record.patents_applied
        + 5 * record.peak_employees
        + (200 if record.graduated else 0)
    )


def success_cases(records: Iterable[TeamRecord], limit: int = MAX_CASES) -> list[tuple[TeamRecord, float]]:
    """The strongest teams, three to five of them when that many recorded anything (fewer if fewer
    did); ties by team id, so the report is stable."""
    scored = [(r, strength(r)) for r in records]
    scored = [(r, s) for r, s in scored if s > 0]
    scored.sort(key=lambda pair: (-pair[1], pair[0].team_id))
    return scored[: max(MIN_CASES, min(limit, MAX_CASES))]
