"""Rules of the catalogue: the kind-specific attributes each kind of resource carries, checked per kind."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from matchmaker.errors import InvalidInput, field_code

KINDS = ("equipment", "pilot_line", "workspace", "mentor", "fund", "service")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "equipment": ("testing", "design", "model_processing"),
    "pilot_line": ("pilot",),
    "workspace": ("desk", "meeting_room", "office"),
    "mentor": ("technical", "entrepreneurship"),
    "fund": ("angel", "seed_fund", "vc"),
    "service": ("ip", "legal", "finance", "certification", "regulatory", "training"),
}
BOOKABLE_KINDS = frozenset({"equipment", "pilot_line", "workspace"})
ROUNDS = ("seed", "angel", "pre_a", "a", "b")

ShortText = Field(default=None, max_length=500)
# C0 control characters other than tab and line breaks, and DEL: never part of text people write.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Attrs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class InstrumentAttrs(_Attrs):
    manufacturer: str | None = ShortText
    model: str | None = ShortText
    specification_zh: str | None = Field(default=None, max_length=2000)
    specification_en: str | None = Field(default=None, max_length=2000)
    location_zh: str | None = ShortText
    location_en: str | None = ShortText
    requires_training: bool = False
    throughput_zh: str | None = ShortText
    throughput_en: str | None = ShortText


class WorkspaceAttrs(_Attrs):
    seats: int | None = Field(default=None, ge=1, le=10000)
    area_m2: float | None = Field(default=None, gt=0, le=1_000_000)
    location_zh: str | None = ShortText
    location_en: str | None = ShortText


class PersonAttrs(_Attrs):
    person_zh: str | None = ShortText
    person_en: str | None = ShortText


class MentorAttrs(PersonAttrs):
    title_zh: str | None = ShortText
    title_en: str | None = ShortText
    expertise_zh: str | None = Field(default=None, max_length=2000)
    expertise_en: str | None = Field(default=None, max_length=2000)
    monthly_hours: int = Field(default=8, ge=0, le=200)


class FundAttrs(PersonAttrs):
    fund_size_10k_cny: float | None = Field(default=None, ge=0, le=1e9)
    rounds: list[Literal["seed", "angel", "pre_a", "a", "b"]] = Field(default_factory=list)
    ticket_min_10k_cny: float | None = Field(default=None, ge=0, le=1e9)
    ticket_max_10k_cny: float | None = Field(default=None, ge=0, le=1e9)
    focus_zh: str | None = Field(default=None, max_length=2000)
    focus_en: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _ticket_range(self) -> FundAttrs:
        lo, hi = self.ticket_min_10k_cny, self.ticket_max_10k_cny
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("ticket_min_10k_cny must not exceed ticket_max_10k_cny")
        return self


class ServiceAttrs(PersonAttrs):
    provider_zh: str | None = ShortText
    provider_en: str | None = ShortText


ATTRIBUTE_MODELS: dict[str, type[_Attrs]] = {
    "equipment": InstrumentAttrs,
    "pilot_line": InstrumentAttrs,
    "workspace": WorkspaceAttrs,
    "mentor": MentorAttrs,
    "fund": FundAttrs,
    "service": ServiceAttrs,
}


def check_category(kind: str, category: str) -> None:
    if kind not in CATEGORIES:
        raise InvalidInput(
            f"Unknown kind {kind!r}; choose one of {', '.join(KINDS)}.",
            f"未知资源类型“{kind}”，可选：{'、'.join(KINDS)}。",
            details={"fields": {"kind": "unknown"}},
        )
    if category not in CATEGORIES[kind]:
        allowed = CATEGORIES[kind]
        raise InvalidInput(
            f"Category {category!r} does not fit kind {kind!r}; choose one of {', '.join(allowed)}.",
            f"类别“{category}”不适用于“{kind}”，可选：{'、'.join(allowed)}。",
            details={"fields": {"category": "not_allowed_for_kind"}, "allowed": list(allowed)},
        )


def clean_attributes(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a resource's kind-specific attributes; returns them normalised (unset keys dropped)."""
    model = ATTRIBUTE_MODELS[kind]
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        fields = {
            "attributes." + ".".join(str(p) for p in err["loc"]) if err["loc"] else "attributes": field_code(
                err["type"], err["msg"]
            )
            for err in exc.errors()
        }
        raise InvalidInput(
            "Some attributes are not valid for this kind of resource.",
            "部分属性不符合该资源类型的要求。",
            details={"fields": fields},
        ) from None
    cleaned = parsed.model_dump(exclude_none=True)
    bad = sorted(k for k, v in cleaned.items() if isinstance(v, str) and CONTROL.search(v))
    if bad:
        raise InvalidInput(
            "Text may not contain control characters.",
            "文本中不能包含控制字符。",
            details={"fields": {f"attributes.{k}": "control_characters" for k in bad}},
        )
    return cleaned
