"""Server-rendered pages: the public directory, both languages, forms that show errors in words."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from models import Resource
from tests.conftest import Client, World


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
    assert "场发射扫描电子显微镜" in client.get(f"/resources/{world.equipment1.id}?lang=zh").get_data(as_text=True)
    assert "Field-emission SEM" in client.get(f"/resources/{world.equipment1.id}?lang=en").get_data(as_text=True)


def test_a_chinese_search_on_the_catalogue_page_finds_the_instrument(client: Client, world: World) -> None:
    page = client.get("/catalogue?q=扫描电镜&lang=zh").get_data(as_text=True)
    assert "场发射扫描电子显微镜" in page
    assert "高效液相色谱仪" not in page


def test_an_english_search_finds_chinese_described_resources_through_the_vocabulary(client: Client, world: World) -> None:
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
    db.expire_all()
    made = db.query(Resource).filter_by(name_en="Parameter analyzer").one()
    assert made.capacity == 2
    assert made.attributes == {"manufacturer": "Keysight", "requires_training": True}
    assert [t.slug for t in made.tags] == ["failure-analysis"]


def test_a_bad_form_is_shown_again_with_the_error_beside_the_field(client: Client, world: World, db: Session) -> None:
    client.login("host@test.example")
    before = db.query(Resource).count()
    response = client.form(
        f"/spaces/{world.space1.id}/resources/new?kind=equipment&lang=en",
        {"organization_id": str(world.host1.id), "category": "testing", "name_zh": "仪器", "name_en": "x" * 300, "capacity": "-2"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="name_en"' in page and 'data-field="capacity"' in page
    assert 'value="仪器"' in page  # what the user typed is kept
    assert db.query(Resource).count() == before


def test_founders_cannot_open_the_add_resource_form(client: Client, world: World) -> None:
    client.login("founder@test.example")
    assert client.get(f"/spaces/{world.space1.id}/resources/new").status_code == 403


def test_pages_that_need_a_login_say_so(client: Client, world: World) -> None:
    response = client.get(f"/teams/{world.team1.id}?lang=en")
    assert response.status_code == 401
    assert "Please log in first" in response.get_data(as_text=True)


def test_the_manager_sees_the_filing_figures(client: Client, world: World) -> None:
    client.login("manager@test.example")
    page = client.get(f"/spaces/{world.space1.id}?lang=en").get_data(as_text=True)
    assert 'data-figure="mentors">1<' in page
    assert 'data-figure="resident_projects">2<' in page  # team1 and team2; the pending application is not resident


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
