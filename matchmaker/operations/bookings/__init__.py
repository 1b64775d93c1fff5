"""Booking use cases: booking (single, series, from a waitlist), the quote and the ledger lines,
approval, moving and cancelling, check-in and check-out, releasing what lapsed, the waitlist, and
blackouts that cancel or flag what they cover.

The database refuses overlapping active bookings of one unit (migration 0002); these operations check
first so the answer can name the clash and offer alternatives, and turn the database's refusal of a
concurrent loser into the same clean ``SlotTaken``. Every change of a booking's status is conditional
on the status it was read in, so of two conflicting changes exactly one wins.

By concern: ``requests`` (quoting and booking), ``changes`` (lifecycle changes), ``ledger`` (pricing,
charges, refunds), ``waitlist``, ``conflicts`` (the database's refusal and the slot_taken answer),
``checks`` (what a request names, checked) and ``output`` (payloads and events).
"""

from matchmaker.errors import Conflict
from matchmaker.operations.bookings.changes import (
    CHECKIN_EARLY,
    accept_offer,
    add_blackout,
    cancel_booking,
    check_in,
    check_out,
    decide_booking,
    get_booking,
    move_booking,
    sweep,
)
from matchmaker.operations.bookings.checks import ACTIVE_TEAM_STAGES, team_for_booking
from matchmaker.operations.bookings.conflicts import (
    SlotTaken,
    candidate_resources,
    similar_resources,
    substitutes,
)
from matchmaker.operations.bookings.ledger import LedgerDisagrees, QuotaExceeded, price_for
from matchmaker.operations.bookings.output import booking_out, booking_private, payloads
from matchmaker.operations.bookings.requests import (
    BookingRequest,
    SeriesRequest,
    create_booking,
    create_series,
    quote_booking,
)
from matchmaker.operations.bookings.waitlist import (
    OFFER_MINUTES,
    join_waitlist,
    leave_waitlist,
    offer_freed_time,
    waitlist_out,
)

__all__ = [
    "ACTIVE_TEAM_STAGES",
    "CHECKIN_EARLY",
    "OFFER_MINUTES",
    "BookingRequest",
    "Conflict",
    "LedgerDisagrees",
    "QuotaExceeded",
    "SeriesRequest",
    "SlotTaken",
    "accept_offer",
    "add_blackout",
    "booking_out",
    "booking_private",
    "cancel_booking",
    "candidate_resources",
    "check_in",
    "check_out",
    "create_booking",
    "create_series",
    "decide_booking",
    "get_booking",
    "join_waitlist",
    "leave_waitlist",
    "move_booking",
    "offer_freed_time",
    "payloads",
    "price_for",
    "quote_booking",
    "similar_resources",
    "substitutes",
    "sweep",
    "team_for_booking",
    "waitlist_out",
]
