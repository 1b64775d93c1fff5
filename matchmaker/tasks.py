"""The rules of crowdsourced tasks over plain records: who sees a task, who may bid, which dates and
amounts make sense, and how a host's bids are ranked. No database here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from matchmaker.errors import InvalidInput
from matchmaker.permissions import Principal

# Amounts a task or bid may name, in yuan: above this it is a typing mistake, not a task.
MAX_AMOUNT_CNY = Decimal("100000000")  # 100 million yuan
MAX_TIMELINE_DAYS = 3650
MAX_MILESTONES = 20
PUBLIC, RESIDENTS, INVITED = "public", "residents", "invited"


@dataclass(frozen=True)
class TaskRef:
    id: int
    space_id: int
    organization_id: int
    status: str
    visibility: str
    confidential: bool
    invited_team_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class BidderTeam:
    """One of the asking person's teams, with what matters for bidding."""

    id: int
    space_id: int
    admitted: bool


def is_host_of(p: Principal, t: TaskRef) -> bool:
    """The posting organisation's staff and the space's managers run a task."""
    return p.is_manager_of(t.space_id) or (t.space_id, t.organization_id) in p.organizations


def team_may_see(team: BidderTeam, t: TaskRef) -> bool:
    if not team.admitted or t.status == "draft":
        return False
    if t.visibility == PUBLIC:
        return True
    if t.visibility == RESIDENTS:
        return team.space_id == t.space_id or team.id in t.invited_team_ids
    return team.id in t.invited_team_ids


def can_view_task(p: Principal, t: TaskRef, teams: Iterable[BidderTeam]) -> bool:
    """Drafts are the host's; a published task is seen by the host, the space's staff, and the teams
    its visibility reaches (public tasks by every signed-in person)."""
    if is_host_of(p, t):
        return True
    if t.status == "draft" or not p.is_authenticated:
        return False
    if t.visibility == PUBLIC or (t.visibility == RESIDENTS and p.is_staff_in(t.space_id)):
        return True
    return any(team_may_see(team, t) for team in teams)


def check_amount(value: Decimal | None, field: str) -> None:
    if value is not None and not Decimal(0) <= value <= MAX_AMOUNT_CNY:
        raise InvalidInput(
            f"{field} must lie between 0 and {MAX_AMOUNT_CNY} yuan.",
            f"{field} 须在 0 至 {MAX_AMOUNT_CNY} 元之间。",
            details={"fields": {field: "out_of_range"}},
        )


def check_task_dates(
    now: datetime, bid_deadline: datetime | None, delivery_deadline: date | None, *, publishing: bool
) -> None:
    """A bid deadline in the future (checked when the task is published or the deadline moved), and a
    delivery deadline after it."""
    fields: dict[str, str] = {}
    if publishing and bid_deadline is None:
        fields["bid_deadline"] = "required"
    if publishing and delivery_deadline is None:
        fields["delivery_deadline"] = "required"
    if fields:
        raise InvalidInput(
            "A task needs a bid deadline and a delivery deadline before it is published.",
            "发布任务前须填写投标截止时间和交付期限。",
            details={"fields": fields},
        )
    if bid_deadline is not None and publishing and bid_deadline <= now:
        raise InvalidInput(
            "The bid deadline has already passed.",
            "投标截止时间已过。",
            details={"fields": {"bid_deadline": "in_the_past"}},
        )
    if (
        bid_deadline is not None
        and delivery_deadline is not None
        and delivery_deadline <= bid_deadline.date()
    ):
        raise InvalidInput(
            "The delivery deadline must come after the bid deadline.",
            "交付期限须晚于投标截止时间。",
            details={"fields": {"delivery_deadline": "before_bid_deadline"}},
        )


def check_reward(low: Decimal | None, high: Decimal | None) -> None:
    check_amount(low, "reward_min_cny")
    check_amount(high, "reward_max_cny")
    if low is not None and high is not None and low > high:
        raise InvalidInput(
            "The lowest reward is above the highest.",
            "报酬下限高于上限。",
            details={"fields": {"reward_min_cny": "above_maximum"}},
        )


def bid_open(status: str, bid_deadline: datetime | None, now: datetime) -> bool:
    """Bids are taken, edited and withdrawn while the task is open and its deadline (by the server's
    clock) has not come."""
    return status == "open" and (bid_deadline is None or now < bid_deadline)


@dataclass(frozen=True)
class BidFacts:
    id: int
    price: Decimal
    timeline_days: int
    fit: float  # the matchmaker's fit of the team for the task, 0..1
    shortlisted: bool


def rank_bids(bids: Iterable[BidFacts], reward_max: Decimal | None) -> list[int]:
    """The host's view of the bids: shortlisted first, then by a blend of fit, price against the task's
    budget and speed; ties by id. Returns bid ids in order."""
    listed = list(bids)
    if not listed:
        return []
    top_price = reward_max or max(b.price for b in listed) or Decimal(1)
    slowest = max(b.timeline_days for b in listed) or 1

    def score(b: BidFacts) -> float:
        cheapness = 1 - min(float(b.price / top_price), 2.0) / 2 if top_price else 0.5
        speed = 1 - b.timeline_days / slowest / 2
        return 0.5 * b.fit + 0.3 * cheapness + 0.2 * speed

    return [b.id for b in sorted(listed, key=lambda b: (not b.shortlisted, -score(b), b.id))]


def changed_terms(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, list[object]]:
    """Field -> [old, new] for what an edit changed (as JSON-ready strings for dates and amounts)."""

    def plain(v: object) -> object:
        return v.isoformat() if isinstance(v, date | datetime) else str(v) if isinstance(v, Decimal) else v

    return {k: [plain(before.get(k)), plain(v)] for k, v in after.items() if before.get(k) != v}


# Attachments to bids: small files of a few document and image types, recognised by their first bytes
# (never by the name or the type the sender claims).
MAX_ATTACHMENT_BYTES = 1024 * 1024
MAX_ATTACHMENTS_PER_BID = 5
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),  # also .docx, .xlsx, .pptx
)


def sniff(content: bytes) -> str | None:
    """The media type the content's first bytes prove, or None for anything else."""
    for magic, media_type in MAGIC:
        if content.startswith(magic):
            return media_type
    return None


def check_attachment(content: bytes, existing: int) -> str:
    """The attachment's media type; refuses an empty, oversized or unrecognised file, or one too many."""
    if existing >= MAX_ATTACHMENTS_PER_BID:
        raise InvalidInput(
            f"A bid takes at most {MAX_ATTACHMENTS_PER_BID} attachments.",
            f"每份投标最多 {MAX_ATTACHMENTS_PER_BID} 个附件。",
            details={"fields": {"attachment": "too_many"}},
        )
    if not content:
        raise InvalidInput("The file is empty.", "文件为空。", details={"fields": {"attachment": "empty"}})
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            "Attachments are at most 1 MB.",
            "附件不能超过 1 MB。",
            details={"fields": {"attachment": "too_large"}},
        )
    media_type = sniff(content)
    if media_type is None:
        raise InvalidInput(
            "Attach a PDF, PNG, JPEG or Office (zip) file.",
            "附件须为 PDF、PNG、JPEG 或 Office（zip）文件。",
            details={"fields": {"attachment": "wrong_type"}},
        )
    return media_type
