"""Narrow reads for the hottest paths: a few columns of a mapped class read with a plain (Core)
statement, then handed to the session as the instance the ORM would have loaded.

Loading whole entities through the ORM costs several times a plain statement's work per row (the
loader, the identity map, every column of a wide table). A request that reads one row of each of a few
tables on every call, such as a booking, reads just the columns it uses and *adopts* them: the instance
joins the session's identity map with those columns loaded, exactly as if a query had loaded it, and any
other attribute loads on first use, like a deferred column. Relationships between adopted instances
resolve from the identity map without a statement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Column, Table, inspect
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

T = TypeVar("T")


def cast_table(cls: type[Any]) -> Table:
    """The table a mapped class is mapped to, typed as one."""
    return cast(Table, cls.__table__)


class Narrow:
    """Some columns of a mapped class (all of them by default, its primary key always): what a
    statement selects, and how a row of that statement becomes the instance."""

    def __init__(self, cls: type[Any], names: Sequence[str] | None = None) -> None:
        mapper = inspect(cls)
        self.cls = cls
        self.primary_key = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        keys = list(names) if names is not None else [p.key for p in mapper.column_attrs]
        keys = [k for k in self.primary_key if k not in keys] + keys
        self.pairs: list[tuple[str, Column[Any]]] = [(k, mapper.columns[k]) for k in keys]

    @property
    def columns(self) -> list[Column[Any]]:
        return [column for _, column in self.pairs]

    def values(self, row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
        found = row._mapping
        return {key: found[column] for key, column in self.pairs}

    def adopt(self, session: Session, row: Row[*tuple[Any, ...]]) -> Any:
        """The instance this row read (None when its primary key is null: an outer join found none)."""
        values = self.values(row)
        if any(values[k] is None for k in self.primary_key):
            return None
        return adopt(session, self.cls, values, tuple(values[k] for k in self.primary_key))


def adopt(session: Session, cls: type[T], values: Mapping[str, Any], ident: tuple[Any, ...]) -> T:
    """The session's instance of ``cls`` with primary key ``ident`` and these column values, as if the
    ORM had loaded them: the one it already holds (whose state wins, as with a query), or a new
    persistent one with exactly ``values`` loaded and every other column expired."""
    held = session.identity_map.get(identity_key(cls, ident))
    if held is not None:
        return held
    instance = cls(**values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance
