"""DMH admins: reference data — service types and their rules, certification types, document
types and regions — edited through validated forms; every change is audited (before/after)."""

from __future__ import annotations

from itertools import groupby

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from forms.manage import (
    CertificationTypeForm,
    DocumentTypeForm,
    RegionForm,
    ServiceTypeForm,
    as_choices,
)
from models import CertificationType, County, DocumentType, Region, ServiceType, WorkflowError, db
from models.reference import reference_history, reference_version, save_reference

from ..access import requires
from . import bp

FORMS = {
    "service_type": (ServiceType, ServiceTypeForm, "Service type"),
    "certification_type": (CertificationType, CertificationTypeForm, "Certification type"),
    "document_type": (DocumentType, DocumentTypeForm, "Document type"),
    "region": (Region, RegionForm, "Region"),
}
ORDER = {
    "service_type": (ServiceType.sort_order, ServiceType.code),
    "certification_type": (CertificationType.code,),
    "document_type": (DocumentType.code,),
    "region": (Region.layer, Region.name),
}


@bp.get("/reference")
@requires("manage")
def reference():
    lists = {
        kind: db.session.scalars(db.select(model).order_by(*ORDER[kind])).all()
        for kind, (model, _f, _l) in FORMS.items()
    }
    return render_template("manage/reference.html", lists=lists, version=reference_version())


def _kind(kind: str):
    if kind not in FORMS:
        abort(404)
    return FORMS[kind]


def _prepare(kind: str, form) -> None:
    if kind == "service_type":
        certs = as_choices(
            [("", "— none —")]
            + [
                (c.code, f"{c.name} ({c.code})")
                for c in db.session.scalars(
                    db.select(CertificationType).order_by(CertificationType.code)
                )
            ]
        )
        form.required_certification_code.choices = certs
        form.org_certification_code.choices = certs
    if kind == "region":
        form.counties.choices = as_choices(
            (c.fips, c.name) for c in db.session.scalars(db.select(County).order_by(County.name))
        )


def county_groups():
    """Counties grouped by the first letter of their name, for the checkbox list."""
    counties = db.session.scalars(db.select(County).order_by(County.name)).all()
    return [
        (letter, list(items))
        for letter, items in groupby(counties, key=lambda c: c.name[0].upper())
    ]


def _render(kind, form, obj, status=200):
    _model, _form, label = FORMS[kind]
    history = (
        reference_history(kind, obj.code if kind != "region" else obj.id) if obj is not None else []
    )
    return render_template(
        "manage/reference_form.html",
        kind=kind,
        label=label,
        form=form,
        obj=obj,
        groups=county_groups() if kind == "region" else None,
        history=history,
    ), status


@bp.route("/reference/<kind>/new", methods=["GET", "POST"])
@requires("manage")
def reference_new(kind: str):
    _model, form_cls, label = _kind(kind)
    form = form_cls()
    _prepare(kind, form)
    if form.validate_on_submit():
        try:
            obj = save_reference(
                kind,
                None,
                form.values(),
                by=current_user,
                key=getattr(form, "code", None) and form.code.data,
            )
        except WorkflowError as exc:
            db.session.rollback()
            (form.code if hasattr(form, "code") else form.name).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{label} {obj.name!r} is created.", "success")
            return redirect(url_for("manage.reference", _anchor=kind))
    return _render(kind, form, None, 400 if request.method == "POST" else 200)


@bp.route("/reference/<kind>/<key>", methods=["GET", "POST"])
@requires("manage")
def reference_edit(kind: str, key: str):
    model, form_cls, label = _kind(kind)
    ident = int(key) if kind == "region" and key.isdigit() else key
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    form = form_cls(obj=obj)
    _prepare(kind, form)
    if kind == "region" and request.method == "GET":
        form.counties.data = sorted(obj.fips_set)
    if hasattr(form, "code"):
        form.code.data = obj.code  # the code is the stable identifier: never edited
        form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            changed = save_reference(kind, obj, form.values(), by=current_user)
        except WorkflowError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(
                f"{label} saved." if changed else "Nothing changed.",
                "success" if changed else "info",
            )
            return redirect(url_for("manage.reference_edit", kind=kind, key=key))
    return _render(kind, form, obj, 400 if request.method == "POST" else 200)
