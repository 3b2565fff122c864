"""E-mail: real SMTP when MAIL_SERVER is set, else `.eml` files in var/outbox/ (development).

`send_mail` renders templates/emails/<name>.txt (and .html if present) and delivers at once.
Requests never send: they queue an `OutgoingMail` row in their own transaction
(models/publishing/outgoing_mail.py) and `relay` it after the commit to `send_outgoing_mail`, so a slow
SMTP server never blocks a page and a broker outage never loses a message."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

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


CLAIM_TIMEOUT = timedelta(minutes=10)  # a worker that claimed a message and died
# how every task that sends mail retries: network and SMTP errors, with a growing wait; the
# message is acknowledged only once sent, so a worker that dies mid-send leaves it queued
SENDING: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": True,
    "max_retries": 8,
}


def relay(mail) -> None:
    """After the commit: hand a queued message to a worker. A broker outage is logged, never
    raised: the message is in the database and the beat relays it (`relay_outgoing_mail`)."""
    if mail is None:
        return
    try:
        send_outgoing_mail.delay(mail.id)
    except Exception:  # noqa: BLE001 - the request already succeeded; the beat retries
        log.warning(
            "could not hand mail %s to a worker; the beat relays it", mail.id, exc_info=True
        )


@shared_task(name="registry.relay_outgoing_mail", ignore_result=True)
def relay_outgoing_mail() -> int:
    """Beat, every minute: hand every unsent message to a worker (a claim makes a message
    sent once even if it is handed over twice). Returns how many were handed over."""
    from models import OutgoingMail, db, utcnow

    stale = utcnow() - CLAIM_TIMEOUT
    ids = db.session.scalars(
        db.select(OutgoingMail.id)
        .where(
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.failed_at.is_(None),
            (OutgoingMail.claimed_at.is_(None)) | (OutgoingMail.claimed_at < stale),
        )
        .order_by(OutgoingMail.id)
    ).all()
    db.session.rollback()
    for mail_id in ids:
        send_outgoing_mail.delay(mail_id)
    return len(ids)


@shared_task(
    name="registry.send_outgoing_mail", ignore_result=True, retry_backoff_max=600, **SENDING
)
def send_outgoing_mail(mail_id: int) -> str:
    """Send one queued message: claim it (so a second hand-over does nothing), send, mark it
    sent. Network and SMTP errors release the claim and retry; any other failure (which a retry
    cannot fix) marks it failed and records `mail.failed` in the audit log for the admins."""
    from models import OutgoingMail, db, utcnow
    from models.locks import begin_writing, write_afresh

    db.session.rollback()
    begin_writing()
    mail = db.session.get(OutgoingMail, mail_id, with_for_update=True)
    now = utcnow()
    busy = (
        mail is not None and mail.claimed_at is not None and mail.claimed_at > now - CLAIM_TIMEOUT
    )
    if mail is None or mail.sent_at or mail.failed_at or busy:
        db.session.rollback()
        return ""
    mail.claimed_at = now
    mail.attempts += 1
    db.session.commit()
    failure: Exception | None = None
    try:
        where = send_mail(mail.recipients, mail.subject, mail.template, **mail.context)
    except TemplateNotFound as exc:  # an OSError to Python, but no retry brings the file back
        failure = exc
    except (OSError, smtplib.SMTPException):
        write_afresh()
        mail.claimed_at = None
        db.session.commit()
        raise
    except Exception as exc:  # noqa: BLE001 - recorded below
        failure = exc
    write_afresh()
    if failure is not None:
        log.error(
            "mail %s (%r) cannot be sent: %r; recorded as mail.failed",
            mail_id,
            mail.template,
            failure,
        )
        mail.failed_at = utcnow()
        mail.error = f"{type(failure).__name__}: {failure}"[:2000]
        record_failure(mail.recipients, mail.subject, mail.template, failure)
        return ""
    mail.sent_at = utcnow()
    db.session.commit()
    return where


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
