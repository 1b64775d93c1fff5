"""Introductions, deals and the seed fund: a team pitches an investor, the investor answers and moves
the deal one step at a time, a fund deploys money it still has; each outcome teaches the ranker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker import events, lifecycles, permissions
from matchmaker.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound, ResourceRetired
from matchmaker.operations import moves, teams
from matchmaker.permissions import Principal
from models import (
    AdmissionStatus,
    Deal,
    DealStage,
    FundPosition,
    Instrument,
    Interaction,
    InteractionKind,
    Introduction,
    IntroductionStatus,
    Investment,
    PassReason,
    Resource,
    ResourceKind,
    Team,
)
from models.base import utcnow

MAX_DECK_BYTES = 20 * 1024 * 1024
OPEN_INTRODUCTIONS = (IntroductionStatus.REQUESTED, IntroductionStatus.MORE_INFO)


class BeyondFund(Conflict):
    code = "beyond_fund"


# Reading -----------------------------------------------------------------------------------------


def _fund(session: Session, fund_id: int) -> Resource:
    fund = session.get(Resource, fund_id)
    if fund is None or fund.kind is not ResourceKind.FUND:
        raise NotFound("fund", "基金", fund_id)
    return fund


def runs_fund(principal: Principal, fund: Resource) -> bool:
    """The investor behind the fund, or the space's managers."""
    mine = principal.user_id is not None and principal.user_id == fund.person_user_id
    return mine or principal.is_manager_of(fund.space_id)


def can_view_introduction(principal: Principal, intro: Introduction) -> bool:
    """The team, that investor and the space's managers; no other investor sees a pitch or its deck."""
    return intro.team_id in principal.teams or runs_fund(principal, intro.fund)


def get_introduction(session: Session, principal: Principal, intro_id: int) -> Introduction:
    found = session.get(Introduction, intro_id)
    if found is None or not can_view_introduction(principal, found):
        raise NotFound("introduction", "对接申请", intro_id)
    return found


def host_runs(fund: Resource) -> bool:
    return bool(fund.organization.is_host)


def fund_size(fund: Resource) -> Decimal:
    raw = fund.attributes.get("fund_size_10k_cny")
    return Decimal(str(raw)).quantize(Decimal("0.01")) if raw else Decimal(0)


def deal_out(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.id,
        "introduction_id": deal.introduction_id,
        "team_id": deal.team_id,
        "fund_id": deal.fund_id,
        "stage": deal.stage.value,
        "pass_reason": deal.pass_reason.value if deal.pass_reason else None,
        "note": deal.note,
        "next_stages": sorted(lifecycles.DEAL_TRANSITIONS[deal.stage]),
        "updated_at": deal.updated_at.isoformat(),
    }


def introduction_out(intro: Introduction) -> dict[str, Any]:
    fund, team = intro.fund, intro.team
    return {
        "id": intro.id,
        "space_id": intro.space_id,
        "team": {"id": team.id, "name_zh": team.name_zh, "name_en": team.name_en},
        "fund": {"id": fund.id, "name_zh": fund.name_zh, "name_en": fund.name_en},
        "pitch": intro.pitch,
        "amount_sought_10k_cny": str(intro.amount_sought_10k_cny),
        "round_sought": intro.round_sought,
        "use_of_funds": intro.use_of_funds,
        "has_deck": intro.deck_file is not None,
        "deck_bytes": intro.deck_bytes,
        "status": intro.status.value,
        "pass_reason": intro.pass_reason.value if intro.pass_reason else None,
        "investor_note": intro.investor_note,
        "meeting_proposal": intro.meeting_proposal,
        "host_runs_fund": intro.host_runs_fund,
        "created_at": intro.created_at.isoformat(),
        "answered_at": intro.answered_at.isoformat() if intro.answered_at else None,
        "deal": deal_out(intro.deal) if intro.deal else None,
    }


def list_introductions(
    session: Session, principal: Principal, *, team_id: int | None = None, fund_id: int | None = None
) -> list[Introduction]:
    query = select(Introduction).order_by(Introduction.created_at.desc(), Introduction.id.desc())
    if team_id is not None:
        query = query.where(Introduction.team_id == team_id)
    if fund_id is not None:
        query = query.where(Introduction.fund_id == fund_id)
    if not principal.is_admin:
        managed = [s for s, role in principal.roles if role == permissions.MANAGER]
        mine = select(Resource.id).where(Resource.person_user_id == (principal.user_id or 0))
        query = query.where(
            or_(
                Introduction.team_id.in_(list(principal.teams)),
                Introduction.fund_id.in_(mine),
                Introduction.space_id.in_(managed),
            )
        )
    return [i for i in session.scalars(query.limit(500)) if can_view_introduction(principal, i)]


def _member_ids(session: Session, team_id: int) -> tuple[int, ...]:
    from matchmaker.operations.bookings.output import member_ids

    return member_ids(session, team_id)


def _record(session: Session, intro: Introduction, action: str) -> None:
    session.flush()
    session.refresh(intro)
    events.record(
        session,
        events.IntroductionChanged(
            action=action,
            space_id=intro.space_id,
            introduction_id=intro.id,
            payload=introduction_out(intro),
            member_user_ids=_member_ids(session, intro.team_id),
            investor_user_id=intro.fund.person_user_id,
        ),
    )


def _learn(
    session: Session,
    intro: Introduction,
    kind: InteractionKind,
    outcome: str,
    now: datetime,
    *,
    quantity: float = 0,
    **detail: Any,
) -> None:
    session.add(
        Interaction(
            space_id=intro.space_id,
            team_id=intro.team_id,
            resource_id=intro.fund_id,
            kind=kind,
            occurred_at=now,
            quantity=quantity,
            outcome=outcome,
            detail={"introduction_id": intro.id, **detail},
        )
    )
    events.record(session, events.RecommendationsChanged(intro.team_id, _member_ids(session, intro.team_id)))


# Introductions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pitch:
    team_id: int
    fund_id: int
    pitch: str
    amount_sought_10k_cny: Decimal
    round_sought: str
    use_of_funds: str = ""


def request_introduction(
    session: Session, principal: Principal, pitch: Pitch, *, now: datetime | None = None
) -> Introduction:
    now = now or utcnow()
    team = teams.team_to_act_for(
        session, principal, pitch.team_id, "ask for an introduction for this team", "以该团队名义申请投资对接"
    )
    if team.admission_status is not AdmissionStatus.ADMITTED:
        raise InvalidInput(
            "Only admitted teams can ask for an introduction.",
            "只有已入驻的团队才能申请投资对接。",
            details={"fields": {"team_id": "not_active"}},
        )
    fund = _fund(session, pitch.fund_id)
    if fund.space_id != team.space_id:
        raise InvalidInput(
            "This fund belongs to another space.",
            "该基金属于其他空间。",
            details={"fields": {"fund_id": "not_in_space"}},
        )
    if fund.is_retired:
        raise ResourceRetired(fund.id)
    duplicate = AlreadyExists(
        "Your team already has an open introduction request to this fund.",
        "您的团队已有一条待答复的该基金对接申请。",
        details={"fields": {"fund_id": "duplicate"}},
    )
    intro = Introduction(
        space_id=team.space_id,
        team_id=team.id,
        fund_id=fund.id,
        requested_by_id=principal.user_id,
        pitch=pitch.pitch,
        amount_sought_10k_cny=pitch.amount_sought_10k_cny,
        round_sought=pitch.round_sought,
        use_of_funds=pitch.use_of_funds,
        status=IntroductionStatus.REQUESTED,
        host_runs_fund=host_runs(fund),
    )
    try:
        with session.begin_nested():
            session.add(intro)
            session.flush()
    except IntegrityError as exc:
        raise duplicate from exc
    _learn(session, intro, InteractionKind.INTRODUCTION, "requested", now)
    _record(session, intro, "requested")
    return intro


def check_deck(data: bytes) -> None:
    """A deck is a PDF (by its first bytes, whatever its name says) of at most 20 MB."""
    if len(data) > MAX_DECK_BYTES:
        raise InvalidInput(
            "The deck is larger than 20 MB.",
            "路演材料超过 20 MB。",
            details={"fields": {"deck": "too_large"}},
        )
    if not data.startswith(b"%PDF-"):
        raise InvalidInput(
            "The deck must be a PDF file.", "路演材料须为 PDF 文件。", details={"fields": {"deck": "not_pdf"}}
        )


def attach_deck(
    session: Session, principal: Principal, intro_id: int, data: bytes, folder: Path
) -> Introduction:
    """Store a checked deck under ``folder`` by a name of our own; a refused deck is never written."""
    import secrets

    intro = get_introduction(session, principal, intro_id)
    if intro.team_id not in principal.teams:
        raise Forbidden("attach a deck to this introduction", "为该对接申请上传材料")
    if intro.status not in OPEN_INTRODUCTIONS:
        lifecycles.check_introduction_move(intro.status, IntroductionStatus.REQUESTED)
    check_deck(data)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.pdf"
    (folder / name).write_bytes(data)
    old = intro.deck_file
    intro.deck_file, intro.deck_bytes = name, len(data)
    try:
        session.flush()
    except Exception:
        (folder / name).unlink(missing_ok=True)
        raise
    if old:
        (folder / old).unlink(missing_ok=True)
    _record(session, intro, "deck_added")
    return intro


def deck_of(session: Session, principal: Principal, intro_id: int, folder: Path) -> Path:
    intro = get_introduction(session, principal, intro_id)
    if intro.deck_file is None or not (folder / intro.deck_file).is_file():
        raise NotFound("deck", "路演材料", intro_id)
    return folder / intro.deck_file


def _move(session: Session, intro: Introduction, target: IntroductionStatus, **values: Any) -> None:
    seen = intro.status
    lifecycles.check_introduction_move(seen, target)
    moves.move_if_unchanged(session, intro, seen, target, "introduction", "对接申请", **values)


def answer_introduction(
    session: Session,
    principal: Principal,
    intro_id: int,
    answer: str,
    *,
    reason: str | None = None,
    note: str = "",
    meeting: str = "",
    now: datetime | None = None,
) -> Introduction:
    """The investor: ``interested`` (a deal opens at "introduced"; propose a meeting), ``pass`` (with a
    reason category) or ``more_info``."""
    now = now or utcnow()
    intro = get_introduction(session, principal, intro_id)
    if not runs_fund(principal, intro.fund):
        raise Forbidden("answer this introduction", "答复该对接申请")
    if answer == "interested":
        _move(
            session,
            intro,
            IntroductionStatus.INTERESTED,
            investor_note=note,
            meeting_proposal=meeting,
            answered_at=now,
        )
        session.add(
            Deal(
                introduction_id=intro.id,
                space_id=intro.space_id,
                team_id=intro.team_id,
                fund_id=intro.fund_id,
                stage=DealStage.INTRODUCED,
            )
        )
        _learn(session, intro, InteractionKind.INTRODUCTION, "accepted", now)
    elif answer == "pass":
        if reason is None:
            raise InvalidInput(
                "Say why you pass.", "请选择放弃的原因。", details={"fields": {"reason": "required"}}
            )
        _move(
            session,
            intro,
            IntroductionStatus.PASSED,
            pass_reason=PassReason(reason),
            investor_note=note,
            answered_at=now,
        )
        _learn(session, intro, InteractionKind.DECLINE, "declined", now, reason=reason)
    else:
        _move(session, intro, IntroductionStatus.MORE_INFO, investor_note=note, answered_at=now)
    _record(session, intro, {"interested": "interested", "pass": "passed"}.get(answer, "more_info"))
    return intro


def resubmit_introduction(
    session: Session, principal: Principal, intro_id: int, pitch: str, use_of_funds: str
) -> Introduction:
    """The team answers a request for more information."""
    intro = get_introduction(session, principal, intro_id)
    if intro.team_id not in principal.teams:
        raise Forbidden("change this introduction", "修改该对接申请")
    _move(session, intro, IntroductionStatus.REQUESTED, pitch=pitch or intro.pitch, use_of_funds=use_of_funds)
    _record(session, intro, "requested")
    return intro


def withdraw_introduction(session: Session, principal: Principal, intro_id: int) -> Introduction:
    intro = get_introduction(session, principal, intro_id)
    if intro.team_id not in principal.teams:
        raise Forbidden("withdraw this introduction", "撤回该对接申请")
    _move(session, intro, IntroductionStatus.WITHDRAWN)
    _record(session, intro, "withdrawn")
    return intro


# Deals -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    amount_10k_cny: Decimal
    instrument: str
    invested_on: date
    follow_on_of_id: int | None = None


def get_deal(session: Session, principal: Principal, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None or not can_view_introduction(principal, deal.introduction):
        raise NotFound("deal", "投资项目", deal_id)
    return deal


def move_deal(
    session: Session,
    principal: Principal,
    deal_id: int,
    stage: str,
    *,
    reason: str | None = None,
    note: str = "",
    investment: Deployment | None = None,
    now: datetime | None = None,
) -> Deal:
    """One step of the pipeline, by the investor; "invested" records the investment in the same step."""
    now = now or utcnow()
    deal = get_deal(session, principal, deal_id)
    if not runs_fund(principal, deal.fund):
        raise Forbidden("move this deal", "推进该投资项目")
    seen = deal.stage
    lifecycles.check_deal_move(seen, stage)
    if stage == DealStage.INVESTED and investment is None:
        raise InvalidInput(
            "Record the investment: amount, instrument and date.",
            "请填写投资金额、方式和日期。",
            details={"fields": {"investment": "required"}},
        )
    if stage == DealStage.PASSED and reason is None:
        raise InvalidInput(
            "Say why you pass.", "请选择放弃的原因。", details={"fields": {"reason": "required"}}
        )
    moves.move_if_unchanged(
        session,
        deal,
        seen,
        DealStage(stage),
        "deal",
        "投资项目",
        field="stage",
        note=note,
        pass_reason=PassReason(reason) if stage == DealStage.PASSED and reason else None,
    )
    intro = deal.introduction
    if stage == DealStage.INVESTED and investment is not None:
        record_investment(
            session, principal, deal.fund_id, deal.team_id, investment, deal_id=deal.id, now=now
        )
    elif stage == DealStage.PASSED:
        _learn(session, intro, InteractionKind.DECLINE, "declined", now, deal_id=deal.id, stage=seen.value)
    else:
        _learn(session, intro, InteractionKind.INTRODUCTION, "accepted", now, deal_id=deal.id, stage=stage)
    session.refresh(intro)
    _record(session, intro, "deal_moved")
    return deal


# The seed fund ------------------------------------------------------------------------------------


def _deploy(session: Session, fund: Resource, amount: Decimal) -> None:
    """Raise the fund's deployed sum by ``amount`` only while it stays within the fund's size: one
    conditional UPDATE, backed by the table's CHECK, so two deployments at once cannot overdraw it."""
    size = fund_size(fund)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(FundPosition)
        .values(fund_id=fund.id, size_10k_cny=size, deployed_10k_cny=Decimal(0))
        .on_conflict_do_nothing(index_elements=["fund_id"])
    )
    refused = BeyondFund(
        f"The fund has {remaining_of(session, fund)} (10,000 CNY) left; this deployment is more than that.",
        f"该基金仅剩 {remaining_of(session, fund)} 万元，本次投资超出余额。",
        details={
            "fields": {"amount_10k_cny": "beyond_fund"},
            "remaining_10k_cny": str(remaining_of(session, fund)),
        },
    )
    try:
        with session.begin_nested():
            done = session.execute(
                update(FundPosition)
                .where(FundPosition.fund_id == fund.id, FundPosition.deployed_10k_cny + amount <= size)
                .values(deployed_10k_cny=FundPosition.deployed_10k_cny + amount, size_10k_cny=size)
            )
    except IntegrityError as exc:
        raise refused from exc
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise refused


def deployed_of(session: Session, fund: Resource) -> Decimal:
    found = session.get(FundPosition, fund.id, populate_existing=True)
    return Decimal(found.deployed_10k_cny) if found is not None else Decimal(0)


def remaining_of(session: Session, fund: Resource) -> Decimal:
    return max(Decimal(0), fund_size(fund) - deployed_of(session, fund)).quantize(Decimal("0.01"))


def record_investment(
    session: Session,
    principal: Principal,
    fund_id: int,
    team_id: int,
    deployment: Deployment,
    *,
    deal_id: int | None = None,
    now: datetime | None = None,
) -> Investment:
    """A deployment of the fund: refused beyond what remains; a follow-on names an earlier investment
    of the same fund in the same team."""
    now = now or utcnow()
    fund = _fund(session, fund_id)
    if not runs_fund(principal, fund):
        raise Forbidden("record this fund's investments", "登记该基金的投资")
    team = session.get(Team, team_id)
    if team is None or team.space_id != fund.space_id:
        raise InvalidInput(
            "The team is not in this fund's space.",
            "该团队不属于该基金所在空间。",
            details={"fields": {"team_id": "not_in_space"}},
        )
    if deployment.amount_10k_cny <= 0:
        raise InvalidInput(
            "An investment is a positive amount.",
            "投资金额须为正数。",
            details={"fields": {"amount_10k_cny": "out_of_range"}},
        )
    if deployment.follow_on_of_id is not None:
        first = session.get(Investment, deployment.follow_on_of_id)
        if first is None or first.fund_id != fund.id or first.team_id != team_id:
            raise InvalidInput(
                "A follow-on names an earlier investment of this fund in this team.",
                "追加投资须对应该基金此前对该团队的投资。",
                details={"fields": {"follow_on_of_id": "not_found"}},
            )
    _deploy(session, fund, deployment.amount_10k_cny)
    found = Investment(
        fund_id=fund.id,
        team_id=team_id,
        deal_id=deal_id,
        follow_on_of_id=deployment.follow_on_of_id,
        amount_10k_cny=deployment.amount_10k_cny,
        instrument=Instrument(deployment.instrument),
        invested_on=deployment.invested_on,
        recorded_by_id=principal.user_id,
    )
    session.add(found)
    session.flush()
    session.add(
        Interaction(
            space_id=fund.space_id,
            team_id=team_id,
            resource_id=fund.id,
            kind=InteractionKind.INVESTMENT,
            occurred_at=now,
            quantity=float(deployment.amount_10k_cny),
            outcome="invested",
            detail={"investment_id": found.id, "deal_id": deal_id},
        )
    )
    return found


def investment_out(found: Investment) -> dict[str, Any]:
    return {
        "id": found.id,
        "team": {"id": found.team.id, "name_zh": found.team.name_zh, "name_en": found.team.name_en},
        "deal_id": found.deal_id,
        "follow_on_of_id": found.follow_on_of_id,
        "amount_10k_cny": str(found.amount_10k_cny),
        "instrument": found.instrument.value,
        "invested_on": found.invested_on.isoformat(),
    }


def fund_out(session: Session, principal: Principal, fund_id: int) -> dict[str, Any]:
    """A fund's size, deployments and what remains (for its investor and the managers); whether the
    host runs it is public, so a team sees it before it sends."""
    fund = _fund(session, fund_id)
    out: dict[str, Any] = {
        "fund_id": fund.id,
        "name_zh": fund.name_zh,
        "name_en": fund.name_en,
        "host_runs_fund": host_runs(fund),
    }
    if runs_fund(principal, fund):
        items = session.scalars(
            select(Investment)
            .where(Investment.fund_id == fund.id)
            .order_by(Investment.invested_on, Investment.id)
        )
        out.update(
            size_10k_cny=str(fund_size(fund)),
            deployed_10k_cny=str(deployed_of(session, fund).quantize(Decimal("0.01"))),
            remaining_10k_cny=str(remaining_of(session, fund)),
            investments=[investment_out(i) for i in items],
        )
    return out


def deal_flow(
    session: Session, principal: Principal, fund_id: int, *, model_folder: Path | None = None
) -> dict[str, Any]:
    """The investor's board: introductions by pipeline column, ranked by the matchmaker's fit, and the
    admitted teams it suggests that have not asked yet."""
    from matchmaker.operations import matching

    fund = _fund(session, fund_id)
    if not runs_fund(principal, fund):
        raise NotFound("fund", "基金", fund_id)
    intros = list_introductions(session, principal, fund_id=fund.id)
    asked = {i.team_id for i in intros}
    candidates = [
        t.id
        for t in session.scalars(
            select(Team).where(
                Team.space_id == fund.space_id, Team.admission_status == AdmissionStatus.ADMITTED
            )
        )
        if t.stage.value in lifecycles.ACTIVE_STAGES
    ]
    _mode, fits = (
        matching.pair_fits(session, candidates, [fund.id], model_folder=model_folder)
        if candidates
        else ("", {})
    )

    def fit(team_id: int) -> float:
        return round(fits.get((team_id, fund.id), 0.0), 4)

    ranked = sorted(intros, key=lambda i: (-fit(i.team_id), i.id))
    suggested = sorted((t for t in candidates if t not in asked), key=lambda t: (-fit(t), t))[:5]
    teams_by_id = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(suggested)))}
    return {
        "fund_id": fund.id,
        "items": [{**introduction_out(i), "fit": fit(i.team_id)} for i in ranked],
        "suggested": [
            {"id": t, "name_zh": teams_by_id[t].name_zh, "name_en": teams_by_id[t].name_en, "fit": fit(t)}
            for t in suggested
        ],
    }
