"""Downstream subscriptions to new releases, and the log of every delivery attempt."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, WorkflowError, db, utcnow
from models.publishing.sealed import seal, unseal

MIN_SECRET_LENGTH = 16


class Webhook(db.Model):
    """A downstream URL that receives a signed POST for each new release."""

    __tablename__ = "webhook"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    sealed_secret: Mapped[str] = mapped_column("secret", Text)  # models/publishing/sealed.py
    description: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="webhook", order_by="WebhookDelivery.id.desc()", lazy="dynamic"
    )

    def __init__(self, *, secret: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if secret is not None:
            self.secret = secret

    @property
    def secret(self) -> str:
        """The signing secret, opened from its sealed form (never stored in plain text)."""
        return unseal(self.sealed_secret)

    @secret.setter
    def secret(self, plain: str) -> None:
        self.sealed_secret = seal(plain)


class WebhookDelivery(db.Model):
    """One attempt to deliver one release to one webhook."""

    __tablename__ = "webhook_delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE"), index=True
    )
    release_number: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    will_retry: Mapped[bool] = mapped_column(Boolean, default=False)

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")


def validate_webhook_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WorkflowError("Enter a full http:// or https:// address.")
    if len(url) > 500:
        raise WorkflowError("The address is longer than 500 characters.")
    return url


def generate_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: a `whsec_` secret's decoded bytes (as the Standard Webhooks
    libraries read it), any other (older, typed-in) secret's UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_") + "==")
    return secret.encode("utf-8")


def validate_webhook_secret(secret: str) -> str:
    secret = (secret or "").strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise WorkflowError(f"Use a secret of at least {MIN_SECRET_LENGTH} characters.")
    if len(secret) > 200:
        raise WorkflowError("The secret is longer than 200 characters.")
    return secret
