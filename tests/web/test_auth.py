"""Accounts: register, log in and out, CSRF, personal access tokens, and the login rate limit."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from models import ApiToken, User
from tests.conftest import PASSWORD, Client, World, app_config, bearer, fresh
from web import create_app


def test_register_hashes_the_password_and_logs_in(client: Client, world: World, db: Session) -> None:
    response = client.form(
        "/register",
        {"email": "New@Example.com", "password": "a long enough pw", "display_name": "New founder"},
    )
    assert response.status_code == 302
    fresh(db)
    user = db.query(User).filter_by(email="new@example.com").one()
    assert user.password_hash.startswith("scrypt$")
    assert "a long enough pw" not in user.password_hash
    assert client.get("/api/v1/users/me").json["email"] == "new@example.com"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"email": "not-an-email", "password": "a long enough pw", "display_name": "X"}, "email"),
        ({"email": "a@b.example", "password": "short", "display_name": "X"}, "password"),
        ({"email": "founder@test.example", "password": "a long enough pw", "display_name": "X"}, "email"),
    ],
)
def test_registration_errors_are_shown_beside_the_field(
    client: Client, world: World, form: dict[str, str], field: str
) -> None:
    response = client.form("/register?lang=en", form)
    assert response.status_code in (409, 422)
    assert f'data-field="{field}"' in response.get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part(client: Client, world: World) -> None:
    wrong = client.form("/login?lang=en", {"email": "founder@test.example", "password": "nope nope nope"})
    unknown = client.form("/login?lang=en", {"email": "ghost@test.example", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 422
    assert "E-mail or password is not correct" in wrong.get_data(as_text=True)
    assert client.get("/api/v1/users/me").status_code == 401


def test_forms_without_a_csrf_token_are_refused(client: Client, world: World) -> None:
    response = client.post("/login", data={"email": "founder@test.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/api/v1/users/me").status_code == 401


def test_api_writes_with_a_session_cookie_need_the_csrf_header(client: Client, world: World) -> None:
    client.login("host@test.example")
    url = f"/api/v1/resources/{world.equipment1.id}"
    assert client.patch(url, json={"name_en": "x"}).status_code == 400
    assert (
        client.patch(url, json={"name_en": "x"}, headers={"X-CSRFToken": client.csrf_token("/")}).status_code
        == 200
    )


def test_the_login_redirect_stays_on_this_site(client: Client, world: World) -> None:
    token = client.csrf_token("/login")
    response = client.post(
        "/login",
        data={
            "email": "founder@test.example",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/home"  # the person's own home, never another site


def test_logout_kills_every_copy_of_the_session_cookie(app: Flask, client: Client, world: World) -> None:
    client.login("founder@test.example")
    stolen = client.get_cookie("session")
    assert stolen is not None
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    assert thief.get("/api/v1/users/me").status_code == 401


def test_tokens_authenticate_api_calls_and_can_be_revoked(client: Client, world: World) -> None:
    created = client.post(
        "/api/v1/tokens", json={"email": "host@test.example", "password": PASSWORD, "name": "LIMS"}
    )
    assert created.status_code == 201
    token = created.json["token"]
    assert token.startswith("mmk_")
    me = client.get("/api/v1/users/me", headers=bearer(token))
    assert me.json["email"] == "host@test.example"
    assert me.json["roles"] == [{"space_id": world.space1.id, "role": "host_staff"}]
    assert "Set-Cookie" not in me.headers  # token calls never start a browser session
    listed = client.get("/api/v1/users/me/tokens", headers=bearer(token)).json["items"]
    assert [t["name"] for t in listed] == ["LIMS"]
    assert "token" not in listed[0]
    assert (
        client.delete(f"/api/v1/users/me/tokens/{listed[0]['id']}", headers=bearer(token)).status_code == 204
    )
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 401


def test_a_made_up_token_is_refused(client: Client, world: World) -> None:
    response = client.get("/api/v1/users/me", headers=bearer("mmk_made-up"))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "not_authenticated"


def test_the_account_page_shows_a_new_token_once_and_never_stores_it(client: Client, world: World) -> None:
    client.login("founder@test.example")
    created = client.form("/account/tokens", {"name": "script"}, token_from="/account")
    assert created.status_code == 201
    assert 'id="new-token">mmk_' in created.get_data(as_text=True)
    assert "new-token" not in client.get("/account").get_data(as_text=True)
    assert "mmk_" not in (client.get_cookie("session").value if client.get_cookie("session") else "")


def test_token_use_is_recorded_even_for_reads(client: Client, world: World, db: Session) -> None:
    token = client.post("/api/v1/tokens", json={"email": "host@test.example", "password": PASSWORD}).json[
        "token"
    ]
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
    fresh(db)
    assert db.query(ApiToken).one().last_used_at is not None


def _limited_app(factory: sessionmaker[Session], storage: str) -> Flask:
    return create_app(
        app_config(LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=storage), session_factory=factory
    )


def _fail_login(app: Flask) -> int:
    app.test_client_class = Client
    c: Client = app.test_client()  # type: ignore[assignment]
    return int(c.form("/login", {"email": "founder@test.example", "password": "wrong password!"}).status_code)


def test_login_is_rate_limited(factory: sessionmaker[Session], world: World) -> None:
    app = _limited_app(factory, "memory://")
    assert [_fail_login(app) for _ in range(4)] == [422, 422, 422, 429]


def test_control_characters_in_a_login_are_a_plain_refusal(client: Client, world: World) -> None:
    # PostgreSQL refuses NUL in text; the lookup must not even be attempted.
    assert (
        client.form("/login", {"email": "founder@test.example\x00", "password": PASSWORD}).status_code == 422
    )


def test_control_characters_in_a_registration_are_refused(client: Client, world: World) -> None:
    response = client.form(
        "/register",
        {"email": "a\x00b@test.example", "password": "a long enough pw", "display_name": "Nul\x00"},
    )
    assert response.status_code == 422
