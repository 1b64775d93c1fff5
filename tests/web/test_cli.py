"""The command line: thin wrappers that report problems in words, never tracebacks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from matchmaker import offline
from matchmaker.datasets import Dataset
from matchmaker.evaluation import Report
from matchmaker.offline import Comparison, Loss
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


@pytest.mark.slow  # loads a whole demo space
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


@pytest.mark.slow  # trains on a whole demo space's history
def test_evaluate_and_train_on_the_demo_history(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["seed", "ic-design"])
    evaluated = runner.invoke(main, ["evaluate"])
    assert evaluated.exit_code == 0, evaluated.output
    for name in (
        "served (",
        "trained model",
        "content-only",
        "graph-only",
        "popularity",
        "recent popularity (30 days)",
        "item neighbours",
        "random",
        "warm teams",
        "cold teams",
    ):
        assert name in evaluated.output
    trained = runner.invoke(main, ["train"])
    assert trained.exit_code == 0, trained.output
    assert "warm teams served by" in trained.output and "cold teams served by" in trained.output
    saved = list((tmp_path / "models").glob("ranker-*.json"))
    assert saved and '"selection"' in saved[0].read_text()


def losing(losses: tuple[Loss, ...]) -> Comparison:
    report = Report(0.1, 0.1, 0.1, 0.5, 0.2, 3, 0)
    return Comparison(
        groups={g: {"served": report, "popularity": report} for g in ("warm", "cold")},
        served={"warm": "trained model", "cold": "popularity"},
        validation={"warm": {}, "cold": {}},
        teams={"warm": 3, "cold": 3},
        events=(30, 10),
        losses=losses,
    )


@pytest.mark.parametrize(
    ("losses", "strict", "code", "warned"),
    [
        ((), True, 0, False),
        ((Loss("warm", "popularity", 0.01, False),), True, 0, False),
        ((Loss("cold", "popularity", 0.2, True),), False, 0, True),
        ((Loss("cold", "popularity", 0.2, True),), True, 1, True),
    ],
)
def test_evaluate_warns_of_a_loss_and_fails_on_it_when_strict(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    losses: tuple[Loss, ...],
    strict: bool,
    code: int,
    warned: bool,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "teams.csv").write_text("id,text,tags\nt1,a,\nt2,b,\n")
    (folder / "resources.csv").write_text("id,text,tags,kind\nr1,x,a,equipment\nr2,y,b,equipment\n")
    rows = "".join(f"t{1 + i % 2},r{1 + i % 2},2026-03-{1 + i:02d},rating,{1 + i % 5}\n" for i in range(25))
    (folder / "interactions.csv").write_text("team,resource,timestamp,kind,rating\n" + rows)
    seen: dict[str, object] = {}

    def fake_compare(dataset: Dataset, **options: object) -> Comparison:
        seen["options"], seen["positives"] = options, dataset.positives()
        return losing(losses)

    monkeypatch.setattr(offline, "compare", fake_compare)
    args = ["evaluate", "--data", str(folder), "--exclude-seen", "--positive-min-rating", "4"]
    result = runner.invoke(main, args + (["--strict"] if strict else []))
    assert result.exit_code == code, result.output
    assert ("WARNING: the served ranking loses" in result.output) is warned
    assert seen["options"] == {"k": 10, "holdout": 0.2, "exclude_seen": True}
    # Ratings 4 and 5 only are positive: rows 3, 4 (0-based, i % 5 in {3, 4}) and so on.
    assert seen["positives"] == {"t2": {"r2": 2.0}, "t1": {"r1": 2.0}}


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


def _users(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(row[0] for row in conn.execute("SELECT email FROM users"))


def test_backup_and_restore_round_trip_on_sqlite(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    person = ["user", "create", "--name", "P", "--password", "long enough password", "--email"]
    assert runner.invoke(main, [*person, "kept@example.com"]).exit_code == 0
    dump = tmp_path / "backups" / "platform.sqlite3"
    made = runner.invoke(main, ["backup", "--out", str(dump)])
    assert made.exit_code == 0, made.output
    assert "PRAGMA integrity_check ok" in made.output
    assert runner.invoke(main, [*person, "later@example.com"]).exit_code == 0
    database = tmp_path / "matchmaker.sqlite3"
    assert _users(database) == ["kept@example.com", "later@example.com"]

    restored = runner.invoke(main, ["restore", str(dump), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "row counts match the backup" in restored.output
    assert _users(database) == ["kept@example.com"]


def test_restore_refuses_a_file_that_is_not_a_backup(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database at all " * 100)
    result = runner.invoke(main, ["restore", str(bogus), "--yes"])
    assert result.exit_code == 1
    assert "not a SQLite backup" in result.output
    assert "Traceback" not in result.output


def test_restore_asks_before_replacing_the_database(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    dump = tmp_path / "b.sqlite3"
    assert runner.invoke(main, ["backup", "--out", str(dump)]).exit_code == 0
    declined = runner.invoke(main, ["restore", str(dump)], input="n\n")
    assert declined.exit_code == 1
    assert "Aborted" in declined.output
