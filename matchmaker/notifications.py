"""What each kind of notification says, and which domain events become which notifications.

Pure: events in, drafts out. Storing them (with the user's preferences) is
``matchmaker.operations.notifications``; pushing them is the web layer's broadcast table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from matchmaker import events
from matchmaker.lifecycles import STAGE_NAMES

# kind -> (English label, Chinese label): every kind a person can receive, and switch off.
KINDS: dict[str, tuple[str, str]] = {
    "booking_approved": ("A booking was approved", "预约已通过审批"),
    "booking_rejected": ("A booking was rejected", "预约未通过审批"),
    "booking_expired": ("A hold or approval request lapsed", "预约保留或审批已过期"),
    "booking_no_show": ("A booking was released as a no-show", "预约因未签到被释放"),
    "booking_closed": ("A booking was cancelled or flagged by a closure", "预约因停用时段被取消或标记"),
    "waitlist_offer": ("A waitlisted slot is offered to your team", "候补时段已向您的团队开放"),
    "approval_requested": ("A booking of your equipment awaits approval", "有预约等待您审批"),
    "allocation_published": ("An allocation round you are in was published", "您参与的分配轮次已发布"),
    "admission_decided": ("Your team's application was decided", "团队入驻申请已有结果"),
    "stage_changed": ("Your team's stage changed", "团队所处阶段已变更"),
    "certificate_granted": ("You were certified to use equipment", "您已获得设备使用认证"),
    "certificate_revoked": ("An equipment certificate was revoked", "您的设备使用认证已被撤销"),
    "task_recommended": ("A new task fits your team", "有新任务适合您的团队"),
    "task_invited": ("Your team was invited to bid on a task", "您的团队受邀投标"),
    "task_terms_changed": ("The terms of a task you bid on changed", "您投标的任务条款已变更"),
    "task_answered": ("A question on a task you bid on was answered", "您投标的任务有新答疑"),
    "task_bid_received": ("A team bid on your task, or changed its bid", "您的任务收到或更新了投标"),
    "task_question_asked": ("A bidder asked about your task", "投标团队就您的任务提问"),
    "task_clarification": ("The host asks you to clarify your bid", "发布方请您澄清投标"),
    "task_decided": ("A task you bid on was awarded or cancelled", "您投标的任务已授标或取消"),
    "task_milestone_delivered": ("A team delivered a milestone of your task", "团队已交付任务里程碑"),
    "task_milestone_reviewed": ("Your delivered milestone was reviewed", "您交付的里程碑已审核"),
    "task_rated": ("You were rated for a task", "您在任务中获得了评价"),
    "mentor_request_received": ("A team asked for your mentoring", "有团队向您申请辅导"),
    "mentor_request_answered": ("A mentor answered your team's request", "导师已答复您团队的辅导申请"),
    "mentor_request_escalated": ("A mentor request went unanswered", "有辅导申请长时间未获答复"),
    "mentor_session_changed": (
        "A mentor session was booked, reported or rated",
        "辅导场次已安排、填报或评价",
    ),
}
CHANNELS = ("in_app",)  # e-mail is a channel to come; preferences are kept per channel already


@dataclass(frozen=True)
class Draft:
    """A notification to store for each of ``user_ids``."""

    kind: str
    user_ids: tuple[int, ...]
    subject: str
    title_en: str
    title_zh: str
    body_en: str = ""
    body_zh: str = ""
    link: str = ""


def _names(obj: dict[str, Any]) -> tuple[str, str]:
    en = obj.get("name_en") or obj.get("name_zh") or ""
    zh = obj.get("name_zh") or obj.get("name_en") or ""
    return str(en), str(zh)


def _when(booking: dict[str, Any]) -> str:
    zone = ZoneInfo(booking.get("resource", {}).get("timezone") or "UTC")
    starts = datetime.fromisoformat(booking["starts_at"]).astimezone(zone)
    ends = datetime.fromisoformat(booking["ends_at"]).astimezone(zone)
    return f"{starts:%Y-%m-%d %H:%M}–{ends:%H:%M}"


# BookingChanged action (or final status) -> kind and the verb of its title in both languages.
_BOOKING_NEWS: dict[str, tuple[str, str, str]] = {
    "approved": ("booking_approved", "Approved", "已通过"),
    "rejected": ("booking_rejected", "Rejected", "未通过"),
    "expired": ("booking_expired", "Lapsed", "已过期"),
    "no_show": ("booking_no_show", "Released as a no-show", "未签到已释放"),
    "offered": ("waitlist_offer", "Offered to your team", "候补时段已开放"),
    "flagged": ("booking_closed", "Flagged by a closure", "受停用影响已标记"),
}
_CLOSURE_PREFIX = "blackout:"


def _booking_drafts(e: events.BookingChanged, staff_of: Callable[[int], tuple[int, ...]]) -> list[Draft]:
    b = e.private
    resource_en, resource_zh = _names(b.get("resource", {}))
    when = _when(b)
    subject = f"booking:{b['id']}"
    action = e.action
    if action == "cancelled" and str(b.get("cancel_reason") or "").startswith(_CLOSURE_PREFIX):
        action = "closed"
    if action == "closed":
        kind, verb_en, verb_zh = "booking_closed", "Cancelled by a closure", "因停用被取消"
    elif action == "created" and b.get("status") == "pending":
        team_en, team_zh = _names(b.get("team", {}))
        return [
            Draft(
                "approval_requested",
                staff_of(e.organization_id),
                subject,
                f"Approval needed: {resource_en}, {when}",
                f"待审批：{resource_zh}，{when}",
                f"{team_en} asks to book {resource_en}.",
                f"{team_zh}申请预约{resource_zh}。",
                "/my-equipment",
            )
        ]
    elif action in _BOOKING_NEWS:
        kind, verb_en, verb_zh = _BOOKING_NEWS[action]
    else:
        return []
    body_en = body_zh = ""
    if kind == "waitlist_offer" and b.get("hold_expires_at"):
        body_en = "Accept it on My bookings before the offer lapses."
        body_zh = "请在保留期满前到“我的预约”确认。"
    elif b.get("cancel_reason") or b.get("flagged_reason"):
        reason = str(b.get("flagged_reason") or b.get("cancel_reason") or "")
        reason = reason.removeprefix(_CLOSURE_PREFIX).strip()
        body_en, body_zh = f"Reason: {reason}", f"原因：{reason}"
    return [
        Draft(
            kind,
            e.member_user_ids,
            subject,
            f"{verb_en}: {resource_en}, {when}",
            f"{verb_zh}：{resource_zh}，{when}",
            body_en,
            body_zh,
            "/bookings",
        )
    ]


def _team_drafts(e: events.TeamChanged) -> list[Draft]:
    team_en, team_zh = _names(e.payload)
    subject, link = f"team:{e.team_id}", f"/teams/{e.team_id}"
    if e.action in ("admitted", "rejected"):
        admitted = e.action == "admitted"
        return [
            Draft(
                "admission_decided",
                e.member_user_ids,
                subject,
                f"{team_en}: application {'accepted' if admitted else 'declined'}",
                f"{team_zh}：入驻申请{'已通过' if admitted else '未通过'}",
                link=link,
            )
        ]
    if e.action in ("stage_changed", "exited"):
        stage_en, stage_zh = STAGE_NAMES.get(str(e.payload.get("stage")), ("?", "?"))
        return [
            Draft(
                "stage_changed",
                e.member_user_ids,
                subject,
                f"{team_en} is now in the {stage_en} stage",
                f"{team_zh}已转入“{stage_zh}”阶段",
                link=link,
            )
        ]
    return []


# MentorRequestChanged action -> kind, who hears it, and the title's verb in both languages.
_MENTOR_NEWS: dict[str, tuple[str, str, str, str]] = {
    "created": ("mentor_request_received", "mentor", "New request", "新辅导申请"),
    "accepted": ("mentor_request_answered", "team", "Accepted", "已接受"),
    "declined": ("mentor_request_answered", "team", "Declined", "已婉拒"),
    "proposed": ("mentor_request_answered", "team", "Times proposed", "导师提议了时间"),
    "withdrawn": ("mentor_request_answered", "mentor", "Withdrawn", "已撤回"),
    "escalated": ("mentor_request_escalated", "managers", "Unanswered", "未获答复"),
}


def _mentor_request_drafts(e: events.MentorRequestChanged) -> list[Draft]:
    if e.action not in _MENTOR_NEWS:
        return []
    kind, audience, verb_en, verb_zh = _MENTOR_NEWS[e.action]
    r = e.payload
    mentor_en, mentor_zh = _names(r.get("mentor", {}))
    team_en, team_zh = _names(r.get("team", {}))
    users = {
        "team": e.member_user_ids,
        "mentor": (e.mentor_user_id,) if e.mentor_user_id else (),
        "managers": e.manager_user_ids,
    }[audience]
    if e.action == "accepted" and r.get("from_round"):
        users = (*users, *((e.mentor_user_id,) if e.mentor_user_id else ()))
    if not users:
        return []
    topic = str(r.get("topic", ""))
    reason = str(r.get("decline_reason") or "")
    return [
        Draft(
            kind,
            tuple(users),
            f"mentor_request:{r['id']}",
            f"{verb_en}: {team_en} · {mentor_en}",
            f"{verb_zh}：{team_zh} · {mentor_zh}",
            f"{topic}" + (f" ({reason})" if reason else ""),
            f"{topic}" + (f"（{reason}）" if reason else ""),
            "/mentoring",
        )
    ]


_SESSION_NEWS: dict[str, tuple[str, str, str]] = {
    "scheduled": ("both", "Session booked", "辅导已安排"),
    "delivered": ("team", "Session notes are in", "辅导记录已填报"),
    "cancelled": ("both", "Session cancelled", "辅导已取消"),
    "rated": ("mentor", "Your session was rated", "辅导已获评价"),
}


def _mentor_session_drafts(e: events.MentorSessionChanged) -> list[Draft]:
    if e.action not in _SESSION_NEWS:
        return []
    audience, verb_en, verb_zh = _SESSION_NEWS[e.action]
    s = e.payload
    mentor = (e.mentor_user_id,) if e.mentor_user_id else ()
    users = {"team": e.member_user_ids, "mentor": mentor, "both": (*e.member_user_ids, *mentor)}[audience]
    if not users:
        return []
    mentor_en, mentor_zh = _names(s.get("mentor", {}))
    when = _when({**s, "resource": {"timezone": s.get("timezone")}})
    return [
        Draft(
            "mentor_session_changed",
            tuple(users),
            f"mentor_session:{s['id']}",
            f"{verb_en}: {mentor_en}, {when}",
            f"{verb_zh}：{mentor_zh}，{when}",
            link="/mentoring",
        )
    ]


_INTRODUCTION_NEWS: dict[str, tuple[str, str, str, str]] = {
    "requested": ("introduction_requested", "investor", "Introduction requested", "新对接申请"),
    "more_info": ("introduction_answered", "team", "More information asked", "投资人要求补充材料"),
    "interested": ("introduction_answered", "team", "Interested", "投资人有意向"),
    "passed": ("introduction_answered", "team", "Passed", "投资人已放弃"),
    "withdrawn": ("introduction_requested", "investor", "Withdrawn", "已撤回"),
    "deal_moved": ("introduction_answered", "team", "Deal moved", "项目已推进"),
}


def _introduction_drafts(e: events.IntroductionChanged) -> list[Draft]:
    if e.action not in _INTRODUCTION_NEWS:
        return []
    kind, audience, verb_en, verb_zh = _INTRODUCTION_NEWS[e.action]
    users = e.member_user_ids if audience == "team" else ((e.investor_user_id,) if e.investor_user_id else ())
    if not users:
        return []
    i = e.payload
    fund_en, fund_zh = _names(i.get("fund", {}))
    team_en, team_zh = _names(i.get("team", {}))
    stage = str((i.get("deal") or {}).get("stage") or "")
    return [
        Draft(
            kind,
            tuple(users),
            f"introduction:{i['id']}",
            f"{verb_en}: {team_en} · {fund_en}",
            f"{verb_zh}：{team_zh} · {fund_zh}",
            stage,
            stage,
            "/deals" if audience == "investor" else "/mentoring",
        )
    ]


def drafts_for(event: events.Event, staff_of: Callable[[int], tuple[int, ...]]) -> list[Draft]:
    """The notifications one committed-to-be event causes. ``staff_of(organization_id)`` names the
    host staff of an organisation (the only audience an event does not carry itself)."""
    if isinstance(event, events.BookingChanged):
        return _booking_drafts(event, staff_of)
    if isinstance(event, events.TeamChanged):
        return _team_drafts(event)
    if isinstance(event, events.RoundPublished):
        return [
            Draft(
                "allocation_published",
                event.user_ids,
                f"allocation_round:{event.round_id}",
                f"Allocation published: {event.title}",
                f"分配结果已发布：{event.title}",
                link=f"/allocation-rounds/{event.round_id}",
            )
        ]
    if isinstance(event, events.TaskNews):
        users = set(event.user_ids) | (set(staff_of(event.organization_id)) if event.to_hosts else set())
        return [
            Draft(
                event.kind,
                tuple(sorted(users)),
                f"task:{event.task_id}",
                event.title_en,
                event.title_zh,
                event.body_en,
                event.body_zh,
                link=f"/tasks/{event.task_id}",
            )
        ]
    if isinstance(event, events.MentorRequestChanged):
        return _mentor_request_drafts(event)
    if isinstance(event, events.MentorSessionChanged):
        return _mentor_session_drafts(event)
    if isinstance(event, events.IntroductionChanged):
        return _introduction_drafts(event)
    if isinstance(event, events.CertificateChanged):
        granted = event.action == "granted"
        return [
            Draft(
                "certificate_granted" if granted else "certificate_revoked",
                (event.user_id,),
                f"resource:{event.resource_id}",
                f"{'Certified' if granted else 'Certificate revoked'}: {event.resource_name_en}",
                f"{'已获认证' if granted else '认证已撤销'}：{event.resource_name_zh}",
                link=f"/resources/{event.resource_id}/calendar",
            )
        ]
    return []
