"""The domain does not reach into the web layer: models/ imports nothing from Flask except the
`db` object's library, and learns who acted from where through models/context.py."""

from __future__ import annotations

import ast
from pathlib import Path

from models import AuditEvent, db
from models.audit import record
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_models_import_nothing_from_flask_or_the_app_layers():
    offenders = {}
    for path in sorted((ROOT / "models").rglob("*.py")):
        bad = {
            m
            for m in imported_modules(path)
            if m.split(".")[0] in {"flask", "flask_login", "flask_wtf", "admin", "tasks", "forms"}
        }
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_audit_events_carry_the_request_address_and_jobs_none(app, client):
    resp = sign_in(client, "provider@demo.test")
    assert resp.status_code == 302
    event = db.session.scalar(
        db.select(AuditEvent)
        .where(AuditEvent.action.like("auth.login%"))
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None and event.ip == "127.0.0.1"
    # outside a request (a job, a command) the address is empty, not the last request's
    job_event = record("test.job", actor="sweep", object_type="test")
    assert job_event.ip == ""


def imported_names(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text())
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    ]


def test_admin_uses_only_public_names_of_tasks_and_tasks_hold_no_commands():
    private = [
        f"{path.relative_to(ROOT)}: {module}.{name}"
        for path in sorted((ROOT / "admin").rglob("*.py"))
        for module, name in imported_names(path)
        if module.startswith("tasks") and name.startswith("_")
    ]
    assert private == []
    commands = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tasks").rglob("*.py"))
        if {"flask.cli", "click"} & imported_modules(path)
    ]
    assert commands == []
