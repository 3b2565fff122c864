"""People, their sign-in sessions, login attempts and invitations."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import StrEnum, TimestampMixin, UTCDateTime, check_in, db, utcnow
from models.organizations.organization import Organization

# argon2id, RFC 9106 "low memory" profile: t=3, m=64 MiB, p=4 (above ASVS 5.0 Appendix C).
PRODUCTION_HASHER = PasswordHasher()
password_hasher = PRODUCTION_HASHER


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the hasher (the test suite uses cheap parameters; one test checks production's)."""
    global password_hasher, _DUMMY_HASH
    password_hasher = hasher
    _DUMMY_HASH = hasher.hash("dummy-password-for-timing")


MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


class Role(StrEnum):
    PROVIDER = "provider"
    REVIEWER = "reviewer"
    ADMIN = "admin"


Role.set_labels({Role.PROVIDER: "Provider", Role.REVIEWER: "Reviewer", Role.ADMIN: "Admin"})
STAFF_ROLES = {Role.REVIEWER.value, Role.ADMIN.value}


class User(TimestampMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    is_org_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)  # blocks code replay
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship(
        lazy="joined", foreign_keys=[organization_id]
    )

    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="role"),
        CheckConstraint(
            f"(role = '{Role.PROVIDER.value}') = (organization_id IS NOT NULL)",
            name="provider_has_org",
        ),
        CheckConstraint(
            f"is_org_admin = false OR role = '{Role.PROVIDER.value}'", name="org_admin_is_provider"
        ),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint("is_active OR deactivated_at IS NOT NULL", name="deactivated_at_set"),
    )

    # --- Flask-Login protocol ---
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    # --- roles ---
    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER

    @property
    def needs_totp(self) -> bool:
        return self.is_staff

    @property
    def can_sign_in(self) -> bool:
        if not self.is_active or not self.password_hash:
            return False
        return not (self.organization is not None and not self.organization.is_active)

    # --- passwords ---
    def set_password(self, password: str) -> None:
        self.password_hash = password_hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            password_hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if password_hasher.check_needs_rehash(self.password_hash):
            self.password_hash = password_hasher.hash(password)
        return True

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


def dummy_password_check() -> None:
    """Spend the time a real check would, so unknown e-mails are not revealed by timing."""
    with contextlib.suppress(VerificationError):
        password_hasher.verify(_DUMMY_HASH, "not the password")


_DUMMY_HASH = password_hasher.hash("dummy-password-for-timing")


class UserSession(db.Model):
    """A server-side record of one signed-in browser session. Logging out, deactivation or
    expiry revokes it, so a copied cookie stops working (ASVS 7.4.1)."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship(lazy="joined")

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def is_valid(self, now: datetime, idle: timedelta, absolute: timedelta) -> bool:
        if self.revoked_at is not None:
            return False
        if now - self.created_at > absolute:
            return False
        return now - self.last_seen_at <= idle


class LoginAttempt(db.Model):
    """Failed and successful sign-ins, for throttling and the audit of authentication."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )


class InvitationPurpose(StrEnum):
    INVITE = "invite"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an enum value, not a password


InvitationPurpose.set_labels(
    {InvitationPurpose.INVITE: "Invitation", InvitationPurpose.PASSWORD_RESET: "Password reset"}
)


class Invitation(db.Model):
    """A one-time, expiring link: an invitation to join, or a password reset."""

    __tablename__ = "invitation"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default=InvitationPurpose.INVITE.value)
    email: Mapped[str] = mapped_column(String(254), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (CheckConstraint(check_in("purpose", InvitationPurpose), name="purpose"),)

    @staticmethod
    def issue(
        user: User, purpose: InvitationPurpose, by: User | None, ttl: timedelta
    ) -> tuple[Invitation, str]:
        token = secrets.token_urlsafe(32)
        inv = Invitation(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            purpose=purpose.value,
            email=user.email,
            user=user,
            created_by_id=by.id if by else None,
            expires_at=utcnow() + ttl,
        )
        db.session.add(inv)
        return inv, token

    @staticmethod
    def find_usable(token: str, purpose: InvitationPurpose) -> Invitation | None:
        inv = db.session.scalar(
            db.select(Invitation).filter_by(
                token_hash=hashlib.sha256(token.encode()).hexdigest(), purpose=purpose.value
            )
        )
        if inv is None or inv.used_at is not None or inv.expires_at < utcnow():
            return None
        return inv


def login_blocked_until(
    email: str, ip: str, *, max_per_account: int, max_per_ip: int, window: timedelta
) -> datetime | None:
    """When sign-in is throttled for this account or address, the time it opens again.

    After `max_per_account` failures for one account, or `max_per_ip` from one address, within
    `window`, further attempts are refused until the window has passed since the failure that
    reached the limit. Refused attempts are not counted, so the block cannot be extended."""
    now = utcnow()
    since = now - window
    for column, value, limit in (
        (LoginAttempt.email, email, max_per_account),
        (LoginAttempt.ip, ip, max_per_ip),
    ):
        times = db.session.scalars(
            db.select(LoginAttempt.at)
            .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
            .order_by(LoginAttempt.at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            return times[-1] + window
    return None


def reserve_login_attempt(
    email: str, ip: str, *, max_per_account: int, max_per_ip: int, window: timedelta
) -> tuple[LoginAttempt | None, datetime | None]:
    """Check the throttle and count this attempt in one step, before any password or code is
    checked: (the attempt, recorded as a failure until `succeeded` is set, None) or (None, the
    time sign-in opens again). Attempts on one account are serialised by a lock, so of any
    number sent at once exactly as many are checked as the limit allows. Commits an attempt;
    a refusal leaves the transaction (and the lock) open for the caller to record and commit."""
    from models.locks import lock_key, transaction_lock

    db.session.commit()  # end the request's reads: the lock must start the transaction
    transaction_lock(lock_key(f"login:{email}"))
    until = login_blocked_until(
        email, ip, max_per_account=max_per_account, max_per_ip=max_per_ip, window=window
    )
    if until is not None:
        return None, until  # the lock stays held until the caller commits its audit event
    attempt = LoginAttempt(email=email, ip=ip, succeeded=False)
    db.session.add(attempt)
    db.session.commit()
    return attempt, None
