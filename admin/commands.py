"""`flask` commands: reference data, users, audit verification (and others registered by area)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from models import Role, db, record, verify_chain
from models.reference import load_reference_data

reference_cli = AppGroup(
    "reference", help="Reference data (counties, service and certification types)."
)
users_cli = AppGroup("users", help="Accounts.")
audit_cli = AppGroup("audit", help="The audit trail.")


@reference_cli.command("load")
def reference_load():
    """Insert the counties and default types that are missing (idempotent)."""
    added = load_reference_data()
    db.session.commit()
    click.echo(f"reference data: {added} rows added")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--organization-id", type=int, default=None, help="Required for providers.")
@click.option("--org-admin", is_flag=True, default=False)
@click.password_option(help="At least 12 characters.")
def users_create(email, name, role, organization_id, org_admin, password):
    """Create an account. Staff enrol their second factor at first sign-in."""
    from email_validator import EmailNotValidError, validate_email

    from forms.validators import not_common_password
    from models import Organization, User
    from models.organizations import MIN_PASSWORD_LENGTH

    email = email.strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise click.BadParameter(
            f"{email!r} is not a valid e-mail address: {exc}", param_hint="--email"
        ) from exc
    name = name.strip()
    if not name:
        raise click.BadParameter("give the person's name", param_hint="--name")
    if len(password) < MIN_PASSWORD_LENGTH or not not_common_password(password):
        raise click.BadParameter(
            f"use at least {MIN_PASSWORD_LENGTH} characters and not a common password",
            param_hint="--password",
        )
    if db.session.scalar(db.select(User).filter_by(email=email)):
        raise click.BadParameter(f"{email} already has an account", param_hint="--email")
    if role == Role.PROVIDER:
        if organization_id is None or db.session.get(Organization, organization_id) is None:
            raise click.BadParameter(
                "providers need an existing organization id", param_hint="--organization-id"
            )
    elif organization_id is not None or org_admin:
        raise click.BadParameter(
            "only providers belong to an organization", param_hint="--organization-id"
        )
    user = User(
        email=email, name=name, role=role, organization_id=organization_id, is_org_admin=org_admin
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(
        "user.create", actor="flask users create", target=user, after={"email": email, "role": role}
    )
    db.session.commit()
    click.echo(f"created {role} {email} (id {user.id})")


@audit_cli.command("verify")
def audit_verify():
    """Check the audit trail's hash chain; exit 1 naming the first broken link."""
    from tasks.audit_anchor import latest_anchor
    from tasks.publishing.layout import releases_root

    report = verify_chain(anchor=latest_anchor(releases_root(create=False)))
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} events")
        return
    click.echo(
        f"audit chain BROKEN at event {report.broken_id}: {report.reason} ({report.checked} events before it are intact)",
        err=True,
    )
    raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(reference_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    from .publishing_cli import publish_command

    app.cli.add_command(publish_command)
    _register_sweeps(app)
    _register_demo(app)


def _register_sweeps(app: Flask) -> None:
    from .sweeps_cli import sweep_cli

    app.cli.add_command(sweep_cli)


def _register_demo(app: Flask) -> None:
    from .demo import demo_cli

    app.cli.add_command(demo_cli)
