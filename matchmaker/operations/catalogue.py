"""Catalogue use cases: create, edit, retire and search resources; the public equipment directory."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from matchmaker import events
from matchmaker.catalogue import BOOKABLE_KINDS, check_category, clean_attributes
from matchmaker.errors import Forbidden, InvalidInput, NotFound, ResourceRetired, check_editable
from matchmaker.permissions import (
    ANONYMOUS,
    Principal,
    ResourceRef,
    can_create_resource,
    can_edit_resource,
    can_retire_resource,
    can_view_resource,
)
from matchmaker.text import FieldedIndex, Vocabulary, expand_query
from models import AuditEntry, Organization, Resource, ResourceKind, Space, Tag
from models.base import utcnow
from models.resources import resource_tags

EDITABLE_FIELDS = (
    "name_zh",
    "name_en",
    "description_zh",
    "description_en",
    "service_content_zh",
    "service_content_en",
    "service_unit_zh",
    "service_unit_en",
    "price_cny",
    "price_unit",
    "subsidy_zh",
    "subsidy_en",
    "capacity",
    "category",
    "attributes",
    "tags",
)
DIRECTORY_KINDS = (ResourceKind.EQUIPMENT, ResourceKind.PILOT_LINE)


def ref(resource: Resource) -> ResourceRef:
    return ResourceRef(
        id=resource.id,
        space_id=resource.space_id,
        organization_id=resource.organization_id,
        person_user_id=resource.person_user_id,
        retired=resource.is_retired,
    )


def summary(resource: Resource) -> dict[str, Any]:
    """The public face of a resource: what lists, directories and live events carry."""
    return {
        "id": resource.id,
        "space_id": resource.space_id,
        "kind": resource.kind.value,
        "category": resource.category,
        "name_zh": resource.name_zh,
        "name_en": resource.name_en,
        "organization": {
            "id": resource.organization_id,
            "name_zh": resource.organization.name_zh,
            "name_en": resource.organization.name_en,
        },
        "service_unit_zh": resource.service_unit_zh,
        "service_unit_en": resource.service_unit_en,
        "price_cny": float(resource.price_cny) if resource.price_cny is not None else None,
        "price_unit": resource.price_unit,
        "capacity": resource.capacity,
        "tags": [t.slug for t in resource.tags],
        "retired": resource.is_retired,
    }


def detail(resource: Resource) -> dict[str, Any]:
    out = summary(resource)
    out.update(
        description_zh=resource.description_zh,
        description_en=resource.description_en,
        service_content_zh=resource.service_content_zh,
        service_content_en=resource.service_content_en,
        subsidy_zh=resource.subsidy_zh,
        subsidy_en=resource.subsidy_en,
        attributes=resource.attributes,
        person_user_id=resource.person_user_id,
        retired_at=resource.retired_at.isoformat() if resource.retired_at else None,
        retired_reason=resource.retired_reason,
        updated_at=resource.updated_at.isoformat(),
    )
    return out


def get_resource(session: Session, principal: Principal, resource_id: int) -> Resource:
    return visible_resource(principal, session.get(Resource, resource_id), resource_id)


def visible_resource(principal: Principal, resource: Resource | None, resource_id: int) -> Resource:
    """The resource, when it exists and the principal may see it; otherwise "not found"."""
    if resource is None or not can_view_resource(principal, ref(resource)):
        raise NotFound("resource", "资源", resource_id)
    return resource


def resolve_tags(session: Session, slugs: Sequence[str]) -> list[Tag]:
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return []
    found = {t.slug: t for t in session.scalars(select(Tag).where(Tag.slug.in_(wanted)))}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise InvalidInput(
            f"Unknown capability tags: {', '.join(unknown)}.",
            f"未知的能力标签：{'、'.join(unknown)}。",
            details={"fields": {"tags": "unknown"}, "unknown": unknown},
        )
    return [found[s] for s in wanted]


def _check_price(price: Decimal | float | None, unit: str) -> None:
    if unit == "free" and price not in (None, 0):
        raise InvalidInput(
            "A free resource cannot have a price.",
            "免费资源不能设置价格。",
            details={"fields": {"price_cny": "must_be_empty_when_free"}},
        )


def create_resource(
    session: Session, principal: Principal, *, space_id: int, organization_id: int, fields: dict[str, Any]
) -> Resource:
    space = session.get(Space, space_id)
    if space is None:
        raise NotFound("space", "空间", space_id)
    org = session.get(Organization, organization_id)
    if org is None or org.space_id != space_id:
        raise InvalidInput(
            "The organisation must belong to the same space.",
            "所属机构必须属于同一空间。",
            details={"fields": {"organization_id": "not_in_space"}},
        )
    if not can_create_resource(principal, space_id, organization_id):
        raise Forbidden("add resources for this organisation", "为该机构添加资源")
    kind = fields["kind"]
    check_category(kind, fields["category"])
    attributes = clean_attributes(kind, fields.get("attributes") or {})
    _check_price(fields.get("price_cny"), fields.get("price_unit", "hour"))
    tags = resolve_tags(session, fields.get("tags") or [])
    resource = Resource(
        space_id=space_id,
        organization_id=organization_id,
        key=fields.get("key") or f"{kind.replace('_', '-')}-{secrets.token_hex(4)}",
        kind=ResourceKind(kind),
        attributes=attributes,
        tags=tags,
        **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS and k not in ("attributes", "tags")},
    )
    session.add(resource)
    session.flush()
    _audit(session, principal, resource, "resource_created", {})
    events.record(session, events.ResourceChanged("added", space_id, resource.id, summary(resource)))
    return resource


def update_resource(
    session: Session, principal: Principal, resource_id: int, changes: dict[str, Any]
) -> Resource:
    resource = get_resource(session, principal, resource_id)
    if not can_edit_resource(principal, ref(resource)):
        raise Forbidden("edit this resource", "编辑该资源")
    if resource.is_retired:
        raise ResourceRetired(resource.id)
    check_editable(changes, EDITABLE_FIELDS)
    if "category" in changes:
        check_category(resource.kind.value, changes["category"])
    if "attributes" in changes:
        changes["attributes"] = clean_attributes(resource.kind.value, changes["attributes"] or {})
    _check_price(changes.get("price_cny", resource.price_cny), changes.get("price_unit", resource.price_unit))
    if "tags" in changes:
        resource.tags = resolve_tags(session, changes.pop("tags") or [])
    for name, value in changes.items():
        setattr(resource, name, value)
    resource.updated_at = utcnow()
    session.flush()
    _audit(session, principal, resource, "resource_updated", {"fields": sorted(changes)})
    events.record(
        session, events.ResourceChanged("updated", resource.space_id, resource.id, summary(resource))
    )
    return resource


def retire_resource(session: Session, principal: Principal, resource_id: int, reason: str) -> Resource:
    """Take a resource out of service. It stays in the database: history and bookings refer to it."""
    resource = get_resource(session, principal, resource_id)
    if not can_retire_resource(principal, ref(resource)):
        raise Forbidden("retire this resource", "下线该资源")
    if resource.is_retired:
        raise ResourceRetired(resource.id)
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise InvalidInput(
            "Please say why the resource is retired (up to 500 characters).",
            "请填写下线原因（不超过500字）。",
            details={"fields": {"reason": "length_1_500"}},
        )
    resource.retired_at = utcnow()
    resource.retired_reason = reason
    resource.updated_at = utcnow()
    session.flush()
    _audit(session, principal, resource, "resource_retired", {"reason": reason})
    events.record(
        session, events.ResourceChanged("retired", resource.space_id, resource.id, summary(resource))
    )
    return resource


def _audit(
    session: Session, principal: Principal, resource: Resource, action: str, detail: dict[str, Any]
) -> None:
    session.add(
        AuditEntry(
            actor_id=principal.user_id,
            space_id=resource.space_id,
            action=action,
            subject=f"resource:{resource.id}",
            detail=detail,
        )
    )


# Search -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    space_ids: tuple[int, ...] = ()
    price_max: float | None = None
    include_retired: bool = False
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class SearchResult:
    resources: list[Resource]
    total: int
    matched_tags: list[str]
    scores: dict[int, float]


class _IndexCache:
    """One text index per catalogue state; rebuilt when a resource or tag changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._index: FieldedIndex | None = None
        self._vocabulary = Vocabulary({})

    def get(self, session: Session) -> tuple[FieldedIndex, Vocabulary]:
        bind = session.get_bind()
        state = session.execute(
            select(func.count(Resource.id), func.max(Resource.updated_at), func.max(Resource.id))
        ).one()
        tag_state = session.execute(select(func.count(Tag.id), func.max(Tag.id))).one()
        key = (id(bind), str(bind.engine.url), *state, *tag_state)
        with self._lock:
            if key != self._key or self._index is None:
                self._vocabulary = Vocabulary(
                    {
                        t.slug: [t.label_zh, t.label_en, *t.terms_zh, *t.terms_en]
                        for t in session.scalars(select(Tag))
                    }
                )
                rows = session.scalars(select(Resource).options(selectinload(Resource.tags)))
                self._index = FieldedIndex(((r.id, document_fields(r)) for r in rows), FIELD_WEIGHTS)
                self._key = key
            return self._index, self._vocabulary


_cache = _IndexCache()


def reset_search_cache() -> None:
    """Forget the text index (tests that rebuild the database between cases call this)."""
    global _cache
    _cache = _IndexCache()


def _attribute_text(resource: Resource) -> str:
    return " ".join(str(v) for v in resource.attributes.values() if isinstance(v, str))


def _tag_words(tag: Tag) -> str:
    return " ".join([tag.label_zh, tag.label_en, *tag.terms_zh, *tag.terms_en])


def document_text(resource: Resource) -> str:
    """Everything a word search should find a resource by, in both languages."""
    attrs = _attribute_text(resource)
    tag_terms = " ".join(_tag_words(t) for t in resource.tags)
    parts = [
        resource.name_zh,
        resource.name_en,
        resource.name_zh,  # names weigh double
        resource.name_en,
        resource.description_zh,
        resource.description_en,
        resource.service_content_zh,
        resource.service_content_en,
        resource.organization.name_zh if resource.organization else "",
        attrs,
        tag_terms,
    ]
    return "\n".join(p for p in parts if p)


# How much a match in each field of a resource counts: its name most, then its capability tags (the
# space's own vocabulary of what it does), then the long texts that mention many things in passing.
FIELD_WEIGHTS = {"name": 3.0, "tags": 2.0, "body": 1.0}


def document_fields(resource: Resource) -> dict[str, str]:
    """A resource's text by field, in both languages, for the weighted search index."""
    attrs = _attribute_text(resource)
    return {
        "name": "\n".join([resource.name_zh, resource.name_en]),
        "tags": "\n".join(_tag_words(t) for t in resource.tags),
        "body": "\n".join(
            p
            for p in (
                resource.description_zh,
                resource.description_en,
                resource.service_content_zh,
                resource.service_content_en,
                resource.organization.name_zh if resource.organization else "",
                attrs,
            )
            if p
        ),
    }


def search_resources(session: Session, principal: Principal, query: SearchQuery) -> SearchResult:
    """Filter by kind, category, tags, space and price in SQL, then rank by words in either language."""
    stmt = select(Resource).options(selectinload(Resource.tags), selectinload(Resource.organization))
    if query.kinds:
        stmt = stmt.where(Resource.kind.in_([ResourceKind(k) for k in query.kinds]))
    if query.categories:
        stmt = stmt.where(Resource.category.in_(query.categories))
    if query.space_ids:
        stmt = stmt.where(Resource.space_id.in_(query.space_ids))
    if query.price_max is not None:
        stmt = stmt.where((Resource.price_cny <= query.price_max) | (Resource.price_unit == "free"))
    if not query.include_retired:
        stmt = stmt.where(Resource.retired_at.is_(None))
    for slug in query.tags:
        stmt = stmt.where(
            Resource.id.in_(select(resource_tags.c.resource_id).join(Tag).where(Tag.slug == slug))
        )
    rows = [r for r in session.scalars(stmt) if can_view_resource(principal, ref(r))]
    matched: list[str] = []
    scores: dict[int, float] = {}
    if query.q.strip():
        index, vocabulary = _cache.get(session)
        expanded, matched = expand_query(query.q, vocabulary)
        hits = index.search(expanded, among=[r.id for r in rows], asked=query.q)
        scores = {h.key: h.score for h in hits}
        by_id = {r.id: r for r in rows}
        rows = [by_id[h.key] for h in hits if h.key in by_id]
    else:
        rows.sort(key=lambda r: (r.space_id, r.kind.value, r.category, r.name_en))
    total = len(rows)
    page = rows[query.offset : query.offset + query.limit]
    return SearchResult(resources=page, total=total, matched_tags=matched, scores=scores)


def public_directory(session: Session, space_id: int | None = None, q: str = "") -> list[Resource]:
    """The Zhangjiang requirement: equipment list, service content, service unit and price, no login."""
    query = SearchQuery(
        q=q,
        kinds=tuple(k.value for k in DIRECTORY_KINDS),
        space_ids=(space_id,) if space_id else (),
        limit=10_000,
    )
    return search_resources(session, ANONYMOUS, query).resources


def list_tags(session: Session) -> list[Tag]:
    return list(session.scalars(select(Tag).order_by(Tag.slug)))


def is_bookable(resource: Resource) -> bool:
    return resource.kind.value in BOOKABLE_KINDS and not resource.is_retired
