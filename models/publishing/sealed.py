"""Secrets the registry must read back to use them (webhook signing secrets), sealed at rest
with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`).

The keys come from configuration (`REGISTRY_SECRETS_KEY`: one or more Fernet keys, comma
separated, the first seals and every one opens, so keys can be rotated; without it a key is
derived from SECRET_KEY with HKDF). A database copy or backup alone reveals no secret."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.context import settings

PREFIX = "fernet:"


class SecretUnreadable(RuntimeError):
    """A sealed secret that none of the configured keys opens."""


def derive_key(secret_key: str) -> bytes:
    """A Fernet key derived from the application's SECRET_KEY (used when no key is set)."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"registry sealed secrets v1"
    ).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def _box() -> MultiFernet:
    if not settings.secrets_keys:
        raise SecretUnreadable("no key to seal or open secrets is configured")
    return MultiFernet([Fernet(k) for k in settings.secrets_keys])


def seal(plain: str) -> str:
    return PREFIX + _box().encrypt(plain.encode("utf-8")).decode("ascii")


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def unseal(stored: str) -> str:
    if not is_sealed(stored):
        return stored  # written before secrets were sealed (migration 0004 seals those)
    try:
        return _box().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(
            "a sealed secret does not open with the configured keys (REGISTRY_SECRETS_KEY)"
        ) from None
