"""The format of the demo data files in ``seeds/data``: validated before anything is loaded."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from matchmaker.catalogue import BOOKABLE_KINDS, CATEGORIES
from models.spaces import EntityNature

DATA_DIR = Path(__file__).parent / "data"

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]

OrgKind = Literal["host_enterprise", "research_institute", "university", "investor_firm", "service_provider"]
ResourceKind = Literal["equipment", "pilot_line", "workspace", "mentor", "fund", "service"]
Stage = Literal["nursery", "incubator", "accelerator", "graduated", "exited"]
Round = Literal["seed", "angel", "pre_a", "a", "b"]
PriceUnit = Literal["hour", "day", "sample", "session", "month", "free"]
OpeningHours = Literal["office", "extended", "always"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpaceProfileData(Strict):
    """The fields of the national basic information form (附件2 基础信息表)."""

    founded_on: date
    operating_entity: Name
    operating_entity_nature: EntityNature
    legal_representative: Name
    legal_representative_phone: Name
    person_in_charge: Name
    person_in_charge_mobile: Name
    contact_name: Name
    contact_mobile: Name
    address: Name
    email: Name
    built_by_enterprise: Name | None = None
    built_by_university: Name | None = None
    built_by_institute: Name | None = None
    main_direction: Name
    management_team_size: int = Field(ge=0)
    management_team_with_degree: int = Field(ge=0)
    floor_area_m2: float = Field(ge=0)
    public_service_area_m2: float = Field(ge=0)
    angel_fund_10k_cny: float = Field(ge=0)
    events_held: int = Field(ge=0)
    online_platform_name: Name
    public_tech_platform_name: Name | None = None
    has_entry_standards: bool
    has_exit_conditions: bool
    has_project_database: bool
    other_systems: Name | None = None
    entry_criteria_zh: Text
    entry_criteria_en: Text
    exit_conditions_zh: Text
    exit_conditions_en: Text


class OrganizationData(Strict):
    key: Key
    kind: OrgKind
    is_host: bool = False
    name_zh: Name
    name_en: Name


class BookingData(Strict):
    """What sets one bookable resource apart from the booking rules its kind, category and price unit
    give it (seeds/bookings.py; the rules are in HISTORY.md, "Booking")."""

    hours: OpeningHours | None = None  # instead of the derived opening hours
    certification: bool = False  # a delicate instrument: only certified users may book it
    open_to_other_spaces: bool = False


class ResourceData(Strict):
    key: Key
    kind: ResourceKind
    category: str
    org: Key
    name_zh: Name
    name_en: Name
    description_zh: Text
    description_en: Text
    tags: list[Key] = Field(min_length=1)
    service_content_zh: Text
    service_content_en: Text
    service_unit_zh: Name
    service_unit_en: Name
    price_cny: float | None = Field(default=None, ge=0)
    price_unit: PriceUnit
    subsidy_zh: Text | None = None
    subsidy_en: Text | None = None
    capacity: int = Field(default=1, ge=1, le=1000)
    attributes: dict[str, str | int | float | bool | list[str]] = Field(default_factory=dict)
    booking: BookingData | None = None

    @model_validator(mode="after")
    def _category_fits_kind(self) -> ResourceData:
        if self.category not in CATEGORIES[self.kind]:
            raise ValueError(f"category {self.category!r} is not one of {sorted(CATEGORIES[self.kind])}")
        return self

    @model_validator(mode="after")
    def _booking_fits_kind(self) -> ResourceData:
        if self.booking is None:
            return self
        if self.kind not in BOOKABLE_KINDS:
            raise ValueError(f"{self.key}: only {sorted(BOOKABLE_KINDS)} take booking rules")
        if self.booking.certification and self.attributes.get("requires_training") is not True:
            raise ValueError(
                f"{self.key}: a certificate is only required where the catalogue says training is"
            )
        return self


class MemberData(Strict):
    name_zh: Name
    name_en: Name
    role: Literal["lead", "member"]


class TeamData(Strict):
    key: Key
    name_zh: Name
    name_en: Name
    description_zh: Text
    description_en: Text
    needs_zh: Text
    needs_en: Text
    tags: list[Key] = Field(min_length=1)
    stage: Stage
    residence_start: date
    registered_enterprise: bool
    funding_ask_10k_cny: float | None = Field(default=None, ge=0)
    round_sought: Round | None = None
    members: list[MemberData] = Field(min_length=1, max_length=8)


class TaskData(Strict):
    key: Key
    org: Key
    title_zh: Name
    title_en: Name
    description_zh: Text
    description_en: Text
    tags: list[Key] = Field(min_length=1)
    budget_10k_cny: float = Field(ge=0)


class SpaceData(Strict):
    """One demo space file: ``seeds/data/spaces/<slug>.json``."""

    slug: Key
    name_zh: Name
    name_en: Name
    niche_zh: Name
    niche_en: Name
    timezone: str = "Asia/Shanghai"
    description_zh: Text
    description_en: Text
    profile: SpaceProfileData
    organizations: list[OrganizationData] = Field(min_length=1)
    resources: list[ResourceData]
    teams: list[TeamData]
    tasks: list[TaskData] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> SpaceData:
        if not self.name_zh.endswith("专业化众创空间"):
            raise ValueError("a space's Chinese name must read 'XXX专业化众创空间'")
        orgs = {o.key for o in self.organizations}
        if not any(o.is_host for o in self.organizations):
            raise ValueError("a space needs at least one host organisation")
        owners = [(r.key, r.org) for r in self.resources] + [(t.key, t.org) for t in self.tasks]
        for key, org in owners:
            if org not in orgs:
                raise ValueError(f"{key}: unknown organisation {org!r}")
        keys = [r.key for r in self.resources] + [t.key for t in self.teams] + [t.key for t in self.tasks]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"duplicate keys: {sorted(dupes)}")
        return self


class VocabularyTerm(Strict):
    zh: list[Name] = Field(min_length=1)
    en: list[Name] = Field(min_length=1)


def load_vocabulary(data_dir: Path = DATA_DIR) -> dict[str, VocabularyTerm]:
    """Merge every ``vocabulary/*.json`` file into one tag -> terms map."""
    merged: dict[str, VocabularyTerm] = {}
    for path in sorted((data_dir / "vocabulary").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        for tag, terms in raw.items():
            if tag in merged:
                raise ValueError(f"{path.name}: tag {tag!r} is defined twice")
            merged[tag] = VocabularyTerm.model_validate(terms)
    return merged


def load_space_file(path: Path, vocabulary: dict[str, VocabularyTerm]) -> SpaceData:
    """Parse one space file and check that every tag it uses is in the vocabulary."""
    space = SpaceData.model_validate_json(path.read_text(encoding="utf-8"))
    tag_lists = [r.tags for r in space.resources] + [t.tags for t in space.teams]
    tag_lists += [t.tags for t in space.tasks]
    used = {tag for tags in tag_lists for tag in tags}
    unknown = sorted(used - vocabulary.keys())
    if unknown:
        raise ValueError(f"{path.name}: tags not in the vocabulary: {unknown}")
    return space


def space_files(data_dir: Path = DATA_DIR) -> list[Path]:
    return sorted((data_dir / "spaces").glob("*.json"))
