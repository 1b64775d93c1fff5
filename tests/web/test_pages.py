"""Server-rendered pages: the public directory, both languages, forms that show errors in words."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from models import Resource, Team
from tests.conftest import Client, World, fresh


def test_the_public_directory_needs_no_login_and_lists_equipment_only(client: Client, world: World) -> None:
    response = client.get("/directory?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for expected in ("Field-emission SEM", "HPLC system", "Imaging", "Test centre", "¥400"):
        assert expected in page
    assert "Seed fund" not in page  # funds and mentors are not equipment
    assert "Service content" in page and "Service unit" in page


def test_the_directory_api_is_public_too(client: Client, world: World) -> None:
    items = client.get(f"/api/v1/directory?space_id={world.space1.id}").json["items"]
    assert [i["name_en"] for i in items] == ["Field-emission SEM"]
    assert items[0]["service_content_zh"] == "形貌观察"
    assert items[0]["price_cny"] == 400.0


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh", ["资源目录", "设备目录", "登录"]), ("en", ["Catalogue", "Equipment directory", "Log in"])],
)
def test_pages_speak_both_languages(client: Client, world: World, lang: str, words: list[str]) -> None:
    page = client.get(f"/catalogue?lang={lang}").get_data(as_text=True)
    for word in words:
        assert word in page


def test_the_language_follows_the_browser_until_switched(client: Client, world: World) -> None:
    assert "资源目录" in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Catalogue" in client.get("/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Catalogue" in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_bilingual_fields_follow_the_language(client: Client, world: World) -> None:
    assert "场发射扫描电子显微镜" in client.get(f"/resources/{world.equipment1.id}?lang=zh").get_data(
        as_text=True
    )
    assert "Field-emission SEM" in client.get(f"/resources/{world.equipment1.id}?lang=en").get_data(
        as_text=True
    )


def test_a_chinese_search_on_the_catalogue_page_finds_the_instrument(client: Client, world: World) -> None:
    page = client.get("/catalogue?q=扫描电镜&lang=zh").get_data(as_text=True)
    assert "场发射扫描电子显微镜" in page
    assert "高效液相色谱仪" not in page


def test_an_english_search_finds_chinese_described_resources_through_the_vocabulary(
    client: Client, world: World
) -> None:
    result = client.get("/api/v1/resources?q=machine vision").json
    assert result["matched_tags"] == ["machine-vision"]
    assert [i["name_en"] for i in result["items"]] == ["Li · machine vision mentor"]


def test_the_catalogue_filters_by_kind_tag_space_and_price(client: Client, world: World) -> None:
    def names(query: str) -> list[str]:
        return sorted(i["name_en"] for i in client.get(f"/api/v1/resources?{query}").json["items"])

    assert names("kind=mentor") == ["Li · machine vision mentor"]
    assert names("tag=hplc") == ["HPLC system"]
    assert names(f"space_id={world.space2.id}") == ["HPLC system"]
    assert names("kind=equipment&price_max=300") == ["HPLC system"]
    assert names("kind=equipment&kind=fund") == ["Field-emission SEM", "HPLC system", "Seed fund"]


def test_host_staff_add_equipment_through_the_form(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    url = f"/spaces/{world.space1.id}/resources/new?kind=equipment"
    response = client.form(
        url,
        {
            "organization_id": str(world.host1.id),
            "category": "testing",
            "name_zh": "半导体参数分析仪",
            "name_en": "Parameter analyzer",
            "price_cny": "300",
            "price_unit": "hour",
            "capacity": "2",
            "attr.manufacturer": "Keysight",
            "attr.requires_training": "on",
            "tags": ["failure-analysis"],
        },
    )
    assert response.status_code == 302
    fresh(db)
    made = db.query(Resource).filter_by(name_en="Parameter analyzer").one()
    assert made.capacity == 2
    assert made.attributes == {"manufacturer": "Keysight", "requires_training": True}
    assert [t.slug for t in made.tags] == ["failure-analysis"]


def test_a_bad_form_is_shown_again_with_the_error_beside_the_field(
    client: Client, world: World, db: Session
) -> None:
    client.login("host@test.example")
    before = db.query(Resource).count()
    response = client.form(
        f"/spaces/{world.space1.id}/resources/new?kind=equipment&lang=en",
        {
            "organization_id": str(world.host1.id),
            "category": "testing",
            "name_zh": "仪器",
            "name_en": "x" * 300,
            "capacity": "-2",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="name_en"' in page and 'data-field="capacity"' in page
    assert 'value="仪器"' in page  # what the user typed is kept
    assert db.query(Resource).count() == before


def test_founders_cannot_open_the_add_resource_form(client: Client, world: World) -> None:
    client.login("founder@test.example")
    assert client.get(f"/spaces/{world.space1.id}/resources/new").status_code == 403


def test_a_page_that_needs_a_login_sends_a_person_to_log_in(client: Client, world: World) -> None:
    response = client.get(f"/teams/{world.team1.id}?lang=en")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert f"/teams/{world.team1.id}" in response.headers["Location"]


def test_the_manager_sees_the_filing_figures(client: Client, world: World) -> None:
    client.login("manager@test.example")
    page = client.get(f"/spaces/{world.space1.id}?lang=en").get_data(as_text=True)
    assert 'data-figure="mentors">1<' in page
    assert (
        'data-figure="resident_projects">2<' in page
    )  # team1 and team2; the pending application is not resident


def test_an_unexpected_error_shows_a_request_id_not_a_traceback(app: Flask, world: World) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom?lang=en", headers={"X-Request-ID": "abcdef123456"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "abcdef123456" in page
    assert "secret internals" not in page


def test_the_manager_edits_the_space_profile_through_the_form(
    client: Client, world: World, db: Session
) -> None:
    client.login("manager@test.example")
    page = client.get(f"/spaces/{world.space1.id}/edit?lang=en")
    assert page.status_code == 200
    response = client.form(
        f"/spaces/{world.space1.id}/edit",
        {
            "name_zh": "集成电路专业化众创空间",
            "name_en": "IC space",
            "niche_zh": "集成电路",
            "niche_en": "IC",
            "events_held": "14",
            "has_exit_conditions": "on",
        },
    )
    assert response.status_code == 302
    fresh(db)
    assert (world.space1.events_held, world.space1.has_exit_conditions) == (14, True)
    wrong = client.form(
        f"/spaces/{world.space1.id}/edit?lang=en",
        {"name_zh": "集成电路空间", "name_en": "IC", "niche_zh": "x", "niche_en": "x"},
    )
    assert wrong.status_code == 422
    assert 'data-field="name_zh"' in wrong.get_data(as_text=True)


def test_the_lead_adds_and_removes_members_on_the_team_page(
    client: Client, world: World, db: Session
) -> None:
    client.login("founder@test.example")
    team_page = f"/teams/{world.team1.id}"
    added = client.form(
        f"/teams/{world.team1.id}/members",
        {"email": "outsider@test.example", "role": "member"},
        token_from=team_page,
    )
    assert added.status_code == 302
    assert "Outsider" in client.get(team_page).get_data(as_text=True)
    removed = client.form(
        f"/teams/{world.team1.id}/members/{world.id('outsider')}/remove", {}, token_from=team_page
    )
    assert removed.status_code == 302
    fresh(db)
    assert {m.user.display_name for m in world.team1.members} == {"Founder", "Member"}


def test_host_staff_retire_equipment_from_its_page(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    page = f"/resources/{world.equipment1.id}"
    assert client.form(f"{page}/retire", {"reason": ""}, token_from=page).status_code == 302
    fresh(db)
    assert not world.equipment1.is_retired  # an empty reason is refused
    assert client.form(f"{page}/retire", {"reason": "Sent for repair"}, token_from=page).status_code == 302
    fresh(db)
    assert world.equipment1.retired_reason == "Sent for repair"


def test_host_staff_edit_equipment_through_the_form(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    url = f"/resources/{world.equipment1.id}/edit"
    assert client.get(url).status_code == 200
    response = client.form(
        url,
        {
            "category": "testing",
            "name_zh": "扫描电镜",
            "name_en": "SEM",
            "price_cny": "350",
            "price_unit": "hour",
            "capacity": "1",
            "tags": ["sem-imaging"],
        },
    )
    assert response.status_code == 302
    fresh(db)
    assert (
        world.equipment1.name_en,
        float(world.equipment1.price_cny),
        [t.slug for t in world.equipment1.tags],
    ) == ("SEM", 350.0, ["sem-imaging"])


def test_a_founder_applies_with_a_team_through_the_form(client: Client, world: World, db: Session) -> None:
    client.login("outsider@test.example")
    url = f"/spaces/{world.space2.id}/apply"
    assert "入驻标准" in client.get(url + "?lang=zh").get_data(as_text=True)
    response = client.form(
        url,
        {
            "name_zh": "类器官芯片",
            "name_en": "Organ on chip",
            "stage": "nursery",
            "needs_en": "Confocal time",
            "funding_ask_10k_cny": "300",
            "round_sought": "seed",
        },
    )
    assert response.status_code == 302
    fresh(db)
    team = db.query(Team).filter_by(name_en="Organ on chip").one()
    assert (team.admission_status.value, team.round_sought, float(team.funding_ask_10k_cny)) == (
        "pending",
        "seed",
        300.0,
    )


def test_every_page_a_role_reaches_renders(client: Client, world: World) -> None:
    client.login("admin@test.example")
    for url in (
        "/",
        "/account",
        f"/spaces/{world.space1.id}",
        f"/spaces/{world.space1.id}/review",
        f"/teams/{world.pending1.id}/review",
        f"/teams/{world.team1.id}/edit",
        f"/spaces/{world.space1.id}/resources/new?kind=fund",
        f"/spaces/{world.space1.id}/resources/new?kind=mentor",
        f"/spaces/{world.space1.id}/resources/new?kind=workspace",
        f"/spaces/{world.space1.id}/resources/new?kind=service",
        f"/resources/{world.fund1.id}",
        f"/resources/{world.mentor1.id}/edit",
    ):
        for lang in ("zh", "en"):
            assert client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}").status_code == 200, url


def test_checkboxes_and_emptied_fields_can_be_cleared(client: Client, world: World, db: Session) -> None:
    client.login("manager@test.example")
    base = {
        "name_zh": "集成电路专业化众创空间",
        "name_en": "IC space",
        "niche_zh": "集成电路",
        "niche_en": "IC",
    }
    client.form(f"/spaces/{world.space1.id}/edit", {**base, "has_entry_standards": "on"})
    client.form(f"/spaces/{world.space1.id}/edit", base)  # the box left unticked
    fresh(db)
    assert world.space1.has_entry_standards is False
    client.form("/logout", {}, token_from="/")
    client.login("host@test.example")
    url = f"/resources/{world.equipment1.id}/edit"
    response = client.form(
        url,
        {
            "category": "testing",
            "name_zh": "扫描电镜",
            "name_en": "SEM",
            "price_cny": "",
            "price_unit": "free",
            "capacity": "1",
        },
    )
    assert response.status_code == 302
    fresh(db)
    assert (world.equipment1.price_cny, world.equipment1.price_unit) == (None, "free")


def test_field_errors_are_worded_in_the_page_language(client: Client, world: World) -> None:
    client.login("host@test.example")
    url = f"/spaces/{world.space1.id}/resources/new?kind=equipment"
    form = {
        "organization_id": str(world.host1.id),
        "category": "testing",
        "name_zh": "仪器",
        "name_en": "x" * 300,
        "capacity": "abc",
    }
    zh = client.form(url + "&lang=zh", form).get_data(as_text=True)
    en = client.form(url + "&lang=en", form).get_data(as_text=True)
    assert "Too long." in en and "Enter a number." in en
    assert "Too long." not in zh and "Enter a number." not in zh
