"""The audit log as people read it: what changed, field by field, with labels and names.

An audit event stores its before/after values as recorded (the chain hashes them; they never
change). This module only presents them: object names instead of ids, the labels the editor
uses for listing fields ("Phone numbers: (573) 555-0100 → (573) 555-0199"), people's names for
*_by_id values, compact values instead of raw structures. The raw record stays one click away."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import selectinload

from models import (
    AuditEvent,
    Certification,
    Listing,
    ListingRevision,
    Organization,
    User,
    Webhook,
    db,
)
from models.listings import diff
from models.reference import county_names

MAX_VALUE = 160  # characters of one value shown; the raw record has all of it
MAX_CHANGES = 12  # changes listed per event; the raw record has all of them


@dataclass
class Change:
    label: str
    before: str | None  # None: the value was not there before (creation)
    after: str | None  # None: removed


@dataclass
class EventView:
    event: AuditEvent
    action: str
    object_label: str
    changes: list[Change] = field(default_factory=list)
    more: int = 0  # changes not listed
    raw: str = ""


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def value_text(value: Any, users: dict[int, str] | None = None, key: str = "") -> str:
    if value is None or value == "" or value == []:
        return "—"
    if key.endswith("_by_id") and isinstance(value, int) and users is not None:
        return users.get(value, f"person #{value}")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return _short(", ".join(value_text(v) for v in value))
    if isinstance(value, dict):
        return _short(
            "; ".join(f"{k.replace('_', ' ')}: {value_text(v)}" for k, v in value.items())
        )
    return _short(str(value))


def key_label(key: str) -> str:
    return key.removesuffix("_id").replace("_", " ").capitalize()


def action_label(action: str) -> str:
    """listing_revision.submit -> "Listing revision: submit"."""
    subject, _, verb = action.partition(".")
    words = subject.replace("_", " ").capitalize()
    return f"{words}: {verb.replace('_', ' ').replace('.', ' ')}" if verb else words


def _names(events: list[AuditEvent]) -> tuple[dict[tuple[str, str], str], dict[int, str]]:
    """Names of the objects and people the events mention, in one query per kind."""
    wanted: dict[str, set[int]] = {}
    users: set[int] = set()
    for e in events:
        if e.object_id.isdigit():
            wanted.setdefault(e.object_type, set()).add(int(e.object_id))
        for values in (e.before or {}, e.after or {}):
            for k, v in values.items():
                if k.endswith("_by_id") and isinstance(v, int):
                    users.add(v)
    users |= wanted.get("user", set())
    labels: dict[tuple[str, str], str] = {}
    people = (
        {
            u.id: f"{u.name} ({u.email})"
            for u in db.session.scalars(db.select(User).where(User.id.in_(users)))
        }
        if users
        else {}
    )
    for uid, name in people.items():
        labels[("user", str(uid))] = name
    loaders = {
        "listing": (Listing, lambda o: o.display_name),
        "listing_revision": (
            ListingRevision,
            lambda o: f"{o.listing.display_name}, version {o.number}",
        ),
        "certification": (Certification, lambda o: f"{o.type.name} — {o.organization.name}"),
        "organization": (Organization, lambda o: o.name),
        "webhook": (Webhook, lambda o: o.url),
    }
    for kind, (model, name) in loaders.items():
        ids = wanted.get(kind)
        if ids:
            q = db.select(model).where(model.id.in_(ids))
            if model is ListingRevision:  # its name is its listing's: load them together
                q = q.options(selectinload(ListingRevision.listing))
            for obj in db.session.scalars(q):
                labels[(kind, str(obj.id))] = name(obj)
    return labels, people


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None, users, counties):
    before, after = before or {}, after or {}
    out: list[Change] = []
    if isinstance(after.get("data"), dict) and isinstance(before.get("data"), dict):
        out += [
            Change(c.label, c.before, c.after)
            for c in diff(before["data"], after["data"], counties)
        ]
    elif isinstance(after.get("data"), dict):  # created: its name; the rest is in the raw record
        out.append(Change("Name", None, value_text(after["data"].get("name"))))
    for key in sorted(set(before) | set(after)):
        if key == "data" or before.get(key) == after.get(key):
            continue
        out.append(
            Change(
                key_label(key),
                value_text(before[key], users, key) if key in before else None,
                value_text(after[key], users, key) if key in after else None,
            )
        )
    return out


def present(events: list[AuditEvent]) -> list[EventView]:
    labels, users = _names(events)
    counties = (
        county_names() if any(isinstance((e.after or {}).get("data"), dict) for e in events) else {}
    )
    views = []
    for e in events:
        changes = _changes(e.before, e.after, users, counties)
        name = labels.get((e.object_type, e.object_id))
        if name is None:
            name = f"{key_label(e.object_type)} {e.object_id}".strip() if e.object_type else "—"
        views.append(
            EventView(
                event=e,
                action=action_label(e.action),
                object_label=name,
                changes=changes[:MAX_CHANGES],
                more=max(0, len(changes) - MAX_CHANGES),
                raw=json.dumps(
                    {"before": e.before, "after": e.after}, indent=1, sort_keys=True, default=str
                ),
            )
        )
    return views
