"""Catalogue search through the API and the page: the kind filter, an over-long query refused in
words, and the judged query set that the precision benchmark reads."""

from __future__ import annotations

import json
from pathlib import Path

from seeds.schema import load_space_file, load_vocabulary, space_files
from tests.conftest import Client, World

JUDGMENTS = Path(__file__).resolve().parents[1] / "search" / "judgments.json"


def test_the_kind_filter_keeps_only_that_kind_in_the_api_and_on_the_page(
    client: Client, world: World
) -> None:
    everything = client.get("/api/v1/resources?q=machine vision").json["items"]
    assert {i["kind"] for i in everything} >= {"mentor"}
    equipment = client.get("/api/v1/resources?q=machine vision&kind=equipment").json["items"]
    assert all(i["kind"] == "equipment" for i in equipment)
    page = client.get("/catalogue?lang=en&q=machine+vision&kind=mentor").get_data(as_text=True)
    assert "Li · machine vision mentor" in page
    assert "Field-emission SEM" not in page


def test_a_query_of_two_thousand_characters_is_refused_with_a_message(client: Client, world: World) -> None:
    long = "示波器" * 700
    answer = client.get(f"/api/v1/resources?q={long}")
    assert answer.status_code == 422
    assert "q" in json.dumps(answer.json["error"])
    page = client.get(f"/catalogue?lang=en&q={long}")
    assert page.status_code == 422
    assert "200" in page.get_data(as_text=True)  # says how long a query may be


def test_the_judged_queries_name_demo_resources_in_both_languages() -> None:
    judged = json.loads(JUDGMENTS.read_text(encoding="utf-8"))["queries"]
    vocabulary = load_vocabulary()
    keys = {r.key for path in space_files() for r in load_space_file(path, vocabulary).resources}
    assert len(judged) == 40
    assert {q["lang"] for q in judged} == {"en", "zh"}
    assert sum(q["lang"] == "zh" for q in judged) == 20
    for item in judged:
        assert item["relevant"], item["q"]
        assert set(item["relevant"]) <= keys, item["q"]
