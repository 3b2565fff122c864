"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request
from flask_login import current_user

from models import can
from models.fields import FIELD_LABELS, format_phone, hours_lines

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


def state_label(value: str | None) -> str:
    return (value or "").replace("_", " ")


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
    app.jinja_env.globals.update(can=can, field_labels=FIELD_LABELS)
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
