"""Checks for identifiers and contact details, shared by the admin forms and the CSV importer
(one validation system for one input). Each returns the normalised value or raises ValueError
with a message fit to show next to the field."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# uuid5 namespace of every published id derived from a parent id and a natural key
HSDS_NAMESPACE = uuid.UUID("6d0f4c9e-3a52-5b8e-9a61-0c3e2f7b5d11")


_NAMESPACE_SHA1 = hashlib.sha1(HSDS_NAMESPACE.bytes, usedforsecurity=False)


def stable_id(*parts: Any) -> str:
    """uuid5(HSDS_NAMESPACE, "part:part:..."), computed without building uuid.UUID objects
    (a release derives about 26 ids per service)."""
    h = _NAMESPACE_SHA1.copy()
    h.update(":".join(map(str, parts)).encode("utf-8"))
    return _uuid5_text(h.digest())


def _uuid5_text(sha1: bytes) -> str:
    """The uuid5 text of a name's SHA-1 (namespace first): version and variant bits set."""
    d = bytearray(sha1[:16])
    d[6] = (d[6] & 0x0F) | 0x50  # version 5
    d[8] = (d[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = d.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def stable_ids(prefix: tuple[Any, ...], last: list[Any]) -> list[str]:
    """[stable_id(*prefix, x) for x in last], hashing the shared prefix once (a 988 center's
    service areas: one id per county it covers)."""
    head = _NAMESPACE_SHA1.copy()
    head.update((":".join(map(str, prefix)) + ":").encode("utf-8"))
    out = []
    for x in last:
        h = head.copy()
        h.update(str(x).encode("utf-8"))
        out.append(_uuid5_text(h.digest()))
    return out


def phone_id(service_id: str, position: int, number: str) -> str:
    """The published id of a phone stored without one (listings saved before phones kept ids)."""
    return stable_id("phone", service_id, position, number)


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


EIN_RE = re.compile(r"^\d{2}-\d{7}$")
NPI_RE = re.compile(r"^\d{10}$")


def normalise_ein(value: str) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    if re.fullmatch(r"\d{9}", v):
        v = f"{v[:2]}-{v[2:]}"
    if not EIN_RE.match(v):
        raise ValueError("Enter the EIN as NN-NNNNNNN (nine digits).")
    return v


def npi_check_digit_ok(npi: str) -> bool:
    """The NPI's last digit is a Luhn check over the prefix 80840 and its first nine digits."""
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def normalise_npi(value: str) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    if not NPI_RE.match(v):
        raise ValueError("An NPI is exactly 10 digits.")
    if v[0] not in "12":
        raise ValueError("An NPI starts with 1 or 2.")
    if not npi_check_digit_ok(v):
        raise ValueError("This NPI's check digit is wrong; check for a typing mistake.")
    return v


def normalise_phone(value: str) -> str:
    """A US phone number in E.164 (+15735550123)."""
    v = (value or "").strip()
    if not v:
        return ""
    try:
        num = phonenumbers.parse(v, "US")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Enter a US phone number, e.g. (573) 555-0123.") from exc
    if num.country_code != 1 or not phonenumbers.is_possible_number(num):
        raise ValueError("Enter a US phone number, e.g. (573) 555-0123.")
    if not phonenumbers.is_valid_number(num) and not str(num.national_number)[3:6] == "555":
        # 555-01xx numbers are reserved for fiction (the demo data) and are accepted
        raise ValueError("This is not a valid US phone number.")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def normalise_https_url(value: str) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    parts = urlsplit(v)
    if (
        parts.scheme != "https"
        or not parts.netloc
        or "." not in parts.hostname
        or any(c.isspace() for c in v)
    ):
        raise ValueError("Enter a full web address starting with https://")
    return v


def normalise_email(value: str) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    try:
        # test_environment: accept the reserved .test domain the demo accounts use
        return validate_email(
            v, check_deliverability=False, test_environment=True
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError("Enter a valid e-mail address.") from exc
