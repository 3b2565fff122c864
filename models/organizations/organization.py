"""Provider organizations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import StateEnum, TimestampMixin, UTCDateTime, UUIDColumn, check_in, db


class OrganizationStatus(StateEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"  # deactivated: listings leave the next release, users cannot sign in


OrganizationStatus.set_transitions(
    {
        OrganizationStatus.ACTIVE: {OrganizationStatus.INACTIVE},
        OrganizationStatus.INACTIVE: {OrganizationStatus.ACTIVE},
    },
    noun="organization",
)
OrganizationStatus.set_labels(
    {OrganizationStatus.ACTIVE: "Active", OrganizationStatus.INACTIVE: "Deactivated"}
)


class Organization(TimestampMixin, db.Model):
    __tablename__ = "organization"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = UUIDColumn()  # HSDS organization.id, never changes
    legal_name: Mapped[str] = mapped_column(String(200), unique=True)
    dba: Mapped[str] = mapped_column(String(200), default="")
    ein: Mapped[str] = mapped_column(String(10), default="")
    npi: Mapped[str] = mapped_column(String(10), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(
        String(20), default=OrganizationStatus.ACTIVE.value, index=True
    )
    # e-mail the organization an hour before a live capacity status expires (models/listings/capacity.py)
    capacity_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", use_alter=True))

    __table_args__ = (
        CheckConstraint(check_in("status", OrganizationStatus), name="status"),
        CheckConstraint(
            f"(status = '{OrganizationStatus.INACTIVE.value}') = (deactivated_at IS NOT NULL)",
            name="deactivated_iff_inactive",
        ),
    )

    @property
    def name(self) -> str:
        return self.dba or self.legal_name

    @property
    def is_active(self) -> bool:
        return self.status == OrganizationStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.legal_name!r}>"
