"""What tests against a running server do again and again: log in through the form, get a token,
add a piece of equipment."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.conftest import PASSWORD

WAIT = 10  # seconds a test waits for an answer or an event before it fails; never a sleep


class Visitor:
    """A browser-like HTTP session: logs in and out through the real forms, CSRF token included."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def csrf(self, path: str = "/") -> str:
        page = self.http.get(f"{self.base}{path}", timeout=WAIT).text
        return page.split('name="csrf-token" content="')[1].split('"')[0]

    def login(self, email: str) -> Visitor:
        form = {"email": email, "password": PASSWORD, "csrf_token": self.csrf("/login")}
        response = self.http.post(f"{self.base}/login", data=form, allow_redirects=False, timeout=WAIT)
        assert response.status_code == 302, response.text[:300]
        return self

    def logout(self) -> None:
        self.http.post(
            f"{self.base}/logout", data={"csrf_token": self.csrf()}, allow_redirects=False, timeout=WAIT
        )

    @property
    def cookie(self) -> str:
        return f"session={self.http.cookies['session']}"


def api_token(base: str, email: str) -> str:
    response = requests.post(
        f"{base}/api/v1/tokens", json={"email": email, "password": PASSWORD, "name": "t"}, timeout=WAIT
    )
    assert response.status_code == 201, response.text[:300]
    return str(response.json()["token"])


def add_equipment(base: str, token: str, world: Any, name_zh: str, name_en: str) -> requests.Response:
    """Host staff add an instrument to space 1 through the API."""
    return requests.post(
        f"{base}/api/v1/resources",
        json={
            "space_id": world.space1.id,
            "organization_id": world.host1.id,
            "kind": "equipment",
            "category": "testing",
            "name_zh": name_zh,
            "name_en": name_en,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=WAIT,
    )


def poll_page(page: Any, expression: str, limit: float = WAIT) -> bool:
    """Evaluate ``expression`` in the page until it is true or ``limit`` passes. Playwright's own
    ``wait_for_function`` compiles its predicate with eval when it has to poll, which the platform's
    Content-Security-Policy forbids."""
    deadline = time.monotonic() + limit
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(50)
    return True


def require_approval(base: str, world: Any) -> None:
    """The host makes space 1's SEM need their approval for every booking."""
    answer = requests.patch(
        f"{base}/api/v1/resources/{world.equipment1.id}/availability",
        json={"requires_approval": True},
        headers={"Authorization": f"Bearer {api_token(base, 'host@test.example')}"},
        timeout=WAIT,
    )
    assert answer.status_code == 200, answer.text[:300]
