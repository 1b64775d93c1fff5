"""Booking rules of a resource and what shapes its calendar: opening hours and limits, blackouts,
certificates and the allowances a space grants; and reading who holds which unit when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, String, bindparam, literal, null, select, type_coerce, union_all
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from matchmaker import booking_policy, events, rule_checks, slots
from matchmaker.errors import Forbidden, InvalidInput, MatchmakerError, NotFound, ResourceRetired
from matchmaker.operations import audit
from matchmaker.operations.catalogue import get_resource, visible_resource
from matchmaker.operations.catalogue import ref as resource_ref
from matchmaker.permissions import (
    Principal,
    can_run_resource,
    can_set_allowances,
)
from models import (
    ACTIVE_STATUSES,
    Allowance,
    Availability,
    Blackout,
    BlackoutEffect,
    Booking,
    Certification,
    Resource,
    ResourceKind,
    Space,
    User,
)
from models.base import utcnow
from models.narrow import Narrow

BOOKABLE = (ResourceKind.EQUIPMENT, ResourceKind.PILOT_LINE, ResourceKind.WORKSPACE)


DEFAULT_HOURS = tuple({"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5))


AVAILABILITY_FIELDS = (
    "weekly_hours",
    "slot_minutes",
    "min_minutes",
    "max_minutes",
    "lead_minutes",
    "horizon_days",
    "buffer_minutes",
    "units",
    "requires_certification",
    "certification_lapse_days",
    "requires_approval",
    "approval_hold_hours",
    "free_cancel_hours",
    "late_cancel_fee_percent",
    "checkin_grace_minutes",
    "open_to_other_spaces",
    "no_show_fee_percent",
    "lost_access_effect",
)


class NotCertified(MatchmakerError):
    code = "not_certified"
    status = 403


def availability_of(session: Session, resource: Resource) -> Availability:
    """The resource's booking rules; a resource nobody configured gets the defaults (weekdays 9–18)."""
    found = session.get(Availability, resource.id)
    return found if found is not None else default_availability(resource)


def default_availability(resource: Resource) -> Availability:
    return Availability(
        resource_id=resource.id,
        weekly_hours=list(DEFAULT_HOURS),
        slot_minutes=30,
        min_minutes=30,
        max_minutes=480,
        lead_minutes=0,
        horizon_days=60,
        buffer_minutes=0,
        units=max(1, resource.capacity),
        requires_certification=False,
        certification_lapse_days=None,
        requires_approval=False,
        approval_hold_hours=48,
        free_cancel_hours=24,
        late_cancel_fee_percent=50,
        checkin_grace_minutes=15,
        open_to_other_spaces=False,
        no_show_fee_percent=100,
        lost_access_effect=BlackoutEffect.CANCEL,
    )


def rules_of(resource: Resource, availability: Availability) -> slots.Rules:
    return slots.Rules(
        timezone=resource.space.timezone,
        weekly_hours=tuple(slots.Opening.parse(o) for o in availability.weekly_hours),
        slot_minutes=availability.slot_minutes,
        min_minutes=availability.min_minutes,
        max_minutes=availability.max_minutes,
        lead_minutes=availability.lead_minutes,
        horizon_days=availability.horizon_days,
        buffer_minutes=availability.buffer_minutes,
        units=availability.units,
    )


def availability_out(availability: Availability) -> dict[str, Any]:
    return {name: getattr(availability, name) for name in AVAILABILITY_FIELDS}


def check_weekly_hours(raw: Any) -> list[dict[str, Any]]:
    try:
        openings = [slots.Opening.parse(o) for o in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            "Opening hours need a weekday (0 = Monday) and start and end times like 09:00.",
            "开放时间需包含星期（0 表示周一）以及形如 09:00 的开始和结束时间。",
            details={"fields": {"weekly_hours": "invalid_format"}},
        ) from exc
    for o in openings:
        if not 0 <= o.weekday <= 6 or o.end <= o.start:
            raise InvalidInput(
                "Each opening needs a weekday from 0 to 6 and must end after it starts.",
                "每段开放时间的星期须为 0 到 6，且结束须晚于开始。",
                details={"fields": {"weekly_hours": "invalid"}},
            )
    return [o.as_dict() for o in openings]


def set_availability(
    session: Session, principal: Principal, resource_id: int, changes: dict[str, Any]
) -> Availability:
    resource = runnable_resource(session, principal, resource_id, "set this resource's booking rules")
    if not resource.accepts_bookings:
        raise not_bookable(resource)
    current = availability_of(session, resource)
    before = {name: getattr(current, name) for name in changes}
    if current not in session:
        session.add(current)
    for name, value in changes.items():
        if name == "weekly_hours":
            value = check_weekly_hours(value)
        elif name == "lost_access_effect":
            value = BlackoutEffect(value)
        setattr(current, name, value)
    if current.min_minutes > current.max_minutes:
        raise InvalidInput(
            "The shortest booking cannot be longer than the longest.",
            "最短预约时长不能超过最长预约时长。",
            details={"fields": {"min_minutes": "out_of_range"}},
        )
    booking_policy.check_fees(current.late_cancel_fee_percent, current.no_show_fee_percent)
    for name in ("min_minutes", "max_minutes"):
        if getattr(current, name) % current.slot_minutes:
            raise InvalidInput(
                "Booking lengths must be whole slots.",
                "预约时长须为时间格的整数倍。",
                details={"fields": {name: "misaligned"}},
            )
    check_together(current)
    session.flush()
    record_calendar(session, resource, "availability_changed", availability_out(current))
    audit.record(
        session,
        principal,
        space_id=resource.space_id,
        action="booking_rules_changed",
        subject=f"resource:{resource.id}",
        before=before,
        after={name: getattr(current, name) for name in changes},
    )
    return current


def check_together(current: Availability) -> None:
    """Settings that are each fine alone but not together (see ``matchmaker.rule_checks``)."""
    openings = [slots.Opening.parse(o) for o in current.weekly_hours]
    problem = (
        rule_checks.opening_problem(openings)
        or rule_checks.slot_problem(openings, current.slot_minutes)
        or rule_checks.lead_problem(current.lead_minutes, current.horizon_days)
    )
    if problem is not None:
        raise InvalidInput(problem.en, problem.zh, details={"fields": {problem.field: problem.code}})


def not_bookable(resource: Resource) -> Exception:
    if resource.is_retired:
        return ResourceRetired(resource.id)
    return InvalidInput(
        "Only equipment, pilot lines and workspaces can be booked.",
        "只有设备、中试线和工位/会议室可以预约。",
        details={"fields": {"resource_id": "not_bookable"}},
    )


def runnable_resource(session: Session, principal: Principal, resource_id: int, what_en: str) -> Resource:
    resource = get_resource(session, principal, resource_id)
    if not can_run_resource(principal, resource_ref(resource)):
        raise Forbidden(what_en, "管理该资源的预约")
    return resource


def bookable_resource(session: Session, principal: Principal, resource_id: int) -> Resource:
    resource = get_resource(session, principal, resource_id)
    if not resource.accepts_bookings:
        raise not_bookable(resource)
    return resource


# The statements every booking request runs are built once, with bound parameters. A booking reads only
# the columns of its resource and space that it uses (see ``models.narrow``), and all of its rules.
_RESOURCE_FOR_BOOKING = Narrow(
    Resource,
    (
        "space_id",
        "organization_id",
        "person_user_id",
        "kind",
        "name_zh",
        "name_en",
        "price_cny",
        "price_unit",
        "capacity",
        "retired_at",
    ),
)
_SPACE_FOR_BOOKING = Narrow(Space, ("timezone",))
_RULES = Narrow(Availability)
_BOOKABLE_WITH_RULES = (
    select(*_RESOURCE_FOR_BOOKING.columns, *_SPACE_FOR_BOOKING.columns, *_RULES.columns)
    .join_from(Resource.__table__, Space.__table__, Space.__table__.c.id == Resource.__table__.c.space_id)
    .outerjoin(Availability.__table__, Availability.__table__.c.resource_id == Resource.__table__.c.id)
    .where(Resource.__table__.c.id == bindparam("resource_id"))
)


def bookable_with_rules(
    session: Session, principal: Principal, resource_id: int
) -> tuple[Resource, Availability]:
    """A bookable resource with its space and its booking rules, read in one statement."""
    row = session.execute(_BOOKABLE_WITH_RULES, {"resource_id": resource_id}).first()
    found: Resource | None = None
    availability: Availability | None = None
    if row is not None:
        space = _SPACE_FOR_BOOKING.adopt(session, row)
        found = _RESOURCE_FOR_BOOKING.adopt(session, row)
        set_committed_value(found, "space", space)  # held by the resource, as a joined load would
        availability = _RULES.adopt(session, row)
    resource = visible_resource(principal, found, resource_id)
    if not resource.accepts_bookings:
        raise not_bookable(resource)
    return resource, availability if availability is not None else default_availability(resource)


def active_bookings(
    session: Session, resource_ids: Sequence[int], start: datetime, end: datetime
) -> list[Booking]:
    return list(
        session.scalars(
            select(Booking)
            .where(
                Booking.resource_id.in_(resource_ids),
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.starts_at >= start - slots.MAX_BOOKING,
                Booking.starts_at < end,
                Booking.blocked_until > start,
            )
            .order_by(Booking.starts_at)
        )
    )


def blackouts_between(
    session: Session, resource_ids: Sequence[int], start: datetime, end: datetime
) -> list[Blackout]:
    return list(
        session.scalars(
            select(Blackout)
            .where(
                Blackout.resource_id.in_(resource_ids),
                Blackout.removed_at.is_(None),
                Blackout.starts_at < end,
                Blackout.ends_at > start,
            )
            .order_by(Blackout.starts_at)
        )
    )


# Who holds a resource around a time: its active bookings whose busy range meets [start, end) (a booking
# starts at most MAX_BOOKING before the end of its range), and its blackouts there, as plain rows.
_HOLDERS: CompoundSelect[Any] = union_all(
    select(
        literal("busy"),
        Booking.starts_at,
        Booking.ends_at,
        Booking.blocked_until,
        Booking.unit,
        Booking.id,
        type_coerce(null(), String),
    ).where(
        Booking.resource_id == bindparam("resource_id"),
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.starts_at >= bindparam("earliest"),
        Booking.starts_at < bindparam("end"),
        Booking.blocked_until > bindparam("start"),
    ),
    select(
        literal("closed"),
        Blackout.starts_at,
        Blackout.ends_at,
        Blackout.ends_at,
        Blackout.unit,
        Blackout.id,
        Blackout.reason,
    ).where(
        Blackout.resource_id == bindparam("resource_id"),
        Blackout.removed_at.is_(None),
        Blackout.starts_at < bindparam("end"),
        Blackout.ends_at > bindparam("start"),
    ),
)


def occupancy(
    session: Session,
    resource: Resource,
    rules: slots.Rules,
    start: datetime,
    end: datetime,
    *,
    wide: bool = False,
) -> slots.Occupancy:
    """Who holds the resource around [start, end): exactly what a booking there could meet, or, when
    ``wide``, the week around it too, where alternatives are looked for."""
    margin = slots.ALTERNATIVE_WINDOW if wide else timedelta(0)
    lo, hi = start - margin, end + margin + rules.buffer
    busy: list[slots.Busy] = []
    closures: list[slots.Closure] = []
    found = session.execute(
        _HOLDERS,
        {"resource_id": resource.id, "earliest": lo - slots.MAX_BOOKING, "start": lo, "end": hi},
    )
    for kind, starts_at, ends_at, blocked_until, unit, row_id, reason in found:
        if kind == "busy":
            busy.append(slots.Busy(starts_at, ends_at, blocked_until, unit, row_id))
        else:
            closures.append(slots.Closure(starts_at, ends_at, unit, reason))
    closures.sort(key=lambda c: c.start)
    return slots.Occupancy(rules, busy, closures)


def check_certified(
    session: Session,
    principal: Principal,
    resource: Resource,
    availability: Availability,
    now: datetime,
    until: datetime | None = None,
) -> None:
    """Refuse a user without a certificate valid now and, when ``until`` is given, until then (the end
    of the booking it is for)."""
    if not availability.requires_certification or can_run_resource(principal, resource_ref(resource)):
        return
    cert = session.scalar(
        select(Certification).where(
            Certification.user_id == principal.user_id, Certification.resource_id == resource.id
        )
    )
    problem = certificate_problem(cert, availability, now, until)
    if problem is not None:
        en, zh = problem
        raise NotCertified(
            f"Only trained users may book this equipment: {en}.",
            f"该设备仅限经过培训认证的用户预约：{zh}。",
            details={"resource_id": resource.id},
        )


def certificate_problem(
    cert: Certification | None, availability: Availability, now: datetime, until: datetime | None = None
) -> tuple[str, str] | None:
    """Why a certificate does not let its holder book now (and use the equipment until ``until``), or
    None when it does."""
    if cert is None:
        return "you have no certificate for it", "您尚未取得该设备的使用认证"
    if cert.revoked_at is not None:
        return "your certificate was revoked", "您的认证已被撤销"
    if cert.expires_at is not None and cert.expires_at <= now:
        return "your certificate has expired", "您的认证已过期"
    if until is not None and (expiry := booking_policy.certificate_expiry_problem(cert.expires_at, until)):
        return expiry
    lapse = availability.certification_lapse_days
    if lapse is not None and (cert.last_used_at or cert.granted_at) < now - timedelta(days=lapse):
        return (
            f"your certificate lapsed after {lapse} days without use",
            f"您已超过 {lapse} 天未使用该设备，认证已失效",
        )
    return None


def remove_blackout(
    session: Session, principal: Principal, blackout_id: int, now: datetime | None = None
) -> Blackout:
    now = now or utcnow()
    blackout = session.get(Blackout, blackout_id)
    if blackout is None or blackout.removed_at is not None:
        raise NotFound("blackout", "停用时段", blackout_id)
    resource = runnable_resource(session, principal, blackout.resource_id, "reopen this resource")
    blackout.removed_at = now
    session.flush()
    record_calendar(session, resource, "blackout_removed", blackout_out(blackout))
    audit.record(
        session,
        principal,
        space_id=resource.space_id,
        action="blackout_removed",
        subject=f"resource:{resource.id}",
        before=blackout_out(blackout) | {"removed_at": None},
        after={"removed_at": now},
    )
    return blackout


def blackout_out(b: Blackout) -> dict[str, Any]:
    return {
        "id": b.id,
        "resource_id": b.resource_id,
        "unit": b.unit,
        "starts_at": b.starts_at.isoformat(),
        "ends_at": b.ends_at.isoformat(),
        "reason": b.reason,
        "effect": b.effect.value,
        "removed": b.removed_at is not None,
    }


def grant_certification(
    session: Session,
    principal: Principal,
    resource_id: int,
    user_id: int,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Certification:
    now = now or utcnow()
    resource = runnable_resource(session, principal, resource_id, "certify users for this equipment")
    if session.get(User, user_id) is None:
        raise NotFound("user", "用户", user_id)
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(
            "A certificate must expire in the future.",
            "认证的到期时间须在将来。",
            details={"fields": {"expires_at": "in_the_past"}},
        )
    cert = session.scalar(
        select(Certification).where(
            Certification.user_id == user_id, Certification.resource_id == resource.id
        )
    )
    before = (
        {}
        if cert is None
        else {"granted_at": cert.granted_at, "expires_at": cert.expires_at, "revoked_at": cert.revoked_at}
    )
    if cert is None:
        cert = Certification(user_id=user_id, resource_id=resource.id, granted_by_id=principal.user_id)
        session.add(cert)
    cert.granted_by_id = principal.user_id or cert.granted_by_id
    cert.granted_at, cert.expires_at, cert.revoked_at, cert.last_used_at = now, expires_at, None, None
    session.flush()
    _record_certificate(session, "granted", cert, resource)
    audit.record(
        session,
        principal,
        space_id=resource.space_id,
        action="certificate_granted",
        subject=f"resource:{resource.id}",
        before=before,
        after={"granted_at": now, "expires_at": expires_at, "revoked_at": None},
        user_id=user_id,
    )
    return cert


def revoke_certification(
    session: Session, principal: Principal, resource_id: int, user_id: int, now: datetime | None = None
) -> Certification:
    resource = runnable_resource(session, principal, resource_id, "certify users for this equipment")
    cert = session.scalar(
        select(Certification).where(
            Certification.user_id == user_id, Certification.resource_id == resource.id
        )
    )
    if cert is None or cert.revoked_at is not None:
        raise NotFound("certificate", "认证", user_id)
    now = now or utcnow()
    cert.revoked_at = now
    session.flush()
    _record_certificate(session, "revoked", cert, resource)
    audit.record(
        session,
        principal,
        space_id=resource.space_id,
        action="certificate_revoked",
        subject=f"resource:{resource.id}",
        before={"revoked_at": None},
        after={"revoked_at": cert.revoked_at},
        user_id=user_id,
    )
    # Imported here: the booking operations build on this module.
    from matchmaker.operations.bookings.changes import settle_lost_access

    settle_lost_access(
        session,
        (Booking.booked_by_id == user_id) & (Booking.resource_id == resource.id),
        "certificate revoked",
        now,
    )
    return cert


def _record_certificate(session: Session, action: str, cert: Certification, resource: Resource) -> None:
    event = events.CertificateChanged(action, cert.user_id, resource.id, resource.name_en, resource.name_zh)
    events.record(session, event)


def certifications(
    session: Session, principal: Principal, resource_id: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    now = now or utcnow()
    resource = runnable_resource(session, principal, resource_id, "see who is certified")
    availability = availability_of(session, resource)
    rows = session.scalars(
        select(Certification)
        .where(Certification.resource_id == resource.id)
        .options(selectinload(Certification.user))
        .order_by(Certification.id)
    )
    return [certification_out(c, availability, now) for c in rows]


def certification_out(c: Certification, availability: Availability, now: datetime) -> dict[str, Any]:
    problem = certificate_problem(c, availability, now)
    return {
        "user_id": c.user_id,
        "display_name": c.user.display_name,
        "resource_id": c.resource_id,
        "granted_at": c.granted_at.isoformat(),
        "expires_at": c.expires_at.isoformat() if c.expires_at else None,
        "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
        "last_used_at": c.last_used_at.isoformat() if c.last_used_at else None,
        "valid": problem is None,
        "problem_en": problem[0] if problem else None,
        "problem_zh": problem[1] if problem else None,
    }


def set_allowance(
    session: Session,
    principal: Principal,
    space_id: int,
    *,
    resource_kind: str,
    stage: str,
    free_hours_per_month: int,
    discount_percent: int,
    max_hours_per_month: int | None,
) -> Allowance:
    if session.get(Space, space_id) is None:
        raise NotFound("space", "空间", space_id)
    if not can_set_allowances(principal, space_id):
        raise Forbidden("set this space's allowances", "设置该空间的预约额度")
    row = session.scalar(
        select(Allowance).where(
            Allowance.space_id == space_id, Allowance.resource_kind == resource_kind, Allowance.stage == stage
        )
    )
    before = {} if row is None else allowance_out(row)
    if row is None:
        row = Allowance(space_id=space_id, resource_kind=resource_kind, stage=stage)
        session.add(row)
    row.free_hours_per_month, row.discount_percent, row.max_hours_per_month = (
        free_hours_per_month,
        discount_percent,
        max_hours_per_month,
    )
    session.flush()
    audit.record(
        session,
        principal,
        space_id=space_id,
        action="allowance_set",
        subject=f"space:{space_id}",
        before=before,
        after=allowance_out(row),
    )
    return row


def allowance_out(a: Allowance) -> dict[str, Any]:
    return {
        "space_id": a.space_id,
        "resource_kind": a.resource_kind,
        "stage": a.stage,
        "free_hours_per_month": a.free_hours_per_month,
        "discount_percent": a.discount_percent,
        "max_hours_per_month": a.max_hours_per_month,
    }


def allowances(session: Session, space_id: int) -> list[Allowance]:
    return list(
        session.scalars(
            select(Allowance)
            .where(Allowance.space_id == space_id)
            .order_by(Allowance.resource_kind, Allowance.stage)
        )
    )


def record_calendar(session: Session, resource: Resource, action: str, payload: dict[str, Any]) -> None:
    events.record(
        session,
        events.CalendarChanged(action, resource.space_id, resource.id, resource.organization_id, payload),
    )
