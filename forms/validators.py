"""Reusable validation rules (phone, ZIP↔county, URLs, hours, uploads, passwords)."""

from __future__ import annotations

# The most common passwords of breach corpora that meet our 12-character minimum, plus
# variants of the product's own words; refused on set and change (ASVS 6.2.4).
COMMON_PASSWORDS = {
    "123456789012", "1234567890123", "password1234", "password12345", "qwertyuiop12",
    "qwertyuiopas", "iloveyou1234", "aaaaaaaaaaaa", "111111111111", "000000000000",
    "passwordpassword", "letmein12345", "welcome12345", "administrator", "changeme1234",
    "demo-password", "crisisregistry", "missouri1234", "password123!", "Password123!",
    "p@ssw0rd1234", "abc123456789", "qwerty123456", "1q2w3e4r5t6y", "zaq12wsxcde3",
}


def not_common_password(pw: str) -> bool:
    p = (pw or "").strip().lower()
    if p in {c.lower() for c in COMMON_PASSWORDS}:
        return False
    return len(set(p)) > 2
