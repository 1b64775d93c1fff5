"""The team–resource interaction data set the recommender learns from: labels, file loader, time split."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matchmaker.errors import InvalidInput


@dataclass(frozen=True)
class Entity:
    """A team or a resource: id, free text (any language), tags and a ``kind`` such as mentor or equipment."""

    id: str
    text: str
    tags: frozenset[str] = frozenset()
    kind: str = ""
    # Optional facts the ranking can use when a data set has them: "space", "stage", "round",
    # "ask" (a team's funding ask), "rounds" (a fund's rounds, ';'-separated), "ticket_min", "ticket_max".
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One timestamped thing a team did with a resource; ``at`` is always aware and in UTC."""

    team: str
    resource: str
    at: datetime
    kind: str
    outcome: str = ""
    rating: float | None = None
    quantity: float = 0.0

    def __post_init__(self) -> None:
        # A naive timestamp is ambiguous, and comparing naive with aware ones raises deep inside a sort,
        # so refuse it here; aware ones are normalised so equal instants compare and print the same.
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"Event.at must be timezone-aware, got {self.at!r}")
        object.__setattr__(self, "at", self.at.astimezone(UTC))


# Graded relevance of one event, keyed by (kind, outcome). "*" in the kind matches any kind (so a declined
# or ignored anything is worth nothing); "*" as the outcome is the kind's fallback for outcomes not listed,
# including none. A rated event (mentor sessions) is keyed by its rating band instead of its outcome.
# label() looks up, in order: (kind, outcome), ("*", outcome), (kind, rating band), (kind, "*"); else 0.
LABELS: dict[tuple[str, str], float] = {
    ("investment", "*"): 3.0,  # money changed hands: the strongest signal there is
    ("task_award", "*"): 3.0,  # the host chose this team for its task
    ("introduction", "accepted"): 2.0,
    ("introduction", "*"): 0.0,  # requested or pending: no evidence yet
    ("mentor_session", "rated 4-5"): 2.0,
    ("mentor_session", "rated 3"): 1.0,
    ("mentor_session", "rated 1-2"): 0.0,  # it happened, but the team would not come back for more
    ("mentor_session", "*"): 1.0,  # unrated session: counts like a middling one
    ("booking", "completed"): 1.0,
    ("booking", ""): 1.0,  # data sets without an outcome column: a booking is a booking
    ("booking", "*"): 0.0,  # no_show, cancelled, anything else unknown
    ("task_bid", "*"): 0.5,  # interest, not yet success
    ("task_delivery", "accepted"): 2.0,  # the host accepted the team's work
    ("task_delivery", "*"): 0.5,  # delivered, then sent back for a revision
    ("task_rating", "rated 4-5"): 2.0,
    ("task_rating", "rated 3"): 1.0,
    ("task_rating", "rated 1-2"): 0.0,
    ("task_rating", "*"): 1.0,
    ("decline", "*"): 0.0,
    # Generic kinds, for data sets from elsewhere. A "rating" is an explicit judgement on the 1-5 scale
    # (rescale other scales before loading): 4-5 is a good match (2), 3 a middling one (1), 1-2 none (0);
    # `evaluate --positive-min-rating N` moves that line. An "interaction" is any implicit use (a view,
    # a click, a purchase) and counts 1, like a completed booking.
    ("rating", "rated 4-5"): 2.0,
    ("rating", "rated 3"): 1.0,
    ("rating", "rated 1-2"): 0.0,
    ("rating", "*"): 1.0,  # a rating row without its rating: taken as plain use
    ("interaction", "*"): 1.0,
    ("*", "declined"): 0.0,
    ("*", "ignored"): 0.0,
    ("*", "no_show"): 0.0,
    ("*", "cancelled"): 0.0,
}


# Every interaction kind the engine knows: the platform's own and the generic ones. A data set naming
# any other kind is refused on load (file and line named), since its rows would silently count for nothing.
KNOWN_KINDS: tuple[str, ...] = tuple(sorted({kind for kind, _ in LABELS if kind != "*"}))
RATING_SCALE = (1.0, 5.0)
# The outcome a rating below --positive-min-rating is given: no evidence of a match, and no graph edge.
BELOW_THRESHOLD = "declined"


def rating_band(rating: float) -> str:
    """The LABELS outcome key for a rating on the 1–5 scale: ``rated 4-5``, ``rated 3`` or ``rated 1-2``."""
    if rating >= 4:
        return "rated 4-5"
    if rating >= 3:
        return "rated 3"
    return "rated 1-2"


def label(event: Event) -> float:
    """The graded relevance of one event from :data:`LABELS` (0 = no evidence of a good match, 3 = best).

    Lookup order: ``(kind, outcome)``, ``("*", outcome)``, ``(kind, rating band)`` when rated,
    ``(kind, "*")``, and 0 for a kind the table does not know.
    """
    keys = [(event.kind, event.outcome), ("*", event.outcome)] if event.outcome else [(event.kind, "")]
    if event.rating is not None:
        keys.append((event.kind, rating_band(event.rating)))
    keys.append((event.kind, "*"))
    for key in keys:
        if key in LABELS:
            return LABELS[key]
    return 0.0


@dataclass(frozen=True)
class Dataset:
    """Teams, resources and their events, oldest first (the loader sorts them; ties keep file order)."""

    teams: dict[str, Entity]
    resources: dict[str, Entity]
    events: tuple[Event, ...] = field(default=())

    def relevance(self) -> dict[str, dict[str, float]]:
        """Per team, the best label over its events with each resource (teams with no events are absent)."""
        best: dict[str, dict[str, float]] = {}
        for event in self.events:
            per_team = best.setdefault(event.team, {})
            per_team[event.resource] = max(per_team.get(event.resource, 0.0), label(event))
        return best

    def positives(self, min_label: float = 0.0) -> dict[str, dict[str, float]]:
        """Per team, the resources whose best label is above 0 and at least ``min_label``, with that label.

        Teams whose events are all negative (declines, no-shows) are absent.
        """
        result: dict[str, dict[str, float]] = {}
        for team, labels in self.relevance().items():
            kept = {r: v for r, v in labels.items() if v > 0 and v >= min_label}
            if kept:
                result[team] = kept
        return result

    def with_events(self, events: tuple[Event, ...]) -> Dataset:
        """The same teams and resources with other events (used by the split)."""
        return Dataset(teams=self.teams, resources=self.resources, events=events)


class DatasetError(InvalidInput):
    """A data set file that cannot be read; the message names the file and, where it can, the line."""

    code = "invalid_dataset"


# ---------------------------------------------------------------------------------------------- loading

META_COLUMNS = ("space", "stage", "round", "ask", "rounds", "ticket_min", "ticket_max")
TEAM_COLUMNS = ("id", "text", "tags")
RESOURCE_COLUMNS = ("id", "text", "tags", "kind")
INTERACTION_COLUMNS = ("team", "resource", "timestamp", "kind")
OPTIONAL_INTERACTION_COLUMNS = ("outcome", "rating", "quantity")

# Spreadsheets exported in Chinese often use full-width separators, so accept those too.
TAG_SEPARATORS = re.compile(r"[;|；｜]")

Row = Mapping[str, Any]


def load_dataset(folder: Path) -> Dataset:
    """Read ``teams``, ``resources`` and ``interactions`` (each ``.csv`` or ``.jsonl``) from ``folder``.

    CSV files need a header row; tags are separated by ``;`` or ``|``. JSONL files hold one object per
    line with the same field names; tags may be a list or a separated string. Timestamps are ISO 8601;
    naive ones are taken as UTC. Raises :class:`DatasetError` naming the file (and line) of any problem.
    """
    teams = _load_entities(_find(folder, "teams"), TEAM_COLUMNS)
    resources = _load_entities(_find(folder, "resources"), RESOURCE_COLUMNS)
    path = _find(folder, "interactions")
    events = [_event(path, line, row, teams, resources) for line, row in _rows(path, INTERACTION_COLUMNS)]
    if not events:
        raise DatasetError(
            f"{path.name} has no interactions (no rows with a timestamp), so there is nothing to learn from.",
            f"{path.name} 中没有任何互动记录（没有带时间戳的行），无法训练或评估。",
            details={"file": path.name},
        )
    # sorted() is stable, so events at the same instant keep their order in the file.
    return Dataset(teams=teams, resources=resources, events=tuple(sorted(events, key=lambda e: e.at)))


def _find(folder: Path, stem: str) -> Path:
    found = [p for p in (folder / f"{stem}.csv", folder / f"{stem}.jsonl") if p.is_file()]
    if len(found) == 1:
        return found[0]
    if found:
        raise DatasetError(
            f"{folder} has both {stem}.csv and {stem}.jsonl; keep only one so it is clear which to read.",
            f"{folder} 中同时存在 {stem}.csv 和 {stem}.jsonl，请只保留一个。",
            details={"file": f"{stem}.csv", "folder": str(folder)},
        )
    raise DatasetError(
        f"{folder} has no {stem}.csv or {stem}.jsonl.",
        f"{folder} 中缺少 {stem}.csv 或 {stem}.jsonl 文件。",
        details={"file": f"{stem}.csv", "folder": str(folder)},
    )


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    """(line number, row) for every data row, after checking the required columns are there."""
    try:
        if path.suffix == ".csv":
            yield from _csv_rows(path, required)
        else:
            yield from _jsonl_rows(path, required)
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.",
            f"{path.name} 不是 UTF-8 编码的文本，请另存为 UTF-8。",
            details={"file": path.name},
        ) from exc


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    # utf-8-sig: Excel puts a byte-order mark in front of the first header otherwise.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        if not header:
            raise DatasetError(
                f"{path.name} is empty; it needs a header row with {', '.join(required)}.",
                f"{path.name} 是空文件，第一行应为表头：{'、'.join(required)}。",
                details={"file": path.name, "fields": dict.fromkeys(required, "missing")},
            )
        _check_columns(path, None, header, required)
        reader.fieldnames = header
        for row in reader:
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue  # blank line inside the file
            # line_num is the physical line the row ended on, which is what an editor shows.
            yield reader.line_num, row


def _jsonl_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"{path.name} line {line} is not valid JSON: {exc.msg}.",
                    f"{path.name} 第 {line} 行不是有效的 JSON：{exc.msg}。",
                    details={"file": path.name, "line": line},
                ) from exc
            if not isinstance(row, dict):
                raise DatasetError(
                    f"{path.name} line {line} must be a JSON object, not {type(row).__name__}.",
                    f"{path.name} 第 {line} 行必须是 JSON 对象。",
                    details={"file": path.name, "line": line},
                )
            _check_columns(path, line, list(row), required)
            yield line, row


def _check_columns(path: Path, line: int | None, present: list[str], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in present]
    if not missing:
        return
    where_en = f"{path.name} line {line}" if line is not None else path.name
    where_zh = f"{path.name} 第 {line} 行" if line is not None else path.name
    what = "field" if line is not None else "column"
    raise DatasetError(
        f"{where_en} is missing the {what}{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
        f"(needs {', '.join(required)}).",
        f"{where_zh} 缺少字段：{'、'.join(missing)}（必须有 {'、'.join(required)}）。",
        details={"file": path.name, "line": line, "fields": dict.fromkeys(missing, "missing")},
    )


def _line_error(path: Path, line: int, column: str, en: str, zh: str) -> DatasetError:
    return DatasetError(
        f"{path.name} line {line}: {en}",
        f"{path.name} 第 {line} 行：{zh}",
        details={"file": path.name, "line": line, "fields": {column: "invalid"}},
    )


def _text(path: Path, line: int, row: Row, column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""  # an empty JSON null or a short CSV row
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _line_error(path, line, column, f"{column} must be text.", f"{column} 必须是文本。")
    return str(value).strip()


def _tags(path: Path, line: int, row: Row) -> frozenset[str]:
    value = row.get("tags")
    if isinstance(value, list):
        if not all(isinstance(tag, str) for tag in value):
            raise _line_error(path, line, "tags", "every tag must be text.", "每个标签都必须是文本。")
        parts: list[str] = value
    else:
        parts = TAG_SEPARATORS.split(_text(path, line, row, "tags"))
    return frozenset(tag.strip() for tag in parts if tag.strip())


def _load_entities(path: Path, columns: tuple[str, ...]) -> dict[str, Entity]:
    entities: dict[str, Entity] = {}
    for line, row in _rows(path, columns):
        ident = _text(path, line, row, "id")
        if not ident:
            raise _line_error(path, line, "id", "the id is empty.", "编号为空。")
        if ident in entities:
            raise _line_error(path, line, "id", f"the id {ident!r} appears twice.", f"编号 {ident!r} 重复。")
        entities[ident] = Entity(
            id=ident,
            text=_text(path, line, row, "text"),
            tags=_tags(path, line, row),
            kind=_text(path, line, row, "kind"),
            meta={k: str(v) for k, v in row.items() if k in META_COLUMNS and v not in (None, "")},
        )
    return entities


def _timestamp(path: Path, line: int, row: Row) -> datetime:
    raw = _text(path, line, row, "timestamp")
    if not raw:
        raise _line_error(path, line, "timestamp", "the timestamp is empty.", "时间戳为空。")
    try:
        # Python 3.11's fromisoformat reads ISO 8601 including a trailing Z and dates without a time.
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise _line_error(
            path,
            line,
            "timestamp",
            f"{raw!r} is not an ISO 8601 timestamp (e.g. 2026-03-01T09:30:00+08:00).",
            f"{raw!r} 不是 ISO 8601 格式的时间戳（例如 2026-03-01T09:30:00+08:00）。",
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _number(path: Path, line: int, row: Row, column: str) -> float | None:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise _line_error(
            path, line, column, f"{column} {value!r} is not a number.", f"{column} {value!r} 不是数字。"
        )
    return number


def _event(
    path: Path, line: int, row: Row, teams: Mapping[str, Entity], resources: Mapping[str, Entity]
) -> Event:
    team = _text(path, line, row, "team")
    if team not in teams:
        raise _line_error(
            path, line, "team", f"team {team!r} is not in the teams file.", f"团队 {team!r} 不在团队文件中。"
        )
    resource = _text(path, line, row, "resource")
    if resource not in resources:
        raise _line_error(
            path,
            line,
            "resource",
            f"resource {resource!r} is not in the resources file.",
            f"资源 {resource!r} 不在资源文件中。",
        )
    kind = _text(path, line, row, "kind")
    if not kind:
        raise _line_error(path, line, "kind", "the kind is empty.", "互动类型为空。")
    if kind not in KNOWN_KINDS:
        known = ", ".join(KNOWN_KINDS)
        raise _line_error(
            path,
            line,
            "kind",
            f"the kind {kind!r} is not one the engine knows ({known}); for other data use 'rating' "
            "(with a rating from 1 to 5) or 'interaction' (any implicit use).",
            f"互动类型 {kind!r} 无法识别（可用：{known}）；其他数据请用 'rating'（评分 1–5）"
            "或 'interaction'（任何隐式使用）。",
        )
    rating = _number(path, line, row, "rating")
    low, high = RATING_SCALE
    if kind == "rating" and rating is not None and not low <= rating <= high:
        raise _line_error(
            path,
            line,
            "rating",
            f"the rating {rating:g} is outside the 1-5 scale; rescale it before loading.",
            f"评分 {rating:g} 不在 1–5 范围内，请先换算。",
        )
    return Event(
        team=team,
        resource=resource,
        at=_timestamp(path, line, row),
        kind=kind,
        outcome=_text(path, line, row, "outcome"),
        rating=rating,
        quantity=_number(path, line, row, "quantity") or 0.0,
    )


# ---------------------------------------------------------------------------------------------- splitting


def time_split(dataset: Dataset, holdout_fraction: float = 0.2) -> tuple[Dataset, Dataset]:
    """Split by time: roughly the latest ``holdout_fraction`` of events is the test set, the rest train.

    The cut is the timestamp of the event at position ``n - round(n × fraction)`` in time order (at least
    one test event when there are two or more). Every event *at or after* the cut is test, so events
    sharing the cut's timestamp all land in test and the test set can be larger than the fraction; nothing
    in train is ever later than anything in test. Both halves keep every team and resource.
    """
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be between 0 and 1, got {holdout_fraction}")
    events = sorted(dataset.events, key=lambda e: e.at)
    if len(events) < 2:
        return dataset.with_events(tuple(events)), dataset.with_events(())
    n_test = min(len(events) - 1, max(1, round(len(events) * holdout_fraction)))
    cut = events[len(events) - n_test].at
    train = tuple(e for e in events if e.at < cut)
    test = tuple(e for e in events if e.at >= cut)
    return dataset.with_events(train), dataset.with_events(test)


def with_positive_min_rating(dataset: Dataset, minimum: float) -> Dataset:
    """The data set with ratings read against a threshold: a rated event below ``minimum`` becomes a
    decline (not positive, no edge); one at or above it is positive, keeping its graded label when that
    is above 0 and counting 1 otherwise. Unrated events are unchanged."""
    events = []
    for event in dataset.events:
        if event.rating is None:
            events.append(event)
        elif event.rating < minimum:
            events.append(replace(event, outcome=BELOW_THRESHOLD))
        elif label(event) <= 0:
            events.append(replace(event, kind="interaction", outcome="", rating=None))
        else:
            events.append(event)
    return dataset.with_events(tuple(events))


def cold_start_teams(train: Dataset, test: Dataset) -> set[str]:
    """Teams that have events in test but none at all in train."""
    return {e.team for e in test.events} - {e.team for e in train.events}
