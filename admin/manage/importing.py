"""DMH admins: bulk import of organizations and listings from CSV.

Step 1 (check) stores the upload under a random name and shows every problem (line, column,
message) with nothing written. Step 2 (import) checks the stored file again — the data may have
changed meanwhile — and writes all rows in one transaction, or none."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user

from forms.manage import ImportConfirmForm, ImportForm
from models import db
from models.listings import KINDS, check_csv, import_rows, template_csv

from ..access import requires
from . import bp

SESSION_KEY = "manage_import"


def _store_dir() -> Path:
    d = Path(current_app.config["VAR_DIR"]) / "imports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _stored() -> tuple[str, Path] | None:
    info = session.get(SESSION_KEY) or {}
    name, kind = info.get("file", ""), info.get("kind", "")
    try:
        uuid.UUID(name)
    except ValueError:
        return None
    path = _store_dir() / name
    if kind not in KINDS or not path.exists():
        return None
    return kind, path


def _forget() -> None:
    stored = _stored()
    session.pop(SESSION_KEY, None)
    if stored:
        stored[1].unlink(missing_ok=True)


@bp.get("/import")
@requires("manage")
def import_start():
    return render_template("manage/import.html", form=ImportForm(), result=None, confirm=None)


@bp.get("/import/template/<kind>.csv")
@requires("manage")
def import_template(kind: str):
    if kind not in KINDS:
        abort(404)
    return Response(
        template_csv(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


@bp.post("/import")
@requires("manage")
def import_check():
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("manage/import.html", form=form, result=None, confirm=None), 400
    raw = form.file.data.read()
    result = check_csv(raw, form.kind.data)
    confirm = None
    _forget()
    if result.ok:
        name = str(uuid.uuid4())
        (_store_dir() / name).write_bytes(raw)
        session[SESSION_KEY] = {"file": name, "kind": form.kind.data}
        confirm = ImportConfirmForm()
    return render_template(
        "manage/import.html", form=ImportForm(kind=form.kind.data), result=result, confirm=confirm
    )


@bp.post("/import/run")
@requires("manage")
def import_run():
    form = ImportConfirmForm()
    stored = _stored()
    if not form.validate_on_submit() or stored is None:
        flash("Check the file first; nothing was imported.", "warning")
        return redirect(url_for("manage.import_start"))
    kind, path = stored
    result = check_csv(path.read_bytes(), kind)
    if not result.ok:
        _forget()
        return render_template(
            "manage/import.html", form=ImportForm(kind=kind), result=result, confirm=None
        ), 409
    try:
        created = import_rows(result, by=current_user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _forget()
    what = (
        "organizations"
        if kind == "organizations"
        else "listings (as drafts; none is public until reviewed)"
    )
    flash(f"Imported {len(created)} {what}.", "success")
    return redirect(
        url_for("manage.organizations")
        if kind == "organizations"
        else url_for("manage.import_start")
    )
