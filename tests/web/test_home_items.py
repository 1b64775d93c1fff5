"""Each role's home lists the mentoring, investing and task work that waits for that person, and only
theirs: a mentor's open requests, the times proposed to a team, an investor's introductions, a host's
delivered milestones and a team's milestones still owed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from models import (
    BidStatus,
    Introduction,
    IntroductionStatus,
    MentorRequest,
    MentorRequestStatus,
    MilestoneStatus,
    TaskBid,
    TaskMilestone,
    TaskStatus,
)
from seeds import builders
from tests.conftest import Client, World


def _home(client: Client, who: str) -> str:
    client.login(f"{who}@test.example")
    page = client.get("/home?lang=en").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.csrf_token("/home")})
    return page


def test_each_person_sees_the_mentoring_investing_and_task_work_that_waits_for_them(
    client: Client, db: Session, world: World
) -> None:
    founder = world.users["founder"]
    # One open request per team and mentor: the other team asks, this one was offered times.
    for team, who, topic, status in (
        (world.team2, world.users["other_founder"], "Wafer probe advice", MentorRequestStatus.PENDING),
        (world.team1, founder, "Packaging review", MentorRequestStatus.PROPOSED),
    ):
        db.add(
            MentorRequest(
                space_id=world.space1.id,
                team_id=team.id,
                mentor_id=world.mentor1.id,
                requested_by_id=who.id,
                topic=topic,
                hours=2,
                status=status,
            )
        )
    db.add(
        Introduction(
            space_id=world.space1.id,
            team_id=world.team1.id,
            fund_id=world.fund1.id,
            requested_by_id=founder.id,
            pitch="We test wafers faster",
            amount_sought_10k_cny=Decimal(300),
            round_sought="angel",
            status=IntroductionStatus.REQUESTED,
        )
    )
    task = builders.get_or_create_task(
        db, world.space1, world.host1, "probe-jig", title_zh="探针治具", title_en="Probe jig",
        status=TaskStatus.IN_DELIVERY,
    )  # fmt: skip
    bid = TaskBid(
        task_id=task.id,
        team_id=world.team1.id,
        submitted_by_id=founder.id,
        approach="a jig",
        price_cny=Decimal(5000),
        timeline_days=20,
        status=BidStatus.AWARDED,
    )
    db.add(bid)
    db.flush()
    for position, title, status in ((1, "Design review", MilestoneStatus.DELIVERED),
                                    (2, "First article", MilestoneStatus.PENDING)):  # fmt: skip
        db.add(
            TaskMilestone(
                task_id=task.id,
                bid_id=bid.id,
                position=position,
                title=title,
                due_on=date(2030, 1, position),
                amount_cny=Decimal(2500),
                status=status,
            )
        )
    db.commit()

    mentor = _home(client, "mentor")
    assert "Mentor requests to answer" in mentor and "Wafer probe advice" in mentor
    assert "Packaging review" not in mentor  # already answered with times: the team's move now

    founder_home = _home(client, "founder")
    assert "Times a mentor proposed to your team" in founder_home and "Packaging review" in founder_home
    assert "Task milestones your team owes" in founder_home and "First article" in founder_home
    assert "Wafer probe advice" not in founder_home and "Design review" not in founder_home

    investor = _home(client, "investor")
    assert "Introductions waiting for your answer" in investor and world.team1.name_en in investor

    host = _home(client, "host")
    assert "Task milestones to review" in host and "Design review" in host
    assert "First article" not in host

    other = _home(client, "other_founder")
    for text in ("Wafer probe advice", "Packaging review", "First article", "Design review"):
        assert text not in other
