"""Booking pages (a resource's live calendar, my bookings, my equipment) and the secret-address
iCalendar feeds. Pages render the first state on the server; the API and Socket.IO keep them live."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker import ical, lifecycles, slots
from matchmaker.errors import InvalidInput
from matchmaker.operations import booking_rules, calendars
from matchmaker.operations import bookings as ops
from matchmaker.operations.catalogue import ref as resource_ref
from matchmaker.operations.teams import ref as team_ref
from matchmaker.permissions import can_book_for, can_run_resource
from models import Booking, BookingStatus, Organization, Team
from web.api import schemas
from web.db import get_session
from web.i18n import current_locale
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("bookings", __name__)

ICAL_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}


def _day(raw: str | None, zone: ZoneInfo) -> date:
    if not raw:
        return datetime.now(zone).date()
    try:
        return schemas.check_years(date.fromisoformat(raw), "date")
    except ValueError as exc:
        raise InvalidInput(
            "Give the date as YYYY-MM-DD.",
            "日期格式应为 YYYY-MM-DD。",
            details={"fields": {"date": "invalid_date"}},
        ) from exc


@bp.get("/resources/<int:resource_id>/calendar")
def calendar(resource_id: int) -> Any:
    """Day or week view; free slots can be selected and booked, and the grid follows live events."""
    session = get_session()
    principal = current_principal()
    resource = booking_rules.bookable_resource(session, principal, resource_id)
    availability = booking_rules.availability_of(session, resource)
    zone = ZoneInfo(resource.space.timezone)
    view = "day" if request.args.get("view") == "day" else "week"
    chosen = _chosen_slot(request.args.get("start"), request.args.get("end"))
    if request.args.get("date"):
        day = _day(request.args.get("date"), zone)
    elif chosen is not None:
        day = chosen[0].astimezone(zone).date()
    else:
        # Opened without a date: the week (or day) of the first time that can be booked, not a week
        # already over or closed.
        found = calendars.first_bookable(session, principal, resource_id)
        day = found.astimezone(zone).date() if found else datetime.now(zone).date()
    first = day if view == "day" else slots.week_start(day)
    days = 1 if view == "day" else 7
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    data = calendars.calendar(session, principal, resource_id, start, end)
    teams = [
        team
        for team in session.scalars(select(Team).where(Team.id.in_(list(principal.teams))).order_by(Team.id))
        if can_book_for(principal, team_ref(team))
        and (team.space_id == resource.space_id or availability.open_to_other_spaces)
    ]
    step = timedelta(days=days)
    grid = _grid(availability, zone, [first + timedelta(days=i) for i in range(days)])
    return render_template(
        "bookings/calendar.html",
        resource=resource,
        availability=availability,
        data=data,
        view=view,
        first=first,
        days=[first + timedelta(days=i) for i in range(days)],
        previous=(first - step).isoformat(),
        following=(first + step).isoformat(),
        teams=teams,
        can_manage=can_run_resource(principal, resource_ref(resource)),
        grid=grid,
        chosen=(
            {"starts_at": chosen[0].isoformat(), "ends_at": chosen[1].isoformat()}
            if chosen and start <= chosen[0] < chosen[1] <= end
            else None
        ),
    )


def _chosen_slot(raw_start: str | None, raw_end: str | None) -> tuple[datetime, datetime] | None:
    """The slot a link asks the calendar to open with selected (a suggestion's "Book" button), or
    None: a selection that does not parse as two zoned times in order is simply not made."""
    if not raw_start or not raw_end or len(raw_start) > 40 or len(raw_end) > 40:
        return None
    try:
        start, end = datetime.fromisoformat(raw_start), datetime.fromisoformat(raw_end)
    except ValueError:
        return None
    if start.tzinfo is None or end.tzinfo is None or end <= start or end - start > timedelta(days=31):
        return None
    return start.astimezone(UTC), end.astimezone(UTC)


def _grid(availability: Any, zone: ZoneInfo, days: list[date]) -> dict[str, Any]:
    """Rows of wall-clock slot labels, from the earliest opening to the latest closing of the week, and
    each cell's UTC start (computed here, where the time zone rules live; None on a skipped hour)."""
    openings = [slots.Opening.parse(o) for o in availability.weekly_hours] or [
        slots.Opening(0, 8 * 60, 20 * 60)
    ]
    step = availability.slot_minutes
    first = min(o.start for o in openings) // step * step
    last = max(o.end for o in openings)
    rows = []
    for minute in range(first, last, step):
        cells = []
        for day in days:
            wall = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(minutes=minute)
            moment = wall.replace(tzinfo=None).replace(tzinfo=zone)
            round_trip = moment.astimezone(UTC).astimezone(zone)
            cells.append(
                moment.astimezone(UTC).isoformat()
                if round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)
                else None
            )
        rows.append({"label": slots.format_clock(minute % (24 * 60)), "cells": cells})
    return {"slot_minutes": step, "rows": rows, "days": [d.isoformat() for d in days]}


@bp.get("/bookings")
@login_required
def mine() -> Any:
    """My teams' bookings, with what can be done to each, and the ledger balance."""
    session = get_session()
    principal = current_principal()
    teams = list(session.scalars(select(Team).where(Team.id.in_(list(principal.teams))).order_by(Team.id)))
    rows = {team.id: calendars.team_bookings(session, principal, team.id) for team in teams}
    ledgers = {team.id: calendars.ledger(session, principal, team.id)["balance_cny"] for team in teams}
    return render_template(
        "bookings/mine.html",
        teams=teams,
        rows=rows,
        ledgers=ledgers,
        now=datetime.now(UTC),
        names=_status_names(),
    )


@bp.get("/bookings/<int:booking_id>/row")
@login_required
def row(booking_id: int) -> Any:
    """One booking drawn as "my bookings" (``view=mine``) or "my equipment" (``view=hosted``) draws it,
    for those pages to insert when a live event says it changed."""
    booking = ops.get_booking(get_session(), current_principal(), booking_id)
    view = "hosted" if request.args.get("view") == "hosted" else "mine"
    return render_template(
        "bookings/row.html",
        view=view,
        booking=booking,
        b=ops.booking_out(booking),
        zone=booking.resource.space.timezone,
        names=_status_names(),
    )


@bp.get("/equipment/mine")
@login_required
def hosted() -> Any:
    """The host's "my equipment": approvals waiting, the next two weeks, and blackouts."""
    session = get_session()
    principal = current_principal()
    items = calendars.host_bookings(session, principal)
    org_ids = sorted({o for _, o in principal.organizations})
    orgs = list(session.scalars(select(Organization).where(Organization.id.in_(org_ids)))) if org_ids else []
    managed = sorted(s for s, r in principal.roles if r == "manager")
    # Resources with something on them get a section; the quiet ones a filterable, paged table.
    busy = [i for i in items if i["pending"] or i["upcoming"]]
    wanted = request.args.get("q", "").strip().casefold()[:100]
    quiet = [
        i
        for i in items
        if not (i["pending"] or i["upcoming"])
        and (not wanted or wanted in f"{i['resource']['name_zh']} {i['resource']['name_en']}".casefold())
    ]
    pages = max(1, -(-len(quiet) // QUIET_PER_PAGE))
    page = max(1, min(request.args.get("page", 1, type=int) or 1, pages))
    return render_template(
        "bookings/hosted.html",
        items=busy,
        quiet=quiet[(page - 1) * QUIET_PER_PAGE : page * QUIET_PER_PAGE],
        quiet_total=len(quiet),
        q=wanted,
        page=page,
        pages=pages,
        orgs=orgs,
        managed=managed,
        names=_status_names(),
    )


QUIET_PER_PAGE = 20


def _status_names() -> dict[str, str]:
    index = 1 if current_locale() == "zh" else 0
    return {status: names[index] for status, names in lifecycles.BOOKING_STATUS_NAMES.items()}


def _event(booking: Booking, owner_kind: str) -> ical.CalendarEvent:
    resource, team = booking.resource, booking.team
    status_en, status_zh = lifecycles.BOOKING_STATUS_NAMES[booking.status.value]
    who = f"{team.name_zh} / {team.name_en}"
    what = f"{resource.name_zh} / {resource.name_en}"
    summary = f"{what} — {who}" if owner_kind == "resource" else what
    unit = f" #{booking.unit}" if booking.unit > 1 else ""
    return ical.CalendarEvent(
        uid=f"booking-{booking.id}@matchmaker",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        summary=summary + unit,
        description=f"{status_zh} / {status_en}\n{who}\n{booking.note}".strip(),
        location=f"{resource.space.name_zh} / {resource.space.name_en}",
        status=ICAL_STATUS.get(booking.status, "CONFIRMED"),
        updated_at=booking.updated_at,
        sequence=int(booking.updated_at.timestamp()) % 2**31,
    )


@bp.get("/calendars/<token>.ics")
def feed(token: str) -> Any:
    """Anyone holding the secret address may read it: calendar apps cannot log in."""
    owner_kind, title, bookings = calendars.feed_bookings(get_session(), token)
    body = ical.render(title, [_event(b, owner_kind) for b in bookings], now=datetime.now(UTC))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="bookings.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.app_template_global()
def space_time(moment: datetime | str, zone: str) -> str:
    """``2026-12-01 10:00`` on the space's wall clock."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@bp.app_template_global()
def booking_actions(booking: Booking, host: bool = False) -> list[tuple[str, str]]:
    """What the viewer can do to a booking now, as (action, button label): the lifecycle table's moves."""
    names = lifecycles.booking_actions(
        booking.status, booking.starts_at, datetime.now(UTC), host=host, checkin_early=ops.CHECKIN_EARLY
    )
    return [
        (
            name,
            str(
                _held_decline
                if name == "cancel" and booking.status is BookingStatus.HELD
                else ACTION_LABELS[name]
            ),
        )
        for name in names
    ]


ACTIONS = {
    "accept": lambda s, p, i, now: ops.accept_offer(s, p, i, now),
    "check-in": lambda s, p, i, now: ops.check_in(s, p, i, now),
    "check-out": lambda s, p, i, now: ops.check_out(s, p, i, now),
    "cancel": lambda s, p, i, now: ops.cancel_booking(s, p, i, "", now),
    "approve": lambda s, p, i, now: ops.decide_booking(s, p, i, True, "", now),
    "reject": lambda s, p, i, now: ops.decide_booking(s, p, i, False, "", now),
}
ACTION_LABELS = {
    "accept": _l("Accept the offer"),
    "check-in": _l("Check in"),
    "check-out": _l("Check out"),
    "cancel": _l("Cancel"),
    "approve": _l("Approve"),
    "reject": _l("Reject"),
}
_held_decline = _l("Decline")
DONE = {
    "accept": _l("Offer accepted."),
    "check-in": _l("Checked in."),
    "check-out": _l("Checked out."),
    "cancel": _l("Booking cancelled."),
    "approve": _l("Booking approved."),
    "reject": _l("Booking rejected."),
}


def _back(default: str) -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.post("/bookings/<int:booking_id>/<action>")
@login_required
def act(booking_id: int, action: str) -> Any:
    """The buttons of "my bookings" and "my equipment"; the same operations the API calls."""
    if action not in ACTIONS:
        abort(404)
    back = _back(url_for("bookings.mine"))
    _done, problem = attempt(
        lambda: ACTIONS[action](get_session(), current_principal(), booking_id, datetime.now(UTC)),
        fail_on=(),
    )
    if problem is not None:
        flash(problem.message(current_locale()), "danger")
        return redirect(back)
    flash(str(DONE[action]), "success")
    return redirect(back)


def _space_local(raw: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        local = schemas.check_years(datetime.fromisoformat(raw), field)
    except ValueError as exc:
        raise InvalidInput(
            "Give a date and time.", "请填写日期和时间。", details={"fields": {field: "invalid_date"}}
        ) from exc
    return local.replace(tzinfo=zone).astimezone(UTC)


@bp.post("/resources/<int:resource_id>/blackouts")
@login_required
def add_blackout(resource_id: int) -> Any:
    """The host's form on the calendar page; times are the space's wall clock."""
    session = get_session()
    resource = booking_rules.bookable_resource(session, current_principal(), resource_id)
    zone = ZoneInfo(resource.space.timezone)
    back = url_for("bookings.calendar", resource_id=resource_id)
    _done, problem = attempt(
        lambda: ops.add_blackout(
            session,
            current_principal(),
            resource_id,
            starts_at=_space_local(request.form.get("starts_at", ""), zone, "starts_at"),
            ends_at=_space_local(request.form.get("ends_at", ""), zone, "ends_at"),
            reason=request.form.get("reason", "").strip()[:200] or str(_l("Closed")),
            effect="flag" if request.form.get("effect") == "flag" else "cancel",
        ),
        fail_on=(),
    )
    if problem is not None:
        flash(problem.message(current_locale()), "danger")
        return redirect(back)
    flash(str(_l("The resource is closed for that time.")), "success")
    return redirect(back)
