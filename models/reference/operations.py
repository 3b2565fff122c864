"""Editing reference data (service types and their rules, certification types, document types,
regions) with an audit event per change holding the full before/after record.

The audit trail is the version history: it is append-only and hash-chained, and every event here
carries the whole record, so `reference_as_of(when)` rebuilds the reference data a past release
was built from, and `reference_version()` (the id of the latest reference event) names a version.
See docs/decisions.md ("Manage")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import audit
from models.audit import AuditEvent
from models.base import WorkflowError, db
from models.reference.tables import CertificationType, County, DocumentType, Region, ServiceType

# every column of a service type but its code and timestamps: a rule column added to the model
# is edited, audited and rebuilt by reference_as_of with no change here
SERVICE_TYPE_FIELDS = tuple(
    c.key
    for c in ServiceType.__table__.columns
    if c.key not in ("code", "created_at", "updated_at")
)
CERTIFICATION_TYPE_FIELDS = (
    "name",
    "rule_citation",
    "scope",
    "default_period_months",
    "description",
)
DOCUMENT_TYPE_FIELDS = ("name", "description", "has_expiry")
REGION_FIELDS = ("slug", "name", "layer", "description")

# kind -> (model, key attribute, editable fields)
KINDS: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "service_type": (ServiceType, "code", SERVICE_TYPE_FIELDS),
    "certification_type": (CertificationType, "code", CERTIFICATION_TYPE_FIELDS),
    "document_type": (DocumentType, "code", DOCUMENT_TYPE_FIELDS),
    "region": (Region, "id", REGION_FIELDS),
}


def snapshot(kind: str, obj) -> dict[str, Any]:
    _model, key, fields = KINDS[kind]
    snap = {"key": str(getattr(obj, key)), **{f: getattr(obj, f) for f in fields}}
    if kind == "region":
        snap["counties"] = sorted(c.fips for c in obj.counties)
    return snap


def _check_slug(obj, values: dict[str, Any]) -> None:
    """A region's short name is unique (raises WorkflowError)."""
    if "slug" not in values:
        return
    q = db.select(Region).where(Region.slug == values["slug"])
    if obj is not None:
        q = q.where(Region.id != obj.id)
    clash = db.session.scalar(q)
    if clash is not None:
        raise WorkflowError(f"The short name {values['slug']!r} is already used by {clash.name}.")


def _new_record(model: type, key_attr: str, key: str | None):
    """A new record; a coded kind needs an unused code (raises WorkflowError)."""
    if key_attr != "code":
        return model()
    if not key:
        raise WorkflowError("A code is required.")
    if db.session.get(model, key) is not None:
        raise WorkflowError(f"The code {key!r} is already used.")
    return model(code=key)


def _set_counties(region: Region, values: dict[str, Any]) -> None:
    """A region's counties: known FIPS codes, at least one (raises WorkflowError)."""
    if "counties" not in values:
        return
    fips = sorted(set(values["counties"]))
    counties = (
        db.session.scalars(db.select(County).where(County.fips.in_(fips))).all() if fips else []
    )
    if len(counties) != len(fips):
        unknown = set(fips) - {c.fips for c in counties}
        raise WorkflowError(f"Unknown county FIPS: {', '.join(sorted(unknown))}.")
    if not counties:
        raise WorkflowError("A region needs at least one county.")
    region.counties = list(counties)


def _check_certifications(values: dict[str, Any]) -> None:
    """A service type's certification codes name certification types (raises WorkflowError)."""
    for code_field in ("required_certification_code", "org_certification_code"):
        code = values.get(code_field)
        if code and db.session.get(CertificationType, code) is None:
            raise WorkflowError(f"Unknown certification type {code!r}.")


def save_reference(kind: str, obj, values: dict[str, Any], *, by, key: str | None = None):
    """Create (obj is None; `key` is the new code for coded kinds) or update one reference record.
    Writes one audit event with the full before and after records. Returns the object, or None
    when nothing changed."""
    model, key_attr, fields = KINDS[kind]
    before = snapshot(kind, obj) if obj is not None else None
    if kind == "region":
        _check_slug(obj, values)
    if obj is None:
        obj = _new_record(model, key_attr, key)
        db.session.add(obj)
    for f in fields:
        if f in values:
            setattr(obj, f, values[f])
    if kind == "region":
        _set_counties(obj, values)
    if kind == "service_type":
        _check_certifications(values)
    db.session.flush()
    after = snapshot(kind, obj)
    if before == after:
        return None
    audit.record(
        f"reference.{kind}.{'create' if before is None else 'update'}",
        actor=by,
        object_type=kind,
        object_id=after["key"],
        before=before,
        after=after,
    )
    return obj


def reference_version() -> int:
    """A number that grows with every reference-data change: the id of the latest reference event."""
    return (
        db.session.scalar(
            db.select(db.func.max(AuditEvent.id)).where(AuditEvent.action.like("reference.%"))
        )
        or 0
    )


def current_reference() -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, (model, _key, _fields) in KINDS.items():
        out[kind] = {}
        for obj in db.session.scalars(db.select(model)):
            snap = snapshot(kind, obj)
            out[kind][snap["key"]] = snap
    return out


def reference_as_of(when: datetime) -> dict[str, dict[str, dict[str, Any]]]:
    """The reference data as it stood at `when` (e.g. a release's created_at).

    For each record: the `after` of its last change at or before `when`; if it changed only
    later, the `before` of its first later change (absent if that change created it); if it
    never changed, as it is now."""
    state = current_reference()
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action.like("reference.%")).order_by(AuditEvent.id)
    ).all()
    last_before: dict[tuple[str, str], AuditEvent] = {}
    first_after: dict[tuple[str, str], AuditEvent] = {}
    for ev in events:
        k = (ev.object_type, ev.object_id)
        if ev.at <= when:
            last_before[k] = ev
        elif k not in first_after:
            first_after[k] = ev
    for (kind, key), ev in first_after.items():
        if (kind, key) in last_before or kind not in state:
            continue
        if ev.before is None:
            state[kind].pop(key, None)
        else:
            state[kind][key] = ev.before
    for (kind, key), ev in last_before.items():
        if kind in state and ev.after is not None:
            state[kind][key] = ev.after
    return state


def reference_history(kind: str, key: str) -> list[AuditEvent]:
    return db.session.scalars(
        db.select(AuditEvent)
        .where(
            AuditEvent.object_type == kind,
            AuditEvent.object_id == str(key),
            AuditEvent.action.like("reference.%"),
        )
        .order_by(AuditEvent.id.desc())
    ).all()
