"""The fairness rules of booking, over plain values: which fees may stand together, which bookings a
no-show release may touch, how much of a booking counts as used, and how alike two resources are."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from matchmaker.errors import InvalidInput

# A booking this long or longer (a day, a week on a pilot line, a month at a desk) is not released
# as a no-show when nobody checks in at its start: the team holds it whether it comes in or not.
LONG_BOOKING = timedelta(days=1)

# Workspaces rented for a stretch rather than booked per session.
RENTED_WORKSPACES = frozenset({"desk", "office"})

# How alike a resource must be to stand in for another (see ``capability_similarity``).
SUBSTITUTE_SIMILARITY = 0.5


def check_fees(late_cancel_fee_percent: int, no_show_fee_percent: int) -> None:
    """Refuse fees under which not showing up would cost less than cancelling late."""
    if no_show_fee_percent < late_cancel_fee_percent:
        raise InvalidInput(
            f"The no-show fee ({no_show_fee_percent}%) cannot be lower than the late-cancellation fee "
            f"({late_cancel_fee_percent}%): not showing up must never pay better than cancelling.",
            f"未到场费（{no_show_fee_percent}%）不能低于逾期取消费（{late_cancel_fee_percent}%），"
            "否则不到场反而比取消更划算。",
            details={"fields": {"no_show_fee_percent": "below_late_cancel_fee"}},
        )


def released_as_no_show(kind: str, category: str, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether a booking nobody checked in to goes back to others after the grace period. Desks and
    offices, and bookings of a day or more, stay with their team."""
    if kind == "workspace" and category in RENTED_WORKSPACES:
        return False
    return ends_at - starts_at < LONG_BOOKING


def used_range(
    starts_at: datetime, ends_at: datetime, checked_in_at: datetime | None, left_at: datetime
) -> tuple[datetime, datetime]:
    """The part of the booked range [starts_at, ends_at) actually used: from check-in (never before the
    start, though check-in opens a little earlier) to leaving (never after the end)."""
    began = min(max(checked_in_at or starts_at, starts_at), ends_at)
    finished = min(max(left_at, began), ends_at)
    return began, finished


def used_hours(
    starts_at: datetime, ends_at: datetime, checked_in_at: datetime | None, left_at: datetime
) -> float:
    began, finished = used_range(starts_at, ends_at, checked_in_at, left_at)
    return round((finished - began) / timedelta(hours=1), 2)


def certificate_expiry_problem(expires_at: datetime | None, until: datetime) -> tuple[str, str] | None:
    """Why a certificate expiring at ``expires_at`` does not cover use until ``until``, or None."""
    if expires_at is None or expires_at > until:
        return None
    day = expires_at.date().isoformat()
    return (
        f"your certificate expires on {day}, before this booking ends",
        f"您的认证将于 {day} 到期，早于本次预约结束",
    )


def tag_weights(tag_sets: Collection[Collection[int]]) -> dict[int, float]:
    """How telling each tag is: a tag few resources carry says more about what they do than one most
    resources carry (the inverse document frequency over ``tag_sets``)."""
    counts: dict[int, int] = {}
    for tags in tag_sets:
        for tag in set(tags):
            counts[tag] = counts.get(tag, 0) + 1
    total = len(tag_sets)
    return {tag: math.log((1 + total) / (1 + n)) + 1.0 for tag, n in counts.items()}


def capability_similarity(a: Collection[int], b: Collection[int], weights: Mapping[int, float]) -> float:
    """Weighted overlap of two resources' capability tags (weighted Jaccard, 0 to 1): what they share
    over what either can do, telling tags counting more than common ones."""
    first, second = set(a), set(b)
    union = first | second
    if not union:
        return 0.0
    shared = sum(weights.get(t, 1.0) for t in first & second)
    return shared / sum(weights.get(t, 1.0) for t in union)


def rank_substitutes(
    wanted: Collection[int],
    candidates: Mapping[int, Collection[int]],
    weights: Mapping[int, float],
    *,
    threshold: float = SUBSTITUTE_SIMILARITY,
) -> list[tuple[int, float]]:
    """The candidates (id → tags) alike enough to stand in for a resource with tags ``wanted``, most
    alike first, then by id."""
    scored = [(rid, capability_similarity(wanted, tags, weights)) for rid, tags in candidates.items()]
    return sorted(((rid, s) for rid, s in scored if s >= threshold), key=lambda p: (-p[1], p[0]))
