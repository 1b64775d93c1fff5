"""Problems a user can fix: a stable machine code, an HTTP status and a message in both languages."""

from __future__ import annotations

from typing import Any


class MatchmakerError(Exception):
    """Base class: ``str(exc)`` is the English message and is always safe to show."""

    code = "error"
    status = 400

    def __init__(self, message_en: str, message_zh: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh
        self.details = details or {}

    def message(self, locale: str) -> str:
        return self.message_zh if locale.startswith("zh") else self.message_en


class InvalidInput(MatchmakerError):
    """Input that breaks a rule; ``details["fields"]`` maps field names to what is wrong with them."""

    code = "invalid_input"
    status = 422


# Validation failures by kind, as stable codes that pages translate and API clients can act on.
_FIELD_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "string_pattern_mismatch": "invalid_format",
    "literal_error": "not_a_choice",
    "enum": "not_a_choice",
    "json_invalid": "not_json",
    "finite_number": "not_a_number",
    "timezone_aware": "needs_timezone",
    "out_of_range": "out_of_range",
}
_FIELD_CODE_PREFIXES = (
    (("int_", "float_", "decimal_parsing", "decimal_type"), "not_a_number"),
    (("greater_than", "less_than", "decimal_max", "decimal_whole"), "out_of_range"),
    (("date_", "datetime_"), "invalid_date"),
    (("bool_",), "not_a_boolean"),
    (("string_type", "dict_type", "list_type", "model_type", "model_attributes_type"), "wrong_type"),
)


def field_code(error_type: str, message: str = "") -> str:
    """Turn a validation error's type (pydantic's vocabulary) into one of the platform's field codes."""
    if error_type in _FIELD_CODES:
        return _FIELD_CODES[error_type]
    for prefixes, code in _FIELD_CODE_PREFIXES:
        if error_type.startswith(prefixes):
            return code
    return "control_characters" if "control characters" in message else "invalid"


def check_editable(changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse changes to fields that cannot be edited through this operation, naming them."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(unknown)}.",
            f"以下字段不能在此修改：{'、'.join(unknown)}。",
            details={"fields": dict.fromkeys(unknown, "not_editable")},
        )


class NotAuthenticated(MatchmakerError):
    code = "not_authenticated"
    status = 401

    def __init__(self) -> None:
        super().__init__("Please log in first.", "请先登录。")


class Forbidden(MatchmakerError):
    code = "forbidden"
    status = 403

    def __init__(self, what_en: str = "do this", what_zh: str = "执行此操作") -> None:
        super().__init__(f"You are not allowed to {what_en}.", f"您无权{what_zh}。")


class NotFound(MatchmakerError):
    code = "not_found"
    status = 404

    def __init__(self, kind_en: str, kind_zh: str, ident: object) -> None:
        super().__init__(
            f"No {kind_en} with id {ident} exists here.",
            f"不存在编号为 {ident} 的{kind_zh}。",
            details={"id": ident},
        )


class Conflict(MatchmakerError):
    code = "conflict"
    status = 409


class ResourceRetired(Conflict):
    code = "resource_retired"

    def __init__(self, resource_id: int) -> None:
        super().__init__(
            "This resource has been retired and can no longer be changed or used.",
            "该资源已下线，不能再修改或使用。",
            details={"resource_id": resource_id},
        )


class AlreadyExists(Conflict):
    code = "already_exists"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class CriteriaNotMet(Conflict):
    code = "criteria_not_met"


class RateLimited(MatchmakerError):
    code = "rate_limited"
    status = 429

    def __init__(self, limit: str) -> None:
        super().__init__(
            f"Too many attempts; please wait a moment and try again ({limit}).",
            f"尝试次数过多，请稍后再试（{limit}）。",
            details={"limit": limit},
        )
