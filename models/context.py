"""What the domain is told by the layer that calls it, never read from the web framework: the
client's address for the audit log (set for each request by admin/security.py; empty for jobs
and commands) and the settings of its rules (set by create_app from the configuration)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

client_address: ContextVar[str] = ContextVar("client_address", default="")


@dataclass
class Settings:
    review_sla_business_days: int = 5
    secrets_keys: list[bytes] = field(default_factory=list)  # models/publishing/sealed.py


settings = Settings()


def configure(*, review_sla_business_days: int, secrets_keys: list[bytes] | None = None) -> None:
    settings.review_sla_business_days = review_sla_business_days
    if secrets_keys is not None:
        settings.secrets_keys = secrets_keys
