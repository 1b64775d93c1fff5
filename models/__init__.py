"""Persistence vocabulary: SQLAlchemy tables for spaces, people, teams, resources and their history."""

from models.allocations import AllocationAssignment, AllocationRound, RoundStatus
from models.audit import AuditEntry
from models.base import Base
from models.bookings import (
    ACTIVE_STATUSES,
    Allowance,
    Availability,
    Blackout,
    BlackoutEffect,
    Booking,
    BookingSeries,
    BookingStatus,
    CalendarFeed,
    Certification,
    Charge,
    ChargeKind,
    IdempotencyRecord,
    WaitlistEntry,
    WaitlistStatus,
)
from models.interactions import Interaction, InteractionKind
from models.investing import (
    Deal,
    DealStage,
    FundPosition,
    Instrument,
    Introduction,
    IntroductionStatus,
    Investment,
    PassReason,
)
from models.jobs import JobRun, JobRunStatus
from models.mentoring import (
    DeclineReason,
    MentorMonth,
    MentorRequest,
    MentorRequestStatus,
    MentorSession,
    MentorSessionStatus,
)
from models.notifications import Notification, NotificationPreference
from models.people import ApiToken, Membership, Role, User
from models.resources import Resource, ResourceKind, Tag
from models.spaces import EntityNature, Organization, OrganizationKind, Space
from models.tasks import Task, TaskStatus
from models.teams import AdmissionStatus, Stage, StageChange, Team, TeamMember, TeamRole

__all__ = [
    "ACTIVE_STATUSES",
    "AdmissionStatus",
    "AllocationAssignment",
    "AllocationRound",
    "Allowance",
    "ApiToken",
    "AuditEntry",
    "Availability",
    "Base",
    "Blackout",
    "BlackoutEffect",
    "Booking",
    "BookingSeries",
    "BookingStatus",
    "CalendarFeed",
    "Certification",
    "Charge",
    "ChargeKind",
    "Deal",
    "DealStage",
    "DeclineReason",
    "EntityNature",
    "FundPosition",
    "IdempotencyRecord",
    "Instrument",
    "Interaction",
    "InteractionKind",
    "Introduction",
    "IntroductionStatus",
    "Investment",
    "JobRun",
    "JobRunStatus",
    "Membership",
    "MentorMonth",
    "MentorRequest",
    "MentorRequestStatus",
    "MentorSession",
    "MentorSessionStatus",
    "Notification",
    "NotificationPreference",
    "Organization",
    "OrganizationKind",
    "PassReason",
    "Resource",
    "ResourceKind",
    "Role",
    "RoundStatus",
    "Space",
    "Stage",
    "StageChange",
    "Tag",
    "Task",
    "TaskStatus",
    "Team",
    "TeamMember",
    "TeamRole",
    "User",
    "WaitlistEntry",
    "WaitlistStatus",
]
