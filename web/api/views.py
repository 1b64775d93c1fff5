"""JSON API endpoints: each parses, calls one operation, commits once, then broadcasts."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import logout_user
from sqlalchemy import select

from matchmaker.errors import InvalidInput, NotFound
from matchmaker.operations import accounts, catalogue, matching, spaces, teams
from matchmaker.permissions import can_edit_space
from models import Organization, Role, User
from web.api import answers, route, schemas
from web.db import get_session
from web.extensions import limiter, login_limit
from web.recommendations import mode_label, model_folder, reasons_out
from web.security import current_principal, refresh_principal, require_user

# Users and tokens ---------------------------------------------------------------------------------


def user_out(user: User) -> dict[str, Any]:
    principal = accounts.principal_for(get_session(), user)
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "is_admin": user.is_admin,
        "roles": [{"space_id": s, "role": r} for s, r in sorted(principal.roles)],
        "teams": [{"team_id": t, "space_id": s, "role": r} for t, (s, r) in sorted(principal.teams.items())],
    }


@route(
    "/users",
    "POST",
    "Register an account",
    tag="users",
    body=schemas.RegisterIn,
    auth=False,
    responses={201: "Created", 409: "E-mail taken", 422: "Invalid input"},
    answer=answers.UserOut,
)
@limiter.limit(login_limit)
def register(body: schemas.RegisterIn) -> Any:
    user = accounts.create_user(
        get_session(), email=body.email, password=body.password, display_name=body.display_name
    )
    return user_out(user), 201


@route("/users/me", "GET", "The current user, with roles and teams", tag="users", answer=answers.UserOut)
def me() -> Any:
    return user_out(require_user())


@route(
    "/tokens",
    "POST",
    "Exchange e-mail and password for a personal access token",
    tag="users",
    body=schemas.TokenIn,
    auth=False,
    responses={
        201: "Created; the token is shown only now",
        422: "Wrong credentials",
        429: "Too many attempts",
    },
    answer=answers.TokenCreated,
)
@limiter.limit(login_limit)
def create_token_with_password(body: schemas.TokenIn) -> Any:
    session = get_session()
    user = accounts.authenticate(session, body.email, body.password)
    token, secret = accounts.create_token(session, user, body.name)
    return {"id": token.id, "name": token.name, "token": secret}, 201


@route(
    "/users/me/tokens",
    "GET",
    "My personal access tokens (never their secrets)",
    tag="users",
    answer=answers.TokenList,
)
def list_tokens() -> Any:
    user = require_user()
    return {
        "items": [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked": not t.is_active,
            }
            for t in user.tokens
        ]
    }


@route(
    "/users/me/tokens",
    "POST",
    "Create a personal access token",
    tag="users",
    body=schemas.TokenNameIn,
    responses={201: "Created; the token is shown only now"},
    answer=answers.TokenCreated,
)
def create_token(body: schemas.TokenNameIn) -> Any:
    token, secret = accounts.create_token(get_session(), require_user(), body.name)
    return {"id": token.id, "name": token.name, "token": secret}, 201


@route("/users/me/tokens/<int:token_id>", "DELETE", "Revoke a personal access token", tag="users")
def revoke_token(token_id: int) -> Any:
    accounts.revoke_token(get_session(), require_user(), token_id)
    return "", 204


@route(
    "/session", "DELETE", "Log out everywhere: ends every browser session and live connection", tag="users"
)
def logout_everywhere() -> Any:
    user = require_user()
    accounts.end_sessions(get_session(), user)
    logout_user()
    return "", 204


# Spaces -------------------------------------------------------------------------------------------


@route("/spaces", "GET", "All spaces on this platform", tag="spaces", auth=False, answer=answers.SpaceList)
def list_spaces() -> Any:
    return {"items": [spaces.summary(s) for s in spaces.list_spaces(get_session())]}


@route(
    "/spaces/<int:space_id>",
    "GET",
    "A space's profile (the filing form's fields)",
    tag="spaces",
    auth=False,
    answer=answers.SpaceDetail,
)
def get_space(space_id: int) -> Any:
    session = get_session()
    space = spaces.get_space(session, space_id)
    out = spaces.detail(space)
    if can_edit_space(current_principal(), space_id):
        out["figures"] = spaces.filing_figures(session, space_id)
    return out


@route(
    "/spaces/<int:space_id>",
    "PATCH",
    "Edit a space's profile (managers)",
    tag="spaces",
    body=schemas.SpaceUpdate,
    answer=answers.SpaceDetail,
)
def update_space(space_id: int, body: schemas.SpaceUpdate) -> Any:
    space = spaces.update_profile(get_session(), current_principal(), space_id, schemas.changes(body))
    return spaces.detail(space)


@route(
    "/spaces/<int:space_id>/memberships",
    "POST",
    "Give a user a role in the space (managers)",
    tag="spaces",
    body=schemas.MembershipIn,
    responses={201: "Created"},
    answer=answers.MembershipOut,
)
def grant_role(space_id: int, body: schemas.MembershipIn) -> Any:
    session = get_session()
    space = spaces.get_space(session, space_id)
    user = session.scalar(select(User).where(User.email == accounts.normalise_email(body.email)))
    if user is None:
        raise InvalidInput(
            "No account uses this e-mail.", "没有使用该邮箱的账户。", details={"fields": {"email": "unknown"}}
        )
    org = None
    if body.organization_id is not None:
        org = session.get(Organization, body.organization_id)
        if org is None:
            raise NotFound("organisation", "机构", body.organization_id)
    m = accounts.grant_role(
        session, current_principal(), user=user, space=space, role=Role(body.role), organization=org
    )
    return {
        "user_id": m.user_id,
        "space_id": m.space_id,
        "role": m.role.value,
        "organization_id": m.organization_id,
    }, 201


@route(
    "/spaces/<int:space_id>/teams",
    "GET",
    "Teams of a space (its staff, mentors and investors)",
    tag="teams",
    query=schemas.SpaceTeamsParams,
    answer=answers.TeamList,
)
def list_space_teams(space_id: int, query: schemas.SpaceTeamsParams) -> Any:
    found = teams.list_teams(get_session(), current_principal(), space_id, query.status)
    return {"items": [teams.summary(t) for t in found]}


# Catalogue ----------------------------------------------------------------------------------------


@route(
    "/tags",
    "GET",
    "Capability tags with their Chinese and English terms",
    tag="catalogue",
    auth=False,
    answer=answers.TagList,
)
def list_tags() -> Any:
    return {
        "items": [
            {
                "slug": t.slug,
                "label_zh": t.label_zh,
                "label_en": t.label_en,
                "terms_zh": t.terms_zh,
                "terms_en": t.terms_en,
            }
            for t in catalogue.list_tags(get_session())
        ]
    }


@route(
    "/resources",
    "GET",
    "Search the catalogue by words (Chinese or English), kind, tags, space and price",
    tag="catalogue",
    query=schemas.SearchParams,
    auth=False,
    answer=answers.SearchResult,
)
def search_resources(query: schemas.SearchParams) -> Any:
    result = catalogue.search_resources(
        get_session(),
        current_principal(),
        catalogue.SearchQuery(
            q=query.q,
            kinds=tuple(query.kind),
            categories=tuple(query.category),
            tags=tuple(query.tag),
            space_ids=tuple(query.space_id),
            price_max=query.price_max,
            include_retired=query.include_retired,
            limit=query.limit,
            offset=query.offset,
        ),
    )
    items = []
    for r in result.resources:
        item = catalogue.summary(r)
        if r.id in result.scores:
            item["score"] = round(result.scores[r.id], 4)
        items.append(item)
    return {"items": items, "total": result.total, "matched_tags": result.matched_tags}


@route(
    "/resources",
    "POST",
    "Add a resource (host staff of the organisation, or managers)",
    tag="catalogue",
    body=schemas.ResourceCreate,
    responses={201: "Created", 403: "Not your organisation", 422: "Invalid input"},
    answer=answers.ResourceDetail,
)
def create_resource(body: schemas.ResourceCreate) -> Any:
    fields = body.model_dump(exclude={"space_id", "organization_id"})
    resource = catalogue.create_resource(
        get_session(),
        current_principal(),
        space_id=body.space_id,
        organization_id=body.organization_id,
        fields=fields,
    )
    return catalogue.detail(resource), 201, {"Location": url_for("api.get_resource", resource_id=resource.id)}


@route(
    "/resources/<int:resource_id>",
    "GET",
    "One resource",
    tag="catalogue",
    auth=False,
    answer=answers.ResourceDetail,
)
def get_resource(resource_id: int) -> Any:
    return catalogue.detail(catalogue.get_resource(get_session(), current_principal(), resource_id))


@route(
    "/resources/<int:resource_id>",
    "PATCH",
    "Edit a resource",
    tag="catalogue",
    body=schemas.ResourceUpdate,
    responses={409: "Retired", 403: "Not yours"},
    answer=answers.ResourceDetail,
)
def update_resource(resource_id: int, body: schemas.ResourceUpdate) -> Any:
    resource = catalogue.update_resource(
        get_session(), current_principal(), resource_id, schemas.changes(body)
    )
    return catalogue.detail(resource)


@route(
    "/resources/<int:resource_id>/retire",
    "POST",
    "Retire a resource (kept for history, never deleted)",
    tag="catalogue",
    body=schemas.RetireIn,
    responses={409: "Already retired"},
    answer=answers.ResourceDetail,
)
def retire_resource(resource_id: int, body: schemas.RetireIn) -> Any:
    resource = catalogue.retire_resource(get_session(), current_principal(), resource_id, body.reason)
    return catalogue.detail(resource)


@route(
    "/directory",
    "GET",
    "Public equipment directory: equipment, service content, service unit, price",
    tag="catalogue",
    query=schemas.DirectoryParams,
    auth=False,
    answer=answers.Directory,
)
def directory(query: schemas.DirectoryParams) -> Any:
    rows = catalogue.public_directory(get_session(), query.space_id, query.q)
    return {
        "items": [
            {
                **catalogue.summary(r),
                "service_content_zh": r.service_content_zh,
                "service_content_en": r.service_content_en,
                "subsidy_zh": r.subsidy_zh,
                "subsidy_en": r.subsidy_en,
            }
            for r in rows
        ]
    }


# Teams --------------------------------------------------------------------------------------------


@route("/teams", "GET", "My teams", tag="teams", answer=answers.TeamList)
def my_teams() -> Any:
    return {"items": [teams.summary(t) for t in teams.teams_of(get_session(), require_user())]}


@route(
    "/teams",
    "POST",
    "Apply to a space with a new team (you become its lead)",
    tag="teams",
    body=schemas.TeamApply,
    responses={201: "Created, pending review"},
    answer=answers.TeamDetail,
)
def apply(body: schemas.TeamApply) -> Any:
    fields = body.model_dump(exclude={"space_id"})
    team = teams.apply_for_admission(
        get_session(), current_principal(), require_user(), space_id=body.space_id, fields=fields
    )
    refresh_principal()  # the applicant now leads this team: its answer is read as a member's
    return teams.detail(team), 201


@route(
    "/teams/<int:team_id>",
    "GET",
    "A team's profile, members and stage history",
    tag="teams",
    answer=answers.TeamDetail,
)
def get_team(team_id: int) -> Any:
    return teams.detail(teams.get_team(get_session(), current_principal(), team_id))


@route(
    "/teams/<int:team_id>",
    "PATCH",
    "Edit a team's profile (its lead, or managers)",
    tag="teams",
    body=schemas.TeamUpdate,
    answer=answers.TeamDetail,
)
def update_team(team_id: int, body: schemas.TeamUpdate) -> Any:
    team = teams.update_team(get_session(), current_principal(), team_id, schemas.changes(body))
    return teams.detail(team)


@route(
    "/teams/<int:team_id>/review",
    "POST",
    "Decide an admission against the entry criteria (managers)",
    tag="teams",
    body=schemas.ReviewIn,
    responses={409: "Already decided, or criteria not met"},
    answer=answers.TeamDetail,
)
def review(team_id: int, body: schemas.ReviewIn) -> Any:
    team = teams.review_admission(
        get_session(),
        current_principal(),
        team_id,
        **body.model_dump(),
    )
    return teams.detail(team)


@route(
    "/teams/<int:team_id>/stage",
    "POST",
    "Move a team along the incubation chain, graduate or exit it (managers)",
    tag="teams",
    body=schemas.StageIn,
    responses={409: "Not allowed from the current stage"},
    answer=answers.TeamDetail,
)
def change_stage(team_id: int, body: schemas.StageIn) -> Any:
    team = teams.change_stage(get_session(), current_principal(), team_id, to=body.to, reason=body.reason)
    return teams.detail(team)


@route(
    "/teams/<int:team_id>/members",
    "POST",
    "Add a member by e-mail (the lead, or managers)",
    tag="teams",
    body=schemas.MemberIn,
    responses={201: "Added"},
    answer=answers.TeamDetail,
)
def add_member(team_id: int, body: schemas.MemberIn) -> Any:
    session = get_session()
    teams.add_member(session, current_principal(), team_id, email=body.email, role=body.role)
    return teams.detail(teams.get_team(session, current_principal(), team_id)), 201


@route(
    "/teams/<int:team_id>/members/<int:user_id>",
    "DELETE",
    "Remove a member (the lead, or managers)",
    tag="teams",
)
def remove_member(team_id: int, user_id: int) -> Any:
    teams.remove_member(get_session(), current_principal(), team_id, user_id)
    return "", 204


# Matching -----------------------------------------------------------------------------------------


@route(
    "/teams/<int:team_id>/recommendations",
    "GET",
    "Ranked equipment, pilot lines, mentors, funds and services for a team, with reasons (members, managers)",
    tag="matching",
    query=schemas.RecommendationParams,
    answer=answers.Recommendations,
)
def team_recommendations(team_id: int, query: schemas.RecommendationParams) -> Any:
    mode, found = matching.recommend_for_team(
        get_session(), current_principal(), team_id, kinds=query.kind, k=query.k, model_folder=model_folder()
    )
    ranker = matching.ranker_summary(get_session(), model_folder=model_folder())
    return {
        "mode": mode,
        # Which scorer served this team, its name in the viewer's language, and what serves warm and
        # cold teams with the validation figures each was chosen on.
        "ranker": {**ranker, "served": mode, "label": mode_label(mode)},
        "items": [
            {**catalogue.summary(s.resource), "score": round(s.score, 4), "reasons": reasons_out(s.reasons)}
            for s in found
        ],
    }


@route(
    "/teams/<int:team_id>/recommendations/why-not",
    "GET",
    "Where a named resource stands for the team, and what holds it back",
    tag="matching",
    query=schemas.WhyNotParams,
    answer=answers.WhyNot,
)
def why_not(team_id: int, query: schemas.WhyNotParams) -> Any:
    result = matching.why_not(
        get_session(), current_principal(), team_id, query.resource_id, model_folder=model_folder()
    )
    held_back = result.pop("held_back_by")
    return {**result, "resource_id": query.resource_id, "held_back_by": reasons_out(tuple(held_back))}  # type: ignore[arg-type]


@route(
    "/resources/<int:resource_id>/recommended-teams",
    "GET",
    "Teams that fit a mentor, investor or other resource, by both sides' fit (its person, host, managers)",
    tag="matching",
    query=schemas.TopParams,
    answer=answers.TeamRecommendations,
)
def recommended_teams(resource_id: int, query: schemas.TopParams) -> Any:
    mode, found = matching.teams_for_resource(
        get_session(), current_principal(), resource_id, k=query.k, model_folder=model_folder()
    )
    return {
        "mode": mode,
        "items": [
            {
                **teams.summary(s.team),
                "score": round(s.score, 4),
                # Both sides' fit, of which the score is the harmonic mean.
                "team_side": round(s.sides[0], 4) if s.sides else None,
                "resource_side": round(s.sides[1], 4) if s.sides else None,
                "reasons": reasons_out(s.reasons),
            }
            for s in found
        ],
    }
