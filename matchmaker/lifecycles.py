"""State machines with one table of legal transitions each, keyed by the model's own enum; the
operations, schemas, labels, page actions and seeds consult these, never ad hoc lists or ifs.

The enums are ``StrEnum``s (each member is its string), so the tables are typed by ``str`` and
answer plain strings and members alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from matchmaker.errors import InvalidTransition
from models.allocations import RoundStatus
from models.bookings import BookingStatus, WaitlistStatus
from models.investing import DealStage, IntroductionStatus
from models.mentoring import MentorRequestStatus, MentorSessionStatus
from models.outcomes import OutcomeStatus
from models.tasks import BidStatus, MilestoneStatus, PaymentStatus, TaskStatus
from models.teams import AdmissionStatus, Stage

NURSERY, INCUBATOR, ACCELERATOR, GRADUATED, EXITED = (
    Stage.NURSERY,
    Stage.INCUBATOR,
    Stage.ACCELERATOR,
    Stage.GRADUATED,
    Stage.EXITED,
)
ACTIVE_STAGES = (NURSERY, INCUBATOR, ACCELERATOR)
ENTRY_STAGES = ACTIVE_STAGES  # a team may apply to enter at any active stage
FINAL_STAGES = (GRADUATED, EXITED)

STAGE_NAMES: dict[str, tuple[str, str]] = {
    NURSERY: ("nursery", "创业苗圃"),
    INCUBATOR: ("incubator", "孵化器"),
    ACCELERATOR: ("accelerator", "加速器"),
    GRADUATED: ("graduated", "已毕业"),
    EXITED: ("exited", "已退出"),
}

# The incubation chain moves forward one step at a time; a manager may move a team back one step
# (with a reason), graduate it from the accelerator, or exit it from any active stage.
# Graduation and exit are final.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    NURSERY: frozenset({INCUBATOR, EXITED}),
    INCUBATOR: frozenset({NURSERY, ACCELERATOR, EXITED}),
    ACCELERATOR: frozenset({INCUBATOR, GRADUATED, EXITED}),
    GRADUATED: frozenset(),
    EXITED: frozenset(),
}

# Moves that must say why: going back, and leaving.
NEEDS_REASON = frozenset({(INCUBATOR, NURSERY), (ACCELERATOR, INCUBATOR)}) | {
    (s, EXITED) for s in ACTIVE_STAGES
}


def check_stage_change(current: str, target: str, reason: str) -> None:
    """Raise ``InvalidTransition`` unless moving from ``current`` to ``target`` is allowed as asked."""
    if target not in STAGE_TRANSITIONS:
        raise InvalidTransition(
            f"Unknown stage {target!r}.", f"未知阶段“{target}”。", details={"stage": target}
        )
    if target not in STAGE_TRANSITIONS[current]:
        cur_en, cur_zh = STAGE_NAMES[current]
        tgt_en, tgt_zh = STAGE_NAMES[target]
        allowed = sorted(STAGE_TRANSITIONS[current])
        raise InvalidTransition(
            f"A team in the {cur_en} stage cannot move to {tgt_en}.",
            f"处于“{cur_zh}”阶段的团队不能转入“{tgt_zh}”。",
            details={"from": current, "to": target, "allowed": allowed},
        )
    if (current, target) in NEEDS_REASON and not reason.strip():
        raise InvalidTransition(
            "Please give a reason for this change.",
            "请填写此次变更的原因。",
            details={"fields": {"reason": "required"}},
        )


# Admission of an application.
PENDING, ADMITTED, REJECTED = AdmissionStatus.PENDING, AdmissionStatus.ADMITTED, AdmissionStatus.REJECTED
ADMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({ADMITTED, REJECTED}),
    ADMITTED: frozenset(),
    REJECTED: frozenset(),
}


def check_admission(current: str, decision: str) -> None:
    if decision not in ADMISSION_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            "This application has already been decided.",
            "该入驻申请已经审核过了。",
            details={"admission_status": current},
        )


# Bookings. A waitlist offer is "held" until the team accepts it; a booking that needs the host's
# approval is "pending". Only confirmed bookings can be checked in.
HELD, CONFIRMED, CHECKED_IN, COMPLETED, CANCELLED, EXPIRED, NO_SHOW = (
    BookingStatus.HELD,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
    BookingStatus.COMPLETED,
    BookingStatus.CANCELLED,
    BookingStatus.EXPIRED,
    BookingStatus.NO_SHOW,
)
B_PENDING, B_REJECTED = BookingStatus.PENDING, BookingStatus.REJECTED
BOOKING_TRANSITIONS: dict[str, frozenset[str]] = {
    HELD: frozenset({B_PENDING, CONFIRMED, CANCELLED, EXPIRED}),
    B_PENDING: frozenset({CONFIRMED, B_REJECTED, CANCELLED, EXPIRED}),
    # CONFIRMED → COMPLETED: a desk or a long booking nobody checked in to is over, and was the team's.
    CONFIRMED: frozenset({CHECKED_IN, CANCELLED, NO_SHOW, COMPLETED}),
    CHECKED_IN: frozenset({COMPLETED}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
    B_REJECTED: frozenset(),
    EXPIRED: frozenset(),
    NO_SHOW: frozenset(),
}
BOOKING_STATUS_NAMES: dict[str, tuple[str, str]] = {
    HELD: ("offered to you", "候补待确认"),
    B_PENDING: ("awaiting approval", "待审批"),
    CONFIRMED: ("confirmed", "已确认"),
    CHECKED_IN: ("checked in", "已签到"),
    COMPLETED: ("completed", "已完成"),
    CANCELLED: ("cancelled", "已取消"),
    B_REJECTED: ("rejected", "已拒绝"),
    EXPIRED: ("expired", "已过期"),
    NO_SHOW: ("released as a no-show", "未签到已释放"),
}
# What each move is called in messages.
_BOOKING_MOVES: dict[str, tuple[str, str]] = {
    CONFIRMED: ("confirm", "确认"),
    B_PENDING: ("accept", "接受"),
    CHECKED_IN: ("check in", "签到"),
    COMPLETED: ("check out", "签退"),
    CANCELLED: ("cancel", "取消"),
    B_REJECTED: ("reject", "拒绝"),
    EXPIRED: ("expire", "过期处理"),
    NO_SHOW: ("release", "释放"),
}


def check_booking_move(current: str, target: str) -> None:
    if target in BOOKING_TRANSITIONS.get(current, frozenset()):
        return
    move_en, move_zh = _BOOKING_MOVES.get(target, (target, target))
    now_en, now_zh = BOOKING_STATUS_NAMES.get(current, (current, current))
    code = "already_cancelled" if current == CANCELLED and target == CANCELLED else "invalid_transition"
    error = InvalidTransition(
        f"You cannot {move_en} a booking that is {now_en}.",
        f"状态为“{now_zh}”的预约不能{move_zh}。",
        details={"status": current, "wanted": target},
    )
    error.code = code
    raise error


# A booking's usage is on its team's ledger (charged and not refunded) exactly while it is in one of
# these statuses: a change into them charges it, a change out of them refunds it.
# A request waiting for the host's approval is not billed: the team pays once it is approved.
BOOKING_BILLED: frozenset[str] = frozenset({CONFIRMED, CHECKED_IN, COMPLETED})
# What can still be moved to another time (before it starts); a move keeps the status.
BOOKING_MOVABLE: frozenset[str] = frozenset({B_PENDING, CONFIRMED})


def check_booking_reschedule(current: str) -> None:
    """Raise ``InvalidTransition`` unless a booking in ``current`` may be moved to another time."""
    if current in BOOKING_MOVABLE:
        return
    now_en, now_zh = BOOKING_STATUS_NAMES.get(current, (current, current))
    raise InvalidTransition(
        f"You cannot move a booking that is {now_en}.",
        f"状态为“{now_zh}”的预约不能改期。",
        details={"status": current, "wanted": "moved"},
    )


def booking_changed_meanwhile(seen: str, current: str, target: str) -> InvalidTransition:
    """The refusal for a change that lost to another one: the booking left ``seen`` (now ``current``)
    between reading it and changing it to ``target``."""
    move_en, move_zh = _BOOKING_MOVES.get(target, ("change", "变更"))
    now_en, now_zh = BOOKING_STATUS_NAMES.get(current, (current, current))
    error = InvalidTransition(
        f"This booking changed meanwhile and is now {now_en}; nothing was done. Look at it again "
        f"before you {move_en} it.",
        f"该预约刚刚被他人变更，现为“{now_zh}”，本次未作任何修改。请刷新后再{move_zh}。",
        details={"status": current, "was": seen, "wanted": target},
    )
    if current == CANCELLED and target == CANCELLED:
        error.code = "already_cancelled"
    return error


def booking_ledger_agrees(
    status: str,
    *,
    net_amount: Decimal,
    net_minutes: int,
    net_free: int,
    amount: Decimal,
    free: int,
) -> bool:
    """Whether a booking's usage less its refunds (``net_*``) is what its status says: exactly its own
    price and free minutes, over some minutes, while it is billed; nothing once released."""
    if status in BOOKING_BILLED:
        return net_amount == amount and net_free == free and net_minutes > 0
    return net_amount == 0 and net_minutes == 0 and net_free == 0


# What a person can do to a booking from a page, as moves of the table above. ``when`` says the
# moment from which the move is open ("any", "before_start", or "checkin_window": from a little
# before the start); ``by`` says whose button it is.
@dataclass(frozen=True)
class BookingAction:
    name: str
    starts_from: frozenset[str]
    by: str  # "team" | "host"
    when: str = "any"


BOOKING_ACTIONS: tuple[BookingAction, ...] = (
    BookingAction("accept", frozenset({HELD}), "team"),
    BookingAction("check-in", frozenset({CONFIRMED}), "team", "checkin_window"),
    BookingAction("check-out", frozenset({CHECKED_IN}), "team"),
    BookingAction("cancel", frozenset({HELD, B_PENDING}), "team"),
    BookingAction("cancel", frozenset({CONFIRMED}), "team", "before_start"),
    BookingAction("approve", frozenset({B_PENDING}), "host"),
    BookingAction("reject", frozenset({B_PENDING}), "host"),
)
# The status each action moves to (accepting an offer may need the host's approval next: the
# operation decides between the two).
BOOKING_ACTION_TARGETS: dict[str, frozenset[str]] = {
    "accept": frozenset({CONFIRMED, B_PENDING}),
    "check-in": frozenset({CHECKED_IN}),
    "check-out": frozenset({COMPLETED}),
    "cancel": frozenset({CANCELLED}),
    "approve": frozenset({CONFIRMED}),
    "reject": frozenset({B_REJECTED}),
}


def booking_actions(
    status: str, starts_at: datetime, now: datetime, *, host: bool, checkin_early: timedelta
) -> list[str]:
    """The actions open on a booking now, in the table's order, without repeats."""
    open_now: list[str] = []
    for action in BOOKING_ACTIONS:
        if status not in action.starts_from or (action.by == "host" and not host):
            continue
        if action.when == "before_start" and starts_at <= now:
            continue
        if action.when == "checkin_window" and now < starts_at - checkin_early:
            continue
        if action.name not in open_now:
            open_now.append(action.name)
    return open_now


# Waitlist entries: a waiting team is offered a freed slot (as a held booking); the offer is taken,
# or lapses and the next team is asked; a team may leave while it waits.
WAITLIST_TRANSITIONS: dict[str, frozenset[str]] = {
    WaitlistStatus.WAITING: frozenset(
        {WaitlistStatus.OFFERED, WaitlistStatus.CANCELLED, WaitlistStatus.LAPSED}
    ),
    WaitlistStatus.OFFERED: frozenset({WaitlistStatus.ACCEPTED, WaitlistStatus.LAPSED}),
    WaitlistStatus.ACCEPTED: frozenset(),
    WaitlistStatus.LAPSED: frozenset(),
    WaitlistStatus.CANCELLED: frozenset(),
}

# Allocation rounds: a draft only managers see, then published to teams and mentors, or discarded.
ROUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RoundStatus.DRAFT: frozenset({RoundStatus.PUBLISHED, RoundStatus.DISCARDED}),
    RoundStatus.PUBLISHED: frozenset(),
    RoundStatus.DISCARDED: frozenset(),
}


def check_round_move(current: str, target: str) -> None:
    if target not in ROUND_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            "This round has already been published or discarded.",
            "该轮次已发布或已作废。",
            details={"status": current, "wanted": target},
        )


def check_waitlist_move(current: str, target: str) -> None:
    if target not in WAITLIST_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            "This waitlist entry can no longer change that way.",
            "该候补记录已不能如此变更。",
            details={"status": current, "wanted": target},
        )


# A team's quarterly outcome: a manager verifies it or returns it with a note; a returned one is
# corrected and submitted again. Verified figures are final.
OUTCOME_TRANSITIONS: dict[str, frozenset[str]] = {
    OutcomeStatus.SUBMITTED: frozenset(
        {OutcomeStatus.VERIFIED, OutcomeStatus.RETURNED, OutcomeStatus.SUBMITTED}
    ),
    OutcomeStatus.RETURNED: frozenset({OutcomeStatus.SUBMITTED}),
    OutcomeStatus.VERIFIED: frozenset(),
}


def check_outcome_move(current: str, target: str) -> None:
    if target not in OUTCOME_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            "These figures have already been verified or returned.",
            "该季度数据已核实或已退回。",
            details={"status": current, "wanted": target},
        )


# Crowdsourced tasks (众包). A host drafts a task, publishes it (bidding opens), bidding closes at the
# bid deadline (or when the host awards early); an award starts the work, the first delivery puts it in
# delivery, and the last accepted milestone completes it. A task can be cancelled, with a reason, until
# its work is under way.
T_DRAFT, T_OPEN, T_CLOSED, T_AWARDED, T_DELIVERY, T_COMPLETED, T_CANCELLED = (
    TaskStatus.DRAFT,
    TaskStatus.OPEN,
    TaskStatus.BIDDING_CLOSED,
    TaskStatus.AWARDED,
    TaskStatus.IN_DELIVERY,
    TaskStatus.COMPLETED,
    TaskStatus.CANCELLED,
)
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    T_DRAFT: frozenset({T_OPEN, T_CANCELLED}),
    T_OPEN: frozenset({T_CLOSED, T_AWARDED, T_CANCELLED}),
    T_CLOSED: frozenset({T_AWARDED, T_CANCELLED}),
    # A multi-award task takes its further awards while it is awarded and no work has been delivered.
    T_AWARDED: frozenset({T_AWARDED, T_DELIVERY, T_CANCELLED}),
    T_DELIVERY: frozenset({T_COMPLETED}),
    T_COMPLETED: frozenset(),
    T_CANCELLED: frozenset(),
}
TASK_STATUS_NAMES: dict[str, tuple[str, str]] = {
    T_DRAFT: ("a draft", "草稿"),
    T_OPEN: ("open for bids", "招标中"),
    T_CLOSED: ("closed for bids", "投标已截止"),
    T_AWARDED: ("awarded", "已中标"),
    T_DELIVERY: ("in delivery", "交付中"),
    T_COMPLETED: ("completed", "已完成"),
    T_CANCELLED: ("cancelled", "已取消"),
}
_TASK_MOVES: dict[str, tuple[str, str]] = {
    T_OPEN: ("publish", "发布"),
    T_CLOSED: ("close bidding on", "截止投标"),
    T_AWARDED: ("award", "授标"),
    T_DELIVERY: ("deliver work for", "交付"),
    T_COMPLETED: ("complete", "完成"),
    T_CANCELLED: ("cancel", "取消"),
}
# What the host may still edit, by status (after publication every change is a change of terms).
TASK_EDITABLE: frozenset[str] = frozenset({T_DRAFT, T_OPEN})


def check_task_move(current: str, target: str) -> None:
    if target in TASK_TRANSITIONS.get(current, frozenset()):
        return
    move_en, move_zh = _TASK_MOVES.get(target, (target, target))
    now_en, now_zh = TASK_STATUS_NAMES.get(current, (current, current))
    raise InvalidTransition(
        f"You cannot {move_en} a task that is {now_en}.",
        f"状态为“{now_zh}”的任务不能{move_zh}。",
        details={"status": current, "wanted": target},
    )


def check_task_editable(current: str) -> None:
    if current not in TASK_EDITABLE:
        now_en, now_zh = TASK_STATUS_NAMES.get(current, (current, current))
        raise InvalidTransition(
            f"A task that is {now_en} can no longer be edited.",
            f"状态为“{now_zh}”的任务不能再修改。",
            details={"status": current, "wanted": "edited"},
        )


# Bids: submitted, perhaps shortlisted; withdrawn by the team before the deadline; awarded, or not
# when the task is awarded to others or cancelled.
BID_TRANSITIONS: dict[str, frozenset[str]] = {
    BidStatus.SUBMITTED: frozenset(
        {BidStatus.SHORTLISTED, BidStatus.WITHDRAWN, BidStatus.AWARDED, BidStatus.NOT_AWARDED}
    ),
    BidStatus.SHORTLISTED: frozenset({BidStatus.WITHDRAWN, BidStatus.AWARDED, BidStatus.NOT_AWARDED}),
    BidStatus.WITHDRAWN: frozenset(),
    BidStatus.AWARDED: frozenset(),
    BidStatus.NOT_AWARDED: frozenset(),
}
BID_STATUS_NAMES: dict[str, tuple[str, str]] = {
    BidStatus.SUBMITTED: ("submitted", "已提交"),
    BidStatus.SHORTLISTED: ("shortlisted", "已入围"),
    BidStatus.WITHDRAWN: ("withdrawn", "已撤回"),
    BidStatus.AWARDED: ("awarded", "已中标"),
    BidStatus.NOT_AWARDED: ("not awarded", "未中标"),
}
# A bid can be edited while it stands (and the task is still open for bids).
BID_EDITABLE: frozenset[str] = frozenset({BidStatus.SUBMITTED, BidStatus.SHORTLISTED})


def check_bid_move(current: str, target: str) -> None:
    if target not in BID_TRANSITIONS.get(current, frozenset()):
        now_en, now_zh = BID_STATUS_NAMES.get(current, (current, current))
        raise InvalidTransition(
            f"A bid that is {now_en} cannot change that way.",
            f"状态为“{now_zh}”的投标不能如此变更。",
            details={"status": current, "wanted": target},
        )


# Milestones: the team delivers, the host accepts or asks for a revision (then the team delivers
# again). Payment follows acceptance.
MILESTONE_TRANSITIONS: dict[str, frozenset[str]] = {
    MilestoneStatus.PENDING: frozenset({MilestoneStatus.DELIVERED}),
    MilestoneStatus.DELIVERED: frozenset({MilestoneStatus.ACCEPTED, MilestoneStatus.REVISION_REQUESTED}),
    MilestoneStatus.REVISION_REQUESTED: frozenset({MilestoneStatus.DELIVERED}),
    MilestoneStatus.ACCEPTED: frozenset(),
}
MILESTONE_STATUS_NAMES: dict[str, tuple[str, str]] = {
    MilestoneStatus.PENDING: ("not yet delivered", "未交付"),
    MilestoneStatus.DELIVERED: ("delivered", "已交付"),
    MilestoneStatus.REVISION_REQUESTED: ("sent back for revision", "待修改"),
    MilestoneStatus.ACCEPTED: ("accepted", "已验收"),
}
_MILESTONE_MOVES: dict[str, tuple[str, str]] = {
    MilestoneStatus.DELIVERED: ("deliver", "交付"),
    MilestoneStatus.ACCEPTED: ("accept", "验收"),
    MilestoneStatus.REVISION_REQUESTED: ("ask for a revision of", "要求修改"),
}
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.UNPAID: frozenset({PaymentStatus.PAID}),
    PaymentStatus.PAID: frozenset(),
}


def check_milestone_move(current: str, target: str) -> None:
    if target not in MILESTONE_TRANSITIONS.get(current, frozenset()):
        move_en, move_zh = _MILESTONE_MOVES.get(target, (target, target))
        now_en, now_zh = MILESTONE_STATUS_NAMES.get(current, (current, current))
        raise InvalidTransition(
            f"You cannot {move_en} a milestone that is {now_en}.",
            f"状态为“{now_zh}”的里程碑不能{move_zh}。",
            details={"status": current, "wanted": target},
        )


def check_payment(milestone_status: str, current: str, target: str) -> None:
    if milestone_status != MilestoneStatus.ACCEPTED or target not in PAYMENT_TRANSITIONS.get(
        current, frozenset()
    ):
        raise InvalidTransition(
            "A milestone is paid once, after it has been accepted.",
            "里程碑须验收后方可标记付款，且只能标记一次。",
            details={"status": milestone_status, "payment_status": current, "wanted": target},
        )


# Mentor requests: the mentor accepts, declines, or proposes times from their office hours (then the
# team accepts one of them, or the mentor still declines); the team may withdraw while it is open.
MENTOR_REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    MentorRequestStatus.PENDING: frozenset(
        {
            MentorRequestStatus.PROPOSED,
            MentorRequestStatus.ACCEPTED,
            MentorRequestStatus.DECLINED,
            MentorRequestStatus.WITHDRAWN,
        }
    ),
    MentorRequestStatus.PROPOSED: frozenset(
        {MentorRequestStatus.ACCEPTED, MentorRequestStatus.DECLINED, MentorRequestStatus.WITHDRAWN}
    ),
    MentorRequestStatus.ACCEPTED: frozenset(),
    MentorRequestStatus.DECLINED: frozenset(),
    MentorRequestStatus.WITHDRAWN: frozenset(),
}
MENTOR_REQUEST_STATUS_NAMES: dict[str, tuple[str, str]] = {
    MentorRequestStatus.PENDING: ("waiting for the mentor", "待导师答复"),
    MentorRequestStatus.PROPOSED: ("times proposed", "导师已提议时间"),
    MentorRequestStatus.ACCEPTED: ("accepted", "已接受"),
    MentorRequestStatus.DECLINED: ("declined", "已婉拒"),
    MentorRequestStatus.WITHDRAWN: ("withdrawn", "已撤回"),
}


def check_mentor_request_move(current: str, target: str) -> None:
    if target in MENTOR_REQUEST_TRANSITIONS.get(current, frozenset()):
        return
    now_en, now_zh = MENTOR_REQUEST_STATUS_NAMES.get(current, (current, current))
    raise InvalidTransition(
        f"This request is {now_en} and can no longer change that way.",
        f"该辅导申请状态为“{now_zh}”，不能再如此变更。",
        details={"status": current, "wanted": target},
    )


# Mentor sessions: booked in the mentor's office hours, then delivered (the mentor reports the hours)
# or cancelled before they start.
MENTOR_SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    MentorSessionStatus.SCHEDULED: frozenset({MentorSessionStatus.DELIVERED, MentorSessionStatus.CANCELLED}),
    MentorSessionStatus.DELIVERED: frozenset(),
    MentorSessionStatus.CANCELLED: frozenset(),
}
MENTOR_SESSION_STATUS_NAMES: dict[str, tuple[str, str]] = {
    MentorSessionStatus.SCHEDULED: ("scheduled", "已安排"),
    MentorSessionStatus.DELIVERED: ("delivered", "已完成"),
    MentorSessionStatus.CANCELLED: ("cancelled", "已取消"),
}


def check_mentor_session_move(current: str, target: str) -> None:
    if target in MENTOR_SESSION_TRANSITIONS.get(current, frozenset()):
        return
    now_en, now_zh = MENTOR_SESSION_STATUS_NAMES.get(current, (current, current))
    raise InvalidTransition(
        f"This session is {now_en} and can no longer change that way.",
        f"该辅导场次状态为“{now_zh}”，不能再如此变更。",
        details={"status": current, "wanted": target},
    )


# Introductions: the investor answers interested (a deal opens), pass, or asks for more; the team
# answers a request for more (requested again) or withdraws while it is open.
INTRODUCTION_TRANSITIONS: dict[str, frozenset[str]] = {
    IntroductionStatus.REQUESTED: frozenset(
        {
            IntroductionStatus.MORE_INFO,
            IntroductionStatus.INTERESTED,
            IntroductionStatus.PASSED,
            IntroductionStatus.WITHDRAWN,
        }
    ),
    IntroductionStatus.MORE_INFO: frozenset(
        {IntroductionStatus.REQUESTED, IntroductionStatus.PASSED, IntroductionStatus.WITHDRAWN}
    ),
    IntroductionStatus.INTERESTED: frozenset(),
    IntroductionStatus.PASSED: frozenset(),
    IntroductionStatus.WITHDRAWN: frozenset(),
}
INTRODUCTION_STATUS_NAMES: dict[str, tuple[str, str]] = {
    IntroductionStatus.REQUESTED: ("waiting for the investor", "待投资人答复"),
    IntroductionStatus.MORE_INFO: ("more information asked", "投资人要求补充材料"),
    IntroductionStatus.INTERESTED: ("interested", "有意向"),
    IntroductionStatus.PASSED: ("passed", "已放弃"),
    IntroductionStatus.WITHDRAWN: ("withdrawn", "已撤回"),
}


def check_introduction_move(current: str, target: str) -> None:
    if target in INTRODUCTION_TRANSITIONS.get(current, frozenset()):
        return
    now_en, now_zh = INTRODUCTION_STATUS_NAMES.get(current, (current, current))
    raise InvalidTransition(
        f"This introduction is {now_en} and can no longer change that way.",
        f"该对接申请状态为“{now_zh}”，不能再如此变更。",
        details={"status": current, "wanted": target},
    )


# Deals: one step at a time along the pipeline; an open deal may be passed at any step.
DEAL_PIPELINE: tuple[str, ...] = (
    DealStage.INTRODUCED,
    DealStage.MEETING,
    DealStage.DUE_DILIGENCE,
    DealStage.TERM_SHEET,
    DealStage.INVESTED,
)
DEAL_TRANSITIONS: dict[str, frozenset[str]] = {
    DealStage.INTRODUCED: frozenset({DealStage.MEETING, DealStage.PASSED}),
    DealStage.MEETING: frozenset({DealStage.DUE_DILIGENCE, DealStage.PASSED}),
    DealStage.DUE_DILIGENCE: frozenset({DealStage.TERM_SHEET, DealStage.PASSED}),
    DealStage.TERM_SHEET: frozenset({DealStage.INVESTED, DealStage.PASSED}),
    DealStage.INVESTED: frozenset(),
    DealStage.PASSED: frozenset(),
}
DEAL_STAGE_NAMES: dict[str, tuple[str, str]] = {
    DealStage.INTRODUCED: ("introduced", "已引荐"),
    DealStage.MEETING: ("meeting", "约见"),
    DealStage.DUE_DILIGENCE: ("due diligence", "尽职调查"),
    DealStage.TERM_SHEET: ("term sheet", "投资意向书"),
    DealStage.INVESTED: ("invested", "已投资"),
    DealStage.PASSED: ("passed", "已放弃"),
}


def check_deal_move(current: str, target: str) -> None:
    if target in DEAL_TRANSITIONS.get(current, frozenset()):
        return
    now_en, now_zh = DEAL_STAGE_NAMES.get(current, (current, current))
    to_en, to_zh = DEAL_STAGE_NAMES.get(target, (target, target))
    allowed = sorted(DEAL_TRANSITIONS.get(current, frozenset()))
    raise InvalidTransition(
        f"A deal at {now_en} cannot move to {to_en}; it moves one step at a time.",
        f"处于“{now_zh}”的项目不能直接转入“{to_zh}”，须逐步推进。",
        details={"stage": current, "wanted": target, "allowed": allowed},
    )


def changed_meanwhile(what_en: str, what_zh: str, seen: str, current: str, wanted: str) -> InvalidTransition:
    """The refusal for a change that lost to another one made at the same moment: the row left ``seen``
    (it is now ``current``) between reading it and changing it."""
    return InvalidTransition(
        f"This {what_en} changed meanwhile; nothing was done. Look at it again and retry.",
        f"该{what_zh}刚刚被他人变更，本次未作任何修改。请刷新后重试。",
        details={"status": current, "was": seen, "wanted": wanted},
    )
