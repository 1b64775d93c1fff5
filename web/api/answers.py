"""What the JSON API answers: one model per successful answer, declared in the OpenAPI document and
applied to every answer, so nothing undeclared leaves and each field reaches only its audience."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, ValidationInfo, model_validator

from matchmaker.audiences import Audience, audience_in, hidden_fields, person_audience, team_audience
from matchmaker.permissions import ANONYMOUS, Principal

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Amount = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", description="Yuan, as a decimal string")]
Kind = Literal["equipment", "pilot_line", "workspace", "mentor", "fund", "service"]
Stage = Literal["nursery", "incubator", "accelerator", "graduated", "exited"]


class Answer(BaseModel):
    """Answers carry exactly their declared fields."""

    model_config = ConfigDict(extra="forbid")


class Private(Answer):
    """An answer about one space, team, resource or person: fields above the reader's audience
    (``matchmaker.audiences.FIELD_AUDIENCE``) are left out. Without a reader, it is anonymous."""

    entity: ClassVar[str]

    def audience_of(self, principal: Principal) -> Audience:
        raise NotImplementedError

    @model_validator(mode="after")
    def _leave_out_what_the_reader_may_not_see(self, info: ValidationInfo) -> Self:
        principal = (info.context or {}).get("principal", ANONYMOUS)
        audience = self.audience_of(principal) if principal.is_authenticated else Audience.PUBLIC
        for name in hidden_fields(self.entity, audience):
            self.__pydantic_fields_set__.discard(name)
        return self


class AnswerMismatch(RuntimeError):
    """A view answered something its declared model does not describe."""


def render(model: type[BaseModel], payload: Any, principal: Principal) -> Any:
    """The answer as sent: checked against its model, with what the reader may not see left out."""
    try:
        found = model.model_validate(payload, context={"principal": principal})
    except ValidationError as exc:  # our mistake, not the caller's: never a 422
        raise AnswerMismatch(f"{model.__name__} does not describe this answer: {exc}") from None
    return found.model_dump(mode="json", exclude_unset=True, by_alias=True)


# Users and tokens ----------------------------------------------------------------------------------


class RoleOut(Answer):
    space_id: int
    role: str


class TeamRoleOut(Answer):
    team_id: int
    space_id: int
    role: str


class UserOut(Private):
    entity = "person"
    id: int
    display_name: str
    email: str = ""
    is_admin: bool = False
    roles: list[RoleOut] = Field(default_factory=list)
    teams: list[TeamRoleOut] = Field(default_factory=list)

    def audience_of(self, principal: Principal) -> Audience:
        return person_audience(principal, self.id)


class TokenCreated(Answer):
    id: int
    name: str
    token: str = Field(description="Shown only in this answer")


class TokenOut(Answer):
    id: int
    name: str
    prefix: str
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked: bool


class TokenList(Answer):
    items: list[TokenOut]


# Spaces ---------------------------------------------------------------------------------------------


class NamedRef(Answer):
    id: int
    name_zh: str
    name_en: str


class OrganizationOut(Answer):
    id: int
    kind: str
    is_host: bool
    name_zh: str
    name_en: str


class SpaceSummary(Answer):
    id: int
    slug: str
    name_zh: str
    name_en: str
    niche_zh: str
    niche_en: str
    timezone: str
    hosts: list[NamedRef]


class SpaceList(Answer):
    items: list[SpaceSummary]


class FilingFigures(Answer):
    mentors: int
    resident_projects: int
    resident_enterprises: int
    graduated: int
    shared_equipment: int


class SpaceDetail(SpaceSummary, Private):
    entity = "space"
    description_zh: str
    description_en: str
    founded_on: Day | None
    operating_entity: str
    operating_entity_nature: str
    legal_representative: str
    legal_representative_phone: str = ""
    person_in_charge: str
    person_in_charge_mobile: str = ""
    contact_name: str
    contact_mobile: str = ""
    address: str
    email: str = ""
    built_by_enterprise: str | None
    built_by_university: str | None
    built_by_institute: str | None
    main_direction: str
    management_team_size: int
    management_team_with_degree: int
    floor_area_m2: float
    public_service_area_m2: float
    angel_fund_10k_cny: float
    events_held: int
    online_platform_name: str
    public_tech_platform_name: str | None
    has_entry_standards: bool
    has_exit_conditions: bool
    has_project_database: bool
    other_systems: str | None
    exit_conditions_zh: str
    exit_conditions_en: str
    entry_criteria: list[dict[str, Any]]
    organizations: list[OrganizationOut]
    figures: FilingFigures | None = Field(default=None, description="The space's managers only")

    def audience_of(self, principal: Principal) -> Audience:
        return audience_in(principal, self.id)


class MembershipOut(Answer):
    user_id: int
    space_id: int
    role: str
    organization_id: int | None


# Teams ----------------------------------------------------------------------------------------------


class TeamSummary(Answer):
    id: int
    space_id: int
    name_zh: str
    name_en: str
    stage: Stage
    admission_status: Literal["pending", "admitted", "rejected"]
    tags: list[str]


class TeamList(Answer):
    items: list[TeamSummary]


class MemberOut(Answer):
    user_id: int
    display_name: str
    role: str


class StageChangeOut(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Stage | None = Field(alias="from")
    to: Stage
    reason: str
    changed_at: Timestamp
    changed_by: str | None


class TeamDetail(TeamSummary, Private):
    entity = "team"
    description_zh: str
    description_en: str
    needs_zh: str = ""
    needs_en: str = ""
    registered_enterprise: bool
    funding_ask_10k_cny: float | None = None
    round_sought: str | None = None
    residence_start: Day | None
    free_residence_end: Day | None = None
    exit_reason: str | None = None
    members: list[MemberOut] = Field(default_factory=list)
    stage_history: list[StageChangeOut] = Field(default_factory=list)

    def audience_of(self, principal: Principal) -> Audience:
        return team_audience(principal, self.id, self.space_id)


# Catalogue ------------------------------------------------------------------------------------------


class TagOut(Answer):
    slug: str
    label_zh: str
    label_en: str
    terms_zh: list[str]
    terms_en: list[str]


class TagList(Answer):
    items: list[TagOut]


class ResourceSummary(Answer):
    id: int
    space_id: int
    kind: Kind
    category: str
    name_zh: str
    name_en: str
    organization: NamedRef
    service_unit_zh: str
    service_unit_en: str
    price_cny: float | None
    price_unit: str
    capacity: int
    tags: list[str]
    retired: bool


class ScoredResource(ResourceSummary):
    score: float | None = Field(default=None, description="Relevance, when words were searched")


class SearchResult(Answer):
    items: list[ScoredResource]
    total: int
    matched_tags: list[str]


class ResourceDetail(ResourceSummary, Private):
    entity = "resource"
    description_zh: str
    description_en: str
    service_content_zh: str
    service_content_en: str
    subsidy_zh: str | None
    subsidy_en: str | None
    attributes: dict[str, Any]
    person_user_id: int | None = None
    retired_at: Timestamp | None
    retired_reason: str | None = None
    updated_at: Timestamp

    def audience_of(self, principal: Principal) -> Audience:
        return audience_in(principal, self.space_id)


class DirectoryEntry(ResourceSummary):
    service_content_zh: str
    service_content_en: str
    subsidy_zh: str | None
    subsidy_en: str | None


class Directory(Answer):
    items: list[DirectoryEntry]


# Matching -------------------------------------------------------------------------------------------


class ReasonOut(Answer):
    feature: str
    text: str


class RecommendedResource(ResourceSummary):
    score: float
    reasons: list[ReasonOut]


class ScorerChoice(Answer):
    served: str = Field(description="The scorer that serves this group of teams")
    validation: dict[str, float] = Field(description="NDCG@10 of each scorer on the validation period")
    teams: int = Field(description="Teams of this group in the validation period")


class RankerOut(Answer):
    """Which scorer served this answer, and what serves warm and cold teams on which figures."""

    served: str
    label: str = Field(description="The served scorer's name in the reader's language")
    selected_on_validation: bool
    warm: ScorerChoice
    cold: ScorerChoice


class Recommendations(Answer):
    mode: str
    ranker: RankerOut
    items: list[RecommendedResource]


class RecommendedTeam(TeamSummary):
    score: float
    team_side: float | None = Field(description="How well the resource fits the team")
    resource_side: float | None = Field(description="How well the team fits the resource's side")
    reasons: list[ReasonOut]


class TeamRecommendations(Answer):
    mode: str
    items: list[RecommendedTeam]


class WhyNot(Answer):
    resource: str
    resource_id: int
    rank: int | None
    of: int | None = None
    score: float | None = None
    cutoff_score: float | None = None
    held_back_by: list[ReasonOut]


class AssignmentOut(Answer):
    team: NamedRef
    resource: NamedRef
    units: int
    fit: float


class CapacityUse(Answer):
    offered: int
    used: int


class RoundOut(Answer):
    id: int
    space_id: int
    title: str
    resource_kind: Literal["mentor", "pilot_line"]
    status: str
    scorer: str
    published_at: Timestamp | None
    assignments: list[AssignmentOut]
    # The space's managers see the whole round ...
    team_ids: list[int] | None = None
    unassigned_team_ids: list[int] | None = None
    capacity: dict[str, CapacityUse] | None = None
    units_per_assignment: int | None = None
    team_limit: int | None = None
    load_penalty: float | None = None
    min_fit: float | None = None
    total_fit: float | None = None
    solver: str | None = None
    # ... a team its own teams that were left out.
    unassigned: list[int] | None = None


class RoundList(Answer):
    items: list[RoundOut]


# Bookings -------------------------------------------------------------------------------------------


class OpeningOut(Answer):
    weekday: int
    start: str
    end: str


class Rules(Answer):
    weekly_hours: list[OpeningOut]
    slot_minutes: int
    min_minutes: int
    max_minutes: int
    lead_minutes: int
    horizon_days: int
    buffer_minutes: int
    units: int
    requires_certification: bool
    certification_lapse_days: int | None
    requires_approval: bool
    approval_hold_hours: int
    free_cancel_hours: int
    late_cancel_fee_percent: int
    checkin_grace_minutes: int
    open_to_other_spaces: bool
    no_show_fee_percent: int
    lost_access_effect: Literal["cancel", "flag"]


class AvailabilityOut(Rules):
    resource_id: int


class BookingResourceRef(NamedRef):
    timezone: str


class HostedResourceRef(BookingResourceRef):
    space_id: int


class BookedBy(Answer):
    id: int
    display_name: str


class BookingSlot(Answer):
    """What anyone who may see a calendar learns of a booking: the slot it holds and its state."""

    id: int
    resource_id: int
    unit: int
    starts_at: Timestamp
    ends_at: Timestamp
    blocked_until: Timestamp
    status: str
    active: bool


class BookingOut(BookingSlot):
    team: NamedRef
    resource: BookingResourceRef
    booked_by: BookedBy
    series_id: int | None
    note: str
    amount_cny: Amount
    free_minutes: int
    hold_expires_at: Timestamp | None
    flagged_reason: str | None
    checked_in_at: Timestamp | None
    checked_out_at: Timestamp | None
    cancelled_at: Timestamp | None
    cancel_reason: str | None


class SeriesOut(Answer):
    series_id: int
    bookings: list[BookingOut]
    skipped: list[dict[str, Any]]


class BookingOrSeries(RootModel[BookingOut | SeriesOut]):
    pass


class BookingList(Answer):
    items: list[BookingOut]


class QuoteLine(Answer):
    minutes: int
    free_minutes: int
    billable_minutes: int
    list_price_cny: Amount
    discount_percent: int
    amount_cny: Amount


class QuoteOut(QuoteLine):
    month: str
    available: bool
    requires_approval: bool
    requires_certification: bool


class HostedResource(Answer):
    resource: HostedResourceRef
    pending: list[BookingOut]
    upcoming: list[BookingOut]


class HostedList(Answer):
    items: list[HostedResource]


class BlackoutOut(Answer):
    id: int
    resource_id: int
    unit: int | None
    starts_at: Timestamp
    ends_at: Timestamp
    reason: str
    effect: Literal["cancel", "flag"]
    removed: bool


class AffectedBooking(Answer):
    id: int
    status: str
    team_id: int


class BlackoutCreated(BlackoutOut):
    affected: list[AffectedBooking]


class CalendarResource(NamedRef):
    space_id: int
    kind: Kind


class Interval(Answer):
    starts_at: Timestamp
    ends_at: Timestamp


class CalendarEntry(BookingSlot):
    mine: bool
    team: NamedRef | None = Field(default=None, description="Only for the team's members and the hosts")
    series_id: int | None = None


class CalendarOut(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    resource: CalendarResource
    timezone: str
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    rules: Rules
    opening: list[Interval]
    blackouts: list[BlackoutOut]
    bookings: list[CalendarEntry]
    can_manage: bool


class WeekBooking(Answer):
    id: int
    unit: int
    starts_at: Timestamp
    ends_at: Timestamp
    status: str
    team: NamedRef | None = Field(default=None, description="Only for managers and the team's members")


class WeekResource(NamedRef):
    kind: Kind
    bookings: list[WeekBooking]
    blackouts: list[BlackoutOut]


class SpaceWeek(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    space_id: int
    timezone: str
    week_of: Day
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    resources: list[WeekResource]


class WaitlistOut(Answer):
    id: int
    resource_id: int
    team_id: int
    starts_at: Timestamp
    ends_at: Timestamp
    status: str
    offer_booking_id: int | None


class SlotResource(NamedRef):
    space_id: int


class SlotOut(Answer):
    resource: SlotResource
    starts_at: Timestamp
    ends_at: Timestamp
    units_free: int
    quote: QuoteLine
    requires_approval: bool


class SlotList(Answer):
    items: list[SlotOut]


class CertificateOut(Answer):
    user_id: int
    display_name: str
    resource_id: int
    granted_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None
    valid: bool
    problem_en: str | None
    problem_zh: str | None


class CertificateList(Answer):
    items: list[CertificateOut]


class AllowanceOut(Answer):
    space_id: int
    resource_kind: str
    stage: str
    free_hours_per_month: int
    discount_percent: int
    max_hours_per_month: int | None


class AllowanceList(Answer):
    items: list[AllowanceOut]


class LedgerLine(Answer):
    id: int
    booking_id: int | None
    kind: str
    amount_cny: Amount
    minutes: int
    free_minutes: int
    month: str
    resource_kind: str
    note: str
    created_at: Timestamp


class LedgerOut(Answer):
    team_id: int
    balance_cny: Amount
    lines: list[LedgerLine]


class FeedOut(Answer):
    url: str = Field(description="Secret iCalendar address; anyone holding it can read the bookings")


# Notifications --------------------------------------------------------------------------------------


class NotificationOut(Answer):
    id: int
    kind: str
    channel: str
    subject: str
    title_en: str
    title_zh: str
    body_en: str
    body_zh: str
    link: str
    created_at: Timestamp
    read_at: Timestamp | None


class NotificationPage(Answer):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class NotificationRead(NotificationOut):
    unread_count: int


class AllRead(Answer):
    marked: int
    unread_count: int


class PreferenceOut(Answer):
    kind: str
    label_en: str
    label_zh: str
    in_app: bool = Field(description="One switch per channel; e-mail is a channel to come")


class Preferences(Answer):
    preferences: list[PreferenceOut]


# The cockpit: utilization, unmet demand and the filing form ----------------------------------------

Ratio = Annotated[float, Field(ge=0, description="A share: 0.25 is a quarter; above 1 when overbooked")]


class PeriodOut(Answer):
    start: Day
    end: Day
    starts_at: Timestamp
    ends_at: Timestamp


class FiguresOut(Answer):
    resources: int
    open_hours: float
    blackout_hours: float
    available_hours: float = Field(description="Open hours (times units) less blackout hours")
    booked_hours: float
    used_hours: float = Field(description="From check-in to check-out")
    utilization: Ratio | None = Field(description="Booked ÷ available; null when nothing was open")
    actual_use: Ratio | None = Field(description="Used ÷ booked")
    no_show_rate: Ratio | None
    late_cancellation_rate: Ratio | None
    bookings: int


class ResourceFiguresOut(FiguresOut):
    id: int
    name_zh: str
    name_en: str
    kind: Kind


class LeastUsedOut(Answer):
    id: int
    name_zh: str
    name_en: str
    utilization: Ratio


class IdleTeamOut(Answer):
    id: int
    name_zh: str
    name_en: str
    stage: Stage


class DailyHoursOut(Answer):
    day: Day
    hours: float


class MentorLoadOut(Answer):
    id: int
    name_zh: str
    name_en: str
    capacity_hours: float = Field(description="The profile's monthly hours over the period")
    delivered_hours: float = Field(description="Hours of sessions delivered that start in the period")
    scheduled_hours: float = Field(description="Hours of sessions still scheduled in the period")
    delivery: Ratio | None = Field(description="Delivered ÷ offered")
    status: Literal["over", "within", "under"] = Field(
        description="Over: delivered and scheduled hours exceed what is offered; under: below half of it"
    )


class MentorCapacityOut(Answer):
    mentors: int
    capacity_hours: float = Field(description="Monthly hours of the mentors' profiles over the period")
    delivered_hours: float
    scheduled_hours: float
    delivery: Ratio | None = Field(description="Delivered ÷ offered, all mentors")
    items: list[MentorLoadOut]
    to_act_on: list[MentorLoadOut] = Field(description="Mentors over capacity, then under it")


class FundDeploymentOut(Answer):
    id: int
    name_zh: str
    name_en: str
    size_10k_cny: float
    deployed_in_period_10k_cny: float = Field(description="Investments dated in the period")
    deployed_10k_cny: float = Field(description="Investments dated up to the period's last day")
    deployed_share: Ratio | None = Field(description="Deployed ÷ size; null when no size is recorded")


class FundSizeOut(Answer):
    funds: int
    size_10k_cny: float
    deployed_in_period_10k_cny: float
    deployed_10k_cny: float
    deployed_share: Ratio | None
    items: list[FundDeploymentOut]


class IntroductionOutcomesOut(Answer):
    requested: int = Field(description="Introductions asked for in the period")
    open: int = Field(description="Of those, still waiting for the investor or for more information")
    interested: int = Field(description="Of those, taken up: a deal was opened")
    passed: int
    withdrawn: int
    take_up_rate: Ratio | None = Field(description="Interested ÷ (interested + passed)")


class DealFlowFiguresOut(Answer):
    introductions: IntroductionOutcomesOut
    deals: dict[str, int] = Field(description="Deals opened in the period, by their pipeline stage now")


class TaskCountsOut(Answer):
    posted: int = Field(description="Published in the period (drafts left out)")
    awarded: int = Field(description="Of those, awarded (in delivery and completed included)")
    completed: int
    milestones_delivered: int = Field(description="Milestones delivered in the period")
    milestones_on_time: int = Field(description="Of those, delivered on or before their due day")


class UtilizationOut(Answer):
    space_id: int
    timezone: str
    period: PeriodOut
    total: FiguresOut
    by_kind: dict[str, FiguresOut]
    by_tag: dict[str, FiguresOut]
    resources: list[ResourceFiguresOut]
    desk_occupancy: Ratio | None
    pilot_line_occupancy: Ratio | None
    heatmap: list[list[int]] = Field(
        description="Bookings starting per local weekday (Monday first) and hour"
    )
    daily_booked_hours: list[DailyHoursOut]
    least_used: list[LeastUsedOut]
    idle_teams: list[IdleTeamOut] = Field(
        description="Resident teams that booked nothing in the last 60 days"
    )
    stage_funnel: dict[str, int]
    mentors: MentorCapacityOut
    funds: FundSizeOut
    deal_flow: DealFlowFiguresOut
    tasks: TaskCountsOut


class EvidenceOut(Answer):
    kind: Literal["refused", "expired", "waitlist", "no_resource"]
    team_id: int
    resource_id: int | None
    at: Timestamp | None


class SuggestionOut(Answer):
    tag: str
    label_zh: str
    label_en: str
    action: Literal["add", "expand"]
    teams: int
    counts: dict[str, int]
    evidence: list[EvidenceOut]


class UnmetDemandOut(Answer):
    space_id: int
    period: PeriodOut
    totals: dict[str, int]
    suggestions: list[SuggestionOut]


class FilingFieldOut(Answer):
    key: str
    label_zh: str
    label_en: str
    source: Literal["profile", "platform"]
    value: Any


class NameCheckOut(Answer):
    ok: bool
    niche: str | None
    message_zh: str
    message_en: str


class FilingOut(Answer):
    space_id: int
    slug: str
    fields: list[FilingFieldOut]
    missing: list[str] = Field(description="Profile answers still to fill in, by field key")
    name_check: NameCheckOut


# Outcomes, events, the audit log and the evaluation report ------------------------------------------


class OutcomeOut(Answer):
    id: int
    team_id: int
    space_id: int
    quarter: str = Field(description="e.g. 2026Q3")
    revenue_band: Literal["none", "under_1m", "1m_10m", "10m_50m", "over_50m"]
    employees: int
    funding_raised_10k_cny: Amount
    patents_applied: int
    patents_granted: int
    technical_results: int
    results_transferred: int
    status: Literal["submitted", "verified", "returned"]
    verified_at: Timestamp | None
    review_note: str


class OutcomeList(Answer):
    items: list[OutcomeOut]


class EventOut(Answer):
    id: int
    space_id: int
    kind: Literal["event", "training"]
    title_zh: str
    title_en: str
    starts_at: Timestamp
    ends_at: Timestamp
    capacity: int | None
    registered: int
    attended: int


class EventList(Answer):
    items: list[EventOut]


class RegistrationOut(Answer):
    id: int
    event_id: int
    user_id: int
    team_id: int | None
    attended: bool


class AuditEntryOut(Answer):
    id: int
    at: Timestamp
    actor_id: int | None
    actor_name: str | None
    action: str
    subject: str
    before: dict[str, Any]
    after: dict[str, Any]
    detail: dict[str, Any]


class AuditPage(Answer):
    items: list[AuditEntryOut]
    next_before_id: int | None = Field(description="Pass as before_id for older entries; null at the end")


class EvaluationItemOut(Answer):
    key: str
    value: Any
    evidence: list[dict[str, Any]]


class SuccessCaseOut(Answer):
    team_id: int
    team_zh: str
    team_en: str
    strength: float
    funding_raised_10k_cny: Amount
    patents_granted: int
    results_transferred: int
    graduated: bool


class SharedEquipmentOut(Answer):
    available_hours: float
    booked_hours: float
    used_hours: float


class EvaluationOut(Answer):
    space_id: int
    name_zh: str
    name_en: str
    period: PeriodOut
    items: list[EvaluationItemOut]
    shared_equipment: SharedEquipmentOut
    unverified_outcomes: int = Field(
        description="Quarterly figures still waiting for a manager (not counted)"
    )
    success_cases: list[SuccessCaseOut]


# Crowdsourced tasks ---------------------------------------------------------------------------------


class TaskOut(Answer):
    id: int
    space_id: int
    organization: NamedRef
    title_zh: str
    title_en: str
    status: str
    visibility: str
    confidential: bool
    tags: list[str]
    reward_min_cny: Amount | None
    reward_max_cny: Amount | None
    bid_deadline: Timestamp | None
    delivery_deadline: Day | None
    ip_terms: str
    ip_terms_custom: str
    terms_version: int
    max_awards: int
    bid_count: int
    published_at: Timestamp | None
    cancel_reason: str | None
    cancel_comment: str
    is_host: bool
    # A confidential task's details reach only its host and the teams that accepted its terms.
    details_visible: bool
    confidentiality_terms: str
    description_zh: str | None = None
    description_en: str | None = None
    deliverables_zh: str | None = None
    deliverables_en: str | None = None
    my_bid_id: int | None = None


class TaskList(Answer):
    items: list[TaskOut]


class TaskDetails(Answer):
    id: int
    description_zh: str
    description_en: str
    deliverables_zh: str
    deliverables_en: str


class InvitationOut(Answer):
    task_id: int
    team_id: int
    invited_at: Timestamp


class AcceptanceOut(Answer):
    task_id: int
    team_id: int
    terms_version: int
    accepted_at: Timestamp


class AttachmentOut(Answer):
    id: int
    bid_id: int
    filename: str
    media_type: str
    size: int
    sha256: str


class BidOut(Answer):
    id: int
    task_id: int
    team: NamedRef
    status: str
    approach: str
    price_cny: Amount
    timeline_days: int
    credentials: str
    clarification_request: str
    awarded_at: Timestamp | None
    fit: float | None = None
    attachments: list[AttachmentOut] = []


class BidList(Answer):
    task_id: int
    bid_count: int
    items: list[BidOut]


class QuestionOut(Answer):
    id: int
    task_id: int
    question: str
    answer: str | None
    answered_at: Timestamp | None
    asked_at: Timestamp
    mine: bool


class QuestionList(Answer):
    items: list[QuestionOut]


class MilestoneOut(Answer):
    id: int
    task_id: int
    bid_id: int
    team_id: int
    position: int
    title: str
    due_on: Day
    amount_cny: Amount
    status: str
    payment_status: str
    delivery_note: str
    review_comment: str
    delivered_at: Timestamp | None
    accepted_at: Timestamp | None
    paid_at: Timestamp | None


class MilestoneList(Answer):
    items: list[MilestoneOut]


class RatingOut(Answer):
    id: int
    task_id: int
    team_id: int
    by_side: Literal["host", "team"]
    score: int
    comment: str
    rated_at: Timestamp


class RatingList(Answer):
    items: list[RatingOut]


class RevisionOut(Answer):
    version: int
    changes: dict[str, list[Any]]
    changed_at: Timestamp


class RevisionList(Answer):
    items: list[RevisionOut]


class FittingTeam(Answer):
    team: NamedRef
    fit: float
    reasons: list[ReasonOut]
    invited: bool


class FittingTeamList(Answer):
    items: list[FittingTeam]


class TaskFigures(Answer):
    tasks_posted: int
    tasks_awarded: int
    value_awarded_cny: Amount
    milestones_delivered: int
    milestones_on_time: int


class RecommendedTask(Answer):
    task: TaskOut
    score: float
    reasons: list[ReasonOut]


class RecommendedTaskList(Answer):
    items: list[RecommendedTask]
