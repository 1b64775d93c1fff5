"""The start-up warning when the database stack runs its pure-Python stand-ins."""

from __future__ import annotations

import logging

import psycopg
import pytest

from models.database import make_engine, slow_driver_paths


def test_the_installed_stack_is_the_compiled_one() -> None:
    assert slow_driver_paths() == []


def test_a_postgresql_engine_warns_when_psycopg_runs_pure_python(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(psycopg.pq, "__impl__", "python")
    with caplog.at_level(logging.WARNING, logger="models.database"):
        engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    engine.dispose()
    assert any("pure-Python libpq wrapper" in r.getMessage() for r in caplog.records)


def test_a_sqlite_engine_says_nothing_about_psycopg(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(psycopg.pq, "__impl__", "python")
    with caplog.at_level(logging.WARNING, logger="models.database"):
        make_engine("sqlite://").dispose()
    assert caplog.records == []
