"""The cockpit pages: the figures, the charts' data as CSV and the filing workbook, for managers only."""

from __future__ import annotations

import csv
import io

import openpyxl

from tests.conftest import Client, World
from tests.web.test_cockpit_api import WEEK, fixture  # noqa: F401  (the hand-computed week)


def test_the_cockpit_shows_the_figures_charts_and_suggestions(client: Client, fixture: World) -> None:  # noqa: F811
    client.login("manager@test.example")
    page = client.get(f"/spaces/{fixture.space1.id}/cockpit?{WEEK}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-figure="utilization">4.1%' in html  # 7.5 of 181 hours
    assert 'data-live-room="managers:' in html
    for chart in ("daily", "heatmap", "funnel", "resources"):
        assert f'id="chart-{chart}"' in html
    assert 'data-tag="machine-vision"' in html
    fragment = client.get(f"/spaces/{fixture.space1.id}/cockpit/figures?{WEEK}").get_data(as_text=True)
    assert 'data-figure="booked_hours">7.5<' in fragment


def test_each_chart_downloads_its_data_as_csv(client: Client, fixture: World) -> None:  # noqa: F811
    client.login("manager@test.example")
    answer = client.get(f"/spaces/{fixture.space1.id}/cockpit/daily.csv?{WEEK}")
    assert answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["day", "booked_hours"]
    assert rows[1] == ["2026-03-23", "3.0"]
    assert len(rows) == 8
    heat = list(
        csv.reader(
            io.StringIO(
                client.get(f"/spaces/{fixture.space1.id}/cockpit/heatmap.csv?{WEEK}")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert heat[1][0] == "Mon" and heat[1][1 + 13] == "1"
    for chart in ("funnel", "resources"):
        assert client.get(f"/spaces/{fixture.space1.id}/cockpit/{chart}.csv?{WEEK}").status_code == 200


def test_the_filing_workbook_downloads_for_managers_only(client: Client, world: World) -> None:
    client.login("founder@test.example")
    assert client.get(f"/spaces/{world.space1.id}/filing.xlsx").status_code == 403
    assert client.get(f"/spaces/{world.space1.id}/cockpit").status_code == 403
    client.login("manager@test.example")
    answer = client.get(f"/spaces/{world.space1.id}/filing.xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.get_data()))
    assert book["基础信息表"]["A2"].value == "众创空间名称"


def test_a_bad_period_on_the_page_is_a_clear_error_not_a_crash(client: Client, world: World) -> None:
    client.login("manager@test.example")
    answer = client.get(f"/spaces/{world.space1.id}/cockpit?start=2026-03-29&end=2026-03-01")
    assert answer.status_code == 422
