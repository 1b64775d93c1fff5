"""Pages: the host's workbench for one resource (booking rules, closures, certificates, approvals,
figures) and the manager's workbench for a space (allowances, teams, stage moves, ledgers, roles).
Each form runs the same operation as the API; a problem is shown beside its field, the form kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from matchmaker import rule_checks, slots
from matchmaker.errors import Forbidden, InvalidInput, MatchmakerError
from matchmaker.operations import accounts, booking_rules, calendars, mentoring, spaces, teams
from matchmaker.operations import bookings as booking_ops
from matchmaker.permissions import can_set_allowances
from models import (
    ACTIVE_STATUSES,
    Blackout,
    Booking,
    BookingStatus,
    Membership,
    Organization,
    Resource,
    ResourceKind,
    Role,
    Team,
    User,
    WaitlistEntry,
)
from web.api import schemas
from web.db import get_session
from web.i18n import current_locale
from web.pages import form_to_model
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("workbench", __name__)

# The weekly editor offers this many periods per day (a lunch break makes two).
PERIODS = 2
MAX_BLACKOUTS_SHOWN = 50


def _render(template: str, error: MatchmakerError | None, **context: Any) -> tuple[str, int]:
    """A workbench page: a problem with a field is told beside that field (in the user's language),
    any other problem above the form; what was typed stays in the form."""
    fields = (error.details.get("fields") if error else None) or {}
    message = error.message(current_locale()) if error else None
    status = 200 if error is None else error.status
    return (
        render_template(
            template,
            error_message=None if fields else message,
            field_errors=fields,
            field_message=message,
            form=request.form,
            **context,
        ),
        status,
    )


# The host's workbench -------------------------------------------------------------------------------


def _hours_from_form() -> list[dict[str, Any]]:
    hours = []
    for day in range(7):
        for period in range(PERIODS):
            start = request.form.get(f"open.{day}.{period}.start", "").strip()
            end = request.form.get(f"open.{day}.{period}.end", "").strip()
            if start or end:
                hours.append({"weekday": day, "start": start, "end": end})
    return hours


def _hours_by_day(weekly_hours: list[dict[str, Any]]) -> dict[tuple[int, int], dict[str, Any]]:
    """The saved opening hours placed in the editor's (day, period) cells."""
    placed: dict[tuple[int, int], dict[str, Any]] = {}
    for opening in sorted(weekly_hours, key=lambda o: (o["weekday"], o["start"])):
        period = sum(1 for d, _ in placed if d == opening["weekday"])
        if period < PERIODS:
            placed[(opening["weekday"], period)] = opening
    return placed


def _last_day(expires_at: str | None, zone: str) -> str:
    """A certificate expiring at a midnight is valid through the day before."""
    if expires_at is None:
        return "—"
    moment = datetime.fromisoformat(expires_at).astimezone(ZoneInfo(zone)) - timedelta(seconds=1)
    return moment.date().isoformat()


def _resource_context(resource_id: int) -> dict[str, Any]:
    session = get_session()
    principal = current_principal()
    resource = booking_rules.runnable_resource(session, principal, resource_id, "run this resource")
    if not resource.accepts_bookings:
        raise booking_rules.not_bookable(resource)
    availability = booking_rules.availability_of(session, resource)
    now = datetime.now(UTC)
    blackouts = list(
        session.scalars(
            select(Blackout)
            .where(Blackout.resource_id == resource.id, Blackout.removed_at.is_(None), Blackout.ends_at > now)
            .order_by(Blackout.starts_at)
            .limit(MAX_BLACKOUTS_SHOWN)
        )
    )
    pending = list(
        session.scalars(
            select(Booking)
            .where(Booking.resource_id == resource.id, Booking.status == BookingStatus.PENDING)
            .options(selectinload(Booking.team))
            .order_by(Booking.starts_at)
            .limit(50)
        )
    )
    month_ago = now - timedelta(days=30)
    used = session.execute(
        select(func.count(Booking.id), func.min(Booking.starts_at), func.max(Booking.ends_at)).where(
            Booking.resource_id == resource.id,
            Booking.status.in_((*ACTIVE_STATUSES, BookingStatus.COMPLETED)),
            Booking.starts_at >= month_ago,
            Booking.starts_at < now,
        )
    ).one()
    booked_minutes = sum(
        (b.ends_at - b.starts_at).total_seconds() / 60
        for b in session.scalars(
            select(Booking).where(
                Booking.resource_id == resource.id,
                Booking.status.in_((*ACTIVE_STATUSES, BookingStatus.COMPLETED)),
                Booking.starts_at >= month_ago,
                Booking.starts_at < now,
            )
        )
    )
    upcoming = session.scalar(
        select(func.count(Booking.id)).where(
            Booking.resource_id == resource.id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at >= now,
            Booking.starts_at < now + timedelta(days=14),
        )
    )
    return {
        "resource": resource,
        "availability": availability,
        "hours": _hours_by_day(availability.weekly_hours),
        "periods": PERIODS,
        "blackouts": blackouts,
        "pending": pending,
        "certificates": [
            {**c, "valid_until": _last_day(c["expires_at"], resource.space.timezone)}
            for c in booking_rules.certifications(session, principal, resource.id, now)
        ],
        "figures": {
            "bookings_30d": used[0],
            "hours_30d": round(booked_minutes / 60, 1),
            "upcoming_14d": upcoming or 0,
            "pending": len(pending),
        },
        "zone": resource.space.timezone,
        "slot_choices": (5, 10, 15, 20, 30, 60, 120, 240, 1440),
    }


@bp.get("/resources/<int:resource_id>/workbench")
@login_required
def resource(resource_id: int) -> Any:
    return _render("workbench/resource.html", None, **_resource_context(resource_id))


@bp.post("/resources/<int:resource_id>/workbench/rules")
@login_required
def save_rules(resource_id: int) -> Any:
    def _save() -> Any:
        extra: dict[str, Any] = {"weekly_hours": _hours_from_form()}
        slot = request.form.get("slot_minutes", "")
        if slot.isdigit():  # a choice among numbers: the schema's literal wants the number itself
            extra["slot_minutes"] = int(slot)
        body = form_to_model(schemas.AvailabilityUpdate, extra=extra)
        changes = body.model_dump(exclude_none=True)
        if not request.form.get("certification_lapse_days", "").strip():
            changes["certification_lapse_days"] = None
        return booking_rules.set_availability(get_session(), current_principal(), resource_id, changes)

    _done, error = attempt(_save)
    if error is not None:
        return _render("workbench/resource.html", error, **_resource_context(resource_id))
    flash(str(_l("The booking rules are saved.")), "success")
    return redirect(url_for("workbench.resource", resource_id=resource_id))


def _local_moment(day: date, clock: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        minutes = slots.parse_clock(clock)
    except ValueError as exc:
        raise InvalidInput(
            "Give a time like 09:00.",
            "请填写形如 09:00 的时间。",
            details={"fields": {field: "invalid_format"}},
        ) from exc
    start_of_day = datetime.combine(day, time(0), tzinfo=zone)
    return (start_of_day + timedelta(minutes=minutes)).astimezone(UTC)


def _form_date(name: str, *, required: bool = True) -> date | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        if required:
            raise InvalidInput("Give a date.", "请填写日期。", details={"fields": {name: "required"}})
        return None
    try:
        return schemas.check_years(date.fromisoformat(raw), name)
    except ValueError as exc:
        raise InvalidInput(
            "Give a date as YYYY-MM-DD.",
            "请按 YYYY-MM-DD 填写日期。",
            details={"fields": {name: "invalid_date"}},
        ) from exc


@bp.post("/resources/<int:resource_id>/workbench/blackouts")
@login_required
def add_blackouts(resource_id: int) -> Any:
    """Close the resource once, or every week on the same hours until a last date (maintenance)."""
    session = get_session()
    principal = current_principal()

    def _close() -> int:
        resource = booking_rules.runnable_resource(session, principal, resource_id, "close this resource")
        zone = ZoneInfo(resource.space.timezone)
        first = _form_date("day") or date.min  # required: a missing date has raised already
        reason = request.form.get("reason", "").strip()[:200]
        if not reason:
            raise InvalidInput(
                "Say why it is closed.", "请说明停用原因。", details={"fields": {"reason": "required"}}
            )
        days = [first]
        if request.form.get("repeat") == "weekly":
            try:
                days = rule_checks.weekly_dates(first, _form_date("until", required=False))
            except rule_checks.RecurrenceProblem as exc:
                p = exc.problem
                raise InvalidInput(p.en, p.zh, details={"fields": {p.field: p.code}}) from exc
        effect = "flag" if request.form.get("effect") == "flag" else "cancel"
        for day in days:
            starts = _local_moment(day, request.form.get("start", ""), zone, "start")
            ends = _local_moment(day, request.form.get("end", ""), zone, "end")
            if ends <= starts:
                raise InvalidInput(
                    "The closure must end after it starts.",
                    "停用的结束须晚于开始。",
                    details={"fields": {"end": "reversed_range"}},
                )
            booking_ops.add_blackout(
                session, principal, resource_id, starts_at=starts, ends_at=ends, reason=reason, effect=effect
            )
        return len(days)

    count, error = attempt(_close)
    if error is not None:
        return _render("workbench/resource.html", error, **_resource_context(resource_id))
    flash(str(_l("Closed %(n)s times.", n=count)), "success")
    return redirect(url_for("workbench.resource", resource_id=resource_id) + "#closures")


@bp.post("/resources/<int:resource_id>/workbench/blackouts/<int:blackout_id>/remove")
@login_required
def remove_blackout(resource_id: int, blackout_id: int) -> Any:
    booking_rules.remove_blackout(get_session(), current_principal(), blackout_id)
    flash(str(_l("Reopened.")), "success")
    return redirect(url_for("workbench.resource", resource_id=resource_id) + "#closures")


@bp.post("/resources/<int:resource_id>/workbench/certificates")
@login_required
def grant_certificate(resource_id: int) -> Any:
    session = get_session()
    principal = current_principal()

    def _grant() -> Any:
        email = request.form.get("email", "")[:254]
        user = session.scalar(select(User).where(User.email == accounts.normalise_email(email)))
        if user is None:
            raise InvalidInput(
                "No account uses this e-mail.",
                "没有使用该邮箱的账户。",
                details={"fields": {"email": "unknown"}},
            )
        resource = booking_rules.runnable_resource(session, principal, resource_id, "certify users")
        until = _form_date("expires_on", required=False)
        expires = None
        if until is not None:
            zone = ZoneInfo(resource.space.timezone)
            expires = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
            if until < datetime.now(zone).date():
                raise InvalidInput(
                    "A certificate cannot expire before it is granted.",
                    "认证的到期日不能早于授予日。",
                    details={"fields": {"expires_on": "before_granted"}},
                )
        return booking_rules.grant_certification(session, principal, resource_id, user.id, expires)

    _done, error = attempt(_grant)
    if error is not None:
        return _render("workbench/resource.html", error, **_resource_context(resource_id))
    flash(str(_l("Certificate granted.")), "success")
    return redirect(url_for("workbench.resource", resource_id=resource_id) + "#certificates")


@bp.post("/resources/<int:resource_id>/workbench/certificates/<int:user_id>/revoke")
@login_required
def revoke_certificate(resource_id: int, user_id: int) -> Any:
    booking_rules.revoke_certification(get_session(), current_principal(), resource_id, user_id)
    flash(str(_l("Certificate revoked.")), "success")
    return redirect(url_for("workbench.resource", resource_id=resource_id) + "#certificates")


# The manager's workbench ------------------------------------------------------------------------------


def _space_context(space_id: int) -> dict[str, Any]:
    session = get_session()
    principal = current_principal()
    space = spaces.get_space(session, space_id)
    if not can_set_allowances(principal, space_id):
        raise Forbidden("open this space's workbench", "打开该空间的工作台")
    status = request.args.get("status", "admitted")
    status = status if status in ("admitted", "pending", "rejected") else "admitted"
    everyone = teams.list_teams(session, principal, space_id)
    shown = [t for t in everyone if t.admission_status.value == status]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 1000))
    per_page = 20
    members = list(
        session.scalars(
            select(Membership)
            .where(Membership.space_id == space_id)
            .options(selectinload(Membership.user), selectinload(Membership.organization))
            .order_by(Membership.role, Membership.id)
        )
    )
    return {
        "space": space,
        "allowances": booking_rules.allowances(session, space_id),
        "kinds": [k.value for k in booking_rules.BOOKABLE],
        "status": status,
        "counts": {
            s: sum(1 for t in everyone if t.admission_status.value == s)
            for s in ("admitted", "pending", "rejected")
        },
        "teams": shown[(page - 1) * per_page : page * per_page],
        "page": page,
        "pages": max(1, -(-len(shown) // per_page)),
        "members": members,
        "organizations": list(session.scalars(select(Organization).where(Organization.space_id == space_id))),
        "roles": [r.value for r in Role],
    }


@bp.get("/spaces/<int:space_id>/workbench")
@login_required
def space(space_id: int) -> Any:
    return _render("workbench/space.html", None, **_space_context(space_id))


@bp.post("/spaces/<int:space_id>/workbench/allowances")
@login_required
def save_allowance(space_id: int) -> Any:
    def _save() -> Any:
        body = form_to_model(schemas.AllowanceIn)
        return booking_rules.set_allowance(get_session(), current_principal(), space_id, **body.model_dump())

    _done, error = attempt(_save)
    if error is not None:
        return _render("workbench/space.html", error, **_space_context(space_id))
    flash(str(_l("Allowance saved.")), "success")
    return redirect(url_for("workbench.space", space_id=space_id) + "#allowances")


@bp.post("/spaces/<int:space_id>/workbench/roles")
@login_required
def grant_role(space_id: int) -> Any:
    session = get_session()

    def _grant() -> Any:
        body = form_to_model(schemas.MembershipIn)
        user = session.scalar(select(User).where(User.email == accounts.normalise_email(body.email)))
        if user is None:
            raise InvalidInput(
                "No account uses this e-mail.",
                "没有使用该邮箱的账户。",
                details={"fields": {"email": "unknown"}},
            )
        org = session.get(Organization, body.organization_id) if body.organization_id else None
        return accounts.grant_role(
            session,
            current_principal(),
            user=user,
            space=spaces.get_space(session, space_id),
            role=Role(body.role),
            organization=org,
        )

    _done, error = attempt(_grant)
    if error is not None:
        return _render("workbench/space.html", error, **_space_context(space_id))
    flash(str(_l("Role given.")), "success")
    return redirect(url_for("workbench.space", space_id=space_id) + "#roles")


@bp.route("/spaces/<int:space_id>/workbench/teams/<int:team_id>", methods=["GET", "POST"])
@login_required
def team(space_id: int, team_id: int) -> Any:
    """One team for its manager: stage and its history, ledger, waitlist, and a stage move."""
    session = get_session()
    principal = current_principal()
    error = None
    if request.method == "POST":

        def _move() -> Any:
            body = form_to_model(schemas.StageIn)
            return teams.change_stage(session, principal, team_id, to=body.to, reason=body.reason)

        _done, error = attempt(_move)
        if error is None:
            flash(str(_l("Stage changed.")), "success")
            return redirect(url_for("workbench.team", space_id=space_id, team_id=team_id))
    found = session.get(Team, team_id)
    if found is None or found.space_id != space_id or not can_set_allowances(principal, space_id):
        raise Forbidden("open this team's ledger", "查看该团队的账目")
    ledger = calendars.ledger(session, principal, team_id)
    waiting = list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.team_id == team_id)
            .order_by(WaitlistEntry.starts_at.desc())
            .limit(50)
        )
    )
    return _render(
        "workbench/team.html",
        error,
        space=spaces.get_space(session, space_id),
        team=found,
        ledger=ledger,
        balance=Decimal(ledger["balance_cny"]),
        waiting=waiting,
        resource_names={
            r.id: r
            for r in session.scalars(
                select(Resource).where(Resource.id.in_({w.resource_id for w in waiting}))
            )
        },
    )


# A mentor's office hours ----------------------------------------------------------------------------


def _office_hours_context(mentor_id: int) -> dict[str, Any]:
    session = get_session()
    mentor = session.get(Resource, mentor_id)
    principal = current_principal()
    if (
        mentor is None
        or mentor.kind is not ResourceKind.MENTOR
        or (principal.user_id != mentor.person_user_id and not principal.is_manager_of(mentor.space_id))
    ):
        abort(404)
    hours = mentoring.office_hours(session, mentor_id)
    return {"mentor": mentor, "hours": _hours_by_day(hours), "periods": PERIODS}


@bp.get("/mentors/<int:mentor_id>/office-hours")
@login_required
def office_hours(mentor_id: int) -> Any:
    return _render("workbench/office_hours.html", None, **_office_hours_context(mentor_id))


@bp.post("/mentors/<int:mentor_id>/office-hours")
@login_required
def save_office_hours(mentor_id: int) -> Any:
    context = _office_hours_context(mentor_id)
    _, error = attempt(
        lambda: mentoring.set_office_hours(get_session(), current_principal(), mentor_id, _hours_from_form())
    )
    if error is not None:
        return _render("workbench/office_hours.html", error, **context)
    return _render("workbench/office_hours.html", None, **_office_hours_context(mentor_id), saved=True)
