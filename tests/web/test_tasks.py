"""Crowdsourced tasks through the API with separate host and team accounts: the whole lifecycle, every
illegal move a clear 409 that changes nothing, the bid deadline by a clock the test controls,
confidentiality gating, bad input, and two awards at once leaving exactly one."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker.operations import matching, task_matching
from matchmaker.operations import tasks as tasks_ops
from matchmaker.operations.task_matching import TOLD_ON_PUBLICATION
from models import (
    BidStatus,
    Interaction,
    InteractionKind,
    JobRun,
    JobRunStatus,
    Notification,
    Task,
    TaskBid,
    TaskRecommendation,
    TaskStatus,
    TaskTermsAcceptance,
    TeamMember,
)
from tests.conftest import Client, HeldJobs, LiveServer, World, fresh
from tests.web.booking_support import Api, token_for
from tests.web.live import WAIT, api_token
from tests.web.test_jobs import FakeClock, needs_redis, queue_app, until
from tests.web.test_realtime import Listener, connect_as
from web import clock as web_clock
from web import jobs
from web.jobs.definitions import CLOSE_TASK_BIDDING, TELL_FITTING_TEAMS
from web.jobs.inprocess import InProcessJobs
from web.jobs.settings import settings_of

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_rankers() -> None:
    matching.reset_ranker_cache()


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    """The server's clock for these tests: it moves only when the test moves it."""
    controlled = FakeClock(START)
    app.extensions[web_clock.EXTENSION] = controlled
    return controlled


@pytest.fixture
def api(client: Client, world: World, db: Session, clock: FakeClock) -> dict[str, Api]:
    names = ("host", "founder", "member", "other_founder", "manager", "host2", "outsider", "mentor")
    return {name: Api(client, token_for(db, world.users[name])) for name in names}


def task_body(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "space_id": world.space1.id,
        "organization_id": world.host1.id,
        "title_zh": "晶圆缺陷视觉检测算法",
        "title_en": "Vision inspection of wafer defects",
        "description_zh": "为产线开发缺陷检测模型",
        "description_en": "Build a defect detection model for the line",
        "deliverables_zh": "模型与报告",
        "deliverables_en": "Model and report",
        "tags": ["machine-vision"],
        "reward_min_cny": "50000",
        "reward_max_cny": "120000",
        "bid_deadline": (START + timedelta(days=7)).isoformat(),
        "delivery_deadline": (START + timedelta(days=60)).date().isoformat(),
        **extra,
    }


def bid_body(team_id: int, price: str = "90000", **extra: Any) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "approach": "迁移学习 + 小样本标注 / transfer learning with few labels",
        "price_cny": price,
        "timeline_days": 40,
        "credentials": "两项相关专利",
        **extra,
    }


def published(api: dict[str, Api], world: World, **extra: Any) -> dict[str, Any]:
    made = api["host"].post("/tasks", task_body(world, publish=True, **extra))
    assert made.status_code == 201, made.json
    return dict(made.json)


def kinds_of(db: Session, user_id: int) -> list[str]:
    fresh(db)
    return list(db.scalars(select(Notification.kind).where(Notification.user_id == user_id)))


def test_a_task_walks_its_whole_lifecycle_through_the_api(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    draft = api["host"].post("/tasks", task_body(world))
    assert draft.status_code == 201, draft.json
    task_id = draft.json["id"]
    assert draft.json["status"] == "draft" and draft.json["is_host"] is True
    assert api["founder"].get(f"/tasks/{task_id}").status_code == 404  # a draft is the host's alone
    opened = api["host"].post(f"/tasks/{task_id}/publish")
    assert opened.status_code == 200 and opened.json["status"] == "open"

    seen = api["founder"].get(f"/tasks/{task_id}").json
    assert seen["bid_count"] == 0 and seen["is_host"] is False and seen["description_en"]
    board = api["founder"].get("/tasks?tag=machine-vision&status=open").json["items"]
    assert [t["id"] for t in board] == [task_id]
    assert api["founder"].get("/tasks?tag=hplc").json["items"] == []

    mine = api["founder"].post(f"/tasks/{task_id}/bids", bid_body(world.team1.id))
    assert mine.status_code == 201, mine.json
    theirs = api["other_founder"].post(f"/tasks/{task_id}/bids", bid_body(world.team2.id, "70000"))
    assert theirs.status_code == 201, theirs.json
    assert api["founder"].get(f"/tasks/{task_id}").json["bid_count"] == 2
    own = api["founder"].get(f"/tasks/{task_id}/bids").json
    assert [b["team"]["id"] for b in own["items"]] == [world.team1.id]  # a team sees only its own bid
    every = api["host"].get(f"/tasks/{task_id}/bids").json
    assert {b["price_cny"] for b in every["items"]} == {"90000.00", "70000.00"}  # amounts: the host's
    assert "task_bid_received" in kinds_of(db, world.id("host"))

    asked = api["founder"].post(
        f"/tasks/{task_id}/questions", {"team_id": world.team1.id, "question": "样本量有多少？"}
    )
    assert asked.status_code == 201
    answered = api["host"].post(f"/questions/{asked.json['id']}/answer", {"answer": "约两千张 / about 2,000"})
    assert answered.status_code == 200
    thread = api["other_founder"].get(f"/tasks/{task_id}/questions").json["items"]
    assert thread[0]["answer"].startswith("约两千张") and thread[0]["mine"] is False  # answered for all
    assert "task_answered" in kinds_of(db, world.id("other_founder"))

    shortlisted = api["host"].post(f"/bids/{mine.json['id']}/shortlist", {"clarification": "请说明标注方案"})
    assert shortlisted.json["status"] == "shortlisted"
    assert "task_clarification" in kinds_of(db, world.id("founder"))
    edited = api["member"].patch(f"/bids/{mine.json['id']}", {"price_cny": "85000"})
    assert edited.status_code == 200 and edited.json["clarification_request"] == ""

    changed = api["host"].patch(f"/tasks/{task_id}", {"reward_max_cny": "150000"})
    assert changed.status_code == 200 and changed.json["terms_version"] == 2
    history = api["founder"].get(f"/tasks/{task_id}/history").json["items"]
    assert history[0]["changes"]["reward_max_cny"] == ["120000.00", "150000"]
    assert "task_terms_changed" in kinds_of(db, world.id("other_founder"))

    due = (START + timedelta(days=20)).date().isoformat()
    last = (START + timedelta(days=50)).date().isoformat()
    awarded = api["host"].post(
        f"/tasks/{task_id}/award",
        {
            "bid_id": mine.json["id"],
            "milestones": [
                {"title": "原型 / Prototype", "due_on": due, "amount_cny": "30000"},
                {"title": "验收 / Final", "due_on": last, "amount_cny": "55000"},
            ],
        },
    )
    assert awarded.status_code == 200, awarded.json
    assert api["host"].get(f"/tasks/{task_id}").json["status"] == "awarded"
    loser = api["other_founder"].get(f"/tasks/{task_id}/bids").json["items"][0]
    assert loser["status"] == "not_awarded"
    assert api["other_founder"].get(f"/tasks/{task_id}/milestones").json["items"] == []

    first, second = api["founder"].get(f"/tasks/{task_id}/milestones").json["items"]
    delivered = api["founder"].post(f"/milestones/{first['id']}/deliver", {"note": "原型与测试集结果"})
    assert delivered.status_code == 200 and delivered.json["status"] == "delivered"
    assert api["host"].get(f"/tasks/{task_id}").json["status"] == "in_delivery"
    sent_back = api["host"].post(
        f"/milestones/{first['id']}/review", {"accept": False, "comment": "漏检率偏高"}
    )
    assert sent_back.json["status"] == "revision_requested"
    api["founder"].post(f"/milestones/{first['id']}/deliver", {"note": "已降低漏检率"})
    accepted = api["host"].post(f"/milestones/{first['id']}/review", {"accept": True})
    assert accepted.json["status"] == "accepted"
    paid = api["host"].post(f"/milestones/{first['id']}/paid")
    assert paid.json["payment_status"] == "paid"
    api["founder"].post(f"/milestones/{second['id']}/deliver", {"note": "终版"})
    api["host"].post(f"/milestones/{second['id']}/review", {"accept": True})
    assert api["host"].get(f"/tasks/{task_id}").json["status"] == "completed"

    by_host = api["host"].post(f"/tasks/{task_id}/ratings", {"team_id": world.team1.id, "score": 5})
    by_team = api["founder"].post(f"/tasks/{task_id}/ratings", {"team_id": world.team1.id, "score": 4})
    assert (by_host.status_code, by_team.status_code) == (201, 201)
    assert {r["by_side"] for r in api["host"].get(f"/tasks/{task_id}/ratings").json["items"]} == {
        "host",
        "team",
    }
    assert "task_rated" in kinds_of(db, world.id("founder"))

    fresh(db)
    edges = dict(
        db.execute(
            select(Interaction.kind, func.count())
            .where(Interaction.task_id == task_id)
            .group_by(Interaction.kind)
        ).all()
    )
    assert edges == {
        InteractionKind.TASK_BID: 2,
        InteractionKind.TASK_AWARD: 1,
        InteractionKind.TASK_DELIVERY: 3,
        InteractionKind.TASK_RATING: 1,
    }
    figures = api["manager"].get(f"/spaces/{world.space1.id}/task-figures").json
    assert figures["tasks_posted"] == 1 and figures["tasks_awarded"] == 1
    assert figures["value_awarded_cny"] == "85000.00" and figures["milestones_delivered"] == 2
    assert api["founder"].get(f"/spaces/{world.space1.id}/task-figures").status_code == 403


def state(db: Session, task_id: int) -> tuple[str, list[str]]:
    fresh(db)
    task = db.get(Task, task_id)
    assert task is not None
    bids = db.scalars(select(TaskBid.status).where(TaskBid.task_id == task_id).order_by(TaskBid.id))
    return task.status.value, [b.value for b in bids]


def test_every_illegal_move_is_a_clear_409_and_changes_nothing(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world)
    task_id = task["id"]
    bid = api["founder"].post(f"/tasks/{task_id}/bids", bid_body(world.team1.id)).json
    assert api["host"].post(f"/tasks/{task_id}/publish").status_code == 409  # published already
    assert (
        api["founder"].post(f"/tasks/{task_id}/ratings", {"team_id": world.team1.id, "score": 3}).status_code
        == 409
    )
    awarded = api["host"].post(f"/tasks/{task_id}/award", {"bid_id": bid["id"]})
    assert awarded.status_code == 200
    (milestone,) = api["host"].get(f"/tasks/{task_id}/milestones").json["items"]
    before = state(db, task_id)

    illegal = [
        (api["host"], f"/milestones/{milestone['id']}/review", {"accept": True}),  # nothing delivered
        (api["host"], f"/milestones/{milestone['id']}/paid", None),  # not accepted
        (api["host"], f"/tasks/{task_id}/award", {"bid_id": bid["id"]}),  # awarded already
        (api["founder"], f"/bids/{bid['id']}/withdraw", None),  # bidding over
        (api["other_founder"], f"/tasks/{task_id}/bids", bid_body(world.team2.id)),  # not open
        (api["host"], f"/tasks/{task_id}/publish", None),
    ]
    for who, path, body in illegal:
        answer = who.post(path, body)
        assert answer.status_code == 409, (path, answer.json)
        assert answer.json["error"]["code"] == "invalid_transition" and answer.json["error"]["message"]
    patched = api["host"].patch(f"/tasks/{task_id}", {"title_en": "Renamed"})
    assert patched.status_code == 409
    assert state(db, task_id) == before

    other = published(api, world, title_en="Second task")
    api["host"].post(f"/tasks/{other['id']}/cancel", {"reason": "budget_withdrawn", "comment": "预算调整"})
    late = api["founder"].post(f"/tasks/{other['id']}/bids", bid_body(world.team1.id))
    assert late.status_code == 409, late.json
    after_cancel = api["host"].post(f"/tasks/{other['id']}/award", {"bid_id": bid["id"]})
    assert after_cancel.status_code in (404, 409)  # that bid is not this task's; and the task is cancelled
    assert api["host"].post(f"/tasks/{other['id']}/cancel", {"reason": "no_bids"}).status_code == 409
    cancelled = api["founder"].get(f"/tasks/{other['id']}").json
    assert cancelled["cancel_reason"] == "budget_withdrawn" and cancelled["cancel_comment"] == "预算调整"


def test_a_cancellation_tells_every_bidder_the_reason(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world)
    api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id))
    bid2 = api["other_founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team2.id)).json
    done = api["host"].post(
        f"/tasks/{task['id']}/cancel", {"reason": "requirements_changed", "comment": "改为内部研发"}
    )
    assert done.status_code == 200 and done.json["status"] == "cancelled"
    assert state(db, task["id"]) == ("cancelled", ["not_awarded", "not_awarded"])
    fresh(db)
    note = db.scalar(
        select(Notification).where(
            Notification.user_id == world.id("member"), Notification.kind == "task_decided"
        )
    )
    assert note is not None and "改为内部研发" in note.body_zh
    assert api["host"].post(f"/tasks/{task['id']}/award", {"bid_id": bid2["id"]}).status_code == 409


def test_the_bid_deadline_is_the_servers_clock_and_a_job_closes_bidding(
    app: Flask, api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world, bid_deadline=(START + timedelta(hours=2)).isoformat())
    bid = api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id)).json
    clock.advance(2 * 3600 - 1)  # a second before the deadline: still open
    assert api["founder"].patch(f"/bids/{bid['id']}", {"timeline_days": 30}).status_code == 200
    clock.advance(1)  # the deadline itself: closed, though the task has not been swept yet
    assert api["host"].get(f"/tasks/{task['id']}").json["status"] == "open"
    late = api["other_founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team2.id))
    assert late.status_code == 409 and late.json["error"]["details"]["bid_deadline"]
    assert api["founder"].patch(f"/bids/{bid['id']}", {"timeline_days": 20}).status_code == 409
    assert api["founder"].post(f"/bids/{bid['id']}/withdraw").status_code == 409

    layer = InProcessJobs(app, settings_of(app), clock=clock)
    assert layer.run(CLOSE_TASK_BIDDING, "close-1", {}) == "done"
    fresh(db)
    run = db.scalar(select(JobRun).where(JobRun.key == "close-1"))
    assert run is not None and run.status is JobRunStatus.SUCCEEDED and run.result == {"closed": 1}
    assert state(db, task["id"]) == ("bidding_closed", ["submitted"])
    awarded = api["host"].post(f"/tasks/{task['id']}/award", {"bid_id": bid["id"]})
    assert awarded.status_code == 200  # the host decides after bidding closed


def test_a_confidential_task_shows_its_details_only_after_the_terms_are_accepted(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world, confidential=True, confidentiality_terms="未经许可不得披露任何信息")
    seen = api["founder"].get(f"/tasks/{task['id']}").json
    assert seen["details_visible"] is False and "description_zh" not in seen
    assert seen["confidentiality_terms"].startswith("未经许可")
    refused = api["founder"].get(f"/tasks/{task['id']}/details")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    early = api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id))
    assert early.status_code == 403
    assert api["founder"].get(f"/tasks/{task['id']}/questions").status_code == 403

    accepted = api["member"].post(f"/tasks/{task['id']}/terms", {"team_id": world.team1.id})
    assert accepted.status_code == 201 and accepted.json["terms_version"] == 1
    fresh(db)
    record = db.scalar(select(TaskTermsAcceptance).where(TaskTermsAcceptance.task_id == task["id"]))
    assert record is not None and record.user_id == world.id("member") and record.accepted_at == START
    details = api["founder"].get(f"/tasks/{task['id']}/details")
    assert details.status_code == 200 and details.json["description_zh"]
    assert api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id)).status_code == 201
    assert api["other_founder"].get(f"/tasks/{task['id']}/details").status_code == 403  # another team
    assert api["host"].get(f"/tasks/{task['id']}/details").status_code == 200


def test_an_invited_task_reaches_only_the_invited_teams(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world, visibility="invited")
    assert api["founder"].get(f"/tasks/{task['id']}").status_code == 404
    assert api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id)).status_code == 404
    invited = api["host"].post(f"/tasks/{task['id']}/invitations", {"team_id": world.team1.id})
    assert invited.status_code == 201
    assert "task_invited" in kinds_of(db, world.id("founder"))
    assert api["founder"].get(f"/tasks/{task['id']}").status_code == 200
    assert api["other_founder"].get(f"/tasks/{task['id']}").status_code == 404
    assert (
        api["founder"].post(f"/tasks/{task['id']}/invitations", {"team_id": world.team1.id}).status_code
        == 403
    )


def test_the_host_sees_fitting_teams_with_reasons(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs
) -> None:
    task = published(api, world)
    fitting = api["host"].get(f"/tasks/{task['id']}/fitting-teams")
    assert fitting.status_code == 200
    items = fitting.json["items"]
    assert items and items[0]["team"]["id"] == world.team1.id  # the machine-vision team fits best
    assert items[0]["reasons"]
    assert world.team3.id not in {i["team"]["id"] for i in items}  # another space's team
    assert api["founder"].get(f"/tasks/{task['id']}/fitting-teams").status_code == 403
    assert held_jobs.run_held() == ["done"]  # the publication's job tells the best-fitting teams
    assert "task_recommended" in kinds_of(db, world.id("founder"))


# Telling the best-fitting teams, off the request ---------------------------------------------------


def recommended(db: Session, task_id: int) -> list[int]:
    """Who was told that the task fits their team, one entry per notification."""
    fresh(db)
    return sorted(
        db.scalars(
            select(Notification.user_id).where(
                Notification.kind == "task_recommended", Notification.subject == f"task:{task_id}"
            )
        )
    )


def members_of(db: Session, team_ids: list[int]) -> list[int]:
    return sorted(set(db.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(team_ids)))))


@pytest.fixture
def rankings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the tasks whose fitting teams were ranked, in order (the ranking itself still runs)."""
    ranked: list[int] = []
    real = task_matching.rank_teams

    def counted(session: Session, task: Task, **kwargs: Any) -> Any:
        ranked.append(task.id)
        return real(session, task, **kwargs)

    monkeypatch.setattr(task_matching, "rank_teams", counted)
    return ranked


def test_publishing_answers_without_ranking_and_a_job_tells_the_fitting_teams_after_the_commit(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs, rankings: list[int]
) -> None:
    draft = api["host"].post("/tasks", task_body(world)).json
    opened = api["host"].post(f"/tasks/{draft['id']}/publish")
    assert opened.status_code == 200 and opened.json["status"] == "open"
    fresh(db)
    assert state(db, draft["id"])[0] == "open"  # published and committed at once
    assert rankings == []  # nothing was ranked while the host waited
    assert recommended(db, draft["id"]) == []
    assert held_jobs.held == [
        (TELL_FITTING_TEAMS, f"{TELL_FITTING_TEAMS}-{draft['id']}", {"task_id": draft["id"]})
    ]

    assert held_jobs.run_held() == ["done"]
    assert rankings == [draft["id"]]
    assert world.id("founder") in recommended(db, draft["id"])  # the machine-vision team fits best
    run = db.scalar(select(JobRun).where(JobRun.key == f"{TELL_FITTING_TEAMS}-{draft['id']}"))
    assert run is not None and run.status is JobRunStatus.SUCCEEDED and run.result is not None
    assert run.result["told"] >= 1


def test_the_job_tells_the_members_of_the_best_ranked_teams(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs
) -> None:
    task = published(api, world)
    assert held_jobs.run_held() == ["done"]
    fresh(db)
    row = db.get(Task, task["id"])
    assert row is not None
    best = [fit.team_id for fit in tasks_ops.rank_teams_for(db, row)[:TOLD_ON_PUBLICATION]]
    assert best
    told = sorted(db.scalars(select(TaskRecommendation.team_id).where(TaskRecommendation.task_id == row.id)))
    assert told == sorted(best)
    assert recommended(db, row.id) == members_of(db, best)


def test_running_the_job_again_tells_nobody_twice(
    app: Flask, api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs
) -> None:
    task = published(api, world)
    assert held_jobs.run_held() == ["done"]
    first = recommended(db, task["id"])
    assert first

    layer = InProcessJobs(app, settings_of(app))
    key = f"{TELL_FITTING_TEAMS}-{task['id']}"
    assert layer.run(TELL_FITTING_TEAMS, key, {"task_id": task["id"]}) == "already done"
    # A run under another key (a duplicate enqueue, a retry after a lost record) gets past the run's
    # record; the table's key still tells each team once.
    assert layer.run(TELL_FITTING_TEAMS, "tell-again", {"task_id": task["id"]}) == "done"
    assert recommended(db, task["id"]) == first
    again = db.scalar(select(JobRun).where(JobRun.key == "tell-again"))
    assert again is not None and again.result == {"task_id": task["id"], "told": 0}


def test_two_runs_at_once_tell_each_team_once(
    app: Flask, api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs
) -> None:
    task = published(api, world)
    held_jobs.held.clear()
    layer = InProcessJobs(app, settings_of(app))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(key: str) -> None:
        start.wait()
        outcomes.append(layer.run(TELL_FITTING_TEAMS, key, {"task_id": task["id"]}))

    threads = [threading.Thread(target=run, args=(key,)) for key in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert outcomes == ["done", "done"]
    told = recommended(db, task["id"])
    assert told and len(told) == len(set(told))
    counts = sorted(
        run.result["told"]
        for run in db.scalars(select(JobRun).where(JobRun.key.in_(["first", "second"])))
        if run.result
    )
    teams = db.scalar(select(func.count()).select_from(TaskRecommendation))
    assert counts == [0, teams]  # one run told every fitting team, the other nobody


def test_a_task_cancelled_before_the_job_runs_tells_nobody(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs, rankings: list[int]
) -> None:
    task = published(api, world)
    cancelled = api["host"].post(f"/tasks/{task['id']}/cancel", {"reason": "budget_withdrawn"})
    assert cancelled.status_code == 200
    assert held_jobs.run_held() == ["done"]
    assert recommended(db, task["id"]) == []
    assert rankings == []  # a cancelled task is not even ranked
    fresh(db)
    assert db.scalar(select(func.count()).select_from(TaskRecommendation)) == 0


def test_an_invited_only_task_enqueues_no_telling(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs
) -> None:
    published(api, world, visibility="invited")
    assert held_jobs.held == []


def test_a_refused_publication_enqueues_nothing(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock, held_jobs: HeldJobs
) -> None:
    draft = api["host"].post("/tasks", task_body(world)).json
    assert api["founder"].post(f"/tasks/{draft['id']}/publish").status_code in (403, 404)
    assert api["host"].post(f"/tasks/{draft['id']}/publish").status_code == 200
    assert api["host"].post(f"/tasks/{draft['id']}/publish").status_code == 409  # already open
    assert held_jobs.names() == [TELL_FITTING_TEAMS]  # the one publication that committed


def test_without_services_the_publication_job_runs_in_a_thread_after_the_commit(
    app: Flask, api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    layer = InProcessJobs(app, settings_of(app))
    app.extensions[jobs.EXTENSION] = layer
    try:
        task = published(api, world)
        until(lambda: world.id("founder") in recommended(db, task["id"]), "the fitting teams to be told")
    finally:
        layer.stop()


BAD_TASKS: list[tuple[str, dict[str, Any], int, str | None]] = [
    (
        "host",
        {"publish": True, "bid_deadline": (START - timedelta(days=1)).isoformat()},
        422,
        "bid_deadline",
    ),
    (
        "host",
        {"delivery_deadline": (START + timedelta(days=3)).date().isoformat()},
        422,
        "delivery_deadline",
    ),
    ("host", {"reward_min_cny": "-1"}, 422, "reward_min_cny"),
    ("host", {"reward_max_cny": "1000000000000"}, 422, "reward_max_cny"),
    ("host", {"reward_min_cny": "200000"}, 422, "reward_min_cny"),
    ("host", {"title_en": "x" * 201}, 422, "title_en"),
    ("host", {"tags": ["no-such-tag"]}, 422, "tags"),
    ("host", {"ip_terms": "custom"}, 422, "ip_terms_custom"),
    ("host", {"confidential": True}, 422, "confidentiality_terms"),
    ("host", {"visibility": "everyone"}, 422, "visibility"),
    ("host2", {}, 403, None),
    ("founder", {}, 403, None),
    ("host", {"organization_id": 999999}, 422, "organization_id"),
]


def test_bad_tasks_are_refused_clearly_and_nothing_is_written(
    api: dict[str, Api], world: World, db: Session
) -> None:
    for who, change, status, field in BAD_TASKS:
        body = task_body(world)
        body.update(change)
        answer = api[who].post("/tasks", body)
        assert answer.status_code == status, (change, answer.json)
        if field is not None:
            assert field in answer.json["error"]["details"]["fields"], answer.json
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Task)) == 0


def test_bad_bids_and_edits_are_refused_clearly(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world)
    tid = task["id"]
    refusals = [
        (api["founder"], bid_body(world.team1.id, "-5"), 422),
        (api["founder"], bid_body(world.team1.id, "999999999999"), 422),
        (api["founder"], bid_body(world.team1.id, timeline_days=0), 422),
        (api["founder"], bid_body(world.team1.id, approach="x" * 8001), 422),
        (api["founder"], bid_body(world.team2.id), 403),  # not the founder's team
        (api["outsider"], bid_body(world.pending1.id), 404),  # a team not yet admitted sees no task
    ]
    for who, body, status in refusals:
        answer = who.post(f"/tasks/{tid}/bids", body)
        assert answer.status_code == status, (body, answer.json)
    other_space = (
        api["host2"]
        .post(
            "/tasks",
            task_body(
                world, space_id=world.space2.id, organization_id=world.host2.id, tags=["hplc"], publish=True
            ),
        )
        .json
    )
    assert (
        api["other_founder"].post(f"/tasks/{other_space['id']}/bids", bid_body(world.team2.id)).status_code
        == 403
    )
    assert (
        api["founder"].post(f"/tasks/{other_space['id']}/bids", bid_body(world.team1.id)).status_code == 404
    )
    assert state(db, tid) == ("open", [])

    first = api["founder"].post(f"/tasks/{tid}/bids", bid_body(world.team1.id))
    second = api["member"].post(f"/tasks/{tid}/bids", bid_body(world.team1.id, "1000"))
    assert first.status_code == 201 and second.status_code == 409
    assert second.json["error"]["code"] == "already_exists"
    assert api["other_founder"].patch(f"/bids/{first.json['id']}", {"price_cny": "1"}).status_code == 404
    assert api["founder"].patch(f"/tasks/{tid}", {"title_en": "Mine now"}).status_code == 403
    assert api["host2"].patch(f"/tasks/{tid}", {"title_en": "Mine now"}).status_code == 404
    assert (
        api["host"]
        .patch(f"/tasks/{tid}", {"bid_deadline": (START - timedelta(hours=1)).isoformat()})
        .status_code
        == 422
    )
    assert state(db, tid) == ("open", ["submitted"])


def test_the_database_allows_one_award_on_a_single_award_task(
    api: dict[str, Api], world: World, db: Session
) -> None:
    task = published(api, world)
    one = api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id)).json
    two = api["other_founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team2.id)).json
    fresh(db)
    for bid_id in (one["id"], two["id"]):
        found = db.get(TaskBid, bid_id)
        assert found is not None
        found.sole_award = True
        found.status = BidStatus.AWARDED
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_a_multi_award_task_takes_as_many_awards_as_it_says(
    api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    task = published(api, world, max_awards=2)
    one = api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id)).json
    two = api["other_founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team2.id)).json
    assert api["host"].post(f"/tasks/{task['id']}/award", {"bid_id": one["id"]}).status_code == 200
    assert api["host"].post(f"/tasks/{task['id']}/award", {"bid_id": two["id"]}).status_code == 200
    assert state(db, task["id"]) == ("awarded", ["awarded", "awarded"])


def test_two_awards_at_once_leave_exactly_one(live_server: LiveServer, world: World, db: Session) -> None:
    from tests.web.test_booking_change_race import Call, at_once

    host = api_token(live_server.url, "host@test.example")
    founder = api_token(live_server.url, "founder@test.example")
    other = api_token(live_server.url, "other_founder@test.example")
    deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    delivery = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()

    def post(path: str, token: str, body: dict[str, Any] | None = None) -> Any:
        answer = requests.post(
            f"{live_server.url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=WAIT,
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    for round_ in range(6):
        body = task_body(world, bid_deadline=deadline, delivery_deadline=delivery, publish=True)
        body["title_en"] = f"Race {round_}"
        task = post("/tasks", host, body)
        bids = [
            post(f"/tasks/{task['id']}/bids", founder, bid_body(world.team1.id)),
            post(f"/tasks/{task['id']}/bids", other, bid_body(world.team2.id)),
        ]
        answers = at_once(
            live_server.url,
            [Call("POST", f"/tasks/{task['id']}/award", host, {"bid_id": b["id"]}) for b in bids],
        )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["error"]["code"] == "invalid_transition"
        fresh(db)
        awarded = db.scalars(
            select(TaskBid.id).where(TaskBid.task_id == task["id"], TaskBid.status == BidStatus.AWARDED)
        ).all()
        winner = next(a for a in answers if a.status_code == 200).json()
        assert awarded == [winner["id"]]
        found = db.get(Task, task["id"])
        assert found is not None and found.status is TaskStatus.AWARDED


def test_a_socket_client_sees_the_bid_count_change_when_another_team_bids(
    live_server: LiveServer, world: World
) -> None:
    host = api_token(live_server.url, "host@test.example")
    deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    delivery = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    task = requests.post(
        f"{live_server.url}/api/v1/tasks",
        json=task_body(world, bid_deadline=deadline, delivery_deadline=delivery, publish=True),
        headers={"Authorization": f"Bearer {host}"},
        timeout=WAIT,
    ).json()
    listener = Listener()
    listener.record("task_changed")
    connect_as(listener, live_server.url, "other_founder@test.example")
    try:
        joined = listener.client.call("join", {"room": "task", "id": task["id"]}, timeout=WAIT)
        assert joined["ok"] is True
        answer = requests.post(
            f"{live_server.url}/api/v1/tasks/{task['id']}/bids",
            json=bid_body(world.team1.id),
            headers={"Authorization": f"Bearer {api_token(live_server.url, 'founder@test.example')}"},
            timeout=WAIT,
        )
        assert answer.status_code == 201, answer.text
        event = next(e for e in listener.wait_for("task_changed") if e["action"] == "bid_placed")
        assert event["task"] == {"id": task["id"], "status": "open", "bid_count": 1}  # no amounts
    finally:
        listener.client.disconnect()
    outsider = Listener()
    connect_as(outsider, live_server.url, "other_founder@test.example")
    try:
        hidden = requests.post(
            f"{live_server.url}/api/v1/tasks",
            json=task_body(world, bid_deadline=deadline, delivery_deadline=delivery, visibility="invited"),
            headers={"Authorization": f"Bearer {host}"},
            timeout=WAIT,
        ).json()
        refused = outsider.client.call("join", {"room": "task", "id": hidden["id"]}, timeout=WAIT)
        assert refused["ok"] is False  # the join is checked like the read
    finally:
        outsider.client.disconnect()


def b64(content: bytes) -> str:
    import base64

    return base64.b64encode(content).decode()


def test_attachments_are_bounded_typed_by_their_bytes_and_leave_nothing_on_refusal(
    api: dict[str, Api], world: World, db: Session, client: Client, clock: FakeClock
) -> None:
    from models import TaskAttachment

    task = published(api, world)
    bid = api["founder"].post(f"/tasks/{task['id']}/bids", bid_body(world.team1.id)).json
    pdf = b"%PDF-1.7\n" + b"x" * 2000
    made = api["member"].post(
        f"/bids/{bid['id']}/attachments", {"filename": "方案.pdf", "content_base64": b64(pdf)}
    )
    assert made.status_code == 201, made.json
    assert made.json["media_type"] == "application/pdf" and made.json["size"] == len(pdf)
    refusals = [
        (
            {"filename": "setup.pdf", "content_base64": b64(b"MZ\x90\x00" + b"\x00" * 100)},
            "attachment",
        ),  # an .exe
        ({"filename": "big.pdf", "content_base64": b64(b"%PDF-" + b"0" * (1024 * 1024))}, "attachment"),
        ({"filename": "empty.pdf", "content_base64": ""}, "attachment"),
        ({"filename": "bad.pdf", "content_base64": "!!!"}, "content_base64"),
    ]
    for body, field in refusals:
        answer = api["founder"].post(f"/bids/{bid['id']}/attachments", body)
        assert answer.status_code == 422, answer.json
        assert field in answer.json["error"]["details"]["fields"]
    other = api["other_founder"].post(
        f"/bids/{bid['id']}/attachments", {"filename": "x.pdf", "content_base64": b64(pdf)}
    )
    assert other.status_code == 404
    fresh(db)
    assert db.scalar(select(func.count()).select_from(TaskAttachment)) == 1
    listed = api["host"].get(f"/tasks/{task['id']}/bids").json["items"][0]["attachments"]
    assert [a["filename"] for a in listed] == ["方案.pdf"]

    client.login("host@test.example")
    download = client.get(f"/tasks/attachments/{made.json['id']}")
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Disposition"].startswith("attachment;")
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("other_founder@test.example")
    assert client.get(f"/tasks/attachments/{made.json['id']}").status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})

    clock.advance(8 * 24 * 3600)  # after the bid deadline
    late = api["founder"].post(
        f"/bids/{bid['id']}/attachments", {"filename": "late.pdf", "content_base64": b64(pdf)}
    )
    assert late.status_code == 409, late.json


def test_a_team_sees_its_recommended_open_tasks_with_reasons(
    api: dict[str, Api], world: World, clock: FakeClock
) -> None:
    task = published(api, world)
    hidden = published(api, world, visibility="invited", title_en="Invited only")
    found = api["founder"].get(f"/teams/{world.team1.id}/recommended-tasks")
    assert found.status_code == 200, found.json
    ids = [i["task"]["id"] for i in found.json["items"]]
    assert ids[0] == task["id"] and hidden["id"] not in ids  # only tasks the team may see
    assert found.json["items"][0]["reasons"]
    assert api["other_founder"].get(f"/teams/{world.team1.id}/recommended-tasks").status_code in (403, 404)


@pytest.mark.redis
@needs_redis
def test_on_the_task_queue_a_publication_leaves_its_job_for_the_worker(
    app: Flask, api: dict[str, Api], world: World, db: Session, clock: FakeClock
) -> None:
    from web.jobs.queue import QueueJobs

    layer = jobs.layer(queue_app(app, f"test-{uuid.uuid4().hex[:12]}"))
    assert isinstance(layer, QueueJobs)
    try:
        task = published(api, world)
        key = f"{TELL_FITTING_TEAMS}-{task['id']}"
        queued = layer.queue.fetch_job(layer.job_id(key))
        assert queued is not None and queued.args == (TELL_FITTING_TEAMS, key, {"task_id": task["id"]})
        assert recommended(db, task["id"]) == []  # nobody is told until a worker runs it
        assert layer.perform(*queued.args) == "done"
        assert world.id("founder") in recommended(db, task["id"])
    finally:
        layer.queue.empty()
        layer.stop()


def test_a_job_layer_that_fails_to_enqueue_leaves_the_committed_publication_standing(
    api: dict[str, Api],
    world: World,
    db: Session,
    clock: FakeClock,
    held_jobs: HeldJobs,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unreachable(name: str, key: str | None = None, **kwargs: Any) -> str:
        raise ConnectionError("the queue is away")

    monkeypatch.setattr(held_jobs, "enqueue", unreachable)
    draft = api["host"].post("/tasks", task_body(world)).json
    opened = api["host"].post(f"/tasks/{draft['id']}/publish")
    assert opened.status_code == 200 and opened.json["status"] == "open"
    assert state(db, draft["id"])[0] == "open"
    assert f"could not enqueue {TELL_FITTING_TEAMS}-{draft['id']}" in caplog.text
