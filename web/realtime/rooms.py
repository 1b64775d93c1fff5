"""Room names come from these functions, never from inline strings."""

from __future__ import annotations


def space(space_id: int) -> str:
    return f"space:{space_id}"


def resource(resource_id: int) -> str:
    return f"resource:{resource_id}"


def user(user_id: int) -> str:
    return f"user:{user_id}"


def token(token_id: int) -> str:
    """Every connection opened with one personal access token."""
    return f"token:{token_id}"


def managers(space_id: int) -> str:
    """The managers of a space: admission applications and team changes arrive here."""
    return f"space:{space_id}:managers"


def organization(organization_id: int) -> str:
    """A host organisation's staff (and the space's managers): bookings of its equipment arrive here."""
    return f"organization:{organization_id}"


def task(task_id: int) -> str:
    """Everyone looking at one task: its live state and bid count arrive here."""
    return f"task:{task_id}"
