"""Pages: the catalogue with search, a resource's page, adding, editing and retiring, and the public
equipment directory."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError

from matchmaker.catalogue import CATEGORIES, KINDS
from matchmaker.errors import Forbidden
from matchmaker.operations import catalogue, spaces
from matchmaker.permissions import can_create_resource, can_edit_resource, can_retire_resource
from models import Organization
from web import recommendations
from web.api import schemas
from web.db import get_session
from web.errors import from_validation_error
from web.i18n import current_locale
from web.pages import form_to_model, render_form
from web.security import current_principal, login_required
from web.units import attempt

bp = Blueprint("catalogue", __name__)


def _search_params() -> schemas.SearchParams:
    raw = {
        "q": request.args.get("q", ""),
        "kind": [k for k in request.args.getlist("kind") if k],
        "tag": [t for t in request.args.getlist("tag") if t],
        "space_id": [s for s in request.args.getlist("space_id") if s],
        "limit": request.args.get("limit", "60"),
        "offset": request.args.get("offset", "0"),
    }
    if request.args.get("price_max"):
        raw["price_max"] = request.args["price_max"]
    return schemas.SearchParams.model_validate(raw)


@bp.get("/catalogue")
def index() -> Any:
    session = get_session()
    error = None
    try:
        params = _search_params()
    except ValidationError as exc:
        error = from_validation_error(exc)
        params = schemas.SearchParams()
    result = catalogue.search_resources(
        session,
        current_principal(),
        catalogue.SearchQuery(
            q=params.q,
            kinds=tuple(params.kind),
            tags=tuple(params.tag),
            space_ids=tuple(params.space_id),
            price_max=params.price_max,
            limit=params.limit,
            offset=params.offset,
        ),
    )
    all_spaces = spaces.list_spaces(session)
    shown_spaces = params.space_id or [s.id for s in all_spaces]
    page, _ = render_form(
        "catalogue/index.html",
        error,
        params=params,
        result=result,
        kinds=KINDS,
        tags=catalogue.list_tags(session),
        spaces=all_spaces,
        live_space_ids=shown_spaces,
    )
    return page, 200 if error is None else 422


@bp.get("/directory")
def directory() -> Any:
    """The public list of shared equipment, as the Zhangjiang opinions ask: no login needed."""
    session = get_session()
    space_id = schemas.optional_id(request.args.get("space_id"), "space_id")
    q = request.args.get("q", "")[:200]
    rows = catalogue.public_directory(session, space_id, q)
    return render_template(
        "catalogue/directory.html", rows=rows, spaces=spaces.list_spaces(session), space_id=space_id, q=q
    )


@bp.get("/resources/<int:resource_id>/row")
def row(resource_id: int) -> Any:
    """One resource as the catalogue lists it, for the live page to insert or replace."""
    resource = catalogue.get_resource(get_session(), current_principal(), resource_id)
    return render_template("catalogue/_row.html", r=resource)


@bp.get("/resources/<int:resource_id>")
def show(resource_id: int) -> Any:
    principal = current_principal()
    resource = catalogue.get_resource(get_session(), principal, resource_id)
    ref = catalogue.ref(resource)
    fitting = None
    if (
        resource.kind.value in ("mentor", "fund")
        and not resource.is_retired
        and can_edit_resource(principal, ref)
    ):
        fitting = recommendations.for_resource(resource)
    return render_template(
        "catalogue/show.html",
        resource=resource,
        fitting=fitting,
        can_edit=can_edit_resource(principal, ref) and not resource.is_retired,
        can_retire=can_retire_resource(principal, ref) and not resource.is_retired,
    )


def _creatable_orgs(space_id: int) -> list[Organization]:
    space = spaces.get_space(get_session(), space_id)
    return [o for o in space.organizations if can_create_resource(current_principal(), space_id, o.id)]


@bp.route("/spaces/<int:space_id>/resources/new", methods=["GET", "POST"])
@login_required
def create(space_id: int) -> Any:
    space = spaces.get_space(get_session(), space_id)
    orgs = _creatable_orgs(space_id)
    if not orgs:
        raise Forbidden("add resources to this space", "向该空间添加资源")
    context = {
        "space": space,
        "orgs": orgs,
        "kinds": KINDS,
        "categories": CATEGORIES,
        "resource": None,
        "tags": catalogue.list_tags(get_session()),
    }
    kind = request.values.get("kind", "equipment")
    if kind not in KINDS:
        abort(404)
    if request.method == "GET":
        return render_form("catalogue/form.html", None, kind=kind, **context)

    def _create() -> Any:
        body = form_to_model(
            schemas.ResourceCreate,
            extra={"space_id": space_id, "attributes": _attributes_from_form(), "kind": kind},
        )
        return catalogue.create_resource(
            get_session(),
            current_principal(),
            space_id=space_id,
            organization_id=body.organization_id,
            fields=body.model_dump(exclude={"space_id", "organization_id"}),
        )

    resource, error = attempt(_create)
    if error or resource is None:
        return render_form("catalogue/form.html", error, kind=kind, **context)
    flash(_("Resource added to the catalogue."), "success")
    return redirect(url_for("catalogue.show", resource_id=resource.id))


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
def edit(resource_id: int) -> Any:
    session = get_session()
    principal = current_principal()
    resource = catalogue.get_resource(session, principal, resource_id)
    if not can_edit_resource(principal, catalogue.ref(resource)):
        raise Forbidden("edit this resource", "编辑该资源")
    context = {
        "space": resource.space,
        "orgs": [resource.organization],
        "kinds": KINDS,
        "categories": CATEGORIES,
        "resource": resource,
        "kind": resource.kind.value,
        "tags": catalogue.list_tags(session),
    }
    if request.method == "GET":
        return render_form("catalogue/form.html", None, **context)

    def _update() -> Any:
        body = form_to_model(schemas.ResourceUpdate, extra={"attributes": _attributes_from_form()})
        changes = body.model_dump(exclude_unset=True)
        return catalogue.update_resource(session, principal, resource_id, changes)

    updated, error = attempt(_update)
    if error or updated is None:
        return render_form("catalogue/form.html", error, **context)
    flash(_("Changes saved."), "success")
    return redirect(url_for("catalogue.show", resource_id=resource_id))


@bp.post("/resources/<int:resource_id>/retire")
@login_required
def retire(resource_id: int) -> Any:
    _done, error = attempt(
        lambda: catalogue.retire_resource(
            get_session(), current_principal(), resource_id, form_to_model(schemas.RetireIn).reason
        )
    )
    if error:
        flash(error.message(current_locale()), "danger")
        return redirect(url_for("catalogue.show", resource_id=resource_id))
    flash(_("The resource is retired. It stays on record but can no longer be used."), "info")
    return redirect(url_for("catalogue.index"))


def _attributes_from_form() -> dict[str, Any]:
    """Kind-specific attributes arrive as ``attr.<name>`` inputs; empty ones are left out."""
    attributes: dict[str, Any] = {}
    for key, value in request.form.items():
        if not key.startswith("attr.") or not value.strip():
            continue
        name = key[5:]
        if name == "rounds":
            attributes[name] = request.form.getlist(key)
        elif name == "requires_training":
            attributes[name] = value in ("on", "true", "1")
        elif name in ("monthly_hours", "seats"):
            attributes[name] = int(value) if value.strip().isdigit() else value
        elif name in ("fund_size_10k_cny", "ticket_min_10k_cny", "ticket_max_10k_cny", "area_m2"):
            try:
                attributes[name] = float(value)
            except ValueError:
                attributes[name] = value
        else:
            attributes[name] = value.strip()
    return attributes
