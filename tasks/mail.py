"""E-mail: real SMTP when MAIL_SERVER is set, else `.eml` files in var/outbox/ (development).

`send_mail` renders templates/emails/<name>.txt (and .html if present) and delivers at once;
`deliver_mail` is the task form, used after a commit so a slow SMTP server never blocks a page."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from celery import shared_task
from flask import current_app, render_template
from jinja2 import TemplateNotFound

log = logging.getLogger(__name__)


# every character str.splitlines() breaks at, plus the other C0/C1 controls and tab
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_value(text: str) -> str:
    """A header value that cannot break the message: any line break (CR, LF, VT, FF, the
    separators U+001C-U+001E, NEL, U+2028, U+2029) or other control character becomes one space.
    Every header the registry writes goes through here."""
    return " ".join(_BREAKS.sub(" ", str(text)).split())


def build_message(to: list[str], subject: str, template: str, **context) -> EmailMessage:
    cfg = current_app.config
    context.setdefault("base_url", cfg["PUBLIC_BASE_URL"].rstrip("/"))
    msg = EmailMessage()
    msg["From"] = header_value(cfg["MAIL_FROM"])
    msg["To"] = header_value(", ".join(to))
    msg["Subject"] = header_value(subject)
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
    """Send one e-mail. Network and SMTP errors are retried; any other failure (which a retry
    cannot fix) is recorded in the audit log as `mail.failed` for the admins, never dropped
    silently, and does not fail the caller."""
    try:
        return send_mail(to, subject, template, **context)
    except TemplateNotFound as exc:  # an OSError to Python, but no retry brings the file back
        failure = exc
    except (OSError, smtplib.SMTPException):
        raise
    except Exception as exc:  # noqa: BLE001 - recorded below
        failure = exc
    log.error("mail %r could not be built or sent (%r); recorded as mail.failed", template, failure)
    record_failure(to, subject, template, failure)
    return ""


def record_failure(to: list[str], subject: str, template: str, exc: Exception) -> None:
    from models import db
    from models.audit import record

    record(
        "mail.failed",
        actor="mail",
        object_type="mail",
        object_id=template,
        after={
            "subject": header_value(subject)[:300],
            "recipients": len(to),
            "error": f"{type(exc).__name__}: {exc}"[:500],
        },
    )
    db.session.commit()
