"""Admin pages for publishing: release history, files, roll back, publish now (with progress),
webhook subscriptions and their delivery log."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from forms.base import RegistryForm
from models import (
    PublishRun,
    PublishRunStatus,
    Release,
    ReleaseTrigger,
    User,
    Webhook,
    WebhookDelivery,
    WorkflowError,
    db,
    record,
)
from models.publishing import (
    MIN_SECRET_LENGTH,
    generate_webhook_secret,
    validate_webhook_secret,
    validate_webhook_url,
)

from ..access import requires
from ..operations import REFUSED
from . import bp

log = logging.getLogger(__name__)


class WebhookForm(RegistryForm):
    url = StringField(
        "Address (URL)",
        validators=[DataRequired(message="Enter the address to notify."), Length(max=500)],
        description="The downstream site's https:// address that receives a POST for each new release.",
    )
    secret = PasswordField(
        "Shared secret (optional)",
        validators=[Length(max=200)],
        description="Leave empty and the registry makes a Standard Webhooks secret (whsec_…), "
        f"shown once. A secret of your own needs at least {MIN_SECRET_LENGTH} characters.",
    )
    description = StringField("Who it is for", validators=[Length(max=200)])


def _disk():
    from tasks.publishing.layout import available_numbers, current_number

    return current_number(), set(available_numbers())


@bp.get("/releases")
@requires("manage")
def releases():
    current, on_disk = _disk()
    rows = db.session.scalars(db.select(Release).order_by(Release.number.desc()).limit(100)).all()
    runs = db.session.scalars(db.select(PublishRun).order_by(PublishRun.id.desc()).limit(15)).all()
    return render_template(
        "manage/releases.html",
        releases=rows,
        runs=runs,
        current=current,
        on_disk=on_disk,
        names=_names({r.triggered_by_id for r in [*rows, *runs]}),
    )


def _names(ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(User.id, User.name).where(User.id.in_(ids))).all())


@bp.get("/releases/<int:number>")
@requires("manage")
def release_detail(number: int):
    release = db.session.scalar(db.select(Release).filter_by(number=number))
    if release is None:
        abort(404)
    current, on_disk = _disk()
    return render_template(
        "manage/releases_detail.html",
        release=release,
        current=current,
        on_disk=number in on_disk,
        names=_names({release.triggered_by_id}),
    )


@bp.post("/releases/publish")
@requires("publish")
def publish_now():
    from tasks.publish import publish_release

    user_id = current_user.id
    run = PublishRun(trigger=ReleaseTrigger.MANUAL.value, triggered_by_id=user_id)
    db.session.add(run)
    db.session.flush()
    run_id = run.id  # read before the commit: the session stays untouched while the job runs
    db.session.commit()
    try:
        publish_release.delay(ReleaseTrigger.MANUAL.value, user_id, run_id)
    except Exception:  # noqa: BLE001 - the broker is down: say so instead of failing the page
        log.exception("could not queue a release build")
        db.session.rollback()
        run = db.session.get(PublishRun, run_id)
        if run.is_running:  # an eager build that raised has already recorded its failure
            run.finish(
                PublishRunStatus.FAILED,
                error="The job queue is not reachable; the build was not started. The next scheduled run will publish.",
            )
        db.session.commit()
    return redirect(url_for("manage.publish_run", run_id=run_id))


@bp.get("/releases/runs/<int:run_id>")
@requires("manage")
def publish_run(run_id: int):
    run = db.session.get(PublishRun, run_id)
    if run is None:
        abort(404)
    return render_template("manage/releases_run.html", run=run, names=_names({run.triggered_by_id}))


@bp.post("/releases/<int:number>/rollback")
@requires("publish")
def rollback(number: int):
    from tasks.publishing.builder import rollback_to

    try:
        rollback_to(number, user_id=current_user.id, actor=current_user)
    except ValueError as exc:
        flash(str(exc), REFUSED)
        return redirect(url_for("manage.releases"))
    flash(
        f"Release {number} is now the current release. The next change or nightly run publishes a new one.",
        "success",
    )
    return redirect(url_for("manage.releases"))


# ------------------------------------------------------------------ webhooks


@bp.route("/webhooks", methods=["GET", "POST"])
@requires("publish")
def webhooks():
    form = WebhookForm()
    if form.validate_on_submit():
        ok = True
        try:
            url = validate_webhook_url(form.url.data)
        except WorkflowError as exc:
            form.url.errors.append(str(exc))
            ok = False
        generated = not (form.secret.data or "").strip()
        try:
            secret = (
                generate_webhook_secret()
                if generated
                else validate_webhook_secret(form.secret.data)
            )
        except WorkflowError as exc:
            form.secret.errors.append(str(exc))
            ok = False
        if ok:
            hook = Webhook(
                url=url,
                secret=secret,
                description=(form.description.data or "").strip(),
                created_by_id=current_user.id,
            )
            db.session.add(hook)
            db.session.flush()
            record("webhook.create", actor=current_user, target=hook, after={"url": url})
            db.session.commit()
            if generated:  # shown on this page only: never in a flash (the session cookie)
                return render_template(
                    "manage/releases_webhook_created.html", hook=hook, secret=secret
                )
            flash("Webhook added. It receives a signed POST for every new release.", "success")
            return redirect(url_for("manage.webhooks"))
    hooks = db.session.scalars(db.select(Webhook).order_by(Webhook.id)).all()
    return render_template("manage/releases_webhooks.html", form=form, hooks=hooks)


@bp.get("/webhooks/<int:hook_id>")
@requires("publish")
def webhook_detail(hook_id: int):
    hook = db.session.get(Webhook, hook_id)
    if hook is None:
        abort(404)
    deliveries = db.session.scalars(
        db.select(WebhookDelivery)
        .filter_by(webhook_id=hook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(200)
    ).all()
    return render_template("manage/releases_webhook.html", hook=hook, deliveries=deliveries)


@bp.post("/webhooks/<int:hook_id>/toggle")
@requires("publish")
def webhook_toggle(hook_id: int):
    hook = db.session.get(Webhook, hook_id)
    if hook is None:
        abort(404)
    hook.is_active = not hook.is_active
    record(
        "webhook.activate" if hook.is_active else "webhook.pause", actor=current_user, target=hook
    )
    db.session.commit()
    flash(f"Webhook {'resumed' if hook.is_active else 'paused'}.", "success")
    return redirect(url_for("manage.webhook_detail", hook_id=hook.id))
