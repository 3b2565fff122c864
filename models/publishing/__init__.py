"""Publishing: releases, the outbox, webhooks, outgoing mail and exports.

What the rest of the code may use from this package: `EXPORTS` (name -> module),
loaded on first use (models.base.lazy_exports), so importing one module of the package
does not import the others (the aggregates refer to one another)."""

from typing import TYPE_CHECKING

from models.base import lazy_exports

EXPORTS = {
    "MIN_SECRET_LENGTH": "webhook",
    "OutboxEvent": "release",
    "OutboxKind": "release",
    "PREFIX": "sealed",
    "PublishRun": "release",
    "PublishRunStatus": "release",
    "Release": "release",
    "ReleaseTrigger": "release",
    "SecretUnreadable": "sealed",
    "derive_key": "sealed",
    "generate_webhook_secret": "webhook",
    "is_sealed": "sealed",
    "safe_cell": "export",
    "seal": "sealed",
    "signing_key": "webhook",
    "unseal": "sealed",
    "validate_webhook_secret": "webhook",
    "validate_webhook_url": "webhook",
}
__all__ = [
    "MIN_SECRET_LENGTH",
    "OutboxEvent",
    "OutboxKind",
    "PREFIX",
    "PublishRun",
    "PublishRunStatus",
    "Release",
    "ReleaseTrigger",
    "SecretUnreadable",
    "derive_key",
    "generate_webhook_secret",
    "is_sealed",
    "safe_cell",
    "seal",
    "signing_key",
    "unseal",
    "validate_webhook_secret",
    "validate_webhook_url",
]
__getattr__ = lazy_exports(__name__, EXPORTS)

if TYPE_CHECKING:
    from .export import safe_cell
    from .release import (
        OutboxEvent,
        OutboxKind,
        PublishRun,
        PublishRunStatus,
        Release,
        ReleaseTrigger,
    )
    from .sealed import PREFIX, SecretUnreadable, derive_key, is_sealed, seal, unseal
    from .webhook import (
        MIN_SECRET_LENGTH,
        generate_webhook_secret,
        signing_key,
        validate_webhook_secret,
        validate_webhook_url,
    )
