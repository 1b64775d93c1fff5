"""Display names for the platform's codes (kinds, categories, stages, roles), translated by Flask-Babel."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

KINDS: dict[str, Any] = {
    "equipment": _l("Equipment"),
    "pilot_line": _l("Pilot line"),
    "workspace": _l("Workspace"),
    "mentor": _l("Mentor"),
    "fund": _l("Investor or fund"),
    "service": _l("Professional service"),
}
CATEGORIES: dict[str, Any] = {
    "testing": _l("Inspection and testing"),
    "design": _l("R&D design"),
    "model_processing": _l("Model processing"),
    "pilot": _l("Pilot production"),
    "desk": _l("Desks"),
    "meeting_room": _l("Meeting room"),
    "office": _l("Office or lab space"),
    "technical": _l("Innovation mentor"),
    "entrepreneurship": _l("Entrepreneurship mentor"),
    "angel": _l("Angel investor"),
    "seed_fund": _l("Seed fund"),
    "vc": _l("Venture capital"),
    "ip": _l("Intellectual property"),
    "legal": _l("Legal"),
    "finance": _l("Finance and tax"),
    "certification": _l("Certification"),
    "regulatory": _l("Regulatory affairs"),
    "training": _l("Training"),
}
STAGES: dict[str, Any] = {
    "nursery": _l("Nursery"),
    "incubator": _l("Incubator"),
    "accelerator": _l("Accelerator"),
    "graduated": _l("Graduated"),
    "exited": _l("Exited"),
}
ADMISSION: dict[str, Any] = {
    "pending": _l("Pending review"),
    "admitted": _l("Admitted"),
    "rejected": _l("Declined"),
}
ROLES: dict[str, Any] = {
    "manager": _l("Space manager"),
    "host_staff": _l("Host staff"),
    "mentor": _l("Mentor"),
    "investor": _l("Investor"),
    "lead": _l("Team lead"),
    "member": _l("Team member"),
    "admin": _l("Platform admin"),
}
PRICE_UNITS: dict[str, Any] = {
    "hour": _l("per hour"),
    "day": _l("per day"),
    "sample": _l("per sample"),
    "session": _l("per session"),
    "month": _l("per month"),
    "free": _l("free"),
}
ROUNDS: dict[str, Any] = {
    "seed": _l("Seed"),
    "angel": _l("Angel"),
    "pre_a": _l("Pre-A"),
    "a": _l("Series A"),
    "b": _l("Series B"),
}
NATURES: dict[str, Any] = {
    "public_institution": _l("Public institution"),
    "state_owned_enterprise": _l("State-owned enterprise"),
    "private_enterprise": _l("Private enterprise"),
    "investment_institution": _l("Investment institution"),
    "university": _l("University"),
    "social_organization": _l("Social organisation"),
    "other": _l("Other"),
}
FIELD_ERRORS: dict[str, Any] = {
    "required": _l("Required."),
    "invalid": _l("Not valid."),
    "taken": _l("Already in use."),
    "too_short": _l("Too short."),
    "too_long": _l("Too long."),
    "mismatch": _l("E-mail or password is not correct."),
    "unknown": _l("Unknown."),
    "unknown_field": _l("Not accepted here."),
    "unknown_keys": _l("Contains unknown entries."),
    "invalid_format": _l("Not in the expected format."),
    "not_a_choice": _l("Choose one of the offered options."),
    "not_a_number": _l("Enter a number."),
    "not_a_boolean": _l("Enter yes or no."),
    "out_of_range": _l("Outside the allowed range."),
    "invalid_date": _l("Enter a date as YYYY-MM-DD."),
    "wrong_type": _l("Wrong kind of value."),
    "control_characters": _l("Contains invisible control characters."),
    "not_json": _l("Not valid JSON."),
    "empty": _l("Empty."),
    "not_editable": _l("Cannot be changed here."),
    "not_in_space": _l("Must belong to this space."),
    "other_space": _l("Belongs to another space."),
    "not_allowed_for_kind": _l("Not available for this kind of resource."),
    "must_be_empty_when_free": _l("Leave the price empty for a free resource."),
    "not_an_entry_stage": _l("Choose nursery, incubator or accelerator."),
    "must_end_with_niche_suffix": _l("Must end with 专业化众创空间."),
    "already_member": _l("Already a member of this team."),
    "length_1_200": _l("Between 1 and 200 characters."),
    "length_1_500": _l("Between 1 and 500 characters."),
    "range_6_60": _l("Between 6 and 60 months."),
    "invalid_id": _l("Not a valid id."),
    "missing": _l("Missing."),
    "overlap": _l("Overlaps another period."),
    "misaligned": _l("Does not fit whole slots."),
    "beyond_horizon": _l("Reaches past the booking horizon."),
    "reversed_range": _l("Ends before it starts."),
    "before_granted": _l("Before the day it is granted."),
    "in_the_past": _l("In the past."),
}

CHARGES: dict[str, Any] = {
    "usage": _l("Usage"),
    "refund": _l("Refund"),
    "late_cancel_fee": _l("Late cancellation fee"),
}

WAITLIST: dict[str, Any] = {
    "waiting": _l("Waiting"),
    "offered": _l("Offered"),
    "accepted": _l("Accepted"),
    "lapsed": _l("Lapsed"),
    "cancelled": _l("Cancelled"),
}

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)

ALL = {
    "weekdays": WEEKDAYS,
    "charges": CHARGES,
    "waitlist": WAITLIST,
    "kinds": KINDS,
    "categories": CATEGORIES,
    "stages": STAGES,
    "admission": ADMISSION,
    "roles": ROLES,
    "price_units": PRICE_UNITS,
    "rounds": ROUNDS,
    "natures": NATURES,
    "field_errors": FIELD_ERRORS,
}
