"""Time-based one-time passwords for DMH staff (RFC 6238, 30-second steps, 6 digits).

Secrets are 160 bits (`new_secret()`, as RFC 4226 recommends); pyotp's own checks apply,
so a secret shorter than 112 bits is refused."""

from __future__ import annotations

import pyotp


def totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits
