"""Task pages in both languages: the host posts from the desk, a team bids from the task page, the host
sees the amounts and awards, the team delivers and the host accepts; a team never sees another's price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BidStatus, Notification, Task, TaskBid, TaskMilestone
from tests.conftest import Client, HeldJobs, World, fresh
from web.jobs.definitions import TELL_FITTING_TEAMS


def post_from_desk(client: Client, world: World, **extra: str) -> int:
    client.login("host@test.example")
    deadline = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "organization_id": str(world.host1.id),
        "title_zh": "封装热仿真",
        "title_en": "Package thermal simulation",
        "description_zh": "仿真并给出散热方案",
        "description_en": "Simulate and propose cooling",
        "tags": ["machine-vision"],
        "reward_min_cny": "10000",
        "reward_max_cny": "30000",
        "bid_deadline": deadline,
        "delivery_deadline": (datetime.now(UTC) + timedelta(days=40)).date().isoformat(),
        "ip_terms": "shared",
        "visibility": "residents",
        "max_awards": "1",
        "publish": "on",
        **extra,
    }
    made = client.form("/tasks/desk", form)
    assert made.status_code == 302, made.get_data(as_text=True)[:2000]
    return int(made.headers["Location"].rsplit("/", 1)[1])


def logout(client: Client) -> None:
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})


def test_post_bid_award_deliver_accept_from_the_pages(client: Client, world: World, db: Session) -> None:
    task_id = post_from_desk(client, world)
    desk = client.get("/tasks/desk?lang=zh").get_data(as_text=True)
    assert "封装热仿真" in desk and "招标中" in desk
    logout(client)

    client.login("founder@test.example")
    page = client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True)
    assert "Package thermal simulation" in page and "Place the bid" in page
    bid = {
        "team_id": str(world.team1.id),
        "approach": "有限元仿真",
        "price_cny": "25000",
        "timeline_days": "20",
    }
    placed = client.form(f"/tasks/{task_id}/bid", bid, token_from=f"/tasks/{task_id}")
    assert placed.status_code == 302, placed.get_data(as_text=True)[:500]
    again = client.form(f"/tasks/{task_id}/bid", bid, token_from=f"/tasks/{task_id}")
    assert again.status_code == 409  # shown beside the page, nothing written
    board = client.get("/tasks?lang=zh&tag=machine-vision").get_data(as_text=True)
    assert "封装热仿真" in board
    bids_page = client.get("/tasks/my-bids?lang=zh").get_data(as_text=True)
    assert "封装热仿真" in bids_page and "已提交" in bids_page and "¥25,000" in bids_page
    logout(client)

    client.login("other_founder@test.example")
    seen = client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True)
    assert 'id="bid-count" data-bid-count>1<' in seen and "25,000" not in seen  # amounts: the host's only
    logout(client)

    client.login("host@test.example")
    hosted = client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True)
    assert "¥25,000" in hosted
    fresh(db)
    bid_id = db.scalar(select(TaskBid.id).where(TaskBid.task_id == task_id))
    awarded = client.form(f"/tasks/{task_id}/award", {"bid_id": str(bid_id)}, token_from=f"/tasks/{task_id}")
    assert awarded.status_code == 302
    logout(client)

    client.login("member@test.example")
    fresh(db)
    milestone = db.scalar(select(TaskMilestone).where(TaskMilestone.task_id == task_id))
    assert milestone is not None
    delivered = client.form(
        f"/tasks/{task_id}/deliver",
        {"milestone_id": str(milestone.id), "note": "报告"},
        token_from=f"/tasks/{task_id}",
    )
    assert delivered.status_code == 302
    logout(client)

    client.login("host@test.example")
    client.form(
        f"/tasks/{task_id}/accept", {"milestone_id": str(milestone.id)}, token_from=f"/tasks/{task_id}"
    )
    fresh(db)
    task = db.get(Task, task_id)
    assert task is not None and task.status.value == "completed"
    assert db.scalar(select(TaskBid.status).where(TaskBid.id == bid_id)) is BidStatus.AWARDED
    assert "Ratings" in client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True)


def test_a_bad_task_form_is_refused_beside_the_form(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    answer = client.form(
        "/tasks/desk",
        {"organization_id": str(world.host1.id), "title_zh": "x", "title_en": "x", "reward_min_cny": "-3"},
    )
    assert answer.status_code == 422
    assert 'id="form-error"' in answer.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Task.id)) is None
    logout(client)
    client.login("founder@test.example")
    assert client.get("/tasks/desk").status_code == 403


def test_a_confidential_task_page_asks_for_the_terms_first(client: Client, world: World, db: Session) -> None:
    task_id = post_from_desk(client, world, confidential="on", confidentiality_terms="保密 NDA")
    logout(client)
    client.login("founder@test.example")
    page = client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True)
    assert "保密 NDA" in page and "仿真并给出散热方案" not in page and "Place the bid" not in page
    client.form(f"/tasks/{task_id}/terms", {"team_id": str(world.team1.id)}, token_from=f"/tasks/{task_id}")
    page = client.get(f"/tasks/{task_id}?lang=zh").get_data(as_text=True)
    assert "仿真并给出散热方案" in page


def test_a_bid_with_a_wrongly_typed_file_is_refused_whole(client: Client, world: World, db: Session) -> None:
    import io

    task_id = post_from_desk(client, world)
    logout(client)
    client.login("founder@test.example")
    bid = {"team_id": str(world.team1.id), "approach": "方案", "price_cny": "20000", "timeline_days": "20"}
    disguised = (io.BytesIO(b"MZ\x90\x00not a pdf"), "报价.pdf")
    refused = client.form(
        f"/tasks/{task_id}/bid", {**bid, "attachment": disguised}, token_from=f"/tasks/{task_id}"
    )
    assert refused.status_code == 422 and 'id="form-error"' in refused.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(TaskBid.id)) is None  # neither the bid nor the file
    photo = (io.BytesIO(b"\xff\xd8\xff\xe0" + b"0" * 500), "样品.jpg")
    placed = client.form(
        f"/tasks/{task_id}/bid", {**bid, "attachment": photo}, token_from=f"/tasks/{task_id}"
    )
    assert placed.status_code == 302
    assert "样品.jpg" in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_a_task_published_from_the_desk_tells_the_fitting_teams_once_its_job_runs(
    client: Client, world: World, db: Session, held_jobs: HeldJobs
) -> None:
    def told() -> list[int]:
        fresh(db)
        query = select(Notification.user_id).where(
            Notification.kind == "task_recommended", Notification.subject == f"task:{task_id}"
        )
        return list(db.scalars(query))

    task_id = post_from_desk(client, world)
    assert held_jobs.names() == [TELL_FITTING_TEAMS]
    assert told() == []  # the host's page answered before anyone was ranked or told
    assert held_jobs.run_held() == ["done"]
    assert world.id("founder") in told()
