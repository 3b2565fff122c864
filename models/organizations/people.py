"""Operations on people: invitations, roles, deactivation, second-factor resets and password
reset links. Each checks its rule, changes state, flushes, writes the audit event and never
commits; the caller commits once and sends any e-mail after the commit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, update

from models import audit
from models.base import WorkflowError, db, utcnow
from models.organizations.organization import Organization
from models.organizations.user import Invitation, InvitationPurpose, Role, User, UserSession

MAX_RESETS_PER_HOUR = 3


def user_snapshot(user: User) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "organization_id": user.organization_id,
        "is_org_admin": user.is_org_admin,
        "is_active": user.is_active,
        "has_second_factor": user.totp_enabled_at is not None,
    }


def revoke_sessions(user_id: int) -> int:
    """End every signed-in session of a user at once (their next request is signed out)."""
    return db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def recipient_users(organization_id: int) -> list[User]:
    """The people behind organization_recipients (active provider accounts with a password)."""
    return list(
        db.session.scalars(
            db.select(User)
            .where(
                User.organization_id == organization_id,
                User.role == Role.PROVIDER.value,
                User.is_active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(User.email)
        )
    )


def organization_recipients(organization_id: int) -> list[str]:
    """Who hears from the registry about an organization (decisions, reminders): its active
    provider accounts that have accepted their invitation (set a password); the organization's
    main e-mail when it has none. The one recipient rule of every e-mail to an organization."""
    emails = [u.email for u in recipient_users(organization_id)]
    if emails:
        return list(emails)
    org = db.session.get(Organization, organization_id)
    return [org.email] if org is not None and org.email else []


def find_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).filter_by(email=(email or "").strip().lower()))


def _check_membership(role: str, organization: Organization | None, is_org_admin: bool) -> None:
    if role not in Role.values():
        raise WorkflowError(f"Unknown role {role!r}.")
    if role == Role.PROVIDER:
        if organization is None:
            raise WorkflowError("A provider user belongs to an organization; choose one.")
        if not organization.is_active:
            raise WorkflowError(f"{organization.name} is deactivated; reactivate it first.")
    elif organization is not None or is_org_admin:
        raise WorkflowError("DMH staff do not belong to a provider organization.")


def invite_user(
    *,
    email: str,
    name: str,
    role: str,
    organization: Organization | None,
    is_org_admin: bool,
    by: User,
    ttl: timedelta,
) -> tuple[User, str]:
    """A new account without a password, and a one-time link to set one. Returns (user, token):
    the token is shown only in the e-mail. Staff enrol their second factor at first sign-in."""
    email = email.strip().lower()
    if find_by_email(email) is not None:
        raise WorkflowError(f"{email} already has an account.")
    _check_membership(role, organization, is_org_admin)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        organization_id=organization.id if organization else None,
        is_org_admin=bool(is_org_admin) and role == Role.PROVIDER,
        is_active=True,
    )
    db.session.add(user)
    db.session.flush()
    _inv, token = Invitation.issue(user, InvitationPurpose.INVITE, by, ttl)
    db.session.flush()
    audit.record(
        "user.invite",
        actor=by,
        target=user,
        organization_id=user.organization_id,
        after=user_snapshot(user),
    )
    return user, token


def resend_invitation(user: User, *, by: User, ttl: timedelta) -> str:
    """A fresh invitation link for someone who has not set a password yet; older links die."""
    if user.password_hash:
        raise WorkflowError(
            f"{user.email} has already set a password; send a password reset instead."
        )
    if not user.is_active:
        raise WorkflowError(f"{user.email} is deactivated.")
    _expire_links(user, InvitationPurpose.INVITE)
    _inv, token = Invitation.issue(user, InvitationPurpose.INVITE, by, ttl)
    db.session.flush()
    audit.record("user.invite_resent", actor=by, target=user, organization_id=user.organization_id)
    return token


def _expire_links(user: User, purpose: InvitationPurpose) -> None:
    now = utcnow()
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user.id,
            Invitation.purpose == purpose.value,
            Invitation.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def active_admin_count() -> int:
    return (
        db.session.scalar(
            db.select(func.count(User.id)).where(
                User.role == Role.ADMIN.value, User.is_active.is_(True)
            )
        )
        or 0
    )


def change_membership(
    user: User, *, role: str, organization: Organization | None, is_org_admin: bool, by: User
) -> bool:
    """Change a user's role and organization. Their sessions end, so the new rights apply from
    their next sign-in. Returns False when nothing changed."""
    if user.id == by.id and role != user.role:
        raise WorkflowError("You cannot change your own role; ask another administrator.")
    _check_membership(role, organization, is_org_admin)
    before = user_snapshot(user)
    if (
        user.role == Role.ADMIN
        and role != Role.ADMIN
        and user.is_active
        and active_admin_count() <= 1
    ):
        raise WorkflowError(
            "This is the last active administrator; make someone else an administrator first."
        )
    new_org_id = organization.id if organization else None
    if (user.role, user.organization_id, user.is_org_admin) == (
        role,
        new_org_id,
        bool(is_org_admin),
    ):
        return False
    user.role = role
    user.organization_id = new_org_id
    user.organization = organization
    user.is_org_admin = bool(is_org_admin) and role == Role.PROVIDER
    if role not in (Role.REVIEWER, Role.ADMIN):
        # a provider needs no second factor; a later promotion enrols a fresh one
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_counter = None
    revoke_sessions(user.id)
    db.session.flush()
    audit.record(
        "user.change_role",
        actor=by,
        target=user,
        organization_id=new_org_id or before["organization_id"],
        before=before,
        after=user_snapshot(user),
    )
    return True


def rename_user(user: User, name: str, *, by: User) -> bool:
    name = name.strip()
    if not name or name == user.name:
        return False
    before = {"name": user.name}
    user.name = name
    db.session.flush()
    audit.record("user.rename", actor=by, target=user, before=before, after={"name": name})
    return True


def deactivate_user(user: User, *, by: User, action: str = "user.deactivate") -> None:
    """The user cannot sign in any more and their open sessions end at once."""
    if user.id == by.id:
        raise WorkflowError("You cannot deactivate your own account.")
    if not user.is_active:
        raise WorkflowError(f"{user.email} is already deactivated.")
    if user.role == Role.ADMIN and active_admin_count() <= 1:
        raise WorkflowError("This is the last active administrator.")
    before = user_snapshot(user)
    user.is_active = False
    user.deactivated_at = utcnow()
    revoke_sessions(user.id)
    _expire_links(user, InvitationPurpose.INVITE)
    _expire_links(user, InvitationPurpose.PASSWORD_RESET)
    db.session.flush()
    audit.record(action, actor=by, target=user, before=before, after=user_snapshot(user))


def reactivate_user(user: User, *, by: User) -> None:
    if user.is_active:
        raise WorkflowError(f"{user.email} is already active.")
    if user.organization is not None and not user.organization.is_active:
        raise WorkflowError(
            f"{user.organization.name} is deactivated; reactivate the organization first."
        )
    before = user_snapshot(user)
    user.is_active = True
    user.deactivated_at = None
    db.session.flush()
    audit.record("user.reactivate", actor=by, target=user, before=before, after=user_snapshot(user))


def reset_second_factor(user: User, *, by: User) -> None:
    """Forget a staff user's authenticator: they enrol a new one at their next sign-in (after the
    password). Their sessions end. The caller must have re-authenticated the admin."""
    if not user.is_staff:
        raise WorkflowError("Only DMH staff use a second factor.")
    if user.id == by.id:
        raise WorkflowError("Ask another administrator to reset your own second factor.")
    before = user_snapshot(user)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_counter = None
    revoke_sessions(user.id)
    db.session.flush()
    audit.record(
        "user.reset_second_factor", actor=by, target=user, before=before, after=user_snapshot(user)
    )


def request_password_reset(email: str, *, ttl: timedelta) -> tuple[User, str] | None:
    """A one-time reset link for an account that could use it; None otherwise. The caller
    answers the same way either way, so the page reveals nothing about who has an account."""
    user = find_by_email(email)
    if user is None or not user.is_active:
        return None
    if user.organization is not None and not user.organization.is_active:
        return None
    recent = db.session.scalar(
        db.select(func.count(Invitation.id)).where(
            Invitation.user_id == user.id,
            Invitation.purpose == InvitationPurpose.PASSWORD_RESET.value,
            Invitation.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    if recent >= MAX_RESETS_PER_HOUR:
        return None  # nobody can flood an inbox through the form
    _expire_links(user, InvitationPurpose.PASSWORD_RESET)
    _inv, token = Invitation.issue(user, InvitationPurpose.PASSWORD_RESET, None, ttl)
    db.session.flush()
    audit.record(
        "auth.password_reset_requested",
        actor=user,
        target=user,
        organization_id=user.organization_id,
    )
    return user, token
