"""Request bodies of the JSON API: strict types, unknown fields refused, lengths bounded."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from matchmaker.catalogue import CONTROL
from matchmaker.errors import InvalidInput
from models.outcomes import RevenueBand
from models.spaces import EntityNature


def _no_control_characters(value: str) -> str:
    """Text is for people: NUL and other control characters (PostgreSQL refuses NUL) are refused."""
    if CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


Printable = AfterValidator(_no_control_characters)

_When = TypeVar("_When", date, datetime)

# Dates a maker space can mean: converting year 1 or 9999 between zones overflows, and nothing the
# platform records lies outside these years.
FIRST_YEAR = 1900
LAST_YEAR = 2199


def _within_years(value: _When) -> _When:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError(
            "out_of_range",
            "dates must lie between the years {first} and {last}",
            {"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return value


def check_years(value: _When, field: str) -> _When:
    """The same bound for dates that pages parse by hand, as the caller's mistake."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidInput(
            f"{field} must lie between the years {FIRST_YEAR} and {LAST_YEAR}.",
            f"{field} 须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间。",
            details={"fields": {field: "out_of_range"}},
        )
    return value


_DATE_RANGE = f"Between the years {FIRST_YEAR} and {LAST_YEAR}."
Moment = Annotated[AwareDatetime, AfterValidator(_within_years), Field(description=_DATE_RANGE)]
Day = Annotated[date, AfterValidator(_within_years), Field(description=_DATE_RANGE)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Printable]
OptShort = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Printable]
Opt80 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), Printable]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), Printable]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Kind = Literal["equipment", "pilot_line", "workspace", "mentor", "fund", "service"]
PriceUnit = Literal["hour", "day", "sample", "session", "month", "free"]
StageName = Literal["nursery", "incubator", "accelerator", "graduated", "exited"]
EntryStage = Literal["nursery", "incubator", "accelerator"]
RoundName = Literal["seed", "angel", "pre_a", "a", "b"]
MAX_ID = 2**31 - 1  # ids are 32-bit integers on both databases
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), max_digits=12, decimal_places=2)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, allow_inf_nan=False)


class RegisterIn(Body):
    email: Annotated[str, StringConstraints(max_length=254), Printable]
    password: Annotated[str, StringConstraints(max_length=256), Printable]
    display_name: Annotated[str, StringConstraints(max_length=80), Printable]


class TokenIn(Body):
    email: Annotated[str, StringConstraints(max_length=254), Printable]
    password: Annotated[str, StringConstraints(max_length=256), Printable]
    name: Short = "API client"


class TokenNameIn(Body):
    name: Short


class ResourceFields(Body):
    name_zh: Short
    name_en: Short
    description_zh: Long = ""
    description_en: Long = ""
    service_content_zh: Long = ""
    service_content_en: Long = ""
    service_unit_zh: OptShort = ""
    service_unit_en: OptShort = ""
    price_cny: Money | None = None
    price_unit: PriceUnit = "hour"
    subsidy_zh: Long | None = None
    subsidy_en: Long | None = None
    capacity: int = Field(default=1, ge=1, le=1000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[Slug] = Field(default_factory=list, max_length=30)


class ResourceCreate(ResourceFields):
    space_id: Id
    organization_id: Id
    kind: Kind
    category: Annotated[str, StringConstraints(max_length=40), Printable]


class ResourceUpdate(Body):
    name_zh: Short | None = None
    name_en: Short | None = None
    description_zh: Long | None = None
    description_en: Long | None = None
    service_content_zh: Long | None = None
    service_content_en: Long | None = None
    service_unit_zh: OptShort | None = None
    service_unit_en: OptShort | None = None
    price_cny: Money | None = None
    price_unit: PriceUnit | None = None
    subsidy_zh: Long | None = None
    subsidy_en: Long | None = None
    capacity: int | None = Field(default=None, ge=1, le=1000)
    category: Annotated[str, StringConstraints(max_length=40), Printable] | None = None
    attributes: dict[str, Any] | None = None
    tags: list[Slug] | None = Field(default=None, max_length=30)


class RetireIn(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Printable]


class SearchParams(BaseModel):
    """Query-string parameters of ``GET /api/v1/resources`` (strings coerced, unknown ones refused)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    q: Annotated[str, StringConstraints(max_length=200), Printable] = ""
    kind: list[Kind] = Field(default_factory=list)
    category: list[Annotated[str, StringConstraints(max_length=40), Printable]] = Field(default_factory=list)
    tag: list[Slug] = Field(default_factory=list, max_length=20)
    space_id: list[Id] = Field(default_factory=list, max_length=50)
    price_max: float | None = Field(default=None, ge=0, le=1e9)
    include_retired: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class DirectoryParams(BaseModel):
    """Query string of ``GET /api/v1/directory``."""

    model_config = ConfigDict(extra="forbid")

    space_id: Id | None = None
    q: Annotated[str, StringConstraints(max_length=200), Printable] = ""


class SpaceTeamsParams(BaseModel):
    """Query string of ``GET /api/v1/spaces/<id>/teams``."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "admitted", "rejected"] | None = None


class RecommendationParams(BaseModel):
    """Query string of ``GET /api/v1/teams/<id>/recommendations``."""

    model_config = ConfigDict(extra="forbid")

    kind: list[Kind] = Field(default_factory=list)
    k: int = Field(default=10, ge=1, le=50)


class WhyNotParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: Id


class TopParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=10, ge=1, le=50)


class TeamFields(Body):
    name_zh: Short
    name_en: Short
    description_zh: Long = ""
    description_en: Long = ""
    needs_zh: Long = ""
    needs_en: Long = ""
    registered_enterprise: bool = False
    funding_ask_10k_cny: Money | None = None
    round_sought: RoundName | None = None
    tags: list[Slug] = Field(default_factory=list, max_length=20)


class TeamApply(TeamFields):
    space_id: Id
    stage: EntryStage = "nursery"


class TeamUpdate(Body):
    name_zh: Short | None = None
    name_en: Short | None = None
    description_zh: Long | None = None
    description_en: Long | None = None
    needs_zh: Long | None = None
    needs_en: Long | None = None
    registered_enterprise: bool | None = None
    funding_ask_10k_cny: Money | None = None
    round_sought: RoundName | None = None
    tags: list[Slug] | None = Field(default=None, max_length=20)


class ReviewIn(Body):
    decision: Literal["admitted", "rejected"]
    criteria_met: dict[Annotated[str, StringConstraints(max_length=63), Printable], bool] = Field(
        default_factory=dict
    )
    note: Long = ""
    stage: EntryStage | None = None
    residence_start: Day | None = None
    free_months: int = Field(default=6, ge=6, le=60)


class StageIn(Body):
    to: StageName
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), Printable] = ""


class MemberIn(Body):
    email: Annotated[str, StringConstraints(max_length=254), Printable]
    role: Literal["lead", "member"] = "member"


class MembershipIn(Body):
    email: Annotated[str, StringConstraints(max_length=254), Printable]
    role: Literal["manager", "host_staff", "mentor", "investor"]
    organization_id: Id | None = None


class SpaceUpdate(Body):
    name_zh: Short | None = None
    name_en: Short | None = None
    niche_zh: Short | None = None
    niche_en: Short | None = None
    description_zh: Long | None = None
    description_en: Long | None = None
    founded_on: Day | None = None
    operating_entity: OptShort | None = None
    operating_entity_nature: EntityNature | None = None
    legal_representative: Opt80 | None = None
    legal_representative_phone: Opt80 | None = None
    person_in_charge: Opt80 | None = None
    person_in_charge_mobile: Opt80 | None = None
    contact_name: Opt80 | None = None
    contact_mobile: Opt80 | None = None
    address: OptShort | None = None
    email: OptShort | None = None
    built_by_enterprise: OptShort | None = None
    built_by_university: OptShort | None = None
    built_by_institute: OptShort | None = None
    main_direction: OptShort | None = None
    management_team_size: int | None = Field(default=None, ge=0, le=100000)
    management_team_with_degree: int | None = Field(default=None, ge=0, le=100000)
    floor_area_m2: float | None = Field(default=None, ge=0, le=1e8)
    public_service_area_m2: float | None = Field(default=None, ge=0, le=1e8)
    angel_fund_10k_cny: float | None = Field(default=None, ge=0, le=1e9)
    events_held: int | None = Field(default=None, ge=0, le=100000)
    online_platform_name: OptShort | None = None
    public_tech_platform_name: OptShort | None = None
    has_entry_standards: bool | None = None
    has_exit_conditions: bool | None = None
    has_project_database: bool | None = None
    other_systems: OptShort | None = None
    exit_conditions_zh: Long | None = None
    exit_conditions_en: Long | None = None


def optional_id(raw: str | None, field: str) -> int | None:
    """A query-string id: absent, or digits within the id range; anything else is the caller's mistake."""
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID):
        raise InvalidInput(
            f"{field} must be a whole number between 1 and {MAX_ID}.",
            f"{field} 必须是 1 到 {MAX_ID} 之间的整数。",
            details={"fields": {field: "invalid_id"}},
        )
    return int(raw)


NULLABLE = frozenset(
    {
        "price_cny",
        "subsidy_zh",
        "subsidy_en",
        "funding_ask_10k_cny",
        "round_sought",
        "founded_on",
        "built_by_enterprise",
        "built_by_university",
        "built_by_institute",
        "public_tech_platform_name",
        "other_systems",
        "certification_lapse_days",
    }
)


def changes(model: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent (PATCH semantics); ``null`` only where a field may be empty."""
    sent = model.model_dump(exclude_unset=True)
    cleared = sorted(k for k, v in sent.items() if v is None and k not in NULLABLE)
    if cleared:
        raise InvalidInput(
            f"These fields cannot be emptied: {', '.join(cleared)}.",
            f"以下字段不能为空：{'、'.join(cleared)}。",
            details={"fields": dict.fromkeys(cleared, "required")},
        )
    if not sent:
        raise InvalidInput(
            "Nothing to change: send at least one field.",
            "没有需要修改的内容：请至少提交一个字段。",
            details={"fields": {"body": "empty"}},
        )
    return sent


# Bookings -----------------------------------------------------------------------------------------

Minutes = Annotated[int, Field(ge=1, le=31 * 24 * 60)]
Unit = Annotated[int, Field(ge=1, le=1000)]
BookableKind = Literal["equipment", "pilot_line", "workspace"]


class RepeatIn(Body):
    frequency: Literal["weekly", "daily"]
    count: int = Field(ge=2, le=52)
    skip_conflicts: bool = False


class BookingIn(Body):
    team_id: Id
    resource_id: Id
    starts_at: Moment
    ends_at: Moment
    unit: Unit | None = None
    note: Long = ""
    repeat: RepeatIn | None = None


class QuoteIn(Body):
    team_id: Id
    resource_id: Id
    starts_at: Moment
    ends_at: Moment


class MoveIn(Body):
    starts_at: Moment
    ends_at: Moment


class ReasonIn(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), Printable] = ""


class DecisionIn(Body):
    approve: bool
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), Printable] = ""


class BlackoutIn(Body):
    starts_at: Moment
    ends_at: Moment
    reason: Short
    effect: Literal["cancel", "flag"] = "cancel"
    unit: Unit | None = None


class OpeningIn(Body):
    weekday: int = Field(ge=0, le=6)
    start: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    end: Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]


class AvailabilityUpdate(Body):
    weekly_hours: list[OpeningIn] | None = Field(default=None, max_length=50)
    slot_minutes: Literal[5, 10, 15, 20, 30, 60, 120, 240, 1440] | None = None
    min_minutes: Minutes | None = None
    max_minutes: Minutes | None = None
    lead_minutes: int | None = Field(default=None, ge=0, le=30 * 24 * 60)
    horizon_days: int | None = Field(default=None, ge=1, le=730)
    buffer_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    units: Unit | None = None
    requires_certification: bool | None = None
    certification_lapse_days: int | None = Field(default=None, ge=1, le=3650)
    requires_approval: bool | None = None
    approval_hold_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    free_cancel_hours: int | None = Field(default=None, ge=0, le=24 * 60)
    late_cancel_fee_percent: int | None = Field(default=None, ge=0, le=100)
    checkin_grace_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    open_to_other_spaces: bool | None = None
    no_show_fee_percent: int | None = Field(default=None, ge=0, le=100)
    lost_access_effect: Literal["cancel", "flag"] | None = None


class CertificationIn(Body):
    user_id: Id
    expires_at: Moment | None = None


class AllowanceIn(Body):
    resource_kind: BookableKind
    stage: EntryStage
    free_hours_per_month: int = Field(ge=0, le=744)
    discount_percent: int = Field(default=0, ge=0, le=100)
    max_hours_per_month: int | None = Field(default=None, ge=0, le=744)


class WaitlistIn(Body):
    team_id: Id
    resource_id: Id
    starts_at: Moment
    ends_at: Moment


class FeedIn(Body):
    rotate: bool = False


class RangeParams(BaseModel):
    """``start`` and ``end`` as ISO 8601 with a zone (``2026-11-24T00:00:00+08:00``, or ``Z``)."""

    model_config = ConfigDict(extra="forbid")

    start: Moment | None = None
    end: Moment | None = None


class WeekParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: Day | None = None


class TeamBookingsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: Id
    include_past: bool = False


class SlotParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: Id
    minutes: Minutes
    tag: Slug | None = None
    resource_id: Id | None = None
    start: Moment | None = None
    end: Moment | None = None
    limit: int = Field(default=10, ge=1, le=50)


# Allocation rounds ----------------------------------------------------------------------------------


class CapacityIn(Body):
    resource_id: Id
    units: int = Field(ge=0, le=100_000)


class RoundIn(Body):
    title: Short
    resource_kind: Literal["mentor", "pilot_line"]
    team_ids: list[Id] = Field(min_length=1, max_length=5000)
    capacity: list[CapacityIn] = Field(min_length=1, max_length=5000)
    units_per_assignment: int = Field(default=1, ge=1, le=1000)
    team_limit: int = Field(default=1, ge=1, le=20)
    load_penalty: float = Field(default=0.0, ge=0, le=10)
    min_fit: float = Field(default=0.0, ge=0, le=1)


class PeriodParams(BaseModel):
    """A report's local days, ``start`` to ``end`` inclusive (at most five years); by default the last
    thirty days."""

    model_config = ConfigDict(extra="forbid")

    start: Day | None = None
    end: Day | None = None


Count = Annotated[int, Field(ge=0, le=100_000)]


class OutcomeIn(Body):
    """A team's operating data for one quarter."""

    year: Annotated[int, Field(ge=2000, le=LAST_YEAR)]
    quarter: Annotated[int, Field(ge=1, le=4)]
    revenue_band: RevenueBand
    employees: Count = 0
    funding_raised_10k_cny: Money = Decimal(0)
    patents_applied: Count = 0
    patents_granted: Count = 0
    technical_results: Count = 0
    results_transferred: Count = 0


class OutcomeReviewIn(Body):
    decision: Literal["verified", "returned"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), Printable] = ""


class OutcomeListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["submitted", "verified", "returned"] | None = None
    start: Day | None = None
    end: Day | None = None


class EventIn(Body):
    kind: Literal["event", "training"]
    title_zh: Short
    title_en: Short
    starts_at: Moment
    ends_at: Moment
    capacity: Annotated[int, Field(ge=1, le=100_000)] | None = None


class RegistrationIn(Body):
    team_id: Id | None = None


class AttendanceIn(Body):
    user_ids: list[Id] = Field(max_length=10_000)


class AuditParams(BaseModel):
    """Filters of the audit log; ``before_id`` pages back from the oldest entry seen."""

    model_config = ConfigDict(extra="forbid")

    action: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,64}$")] | None = None
    actor_id: Id | None = None
    subject: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}:[0-9]{1,10}$")] | None = None
    start: Day | None = None
    end: Day | None = None
    before_id: Id | None = None


# Crowdsourced tasks ---------------------------------------------------------------------------------

TaskAmount = Annotated[Decimal, Field(ge=0, le=Decimal("100000000"), max_digits=11, decimal_places=2)]
TaskText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000), Printable]
IpTermsName = Literal["host_owns", "shared", "team_owns_licensed", "custom"]
VisibilityName = Literal["public", "residents", "invited"]
TaskStatusName = Literal[
    "draft", "open", "bidding_closed", "awarded", "in_delivery", "completed", "cancelled"
]
CancelReasonName = Literal[
    "no_bids", "no_suitable_bid", "requirements_changed", "budget_withdrawn", "team_unresponsive"
]


class TaskIn(Body):
    space_id: Id
    organization_id: Id
    title_zh: Short
    title_en: Short
    description_zh: TaskText = ""
    description_en: TaskText = ""
    deliverables_zh: TaskText = ""
    deliverables_en: TaskText = ""
    tags: list[Slug] = Field(default_factory=list, max_length=20)
    reward_min_cny: TaskAmount | None = None
    reward_max_cny: TaskAmount | None = None
    bid_deadline: Moment | None = None
    delivery_deadline: Day | None = None
    ip_terms: IpTermsName = "host_owns"
    ip_terms_custom: TaskText = ""
    visibility: VisibilityName = "residents"
    confidential: bool = False
    confidentiality_terms: TaskText = ""
    max_awards: int = Field(default=1, ge=1, le=20)
    publish: bool = False


class TaskUpdate(Body):
    title_zh: Short | None = None
    title_en: Short | None = None
    description_zh: TaskText | None = None
    description_en: TaskText | None = None
    deliverables_zh: TaskText | None = None
    deliverables_en: TaskText | None = None
    tags: list[Slug] | None = Field(default=None, max_length=20)
    reward_min_cny: TaskAmount | None = None
    reward_max_cny: TaskAmount | None = None
    bid_deadline: Moment | None = None
    delivery_deadline: Day | None = None
    ip_terms: IpTermsName | None = None
    ip_terms_custom: TaskText | None = None
    visibility: VisibilityName | None = None
    confidential: bool | None = None
    confidentiality_terms: TaskText | None = None
    max_awards: int | None = Field(default=None, ge=1, le=20)


class TaskBoardParams(BaseModel):
    """Query string of ``GET /api/v1/tasks``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tag: list[Slug] = Field(default_factory=list, max_length=20)
    status: TaskStatusName | None = None
    reward_min: TaskAmount | None = None
    deadline_before: Day | None = None
    space_id: Id | None = None
    limit: int = Field(default=100, ge=1, le=200)


class TeamRefIn(Body):
    team_id: Id


class BidIn(Body):
    team_id: Id
    approach: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000), Printable
    ]
    price_cny: TaskAmount
    timeline_days: int = Field(ge=1, le=3650)
    credentials: TaskText = ""


class BidUpdate(Body):
    approach: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000), Printable]
        | None
    ) = None
    price_cny: TaskAmount | None = None
    timeline_days: int | None = Field(default=None, ge=1, le=3650)
    credentials: TaskText | None = None


class ShortlistIn(Body):
    clarification: Long = ""


class QuestionIn(Body):
    team_id: Id
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Printable
    ]


class AnswerIn(Body):
    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Printable]


class MilestoneIn(Body):
    title: Short
    due_on: Day
    amount_cny: TaskAmount


class AwardIn(Body):
    bid_id: Id
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=20)


class CancelTaskIn(Body):
    reason: CancelReasonName
    comment: Long = ""


class DeliveryIn(Body):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Printable]


class ReviewDeliveryIn(Body):
    accept: bool
    comment: Long = ""


class RatingIn(Body):
    team_id: Id
    score: int = Field(ge=1, le=5)
    comment: Long = ""


class AttachmentIn(Body):
    filename: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Printable
    ]
    # At most 1 MB once decoded.
    content_base64: Annotated[str, StringConstraints(max_length=1_400_000, pattern=r"^[A-Za-z0-9+/=\s]*$")]
