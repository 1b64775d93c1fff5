"""Booking endpoints of the JSON API: rules, calendars, bookings and series, waitlist, slot finder,
certificates, allowances, the ledger and calendar feeds. The dispatcher commits each once, then broadcasts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matchmaker.errors import InvalidInput, MatchmakerError
from matchmaker.operations import booking_rules, calendars
from matchmaker.operations import bookings as ops
from matchmaker.operations.catalogue import get_resource
from models import IdempotencyRecord
from web.api import route, schemas
from web.db import get_session
from web.security import current_principal, require_user

TAG = "bookings"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _principal_and_now() -> tuple[Any, datetime]:
    return current_principal(), datetime.now(UTC)


# Idempotent creation -------------------------------------------------------------------------------


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 200 and key.isprintable() and key.isascii()):
        raise InvalidInput(
            "The Idempotency-Key header must be 1 to 200 printable ASCII characters.",
            "Idempotency-Key 请求头须为 1 至 200 个可打印 ASCII 字符。",
            details={"fields": {IDEMPOTENCY_HEADER: "invalid"}},
        )
    return key


def _replay(user_id: int, key: str, fingerprint: str) -> tuple[Any, int, dict[str, str]] | None:
    found = get_session().scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if found is None:
        return None
    if found.fingerprint != fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was already used for a different request.",
            "该 Idempotency-Key 已用于另一个不同的请求。",
            details={"fields": {IDEMPOTENCY_HEADER: "reused"}},
        )
    return found.response, found.status, {"Idempotent-Replayed": "true"}


def idempotent(work: Callable[[], tuple[dict[str, Any], int]]) -> Any:
    """Run ``work`` once per ``Idempotency-Key``: a retry gets the first answer and never books twice.

    Only successes are stored; a refused request wrote nothing, so retrying it simply asks again.
    Two retries racing: the loser either finds the record, or hits the unique key (or the booking
    the winner made) and then finds it.
    """
    key = _idempotency_key()
    if key is None:
        return work()
    user = require_user()
    fingerprint = hashlib.sha256(
        request.method.encode() + request.path.encode() + request.get_data()
    ).hexdigest()
    session = get_session()
    replay = _replay(user.id, key, fingerprint)
    if replay is not None:
        return replay
    try:
        payload, status = work()
        session.add(
            IdempotencyRecord(
                user_id=user.id, key=key, fingerprint=fingerprint, status=status, response=payload
            )
        )
        session.flush()
    except (MatchmakerError, IntegrityError):
        # The request failed as a whole; start afresh (PostgreSQL may have ended the transaction)
        # so the winner's stored answer can be read. The dispatcher then commits nothing of ours.
        session.rollback()
        replay = _replay(user.id, key, fingerprint)
        if replay is not None:
            return replay
        raise
    return payload, status


# Rules and calendars -------------------------------------------------------------------------------


@route(
    "/resources/<int:resource_id>/availability",
    "GET",
    "A resource's booking rules: opening hours, slot size, lengths, buffer, units, approval, certification",
    tag=TAG,
    auth=False,
)
def get_availability(resource_id: int) -> Any:
    session = get_session()
    resource = get_resource(session, current_principal(), resource_id)
    if not resource.accepts_bookings:
        raise booking_rules.not_bookable(resource)
    return {
        "resource_id": resource.id,
        **booking_rules.availability_out(booking_rules.availability_of(session, resource)),
    }


@route(
    "/resources/<int:resource_id>/availability",
    "PATCH",
    "Set a resource's booking rules (its hosts and the space's managers)",
    tag=TAG,
    body=schemas.AvailabilityUpdate,
)
def update_availability(resource_id: int, body: schemas.AvailabilityUpdate) -> Any:
    changes = schemas.changes(body)
    if "weekly_hours" in changes:
        changes["weekly_hours"] = [o.model_dump() for o in body.weekly_hours or []]
    found = booking_rules.set_availability(get_session(), current_principal(), resource_id, changes)
    return {"resource_id": resource_id, **booking_rules.availability_out(found)}


def _window(query: schemas.RangeParams, default_days: int = 7) -> tuple[datetime, datetime]:
    start = query.start or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = query.end or start + timedelta(days=default_days)
    return start.astimezone(UTC), end.astimezone(UTC)


@route(
    "/resources/<int:resource_id>/calendar",
    "GET",
    "A resource's opening hours, blackouts and bookings between start and end (at most 42 days)",
    tag=TAG,
    query=schemas.RangeParams,
    auth=False,
)
def resource_calendar(resource_id: int, query: schemas.RangeParams) -> Any:
    start, end = _window(query)
    return calendars.calendar(get_session(), current_principal(), resource_id, start, end)


@route(
    "/spaces/<int:space_id>/calendar",
    "GET",
    "One week of every bookable resource of a space",
    tag=TAG,
    query=schemas.WeekParams,
    auth=False,
)
def space_calendar(space_id: int, query: schemas.WeekParams) -> Any:
    week = query.week or datetime.now(UTC).date()
    return calendars.space_week(get_session(), current_principal(), space_id, week)


# Bookings -----------------------------------------------------------------------------------------


@route(
    "/bookings/quote",
    "POST",
    "What a booking would cost (free monthly hours, discount) and whether the time is free",
    tag=TAG,
    body=schemas.QuoteIn,
)
def quote(body: schemas.QuoteIn) -> Any:
    principal, now = _principal_and_now()
    request_ = ops.Request(body.team_id, body.resource_id, body.starts_at, body.ends_at)
    return ops.quote_booking(get_session(), principal, request_, now)


@route(
    "/bookings",
    "POST",
    "Book a slot, or a weekly or daily series (all or nothing unless skip_conflicts). "
    "Send an Idempotency-Key header to make retries safe.",
    tag=TAG,
    body=schemas.BookingIn,
    responses={
        201: "Booked (or series booked)",
        403: "Not certified for this equipment",
        409: "Slot taken (with conflicts and alternatives), quota exceeded or resource retired",
        422: "A rule is broken: range, alignment, hours, blackout, horizon, past",
    },
)
def create_booking(body: schemas.BookingIn) -> Any:
    def work() -> tuple[dict[str, Any], int]:
        principal, now = _principal_and_now()
        session = get_session()
        if body.repeat is None:
            booking = ops.create_booking(
                session,
                principal,
                ops.Request(
                    body.team_id,
                    body.resource_id,
                    body.starts_at.astimezone(UTC),
                    body.ends_at.astimezone(UTC),
                    body.unit,
                    body.note,
                ),
                now,
            )
            return ops.booking_out(booking), 201
        series, made = ops.create_series(
            session,
            principal,
            ops.SeriesRequest(
                body.team_id,
                body.resource_id,
                body.starts_at.astimezone(UTC),
                body.ends_at.astimezone(UTC),
                body.repeat.frequency,
                body.repeat.count,
                body.repeat.skip_conflicts,
                body.note,
            ),
            now,
        )
        return {
            "series_id": series.id,
            "bookings": [ops.booking_out(b) for b in made],
            "skipped": series.skipped,
        }, 201

    return idempotent(work)


@route(
    "/bookings",
    "GET",
    "A team's bookings (upcoming, or all with include_past)",
    tag=TAG,
    query=schemas.TeamBookingsParams,
)
def list_bookings(query: schemas.TeamBookingsParams) -> Any:
    found = calendars.team_bookings(
        get_session(), current_principal(), query.team_id, include_past=query.include_past
    )
    return {"items": [ops.booking_out(b) for b in found]}


@route(
    "/bookings/hosted",
    "GET",
    "My equipment: bookings of the resources I host or manage, pending approvals first",
    tag=TAG,
)
def hosted_bookings() -> Any:
    return {"items": calendars.host_bookings(get_session(), current_principal())}


@route("/bookings/<int:booking_id>", "GET", "One booking (its team, its hosts and managers)", tag=TAG)
def get_booking(booking_id: int) -> Any:
    return ops.booking_out(ops.get_booking(get_session(), current_principal(), booking_id))


@route(
    "/bookings/<int:booking_id>",
    "PATCH",
    "Move a booking (one occurrence of a series moves alone)",
    tag=TAG,
    body=schemas.MoveIn,
)
def move_booking(booking_id: int, body: schemas.MoveIn) -> Any:
    principal, now = _principal_and_now()
    booking = ops.move_booking(
        get_session(),
        principal,
        booking_id,
        body.starts_at.astimezone(UTC),
        body.ends_at.astimezone(UTC),
        now,
    )
    return ops.booking_out(booking)


@route(
    "/bookings/<int:booking_id>/cancel",
    "POST",
    "Cancel a booking (free until the resource's deadline, a late fee after); the reason is optional",
    tag=TAG,
    body=schemas.ReasonIn,
    body_required=False,
    responses={200: "Cancelled", 409: "Already cancelled, or already started"},
)
def cancel_booking(booking_id: int, body: schemas.ReasonIn) -> Any:
    principal, now = _principal_and_now()
    booking = ops.cancel_booking(get_session(), principal, booking_id, body.reason, now)
    return ops.booking_out(booking)


@route(
    "/bookings/<int:booking_id>/decision",
    "POST",
    "Approve or reject a pending booking (the resource's hosts and managers)",
    tag=TAG,
    body=schemas.DecisionIn,
)
def decide_booking(booking_id: int, body: schemas.DecisionIn) -> Any:
    principal, now = _principal_and_now()
    booking = ops.decide_booking(get_session(), principal, booking_id, body.approve, body.note, now)
    return ops.booking_out(booking)


def _action(name: str, operation: Callable[..., Any], summary: str) -> None:
    def view(booking_id: int) -> Any:
        principal, now = _principal_and_now()
        booking = operation(get_session(), principal, booking_id, now)
        return ops.booking_out(booking)

    view.__name__ = name.replace("-", "_")
    route(f"/bookings/<int:booking_id>/{name}", "POST", summary, tag=TAG)(view)


_action("accept", ops.accept_offer, "Accept a waitlist offer (held for you for 30 minutes)")
_action("check-in", ops.check_in, "Check in, from 15 minutes before the start until the grace period ends")
_action("check-out", ops.check_out, "Check out: records actual use; leaving early frees the rest")


# Waitlist and slot finder ---------------------------------------------------------------------------


@route(
    "/waitlist",
    "POST",
    "Wait for a taken slot; when it frees, waiting teams are offered it in turn",
    tag=TAG,
    body=schemas.WaitlistIn,
    responses={201: "Waiting", 409: "The slot is free: book it"},
)
def join_waitlist(body: schemas.WaitlistIn) -> Any:
    principal, now = _principal_and_now()
    entry = ops.join_waitlist(
        get_session(),
        principal,
        ops.Request(
            body.team_id, body.resource_id, body.starts_at.astimezone(UTC), body.ends_at.astimezone(UTC)
        ),
        now,
    )
    return ops.waitlist_out(entry), 201


@route("/waitlist/<int:entry_id>", "DELETE", "Stop waiting", tag=TAG)
def leave_waitlist(entry_id: int) -> Any:
    entry = ops.leave_waitlist(get_session(), current_principal(), entry_id)
    return ops.waitlist_out(entry)


@route(
    "/slots",
    "GET",
    "The earliest free slots of a length on any equipment with a capability tag (or standing in for a "
    "resource), across the spaces the team may use, by start time then price",
    tag=TAG,
    query=schemas.SlotParams,
)
def find_slots(query: schemas.SlotParams) -> Any:
    principal, now = _principal_and_now()
    start = (query.start or now).astimezone(UTC)
    end = (query.end or start + timedelta(days=7)).astimezone(UTC)
    items = calendars.find_slots(
        get_session(),
        principal,
        team_id=query.team_id,
        minutes=query.minutes,
        start=start,
        end=end,
        tag=query.tag,
        resource_id=query.resource_id,
        limit=query.limit,
        now=now,
    )
    return {"items": items}


# Blackouts, certificates, allowances, ledger -------------------------------------------------------


@route(
    "/resources/<int:resource_id>/blackouts",
    "POST",
    "Close a resource (or one unit) for maintenance, calibration or a holiday; overlapping bookings are "
    "cancelled and refunded, or flagged",
    tag=TAG,
    body=schemas.BlackoutIn,
    responses={201: "Created"},
)
def add_blackout(resource_id: int, body: schemas.BlackoutIn) -> Any:
    principal, now = _principal_and_now()
    blackout, touched = ops.add_blackout(
        get_session(),
        principal,
        resource_id,
        starts_at=body.starts_at.astimezone(UTC),
        ends_at=body.ends_at.astimezone(UTC),
        reason=body.reason,
        effect=body.effect,
        unit=body.unit,
        now=now,
    )
    return {
        **booking_rules.blackout_out(blackout),
        "affected": [{"id": b.id, "status": b.status.value, "team_id": b.team_id} for b in touched],
    }, 201


@route("/blackouts/<int:blackout_id>", "DELETE", "Reopen: remove a blackout", tag=TAG)
def remove_blackout(blackout_id: int) -> Any:
    blackout = booking_rules.remove_blackout(get_session(), current_principal(), blackout_id)
    return booking_rules.blackout_out(blackout)


@route("/resources/<int:resource_id>/certifications", "GET", "Who is certified for this equipment", tag=TAG)
def list_certifications(resource_id: int) -> Any:
    return {"items": booking_rules.certifications(get_session(), current_principal(), resource_id)}


@route(
    "/resources/<int:resource_id>/certifications",
    "POST",
    "Certify a user for this equipment (optionally until a date); granting again renews",
    tag=TAG,
    body=schemas.CertificationIn,
    responses={201: "Certified"},
)
def grant_certification(resource_id: int, body: schemas.CertificationIn) -> Any:
    principal, now = _principal_and_now()
    session = get_session()
    cert = booking_rules.grant_certification(
        session, principal, resource_id, body.user_id, body.expires_at, now
    )
    return _certificate(cert, now), 201


def _certificate(cert: Any, now: datetime) -> dict[str, Any]:
    session = get_session()
    return booking_rules.certification_out(
        cert,
        booking_rules.availability_of(session, get_resource(session, current_principal(), cert.resource_id)),
        now,
    )


@route(
    "/resources/<int:resource_id>/certifications/<int:user_id>",
    "DELETE",
    "Revoke a user's certificate for this equipment",
    tag=TAG,
)
def revoke_certification(resource_id: int, user_id: int) -> Any:
    principal, now = _principal_and_now()
    session = get_session()
    cert = booking_rules.revoke_certification(session, principal, resource_id, user_id, now)
    return _certificate(cert, now)


@route(
    "/spaces/<int:space_id>/allowances",
    "GET",
    "Free monthly hours, discounts and caps by kind and stage",
    tag=TAG,
)
def list_allowances(space_id: int) -> Any:
    return {
        "items": [booking_rules.allowance_out(a) for a in booking_rules.allowances(get_session(), space_id)]
    }


@route(
    "/spaces/<int:space_id>/allowances",
    "PUT",
    "Set the free monthly hours, discount and cap for one resource kind and stage (managers)",
    tag=TAG,
    body=schemas.AllowanceIn,
)
def set_allowance(space_id: int, body: schemas.AllowanceIn) -> Any:
    row = booking_rules.set_allowance(get_session(), current_principal(), space_id, **body.model_dump())
    return booking_rules.allowance_out(row)


@route("/teams/<int:team_id>/ledger", "GET", "A team's charges, refunds and fees, with the balance", tag=TAG)
def team_ledger(team_id: int) -> Any:
    return calendars.ledger(get_session(), current_principal(), team_id)


def _feed(kind: str, owner_id: int, body: schemas.FeedIn) -> Any:
    token = calendars.feed_token(get_session(), current_principal(), kind, owner_id, rotate=body.rotate)
    return {"url": url_for("bookings.feed", token=token, _external=True)}


@route(
    "/teams/<int:team_id>/calendar-feed",
    "POST",
    "The secret iCalendar address of a team's bookings (rotate to revoke the old one)",
    tag=TAG,
    body=schemas.FeedIn,
)
def team_feed(team_id: int, body: schemas.FeedIn) -> Any:
    return _feed("team", team_id, body)


@route(
    "/resources/<int:resource_id>/calendar-feed",
    "POST",
    "The secret iCalendar address of a resource's bookings, for its hosts (rotate to revoke)",
    tag=TAG,
    body=schemas.FeedIn,
)
def resource_feed(resource_id: int, body: schemas.FeedIn) -> Any:
    return _feed("resource", resource_id, body)
