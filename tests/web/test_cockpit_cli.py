"""`matchmaker report filing`: the demo space's filing form as a workbook, from the command line."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from matchmaker import filing
from web.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MATCHMAKER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return CliRunner()


def test_the_filing_form_of_a_demo_space_is_written_as_a_workbook(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["seed", "biomedicine"]).exit_code == 0
    out = tmp_path / "filing.xlsx"
    result = runner.invoke(main, ["report", "filing", "--space", "biomedicine", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(filing.FIELDS)} fields" in result.output
    book = openpyxl.load_workbook(out)
    data = {row[0]: row[4] for row in book["数据 Data"].iter_rows(min_row=2, values_only=True)}
    assert set(data) == {f.key for f in filing.FIELDS}
    assert str(data["name"]).endswith("专业化众创空间")
    assert int(data["mentors"]) > 0
    assert int(data["resident_projects"]) + int(data["resident_enterprises"]) > 0


def test_an_unknown_space_is_named_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        main, ["report", "filing", "--space", "moon-base", "--out", str(tmp_path / "x.xlsx")]
    )
    assert result.exit_code == 2
    assert "moon-base" in result.output
    assert not (tmp_path / "x.xlsx").exists()
