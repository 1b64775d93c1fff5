"""What booking tests share: times on the space's wall clock a week or more ahead, API tokens, and a
small JSON client that speaks Bearer auth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from matchmaker.operations import accounts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_week(
    weekday: int, hour: int, minute: int = 0, *, weeks: int = 1, zone: ZoneInfo = SHANGHAI
) -> datetime:
    """``weekday`` (Monday 0) of the week ``weeks`` from now, at a local wall-clock time, in UTC."""
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)
    day: date = monday + timedelta(days=weekday)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


class Api:
    """JSON calls as one user, through the Flask test client."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = self.client.open(
            f"/api/v1{path}", method=method, json=body, headers={**self.headers, **headers}
        )
        return response

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.call("POST", path, body, **headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.call("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def book(self, team_id: int, resource_id: int, start: datetime, end: datetime, **extra: Any) -> Any:
        body = {"team_id": team_id, "resource_id": resource_id, "starts_at": iso(start), "ends_at": iso(end)}
        return self.post("/bookings", {**body, **extra})


def token_for(session: Session, user: Any) -> str:
    _token, secret = accounts.create_token(session, user, "tests")
    session.commit()
    return secret


def post_booking(
    base: str, token: str, team_id: int, resource_id: int, start: datetime, end: datetime
) -> Any:
    """Book through a running server's API, as another system would."""
    return requests.post(
        f"{base}/api/v1/bookings",
        json={"team_id": team_id, "resource_id": resource_id, "starts_at": iso(start), "ends_at": iso(end)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
