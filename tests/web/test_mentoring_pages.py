"""The mentoring pages: a refused ask shows why beside the form and writes nothing; the team page's
recommendations start a request or an introduction; a host-run fund says so before the team sends."""

from __future__ import annotations

import io

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Introduction, MentorRequest, Organization
from tests.conftest import Client, World, fresh


def test_an_ask_beyond_the_mentors_month_is_refused_beside_the_form(
    client: Client, world: World, db: Session
) -> None:
    client.login("founder@test.example")
    path = f"/mentoring/ask?team={world.team1.id}&mentor={world.mentor1.id}&lang=zh"
    page = client.get(path).get_data(as_text=True)
    assert "本月 8 小时中尚余 8 小时" in page
    refused = client.form(
        "/mentoring/ask?lang=zh",
        {"team": world.team1.id, "mentor": world.mentor1.id, "topic": "评审", "hours": "9"},
        token_from=path,
    )
    assert refused.status_code == 409
    assert "该导师本月仅剩 8 小时" in refused.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(func.count(MentorRequest.id))) == 0
    sent = client.form(
        "/mentoring/ask",
        {"team": world.team1.id, "mentor": world.mentor1.id, "topic": "评审", "hours": "2"},
        token_from=path,
    )
    assert sent.status_code == 302
    mine = client.get("/mentoring?lang=en").get_data(as_text=True)
    assert "waiting for the mentor" in mine


def test_the_team_pages_recommendations_offer_a_request_and_an_introduction(
    client: Client, world: World
) -> None:
    client.login("founder@test.example")
    page = client.get(f"/teams/{world.team1.id}?lang=zh").get_data(as_text=True)
    assert f"/mentoring/ask?team={world.team1.id}&amp;mentor={world.mentor1.id}" in page
    assert "申请辅导" in page


def test_a_host_run_fund_says_so_and_a_bad_deck_sends_nothing(
    client: Client, world: World, db: Session
) -> None:
    db.execute(update(Organization).where(Organization.id == world.investors1.id).values(is_host=True))
    db.commit()
    client.login("founder@test.example")
    path = f"/introductions/ask?team={world.team1.id}&fund={world.fund1.id}&lang=zh"
    assert "该基金由本空间的建设主体运营" in client.get(path).get_data(as_text=True)
    refused = client.post(
        "/introductions/ask?lang=zh",
        data={
            "csrf_token": client.csrf_token(path),
            "team": str(world.team1.id),
            "fund": str(world.fund1.id),
            "pitch": "芯片",
            "amount": "100",
            "round": "seed",
            "deck": (io.BytesIO(b"GIF89a not a pdf"), "deck.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "路演材料须为 PDF 文件" in refused.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(func.count(Introduction.id))) == 0  # the pitch went back with the deck


def test_a_mentor_proposes_a_time_on_the_page_and_the_team_takes_it(
    client: Client, world: World, db: Session
) -> None:
    from tests.web.booking_support import SHANGHAI, next_week

    client.login("founder@test.example")
    client.form(
        "/mentoring/ask",
        {"team": world.team1.id, "mentor": world.mentor1.id, "topic": "评审", "hours": "1"},
        token_from=f"/mentoring/ask?team={world.team1.id}&mentor={world.mentor1.id}",
    )
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("mentor@test.example")
    fresh(db)
    request_id = db.scalar(select(MentorRequest.id))
    start = next_week(2, 15).astimezone(SHANGHAI)
    proposed = client.form(
        f"/mentoring/requests/{request_id}/propose",
        {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "minutes": "60"},
        token_from="/mentoring",
    )
    assert proposed.status_code == 302
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("founder@test.example")
    page = client.get("/mentoring?lang=zh").get_data(as_text=True)
    assert "导师已提议时间" in page and start.strftime("%Y-%m-%d %H:%M") in page
    fresh(db)
    offered = db.get_one(MentorRequest, request_id).proposed_times[0]["starts_at"]
    taken = client.form(
        f"/mentoring/requests/{request_id}/accept", {"starts_at": offered}, token_from="/mentoring"
    )
    assert taken.status_code == 302
    fresh(db)
    assert db.get_one(MentorRequest, request_id).status.value == "accepted"
