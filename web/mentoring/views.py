"""Pages: a team's mentor requests and introductions, a mentor's inbox, calendar and monthly hours, and
an investor's deal-flow board; each redraws its live part when the matching event arrives."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from matchmaker import lifecycles
from matchmaker.errors import InvalidInput, MatchmakerError, NotFound
from matchmaker.operations import investing, mentoring
from models import DeclineReason, PassReason, Resource, ResourceKind, Team
from models.base import utcnow
from web.api.investing import upload_folder
from web.db import get_session
from web.i18n import current_locale
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("mentoring", __name__)


@bp.app_context_processor
def _names() -> dict[str, Any]:
    def named(table: str, code: str) -> str:
        """A status's name from its lifecycle table, in the reader's language."""
        en, zh = NAME_TABLES[table].get(code, (code, code))
        return zh if current_locale().startswith("zh") else en

    return {"named": named}


NAME_TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "request": lifecycles.MENTOR_REQUEST_STATUS_NAMES,
    "session": lifecycles.MENTOR_SESSION_STATUS_NAMES,
    "introduction": lifecycles.INTRODUCTION_STATUS_NAMES,
    "deal": lifecycles.DEAL_STAGE_NAMES,
}


def _overview() -> dict[str, Any]:
    session = get_session()
    principal = current_principal()
    my_teams = list(session.scalars(select(Team).where(Team.id.in_(list(principal.teams))).order_by(Team.id)))
    profiles = mentoring.mentor_for_user(session, principal.user_id or 0)
    now = utcnow()
    inbox, calendar, hours = [], [], []
    for mentor in profiles:
        inbox += mentoring.list_requests(session, principal, mentor_id=mentor.id)
        calendar += [
            s
            for s in mentoring.list_sessions(session, principal, mentor_id=mentor.id)
            if s.status.value != "cancelled"
        ]
        hours.append((mentor, mentoring.hours_of(session, mentor, mentoring.month_of(mentor, now))))
    requests = [r for t in my_teams for r in mentoring.list_requests(session, principal, team_id=t.id)]
    introductions = [
        i for t in my_teams for i in investing.list_introductions(session, principal, team_id=t.id)
    ]
    return {
        "my_teams": my_teams,
        "requests": requests,
        "introductions": introductions,
        "inbox": inbox,
        "calendar": sorted(calendar, key=lambda s: s.starts_at),
        "hours": hours,
        "now": now,
        "reasons": [r.value for r in DeclineReason],
        "stage_names": lifecycles.DEAL_STAGE_NAMES,
    }


def _page(error: MatchmakerError | None = None) -> Any:
    context = _overview()
    status = 200 if error is None else error.status
    message = error.message(current_locale()) if error else None
    return render_template("mentoring/index.html", error_message=message, **context), status


@bp.get("/mentoring")
@login_required
def index() -> Any:
    return _page()


@bp.get("/mentoring/live")
@login_required
def live() -> Any:
    """The live part of the page alone, fetched again when a request, session or deal changes."""
    return render_template("mentoring/_live.html", **_overview())


def _local(value: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "Give a date and time.", "请填写日期和时间。", details={"fields": {"starts_at": "invalid_date"}}
        ) from None
    return moment.replace(tzinfo=ZoneInfo(timezone)) if moment.tzinfo is None else moment


def _int(name: str, default: int | None = None) -> int:
    raw = request.form.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not raw.isdigit() or len(raw) > 6:
        raise InvalidInput(
            f"{name} must be a whole number.",
            f"{name} 须为整数。",
            details={"fields": {name: "not_a_number"}},
        )
    return int(raw)


def _done(action: Any, message: str) -> Any:
    _result, error = attempt(action)
    if error is not None:
        return _page(error)
    flash(message, "success")
    return redirect(url_for("mentoring.index"))


@bp.route("/mentoring/ask", methods=["GET", "POST"])
@login_required
def ask() -> Any:
    """Ask a mentor, from a recommendation on the team page or from the catalogue."""
    session = get_session()
    source = request.args if request.method == "GET" else request.form
    team = session.get(Team, int(source.get("team", "0") or 0)) if source.get("team", "").isdigit() else None
    mentor = (
        session.get(Resource, int(source.get("mentor", "0"))) if source.get("mentor", "").isdigit() else None
    )
    if (
        team is None
        or mentor is None
        or mentor.kind is not ResourceKind.MENTOR
        or team.id not in current_principal().teams
    ):
        raise NotFound("mentor", "导师", source.get("mentor"))
    hours = mentoring.hours_of(session, mentor, mentoring.month_of(mentor, utcnow()))
    context = {"team": team, "mentor": mentor, "hours": hours}
    if request.method == "GET":
        return render_template("mentoring/ask.html", error_message=None, form={}, **context)

    def _ask() -> Any:
        from datetime import date

        wanted = request.form.get("wanted_by", "").strip()
        try:
            wanted_by = date.fromisoformat(wanted) if wanted else None
        except ValueError:
            raise InvalidInput(
                "Give a date.", "请填写日期。", details={"fields": {"wanted_by": "invalid_date"}}
            ) from None
        topic = request.form.get("topic", "").strip()
        if not topic or len(topic) > 200:
            raise InvalidInput(
                "Say what you need help with (at most 200 characters).",
                "请填写辅导主题（不超过 200 字）。",
                details={"fields": {"topic": "required"}},
            )
        hours = _int("hours")
        if not 1 <= hours <= 40:
            raise InvalidInput(
                "Ask for 1 to 40 hours.",
                "时长须为 1 到 40 小时。",
                details={"fields": {"hours": "out_of_range"}},
            )
        return mentoring.create_request(
            session,
            current_principal(),
            mentoring.Ask(team.id, mentor.id, topic, hours, request.form.get("needs", "")[:4000], wanted_by),
        )

    _made, error = attempt(_ask)
    if error is not None:
        message = error.message(current_locale())
        return render_template(
            "mentoring/ask.html", error_message=message, form=request.form, **context
        ), error.status
    flash(_("Request sent. The mentor has been told."), "success")
    return redirect(url_for("mentoring.index"))


@bp.post("/mentoring/requests/<int:request_id>/accept")
@login_required
def accept(request_id: int) -> Any:
    session = get_session()

    def _accept() -> Any:
        found = mentoring.get_request(session, current_principal(), request_id)
        raw = request.form.get("starts_at", "").strip()
        starts = _local(raw, found.mentor.space.timezone) if raw else None
        minutes = _int("minutes", found.hours * 60) if raw else None
        return mentoring.accept_request(
            session, current_principal(), request_id, starts_at=starts, minutes=minutes
        )

    return _done(_accept, _("Accepted. The team has been told."))


@bp.post("/mentoring/requests/<int:request_id>/propose")
@login_required
def propose(request_id: int) -> Any:
    session = get_session()

    def _propose() -> Any:
        found = mentoring.get_request(session, current_principal(), request_id)
        start = _local(request.form.get("starts_at", "").strip(), found.mentor.space.timezone)
        end = start + timedelta(minutes=_int("minutes", 60))
        return mentoring.propose_times(session, current_principal(), request_id, [(start, end)])

    return _done(_propose, _("Time proposed. The team has been told."))


@bp.post("/mentoring/requests/<int:request_id>/decline")
@login_required
def decline(request_id: int) -> Any:
    reason = request.form.get("reason", "other")
    if reason not in {r.value for r in DeclineReason}:
        reason = "other"
    return _done(
        lambda: mentoring.decline_request(
            get_session(), current_principal(), request_id, reason, request.form.get("note", "")[:500]
        ),
        _("Declined. The team has been told."),
    )


@bp.post("/mentoring/sessions/<int:session_id>/report")
@login_required
def report(session_id: int) -> Any:
    def _report() -> Any:
        try:
            hours = float(request.form.get("hours", ""))
        except ValueError:
            hours = -1
        if not 0.25 <= hours <= 8:
            raise InvalidInput(
                "Hours delivered are between 0.25 and 8.",
                "实际时长须在 0.25 到 8 小时之间。",
                details={"fields": {"hours": "out_of_range"}},
            )
        return mentoring.report_session(
            get_session(),
            current_principal(),
            session_id,
            hours=hours,
            notes=request.form.get("notes", "")[:4000],
            follow_ups=request.form.get("follow_ups", "")[:4000],
        )

    return _done(_report, _("Session reported. The team can read your notes."))


@bp.post("/mentoring/sessions/<int:session_id>/rate")
@login_required
def rate(session_id: int) -> Any:
    return _done(
        lambda: mentoring.rate_session(
            get_session(),
            current_principal(),
            session_id,
            _int("rating"),
            request.form.get("comment", "")[:1000],
        ),
        _("Thank you for rating the session."),
    )


# Introductions and the deal-flow board --------------------------------------------------------------


@bp.route("/introductions/ask", methods=["GET", "POST"])
@login_required
def ask_introduction() -> Any:
    session = get_session()
    source = request.args if request.method == "GET" else request.form
    team = session.get(Team, int(source.get("team", "0"))) if source.get("team", "").isdigit() else None
    fund = session.get(Resource, int(source.get("fund", "0"))) if source.get("fund", "").isdigit() else None
    if (
        team is None
        or fund is None
        or fund.kind is not ResourceKind.FUND
        or team.id not in current_principal().teams
    ):
        raise NotFound("fund", "基金", source.get("fund"))
    context = {"team": team, "fund": fund, "host_runs": investing.host_runs(fund)}
    if request.method == "GET":
        return render_template("mentoring/introduce.html", error_message=None, form={}, **context)

    def _send() -> Any:
        try:
            amount = Decimal(request.form.get("amount", "").strip() or "x")
        except InvalidOperation:
            amount = Decimal(-1)
        if not Decimal(0) <= amount <= Decimal("1e8"):
            raise InvalidInput(
                "Give the amount sought in 10,000 CNY (0 or more).",
                "请填写融资金额（万元，不小于 0）。",
                details={"fields": {"amount": "out_of_range"}},
            )
        round_sought = request.form.get("round", "seed")
        if round_sought not in ("seed", "angel", "pre_a", "a", "b"):
            round_sought = "seed"
        pitch = request.form.get("pitch", "").strip()[:4000]
        if not pitch:
            raise InvalidInput(
                "Write your pitch.", "请填写项目介绍。", details={"fields": {"pitch": "required"}}
            )
        intro = investing.request_introduction(
            session,
            current_principal(),
            investing.Pitch(
                team.id,
                fund.id,
                pitch,
                amount.quantize(Decimal("0.01")),
                round_sought,
                request.form.get("use_of_funds", "")[:4000],
            ),
        )
        deck = request.files.get("deck")
        if deck is not None and deck.filename:
            try:
                data = deck.stream.read(investing.MAX_DECK_BYTES + 1)
            finally:
                deck.close()
            investing.attach_deck(session, current_principal(), intro.id, data, upload_folder())
        return intro

    _made, error = attempt(_send)
    if error is not None:
        message = error.message(current_locale())
        return render_template(
            "mentoring/introduce.html", error_message=message, form=request.form, **context
        ), error.status
    flash(_("Introduction requested. The investor has been told."), "success")
    return redirect(url_for("mentoring.index"))


@bp.get("/introductions/<int:intro_id>/deck")
@login_required
def deck(intro_id: int) -> Any:
    path = investing.deck_of(get_session(), current_principal(), intro_id, upload_folder())
    return send_file(path, mimetype="application/pdf", download_name=f"deck-{intro_id}.pdf")


def _board(fund_id: int) -> dict[str, Any]:
    flow = investing.deal_flow(get_session(), current_principal(), fund_id)
    columns: dict[str, list[dict[str, Any]]] = {
        s: [] for s in ("requested", *lifecycles.DEAL_PIPELINE, "passed")
    }
    for item in flow["items"]:
        if item["deal"]:
            columns[item["deal"]["stage"]].append(item)
        elif item["status"] in ("requested", "more_info"):
            columns["requested"].append(item)
        elif item["status"] == "passed":
            columns["passed"].append(item)
    return {"flow": flow, "columns": columns, "stage_names": lifecycles.DEAL_STAGE_NAMES, "fund_id": fund_id}


@bp.get("/deals")
@login_required
def board() -> Any:
    session = get_session()
    principal = current_principal()
    funds = [
        f
        for f in session.scalars(
            select(Resource).where(Resource.kind == ResourceKind.FUND).order_by(Resource.id)
        )
        if investing.runs_fund(principal, f) and not f.is_retired
    ]
    chosen = request.args.get("fund", "")
    fund = next((f for f in funds if str(f.id) == chosen), funds[0] if funds else None)
    if fund is None:
        raise NotFound("fund", "基金", chosen)
    return render_template("mentoring/board.html", funds=funds, fund=fund, **_board(fund.id))


@bp.get("/deals/board/<int:fund_id>")
@login_required
def board_live(fund_id: int) -> Any:
    return render_template("mentoring/_board.html", **_board(fund_id))


@bp.post("/deals/<int:deal_id>/move")
@login_required
def move(deal_id: int) -> Any:
    session = get_session()

    def _move() -> Any:
        stage = request.form.get("stage", "")
        investment = None
        if stage == "invested":
            try:
                amount = Decimal(request.form.get("amount", "").strip() or "x")
                invested_on = datetime.fromisoformat(request.form.get("invested_on", "")).date()
            except (InvalidOperation, ValueError):
                raise InvalidInput(
                    "Give the amount and the date of the investment.",
                    "请填写投资金额和日期。",
                    details={"fields": {"investment": "required"}},
                ) from None
            instrument = request.form.get("instrument", "equity")
            if instrument not in ("equity", "convertible", "safe", "loan"):
                instrument = "equity"
            investment = investing.Deployment(amount.quantize(Decimal("0.01")), instrument, invested_on)
        reason = request.form.get("reason") or None
        if reason is not None and reason not in {r.value for r in PassReason}:
            reason = "other"
        return investing.move_deal(
            session, current_principal(), deal_id, stage, reason=reason, investment=investment
        )

    found, error = attempt(_move)
    if error is not None:
        flash(error.message(current_locale()), "warning")
        return redirect(request.referrer or url_for("mentoring.board"))
    return redirect(url_for("mentoring.board", fund=found.fund_id if found else None))


@bp.post("/introductions/<int:intro_id>/answer")
@login_required
def answer(intro_id: int) -> Any:
    session = get_session()
    choice = request.form.get("answer", "")
    if choice not in ("interested", "pass", "more_info"):
        choice = "more_info"
    reason = request.form.get("reason") or ("other" if choice == "pass" else None)
    if reason is not None and reason not in {r.value for r in PassReason}:
        reason = "other"
    found, error = attempt(
        lambda: investing.answer_introduction(
            session,
            current_principal(),
            intro_id,
            choice,
            reason=reason,
            note=request.form.get("note", "")[:1000],
        )
    )
    if error is not None:
        flash(error.message(current_locale()), "warning")
        return redirect(request.referrer or url_for("mentoring.board"))
    return redirect(url_for("mentoring.board", fund=found.fund_id if found else None))
