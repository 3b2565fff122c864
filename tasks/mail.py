"""E-mail: real SMTP when MAIL_SERVER is set, else `.eml` files in var/outbox/ (development).

`send_mail` renders templates/emails/<name>.txt (and .html if present) and delivers at once;
`deliver_mail` is the task form, used after a commit so a slow SMTP server never blocks a page."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from celery import shared_task
from flask import current_app, render_template
from jinja2 import TemplateNotFound

log = logging.getLogger(__name__)


def build_message(to: list[str], subject: str, template: str, **context) -> EmailMessage:
    cfg = current_app.config
    context.setdefault("base_url", cfg["PUBLIC_BASE_URL"].rstrip("/"))
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="registry.example.org")
    msg.set_content(render_template(f"emails/{template}.txt", **context))
    with contextlib.suppress(TemplateNotFound):
        msg.add_alternative(render_template(f"emails/{template}.html", **context), subtype="html")
    return msg


def deliver(msg: EmailMessage) -> str:
    """Send one message; returns where it went (for logs and tests)."""
    cfg = current_app.config
    if cfg.get("MAIL_SERVER"):
        smtp_cls = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
        with smtp_cls(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=30) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
        return f"smtp://{cfg['MAIL_SERVER']}:{cfg['MAIL_PORT']}"
    outbox = Path(cfg["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    tmp.rename(path)
    return str(path)


def send_mail(to: list[str] | str, subject: str, template: str, **context) -> str:
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        return ""
    where = deliver(build_message(recipients, subject, template, **context))
    log.info("mail %r to %d recipient(s) via %s", template, len(recipients), where)
    return where


@shared_task(
    name="registry.deliver_mail",
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def deliver_mail(to: list[str], subject: str, template: str, context: dict) -> str:
    return send_mail(to, subject, template, **context)
