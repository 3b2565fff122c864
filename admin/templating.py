"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request
from flask_login import current_user

from models import can
from models.certifications import CertificationBasis, CertificationStatus, DocumentStatus
from models.listings import (
    FIELD_LABELS,
    CapacityStatus,
    LinkOutcome,
    RevisionState,
    format_phone,
    hours_lines,
)
from models.organizations import OrganizationStatus, Role
from models.publishing import PublishRunStatus, ReleaseTrigger

CENTRAL = ZoneInfo("America/Chicago")


def local_dt(value: datetime | None, fmt: str = "%b %-d, %Y %-I:%M %p") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CENTRAL).strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(CENTRAL).date() if value.tzinfo else value.date()
    return value.strftime("%b %-d, %Y")


def age(value: datetime | None) -> str:
    if value is None:
        return "—"
    delta = datetime.now(UTC) - value
    days = delta.days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = delta.seconds // 3600
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{max(1, delta.seconds // 60)} min"


# the enums templates compare with (`rev.state == RevisionState.CHANGES_REQUESTED`), never
# with string literals
TEMPLATE_ENUMS = (
    RevisionState,
    CertificationStatus,
    CertificationBasis,
    DocumentStatus,
    PublishRunStatus,
    ReleaseTrigger,
    OrganizationStatus,
    CapacityStatus,
    Role,
    LinkOutcome,
)
# state values shown through the `state_label` filter (the same value means the same in each)
_STATE_LABELS = {
    m.value: m.label
    for enum_cls in (
        ReleaseTrigger,
        PublishRunStatus,
        DocumentStatus,
        CertificationStatus,
        RevisionState,
    )
    for m in enum_cls
}

RS, CS = RevisionState, CertificationStatus
# badge colours (partials/_state_badge.html): states, and the dashboard's "live", "stale",
# "renewed" and "suspended" (a suspended listing)
BADGE_COLORS = {
    "live": "success",
    "stale": "warning",
    "renewed": "secondary",
    RS.APPROVED: "success",
    RS.DRAFT: "secondary",
    RS.SUBMITTED: "primary",
    RS.IN_REVIEW: "info",
    RS.CHANGES_REQUESTED: "warning",
    RS.REJECTED: "danger",
    RS.WITHDRAWN: "secondary",
    RS.SUPERSEDED: "light",
    CS.CERTIFIED: "success",
    CS.SUSPENDED: "danger",
    CS.ON_HOLD: "warning",
    CS.PROVISIONAL: "info",
    CS.CONDITIONAL: "warning",
    CS.EXPIRED: "danger",
    CS.REVOKED: "danger",
}


def state_label(value: str | None) -> str:
    """A state's label as a word in a sentence or a badge ("changes requested"); other values
    (an audit action, a rule code) with their underscores as spaces."""
    label = _STATE_LABELS.get(value or "")
    return label.lower() if label else (value or "").replace("_", " ")


NAV = {
    "provider": [("portal.dashboard", "Dashboard"), ("portal.colleagues", "Colleagues")],
    "reviewer": [
        ("review.index", "Review"),
        ("review.dashboard", "Dashboard"),
        ("review.coverage", "Coverage"),
        ("review.capacity", "Capacity"),
    ],
    "admin": [
        ("review.index", "Review"),
        ("review.dashboard", "Dashboard"),
        ("review.coverage", "Coverage"),
        ("review.capacity", "Capacity"),
        ("manage.index", "Manage"),
        ("manage.releases", "Releases"),
        ("manage.pdf_previews", "PDF previews"),
    ],
}


def active_nav(items: list[tuple[str, str]]) -> str | None:
    """The one navigation item to mark as current: the page's own endpoint, else the first item
    of the page's blueprint (so a review sub-page marks "Review", not every review item)."""
    if not has_request_context() or not request.endpoint:
        return None
    endpoints = [e for e, _label in items]
    if request.endpoint in endpoints:
        return request.endpoint
    area = request.endpoint.split(".")[0]
    return next((e for e in endpoints if e.split(".")[0] == area), None)


def register(app: Flask) -> None:
    app.jinja_env.globals.update(can=can, field_labels=FIELD_LABELS, badge_colors=BADGE_COLORS)
    app.jinja_env.globals.update({e.__name__: e for e in TEMPLATE_ENUMS})
    app.jinja_env.filters.update(
        phone=format_phone,
        local_dt=local_dt,
        local_date=local_date,
        age=age,
        state_label=state_label,
        hours_lines=hours_lines,
    )

    @app.context_processor
    def nav_context():
        # current_user is None outside a request (e-mails rendered by a worker)
        signed_in = bool(getattr(current_user, "is_authenticated", False))
        items = NAV.get(getattr(current_user, "role", None), []) if signed_in else []
        return {
            "nav_items": items,
            "nav_active": active_nav(items),
            "demo_banner": app.config.get("DEMO_BANNER"),
        }
