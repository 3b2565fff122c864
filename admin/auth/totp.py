"""Time-based one-time passwords for DMH staff (RFC 6238, 30-second steps, 6 digits).

pyotp refuses secrets shorter than 112 bits. Secrets the registry generates are 160 bits
(`new_secret()`); the documented demo secret `JBSWY3DPEHPK3PXP` is 80 bits and must keep
working for `flask demo load`, so verification accepts 80 bits and up."""

from __future__ import annotations

import pyotp


class _TOTP(pyotp.TOTP):
    min_secret_length_bits = 80


def totp(secret: str) -> pyotp.TOTP:
    return _TOTP(secret)


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
