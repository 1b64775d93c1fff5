"""One guarded state change for rows whose status two people may change at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from matchmaker import lifecycles
from models.base import utcnow


def move_if_unchanged(
    session: Session,
    row: Any,
    seen: str,
    target: str,
    what_en: str,
    what_zh: str,
    *,
    field: str = "status",
    **values: Any,
) -> None:
    """Set ``field`` to ``target`` (with ``values`` and a fresh ``updated_at``) only if the row still
    holds ``seen``, with one ``UPDATE ... WHERE id = :id AND <field> = :seen RETURNING``. Of two changes
    at once one wins; the other is refused with the state it found. The caller checks the move is
    legal first; the row is refreshed either way."""
    model = type(row)
    won = session.execute(
        update(model)
        .where(model.id == row.id, getattr(model, field) == seen)
        .values({field: target, "updated_at": utcnow(), **values})
        .returning(model.id)
    ).scalar_one_or_none()
    session.refresh(row)
    if won is None:
        raise lifecycles.changed_meanwhile(what_en, what_zh, seen, getattr(row, field), target)
