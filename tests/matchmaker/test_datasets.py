"""The generic interaction data set: labels, the CSV/JSONL loader and its errors, the time split."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker.datasets import (
    KNOWN_KINDS,
    LABELS,
    Dataset,
    DatasetError,
    Entity,
    Event,
    cold_start_teams,
    label,
    load_dataset,
    time_split,
    with_positive_min_rating,
)
from matchmaker.errors import InvalidInput

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(team: str, resource: str, day: float = 0, kind: str = "booking", **kw: Any) -> Event:
    return Event(team=team, resource=resource, at=T0 + timedelta(days=day), kind=kind, **kw)


def dataset(events: list[Event]) -> Dataset:
    teams = {e.team: Entity(e.team, "") for e in events}
    resources = {e.resource: Entity(e.resource, "") for e in events}
    return Dataset(teams=teams, resources=resources, events=tuple(events))


# ---------------------------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("kind", "outcome", "rating", "expected"),
    [
        ("investment", "closed", None, 3.0),
        ("task_award", "awarded", None, 3.0),
        ("introduction", "accepted", None, 2.0),
        ("introduction", "declined", None, 0.0),
        ("introduction", "ignored", None, 0.0),
        ("introduction", "", None, 0.0),
        ("mentor_session", "completed", 5, 2.0),
        ("mentor_session", "completed", 4, 2.0),
        ("mentor_session", "completed", 3, 1.0),
        ("mentor_session", "completed", 2, 0.0),
        ("mentor_session", "completed", 1, 0.0),
        ("mentor_session", "completed", None, 1.0),
        ("booking", "completed", None, 1.0),
        ("booking", "no_show", None, 0.0),
        ("booking", "", None, 1.0),
        ("booking", "cancelled", None, 0.0),
        ("task_bid", "", None, 0.5),
        ("decline", "declined", None, 0.0),
        ("something_new", "completed", None, 0.0),
    ],
)
def test_labels_grade_outcomes_from_the_one_table(
    kind: str, outcome: str, rating: float | None, expected: float
) -> None:
    assert label(ev("t", "r", kind=kind, outcome=outcome, rating=rating)) == expected


def test_the_label_table_never_goes_above_three_or_below_zero() -> None:
    assert all(0 <= value <= 3 for value in LABELS.values())


def test_an_event_refuses_a_naive_time_and_stores_aware_ones_in_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Event("t", "r", datetime(2026, 1, 1, 8), "booking")
    beijing = timezone(timedelta(hours=8))
    event = Event("t", "r", datetime(2026, 1, 1, 8, tzinfo=beijing), "booking")
    assert event.at == datetime(2026, 1, 1, 0, tzinfo=UTC)
    assert event.at.tzinfo is UTC


def test_relevance_keeps_the_best_label_per_resource_and_positives_drop_the_rest() -> None:
    data = dataset(
        [
            ev("a", "r1", kind="introduction", outcome="accepted"),  # 2
            ev("a", "r1", 1, kind="investment"),  # 3: the best for (a, r1)
            ev("a", "r2", kind="task_bid"),  # 0.5
            ev("a", "r3", kind="booking", outcome="no_show"),  # 0
            ev("b", "r1", kind="decline", outcome="declined"),  # 0: b has nothing positive
        ]
    )
    assert data.relevance() == {"a": {"r1": 3.0, "r2": 0.5, "r3": 0.0}, "b": {"r1": 0.0}}
    assert data.positives() == {"a": {"r1": 3.0, "r2": 0.5}}
    assert data.positives(min_label=1) == {"a": {"r1": 3.0}}


# ---------------------------------------------------------------------------------------------- loader


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def write_jsonl(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    write(folder, name, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


TEAMS_CSV = "id,text,tags\nt1,芯片设计团队,eda;rf|模拟\nt2,Biotech team,\n"
RESOURCES_CSV = "id,text,tags,kind\nr1,示波器 oscilloscope,rf,equipment\nr2,Dr. Wang,eda,mentor\n"


@pytest.fixture
def csv_folder(tmp_path: Path) -> Path:
    write(tmp_path, "teams.csv", TEAMS_CSV)
    write(tmp_path, "resources.csv", RESOURCES_CSV)
    write(
        tmp_path,
        "interactions.csv",
        "team,resource,timestamp,kind,outcome,rating,quantity\n"
        "t1,r2,2026-03-02T10:00:00+08:00,mentor_session,completed,4,1.5\n"
        "t2,r1,2026-03-01,booking,no_show,,\n"
        "t1,r1,2026-03-02T02:00:00Z,booking,completed,,3\n",
    )
    return tmp_path


def test_the_csv_loader_reads_entities_tags_and_events_in_time_order(csv_folder: Path) -> None:
    data = load_dataset(csv_folder)
    assert data.teams["t1"] == Entity("t1", "芯片设计团队", frozenset({"eda", "rf", "模拟"}))
    assert data.teams["t2"].tags == frozenset()
    assert data.resources["r2"] == Entity("r2", "Dr. Wang", frozenset({"eda"}), "mentor")
    # 10:00 in Beijing and 02:00Z are the same instant, so the tie keeps file order (the session first);
    # the date-only, naive timestamp is midnight UTC and comes before both.
    assert [(e.team, e.resource, e.at) for e in data.events] == [
        ("t2", "r1", datetime(2026, 3, 1, tzinfo=UTC)),
        ("t1", "r2", datetime(2026, 3, 2, 2, tzinfo=UTC)),
        ("t1", "r1", datetime(2026, 3, 2, 2, tzinfo=UTC)),
    ]
    session = data.events[1]
    assert (session.kind, session.outcome, session.rating, session.quantity) == (
        "mentor_session",
        "completed",
        4,
        1.5,
    )
    assert (data.events[0].rating, data.events[0].quantity) == (None, 0.0)


def test_the_csv_loader_accepts_a_byte_order_mark_and_no_optional_columns(tmp_path: Path) -> None:
    (tmp_path / "teams.csv").write_text(TEAMS_CSV, encoding="utf-8-sig")
    write(tmp_path, "resources.csv", RESOURCES_CSV)
    write(tmp_path, "interactions.csv", "team,resource,timestamp,kind\nt1,r1,2026-03-01 09:30,booking\n")
    data = load_dataset(tmp_path)
    assert set(data.teams) == {"t1", "t2"}
    assert data.events == (Event("t1", "r1", datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "booking"),)
    assert label(data.events[0]) == 1.0  # no outcome column: a booking counts as used


def test_the_jsonl_loader_takes_tag_lists_numbers_and_nulls(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "teams.jsonl", [{"id": 7, "text": "团队七", "tags": ["eda", " rf "]}])
    write_jsonl(tmp_path, "resources.jsonl", [{"id": "r1", "text": "", "tags": "eda;rf", "kind": "mentor"}])
    write(
        tmp_path,
        "interactions.jsonl",
        json.dumps(
            {
                "team": 7,
                "resource": "r1",
                "timestamp": "2026-03-01T08:00:00+08:00",
                "kind": "mentor_session",
                "rating": 5,
                "quantity": None,
            }
        )
        + "\n\n",  # a trailing blank line is harmless
    )
    data = load_dataset(tmp_path)
    assert data.teams["7"].tags == frozenset({"eda", "rf"})
    assert data.resources["r1"].tags == frozenset({"eda", "rf"})
    assert data.events == (Event("7", "r1", datetime(2026, 3, 1, tzinfo=UTC), "mentor_session", rating=5.0),)


def test_csv_and_jsonl_files_can_be_mixed_in_one_folder(tmp_path: Path) -> None:
    write(tmp_path, "teams.csv", TEAMS_CSV)
    write(tmp_path, "resources.csv", RESOURCES_CSV)
    row = {"team": "t1", "resource": "r1", "timestamp": "2026-03-01", "kind": "booking"}
    write_jsonl(tmp_path, "interactions.jsonl", [row])
    assert len(load_dataset(tmp_path).events) == 1


def load_error(folder: Path) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        load_dataset(folder)
    assert isinstance(caught.value, InvalidInput)  # the web layer shows it as a 422 with both languages
    assert caught.value.message_zh
    return caught.value


def test_a_missing_column_is_named_with_its_file(csv_folder: Path) -> None:
    write(csv_folder, "interactions.csv", "team,resource,when,type\nt1,r1,2026-03-01,booking\n")
    error = load_error(csv_folder)
    assert str(error) == (
        "interactions.csv is missing the columns timestamp, kind (needs team, resource, timestamp, kind)."
    )
    assert error.details["fields"] == {"timestamp": "missing", "kind": "missing"}


def test_a_missing_entity_column_is_named_too(csv_folder: Path) -> None:
    write(csv_folder, "resources.csv", "id,text,tags\nr1,x,\n")
    assert str(load_error(csv_folder)).startswith("resources.csv is missing the column kind ")


def test_a_missing_jsonl_field_names_the_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path, "teams.jsonl", [{"id": "t1", "text": "", "tags": []}, {"id": "t2", "text": ""}])
    error = load_error(tmp_path)
    assert str(error).startswith("teams.jsonl line 2 is missing the field tags ")
    assert error.details["line"] == 2


def test_a_bad_timestamp_names_its_line_and_value(csv_folder: Path) -> None:
    write(
        csv_folder,
        "interactions.csv",
        "team,resource,timestamp,kind\nt1,r1,2026-03-01,booking\nt1,r1,03/02/2026,booking\n",
    )
    error = load_error(csv_folder)
    assert str(error).startswith("interactions.csv line 3: '03/02/2026' is not an ISO 8601 timestamp")
    assert error.details == {"file": "interactions.csv", "line": 3, "fields": {"timestamp": "invalid"}}


def test_an_empty_timestamp_is_an_error_on_its_line(csv_folder: Path) -> None:
    write(csv_folder, "interactions.csv", "team,resource,timestamp,kind\nt1,r1,,booking\n")
    assert str(load_error(csv_folder)) == "interactions.csv line 2: the timestamp is empty."


def test_an_unknown_team_or_resource_names_the_id_and_line(csv_folder: Path) -> None:
    header = "team,resource,timestamp,kind\n"
    write(csv_folder, "interactions.csv", header + "t1,r1,2026-03-01,booking\nt9,r1,2026-03-01,booking\n")
    assert str(load_error(csv_folder)) == "interactions.csv line 3: team 't9' is not in the teams file."
    write(csv_folder, "interactions.csv", header + "t1,r9,2026-03-01,booking\n")
    assert (
        str(load_error(csv_folder)) == "interactions.csv line 2: resource 'r9' is not in the resources file."
    )


def test_interactions_without_any_rows_are_refused(csv_folder: Path) -> None:
    write(csv_folder, "interactions.csv", "team,resource,timestamp,kind\n\n")
    assert str(load_error(csv_folder)).startswith(
        "interactions.csv has no interactions (no rows with a timestamp)"
    )


def test_an_empty_jsonl_interactions_file_is_refused(csv_folder: Path) -> None:
    (csv_folder / "interactions.csv").unlink()
    write(csv_folder, "interactions.jsonl", "\n")
    assert str(load_error(csv_folder)).startswith("interactions.jsonl has no interactions")


def test_an_empty_csv_file_asks_for_a_header(csv_folder: Path) -> None:
    write(csv_folder, "teams.csv", "")
    assert str(load_error(csv_folder)) == "teams.csv is empty; it needs a header row with id, text, tags."


def test_a_missing_file_and_an_ambiguous_pair_are_named(csv_folder: Path) -> None:
    write_jsonl(csv_folder, "resources.jsonl", [])
    assert "has both resources.csv and resources.jsonl" in str(load_error(csv_folder))
    (csv_folder / "resources.jsonl").unlink()
    (csv_folder / "teams.csv").unlink()
    assert str(load_error(csv_folder)) == f"{csv_folder} has no teams.csv or teams.jsonl."


def test_duplicate_and_empty_ids_name_their_line(csv_folder: Path) -> None:
    write(csv_folder, "teams.csv", "id,text,tags\nt1,,\nt1,,\n")
    assert str(load_error(csv_folder)) == "teams.csv line 3: the id 't1' appears twice."
    # a row of empty cells is a blank line, not an entity with an empty id: the file simply has no teams
    write(csv_folder, "teams.csv", "id,text,tags\n,,\n")
    assert str(load_error(csv_folder)) == "interactions.csv line 2: team 't1' is not in the teams file."
    write(csv_folder, "teams.csv", "id,text,tags\n ,some text,\n")
    assert str(load_error(csv_folder)) == "teams.csv line 2: the id is empty."


def test_bad_numbers_and_kinds_name_their_line(csv_folder: Path) -> None:
    header = "team,resource,timestamp,kind,rating\n"
    write(csv_folder, "interactions.csv", header + "t1,r1,2026-03-01,booking,great\n")
    assert str(load_error(csv_folder)) == "interactions.csv line 2: rating 'great' is not a number."
    write(csv_folder, "interactions.csv", header + "t1,r1,2026-03-01,booking,nan\n")
    assert str(load_error(csv_folder)) == "interactions.csv line 2: rating 'nan' is not a number."
    write(csv_folder, "interactions.csv", header + "t1,r1,2026-03-01,,\n")
    assert str(load_error(csv_folder)) == "interactions.csv line 2: the kind is empty."


def test_an_unknown_kind_is_refused_naming_the_file_the_line_and_the_known_kinds(csv_folder: Path) -> None:
    header = "team,resource,timestamp,kind,rating\n"
    write(csv_folder, "interactions.csv", header + "t1,r1,2026-03-01,booking,\nt1,r2,2026-03-02,view,\n")
    error = load_error(csv_folder)
    message = str(error)
    assert message.startswith("interactions.csv line 3: the kind 'view' is not one the engine knows (")
    assert all(kind in message for kind in KNOWN_KINDS) and "rating" in KNOWN_KINDS
    assert error.details == {"file": "interactions.csv", "line": 3, "fields": {"kind": "invalid"}}


def test_generic_ratings_load_on_their_scale_and_a_threshold_decides_what_is_positive(
    csv_folder: Path,
) -> None:
    header = "team,resource,timestamp,kind,rating\n"
    write(csv_folder, "interactions.csv", header + "t1,r1,2026-03-01,rating,7\n")
    assert "outside the 1-5 scale" in str(load_error(csv_folder))
    rows = "t1,r1,2026-03-01,rating,5\nt1,r2,2026-03-02,rating,2\nt2,r1,2026-03-03,interaction,\n"
    write(csv_folder, "interactions.csv", header + rows)
    data = load_dataset(csv_folder)
    assert data.positives() == {"t1": {"r1": 2.0}, "t2": {"r1": 1.0}}
    assert with_positive_min_rating(data, 2).positives() == {"t1": {"r1": 2.0, "r2": 1.0}, "t2": {"r1": 1.0}}
    assert with_positive_min_rating(data, 5).positives() == {"t1": {"r1": 2.0}, "t2": {"r1": 1.0}}
    assert "t1" not in with_positive_min_rating(data.with_events(data.events[1:2]), 3).positives()


def test_broken_json_lines_name_their_line(tmp_path: Path) -> None:
    write(tmp_path, "teams.jsonl", '{"id": "t1", "text": "", "tags": []}\n{"id": "t2",\n')
    assert str(load_error(tmp_path)).startswith("teams.jsonl line 2 is not valid JSON")
    write(tmp_path, "teams.jsonl", '["t1"]\n')
    assert str(load_error(tmp_path)) == "teams.jsonl line 1 must be a JSON object, not list."


def test_a_file_that_is_not_utf8_is_refused_with_advice(csv_folder: Path) -> None:
    # GB 18030 (what Chinese Excel saves by default) is not valid UTF-8 for these characters
    (csv_folder / "teams.csv").write_bytes("id,text,tags\nt1,创新团队,\n".encode("gb18030"))
    assert "teams.csv is not UTF-8 text" in str(load_error(csv_folder))


# ---------------------------------------------------------------------------------------------- split


def test_the_split_holds_out_the_latest_fraction_and_keeps_every_entity() -> None:
    data = dataset([ev(f"t{i % 3}", f"r{i % 4}", day=i) for i in range(10)])
    train, test = time_split(data, 0.2)
    # 10 events × 0.2 = 2 test events: days 8 and 9
    assert [e.at.day for e in train.events] == [1, 2, 3, 4, 5, 6, 7, 8]  # days 0..7 → 1..8 January
    assert [e.at.day for e in test.events] == [9, 10]
    assert train.teams == test.teams == data.teams
    assert train.resources == test.resources == data.resources


@pytest.mark.parametrize(
    ("n", "fraction", "n_test"), [(100, 0.25, 25), (7, 0.2, 1), (3, 0.01, 1), (4, 0.99, 3)]
)
def test_the_split_rounds_to_at_least_one_test_and_one_train_event(
    n: int, fraction: float, n_test: int
) -> None:
    train, test = time_split(dataset([ev("t", "r", day=i) for i in range(n)]), fraction)
    # 7 × 0.2 = 1.4 → 1; 3 × 0.01 rounds to 0 but is raised to 1; 4 × 0.99 → 4 is capped at 3
    assert (len(train.events), len(test.events)) == (n - n_test, n_test)


def test_events_tied_at_the_cut_all_go_to_test() -> None:
    # days 0 1 2 3 4 5 6 7 7 7: the 2 latest (positions 8, 9) are day 7, but so is position 7,
    # and the tie is not split: all three day-7 events go to test.
    data = dataset([ev("t", f"r{i}", day=min(i, 7)) for i in range(10)])
    train, test = time_split(data, 0.2)
    assert [e.resource for e in test.events] == ["r7", "r8", "r9"]
    assert len(train.events) == 7


def test_the_split_sorts_unsorted_events_first() -> None:
    data = dataset([ev("t", "late", day=5), ev("t", "early", day=1)])
    train, test = time_split(data, 0.5)
    assert [e.resource for e in train.events] == ["early"]
    assert [e.resource for e in test.events] == ["late"]


def test_the_split_of_tiny_data_sets_and_bad_fractions() -> None:
    one = dataset([ev("t", "r")])
    assert (len(time_split(one)[0].events), len(time_split(one)[1].events)) == (1, 0)
    assert time_split(dataset([]))[1].events == ()
    for fraction in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="holdout_fraction"):
            time_split(one, fraction)


@settings(deadline=None, max_examples=200)
@given(days=st.lists(st.integers(0, 20), min_size=2, max_size=40), fraction=st.floats(0.05, 0.95))
def test_the_split_never_puts_a_train_event_after_a_test_event(days: list[int], fraction: float) -> None:
    data = dataset([ev("t", f"r{i}", day=d) for i, d in enumerate(days)])
    train, test = time_split(data, fraction)
    assert len(train.events) + len(test.events) == len(days)
    assert test.events  # at least one held out
    if train.events:
        assert max(e.at for e in train.events) < min(e.at for e in test.events)
    # the test side never falls short of its share; ties only ever make it larger
    assert len(test.events) >= min(len(days) - 1, max(1, round(len(days) * fraction)))


def test_cold_start_teams_are_those_seen_only_in_test() -> None:
    train = dataset([ev("a", "r1"), ev("b", "r1")])
    test = dataset([ev("a", "r2", 9), ev("c", "r1", 9), ev("d", "r1", 9, kind="decline", outcome="declined")])
    assert cold_start_teams(train, test) == {"c", "d"}
    assert cold_start_teams(test, test) == set()
