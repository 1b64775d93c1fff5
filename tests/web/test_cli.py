"""The command line: thin wrappers that report problems in words, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from web.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return CliRunner()


def test_db_upgrade_creates_the_sqlite_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "matchmaker.sqlite3").exists()


def test_seed_lists_and_loads_a_demo_space(runner: CliRunner) -> None:
    listed = runner.invoke(main, ["seed", "--list"])
    assert "biomedicine" in listed.output and "ic-design" in listed.output
    loaded = runner.invoke(main, ["seed", "biomedicine"])
    assert loaded.exit_code == 0, loaded.output
    assert "generated history" in loaded.output


def test_seed_names_an_unknown_space(runner: CliRunner) -> None:
    result = runner.invoke(main, ["seed", "moon-base"])
    assert result.exit_code == 2
    assert "unknown demo space 'moon-base'" in result.output


def test_user_create_with_a_role(runner: CliRunner) -> None:
    runner.invoke(main, ["seed", "ic-design"])
    boss = [
        "user",
        "create",
        "--email",
        "boss@example.com",
        "--name",
        "Boss",
        "--password",
        "long enough password",
    ]
    created = runner.invoke(main, [*boss, "--role", "manager", "--space", "ic-design"])
    assert created.exit_code == 0, created.output
    again = runner.invoke(main, boss)
    assert again.exit_code == 2
    assert "already exists" in again.output
    weak = runner.invoke(
        main, ["user", "create", "--email", "w@example.com", "--name", "W", "--password", "short"]
    )
    assert weak.exit_code == 2
    assert "Traceback" not in weak.output


def test_evaluate_and_train_on_the_demo_history(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["seed", "ic-design"])
    evaluated = runner.invoke(main, ["evaluate"])
    assert evaluated.exit_code == 0, evaluated.output
    for name in ("trained model", "content-only", "graph-only", "popularity", "random", "cold-start teams"):
        assert name in evaluated.output
    trained = runner.invoke(main, ["train"])
    assert trained.exit_code == 0, trained.output
    assert list((tmp_path / "models").glob("ranker-*.json"))


def test_evaluate_names_what_is_wrong_with_a_data_folder(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "teams.csv").write_text("id,text\nt1,hello\n")
    (folder / "resources.csv").write_text("id,text,tags,kind\nr1,x,a,mentor\n")
    (folder / "interactions.csv").write_text("team,resource,kind\nt1,r1,booking\n")
    result = runner.invoke(main, ["evaluate", "--data", str(folder)])
    assert result.exit_code == 1
    assert "teams.csv" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_the_debugger_on_the_production_server(runner: CliRunner) -> None:
    result = runner.invoke(main, ["serve", "--debug"])
    assert result.exit_code == 2
    assert "--debug needs --dev" in result.output


def test_the_production_server_runs_one_threaded_worker() -> None:
    from web.server import options

    chosen = options("127.0.0.1", 5123)
    assert chosen["bind"] == "127.0.0.1:5123"
    assert chosen["workers"] == 1
    assert chosen["worker_class"] == "gthread"
    assert chosen["threads"] > 1
