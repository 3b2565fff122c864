"""DMH admins: the audit log — search, before/after values, CSV export, chain verification."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template, request
from flask_wtf import FlaskForm
from sqlalchemy import func

from forms.manage import AuditSearchForm, as_choices
from models import AuditEvent, Organization, db, verify_chain
from tasks.audit_anchor import latest_anchor
from tasks.publishing.layout import releases_root

from ..access import requires
from . import bp
from .audit_view import present
from .listing_tools import csv_response, keyset_page

CENTRAL = ZoneInfo("America/Chicago")


@bp.app_template_global("audit_views")
def audit_views(rows):
    """templates/manage/_audit_rows.html: the events as people read them (audit_view.py)."""
    return present(list(rows))


def _search_form() -> AuditSearchForm:
    form = AuditSearchForm(request.args)
    orgs = db.session.execute(
        db.select(Organization.id, Organization.legal_name).order_by(
            func.lower(Organization.legal_name)
        )
    ).all()
    form.organization_id.choices = as_choices(
        [("", "Any organization")] + [(str(i), n) for i, n in orgs]
    )
    return form


def _filtered(form: AuditSearchForm):
    q = db.select(AuditEvent)
    if not form.validate():
        return q, False
    if form.actor.data:
        q = q.where(func.lower(AuditEvent.actor_label).like(f"%{form.actor.data.strip().lower()}%"))
    if form.organization_id.data:
        q = q.where(AuditEvent.organization_id == form.organization_id.data)
    if form.object_type.data:
        q = q.where(AuditEvent.object_type == form.object_type.data.strip())
    if form.object_id.data:
        q = q.where(AuditEvent.object_id == form.object_id.data.strip())
    if form.action.data:
        action = form.action.data.strip()
        q = q.where(
            AuditEvent.action.startswith(action)
            if action.endswith(".")
            else AuditEvent.action == action
        )
    # dates are Missouri calendar days
    if form.date_from.data:
        q = q.where(
            AuditEvent.at >= datetime.combine(form.date_from.data, time(), CENTRAL).astimezone(UTC)
        )
    if form.date_to.data:
        q = q.where(
            AuditEvent.at
            < datetime.combine(form.date_to.data + timedelta(days=1), time(), CENTRAL).astimezone(
                UTC
            )
        )
    return q, True


@bp.get("/audit")
@requires("view_audit")
def audit_log():
    form = _search_form()
    q, valid = _filtered(form)
    rows, next_after = (
        keyset_page(q, AuditEvent, AuditEvent.id, descending=True) if valid else ([], None)
    )
    return render_template(
        "manage/audit.html", form=form, rows=rows, next_after=next_after, report=None
    )


@bp.get("/audit.csv")
@requires("view_audit")
def audit_csv():
    form = _search_form()
    q, valid = _filtered(form)
    events = (
        db.session.scalars(q.order_by(AuditEvent.id.desc()).limit(100_000)).all() if valid else []
    )
    header = [
        "id",
        "at",
        "actor_label",
        "actor_id",
        "ip",
        "action",
        "object_type",
        "object_id",
        "organization_id",
        "before",
        "after",
        "hash",
    ]
    return csv_response(
        "audit-log.csv",
        header,
        (
            [
                e.id,
                e.at,
                e.actor_label,
                e.actor_id,
                e.ip,
                e.action,
                e.object_type,
                e.object_id,
                e.organization_id,
                json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                json.dumps(e.after, sort_keys=True) if e.after is not None else "",
                e.hash,
            ]
            for e in events
        ),
    )


@bp.post("/audit/verify")
@requires("view_audit")
def audit_verify():
    if not FlaskForm().validate_on_submit():
        return render_template(
            "manage/audit.html", form=_search_form(), rows=[], next_after=None, report=None
        ), 400
    report = verify_chain(anchor=latest_anchor(releases_root(create=False)))
    db.session.rollback()
    form = _search_form()
    return render_template("manage/audit.html", form=form, rows=[], next_after=None, report=report)
