"""Spaces (one deployment can hold several, 一区多园) and the organisations that host or serve them."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column, str_80, str_200, text

if TYPE_CHECKING:
    from models.resources import Resource
    from models.teams import Team


class EntityNature(enum.StrEnum):
    """运营主体性质, as the national basic information form lists them."""

    PUBLIC_INSTITUTION = "public_institution"
    STATE_OWNED_ENTERPRISE = "state_owned_enterprise"
    PRIVATE_ENTERPRISE = "private_enterprise"
    INVESTMENT_INSTITUTION = "investment_institution"
    UNIVERSITY = "university"
    SOCIAL_ORGANIZATION = "social_organization"
    OTHER = "other"


class OrganizationKind(enum.StrEnum):
    HOST_ENTERPRISE = "host_enterprise"
    RESEARCH_INSTITUTE = "research_institute"
    UNIVERSITY = "university"
    INVESTOR_FIRM = "investor_firm"
    SERVICE_PROVIDER = "service_provider"


class Space(TimestampMixin, Base):
    """A specialized maker space with the whole profile of the national filing form."""

    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name_zh: Mapped[str_200]
    name_en: Mapped[str_200]
    niche_zh: Mapped[str_200]
    niche_en: Mapped[str_200]
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    description_zh: Mapped[text] = mapped_column(default="")
    description_en: Mapped[text] = mapped_column(default="")

    # 基础信息表 fields that the platform cannot derive from its own data.
    founded_on: Mapped[date | None]
    operating_entity: Mapped[str_200] = mapped_column(default="")
    operating_entity_nature: Mapped[EntityNature] = mapped_column(
        enum_column(EntityNature), default=EntityNature.OTHER
    )
    legal_representative: Mapped[str_80] = mapped_column(default="")
    legal_representative_phone: Mapped[str_80] = mapped_column(default="")
    person_in_charge: Mapped[str_80] = mapped_column(default="")
    person_in_charge_mobile: Mapped[str_80] = mapped_column(default="")
    contact_name: Mapped[str_80] = mapped_column(default="")
    contact_mobile: Mapped[str_80] = mapped_column(default="")
    address: Mapped[str_200] = mapped_column(default="")
    email: Mapped[str_200] = mapped_column(default="")
    built_by_enterprise: Mapped[str | None] = mapped_column(String(200))
    built_by_university: Mapped[str | None] = mapped_column(String(200))
    built_by_institute: Mapped[str | None] = mapped_column(String(200))
    main_direction: Mapped[str_200] = mapped_column(default="")
    management_team_size: Mapped[int] = mapped_column(default=0)
    management_team_with_degree: Mapped[int] = mapped_column(default=0)
    floor_area_m2: Mapped[float] = mapped_column(default=0)
    public_service_area_m2: Mapped[float] = mapped_column(default=0)
    angel_fund_10k_cny: Mapped[float] = mapped_column(default=0)
    events_held: Mapped[int] = mapped_column(default=0)
    online_platform_name: Mapped[str_200] = mapped_column(default="")
    public_tech_platform_name: Mapped[str | None] = mapped_column(String(200))
    has_entry_standards: Mapped[bool] = mapped_column(default=False)
    has_exit_conditions: Mapped[bool] = mapped_column(default=False)
    has_project_database: Mapped[bool] = mapped_column(default=False)
    other_systems: Mapped[str | None] = mapped_column(String(200))
    # The checklist a manager reviews an admission against: [{"key", "zh", "en"}, ...].
    entry_criteria: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    exit_conditions_zh: Mapped[text] = mapped_column(default="")
    exit_conditions_en: Mapped[text] = mapped_column(default="")

    organizations: Mapped[list[Organization]] = relationship(
        back_populates="space", order_by="Organization.id"
    )
    resources: Mapped[list[Resource]] = relationship(back_populates="space")
    teams: Mapped[list[Team]] = relationship(back_populates="space")

    @property
    def host_organizations(self) -> list[Organization]:
        return [o for o in self.organizations if o.is_host]


class Organization(TimestampMixin, Base):
    """A host enterprise, research institute, university, investor firm or service provider in a space."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("space_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id"), index=True)
    key: Mapped[str] = mapped_column(String(63))
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind))
    is_host: Mapped[bool] = mapped_column(default=False)
    name_zh: Mapped[str_200]
    name_en: Mapped[str_200]

    space: Mapped[Space] = relationship(back_populates="organizations")
    # reverse relationships: Resource.organization, Task.organization, Membership.organization
