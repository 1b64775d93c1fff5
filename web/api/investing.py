"""Introductions, deals and the seed fund in the JSON API, with their own input and answer models."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from flask import current_app, request, url_for
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchmaker.errors import InvalidInput
from matchmaker.operations import investing
from web.api import bp, route
from web.api.answers import Answer, Day, Timestamp
from web.api.schemas import Body, Id, Long, Printable
from web.api.schemas import Day as DayIn
from web.db import get_session
from web.recommendations import model_folder
from web.security import current_principal

TAG = "investing"

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), Printable]
Amount10k = Annotated[Decimal, Field(ge=0, le=Decimal("1e8"), max_digits=12, decimal_places=2)]
Positive10k = Annotated[Decimal, Field(gt=0, le=Decimal("1e8"), max_digits=12, decimal_places=2)]
RoundName = Literal["seed", "angel", "pre_a", "a", "b"]
Reason = Literal["stage", "sector", "team", "traction", "terms", "other"]
InstrumentName = Literal["equity", "convertible", "safe", "loan"]
StageName = Literal["introduced", "meeting", "due_diligence", "term_sheet", "invested", "passed"]
StatusName = Literal["requested", "more_info", "interested", "passed", "withdrawn"]


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "decks"


# Input -------------------------------------------------------------------------------------------


class IntroductionIn(Body):
    team_id: Id
    fund_id: Id
    pitch: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Printable]
    amount_sought_10k_cny: Amount10k
    round_sought: RoundName
    use_of_funds: Long = ""


class IntroductionAnswerIn(Body):
    answer: Literal["interested", "pass", "more_info"]
    reason: Reason | None = None
    note: Note = ""
    meeting: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), Printable] = ""


class IntroductionResubmitIn(Body):
    pitch: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), Printable] = ""
    use_of_funds: Long = ""


class DeploymentIn(Body):
    amount_10k_cny: Positive10k
    instrument: InstrumentName
    invested_on: DayIn
    follow_on_of_id: Id | None = None


class InvestmentIn(DeploymentIn):
    team_id: Id


class DealMoveIn(Body):
    stage: StageName
    reason: Reason | None = None
    note: Note = ""
    investment: DeploymentIn | None = None


class IntroductionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: Id | None = None
    fund_id: Id | None = None


class DealFlowParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fund_id: Id


# Answers -----------------------------------------------------------------------------------------


class InvestRef(Answer):
    id: int
    name_zh: str
    name_en: str


class DealOut(Answer):
    id: int
    introduction_id: int
    team_id: int
    fund_id: int
    stage: StageName
    pass_reason: Reason | None
    note: str
    next_stages: list[StageName]
    updated_at: Timestamp


class IntroductionOut(Answer):
    id: int
    space_id: int
    team: InvestRef
    fund: InvestRef
    pitch: str
    amount_sought_10k_cny: str
    round_sought: RoundName
    use_of_funds: str
    has_deck: bool
    deck_bytes: int | None
    status: StatusName
    pass_reason: Reason | None
    investor_note: str
    meeting_proposal: str
    host_runs_fund: bool
    created_at: Timestamp
    answered_at: Timestamp | None
    deal: DealOut | None


class IntroductionList(Answer):
    items: list[IntroductionOut]


class RankedIntroduction(IntroductionOut):
    fit: float


class SuggestedTeam(InvestRef):
    fit: float


class DealFlowOut(Answer):
    fund_id: int
    items: list[RankedIntroduction]
    suggested: list[SuggestedTeam]


class InvestmentOut(Answer):
    id: int
    team: InvestRef
    deal_id: int | None
    follow_on_of_id: int | None
    amount_10k_cny: str
    instrument: InstrumentName
    invested_on: Day


class FundOut(Answer):
    fund_id: int
    name_zh: str
    name_en: str
    host_runs_fund: bool
    size_10k_cny: str | None = None
    deployed_10k_cny: str | None = None
    remaining_10k_cny: str | None = None
    investments: list[InvestmentOut] | None = None


# Introductions -----------------------------------------------------------------------------------


@route(
    "/introductions",
    "POST",
    "Ask an investor or fund for an introduction with a pitch (a member of the team)",
    tag=TAG,
    body=IntroductionIn,
    responses={201: "Sent; the investor is told", 409: "Fund retired, or an open request exists"},
    answer=IntroductionOut,
)
def create_introduction(body: IntroductionIn) -> Any:
    pitch = investing.Pitch(
        body.team_id,
        body.fund_id,
        body.pitch,
        body.amount_sought_10k_cny,
        body.round_sought,
        body.use_of_funds,
    )
    found = investing.request_introduction(get_session(), current_principal(), pitch)
    return (
        investing.introduction_out(found),
        201,
        {"Location": url_for("api.get_introduction", intro_id=found.id)},
    )


@route(
    "/introductions",
    "GET",
    "Introductions the reader may see: their teams', their funds', their spaces' as managers",
    tag=TAG,
    query=IntroductionParams,
    answer=IntroductionList,
)
def list_introductions(query: IntroductionParams) -> Any:
    found = investing.list_introductions(
        get_session(), current_principal(), team_id=query.team_id, fund_id=query.fund_id
    )
    return {"items": [investing.introduction_out(i) for i in found]}


@route("/introductions/<int:intro_id>", "GET", "One introduction", tag=TAG, answer=IntroductionOut)
def get_introduction(intro_id: int) -> Any:
    return investing.introduction_out(
        investing.get_introduction(get_session(), current_principal(), intro_id)
    )


@bp.before_request
def _decks_may_be_larger() -> None:
    if request.endpoint == "api.upload_deck":
        request.max_content_length = investing.MAX_DECK_BYTES + 1024 * 1024


@route(
    "/introductions/<int:intro_id>/deck",
    "POST",
    "Attach a PDF deck of at most 20 MB (multipart form field ``deck``); only that investor, the team "
    "and the managers can fetch it, at /introductions/<id>/deck",
    tag=TAG,
    responses={422: "Not a PDF, too large, or no file"},
    answer=IntroductionOut,
)
def upload_deck(intro_id: int) -> Any:
    sent = request.files.get("deck")
    if sent is None:
        raise InvalidInput(
            "Attach the deck as the form field 'deck'.",
            "请以表单字段 deck 上传路演材料。",
            details={"fields": {"deck": "required"}},
        )
    try:
        data = sent.stream.read(investing.MAX_DECK_BYTES + 1)
    finally:
        sent.close()  # a large upload is spooled to a temporary file: let it go now
    found = investing.attach_deck(get_session(), current_principal(), intro_id, data, upload_folder())
    return investing.introduction_out(found)


@route(
    "/introductions/<int:intro_id>/answer",
    "POST",
    "The investor answers: interested (a deal opens), pass (with a reason), or ask for more",
    tag=TAG,
    body=IntroductionAnswerIn,
    responses={409: "Already answered"},
    answer=IntroductionOut,
)
def answer_introduction(intro_id: int, body: IntroductionAnswerIn) -> Any:
    found = investing.answer_introduction(
        get_session(),
        current_principal(),
        intro_id,
        body.answer,
        reason=body.reason,
        note=body.note,
        meeting=body.meeting,
    )
    return investing.introduction_out(found)


@route(
    "/introductions/<int:intro_id>/resubmit",
    "POST",
    "The team answers a request for more information",
    tag=TAG,
    body=IntroductionResubmitIn,
    responses={409: "No information was asked for"},
    answer=IntroductionOut,
)
def resubmit_introduction(intro_id: int, body: IntroductionResubmitIn) -> Any:
    found = investing.resubmit_introduction(
        get_session(), current_principal(), intro_id, body.pitch, body.use_of_funds
    )
    return investing.introduction_out(found)


@route(
    "/introductions/<int:intro_id>/withdraw",
    "POST",
    "The team withdraws an open introduction request",
    tag=TAG,
    responses={409: "Already answered"},
    answer=IntroductionOut,
)
def withdraw_introduction(intro_id: int) -> Any:
    found = investing.withdraw_introduction(get_session(), current_principal(), intro_id)
    return investing.introduction_out(found)


# Deals and the fund ------------------------------------------------------------------------------


@route(
    "/deals/flow",
    "GET",
    "A fund's deal flow for its investor and the managers: introductions ranked by fit, and suggested teams",
    tag=TAG,
    query=DealFlowParams,
    answer=DealFlowOut,
)
def deal_flow(query: DealFlowParams) -> Any:
    return investing.deal_flow(get_session(), current_principal(), query.fund_id, model_folder=model_folder())


@route("/deals/<int:deal_id>", "GET", "One deal", tag=TAG, answer=DealOut)
def get_deal(deal_id: int) -> Any:
    return investing.deal_out(investing.get_deal(get_session(), current_principal(), deal_id))


@route(
    "/deals/<int:deal_id>/move",
    "POST",
    "Move a deal one step (introduced → meeting → due diligence → term sheet → invested), or pass",
    tag=TAG,
    body=DealMoveIn,
    responses={409: "A skipped step, or beyond what the fund has left"},
    answer=DealOut,
)
def move_deal(deal_id: int, body: DealMoveIn) -> Any:
    deployment = (
        investing.Deployment(
            body.investment.amount_10k_cny,
            body.investment.instrument,
            body.investment.invested_on,
            body.investment.follow_on_of_id,
        )
        if body.investment
        else None
    )
    found = investing.move_deal(
        get_session(),
        current_principal(),
        deal_id,
        body.stage,
        reason=body.reason,
        note=body.note,
        investment=deployment,
    )
    return investing.deal_out(found)


@route(
    "/funds/<int:fund_id>/investments",
    "GET",
    "A fund: whether the host runs it (public); its size, deployments and what remains (its investor and "
    "the managers)",
    tag=TAG,
    answer=FundOut,
)
def fund_investments(fund_id: int) -> Any:
    return investing.fund_out(get_session(), current_principal(), fund_id)


@route(
    "/funds/<int:fund_id>/investments",
    "POST",
    "Record a deployment or follow-on; one beyond what remains is refused",
    tag=TAG,
    body=InvestmentIn,
    responses={201: "Recorded", 409: "Beyond what the fund has left"},
    answer=InvestmentOut,
)
def record_investment(fund_id: int, body: InvestmentIn) -> Any:
    deployment = investing.Deployment(
        body.amount_10k_cny, body.instrument, body.invested_on, body.follow_on_of_id
    )
    found = investing.record_investment(get_session(), current_principal(), fund_id, body.team_id, deployment)
    get_session().refresh(found)
    return investing.investment_out(found), 201
