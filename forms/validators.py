"""Reusable validation rules (phone, ZIP↔county, URLs, hours, uploads, passwords)."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from models.reference import zip_info

# The most common passwords of breach corpora that meet our 12-character minimum, plus
# variants of the product's own words; refused on set and change (ASVS 6.2.4).
COMMON_PASSWORDS = {
    "123456789012",
    "1234567890123",
    "password1234",
    "password12345",
    "qwertyuiop12",
    "qwertyuiopas",
    "iloveyou1234",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "passwordpassword",
    "letmein12345",
    "welcome12345",
    "administrator",
    "changeme1234",
    "demo-password",
    "crisisregistry",
    "missouri1234",
    "password123!",
    "Password123!",
    "p@ssw0rd1234",
    "abc123456789",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "zaq12wsxcde3",
}


def not_common_password(pw: str) -> bool:
    p = (pw or "").strip().lower()
    if p in {c.lower() for c in COMMON_PASSWORDS}:
        return False
    return len(set(p)) > 2


# ------------------------------------------------------------------ listing values
# Each parser takes what a person typed and returns the stored form, or raises ValueError with
# a message for the field. Forms call them from `validate_<field>`; rules about what the parsed
# values must satisfy live in models.listings.rules.

MAX_URL_LENGTH = 300


def normalize_phone(raw: str, region: str = "US") -> str:
    """A phone number as E.164 (+15735550123). US numbers may be typed any common way."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("Enter a phone number.")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            "That does not look like a phone number. Use a form like (573) 555-0123."
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(
            "That phone number is incomplete or not in use. Include the area code, e.g. (573) 555-0123."
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def http_url(raw: str) -> str:
    """A web address people can open: http or https, a host, no spaces."""
    text = (raw or "").strip()
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"Keep the web address under {MAX_URL_LENGTH} characters.")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("Use a web address starting with https:// (or http://).")
    if not parts.hostname or "." not in parts.hostname or any(ch.isspace() for ch in text):
        raise ValueError("That web address is incomplete, e.g. https://example.org/chat.")
    return text


def normalize_email(raw: str) -> str:
    """A syntactically valid address, normalised; no DNS lookup (works offline, no delays)."""
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"That e-mail address is not valid: {exc}") from exc


_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_hhmm(raw: str) -> str:
    """'8:00' or '08:00' -> '08:00'; '24:00' means midnight at the end of the day."""
    m = _HHMM.match(raw or "")
    if not m:
        raise ValueError("Use a time like 08:00 or 17:30.")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and mi):
        raise ValueError("That is not a time of day.")
    return f"{h:02d}:{mi:02d}"


def zip_code(raw: str) -> str:
    text = (raw or "").strip()
    if not re.fullmatch(r"\d{5}(-\d{4})?", text):
        raise ValueError("Enter a 5-digit ZIP code.")
    return text[:5]


def zip_in_county(zip5: str, county_fips: str | None) -> None:
    """The ZIP must be a Missouri ZIP lying in the chosen county (offline ZIP data)."""
    info = zip_info(zip5)
    if info is None:
        raise ValueError("That ZIP code is not a Missouri ZIP code.")
    if county_fips and info.county_fips != county_fips:
        raise ValueError(
            "That ZIP code is not in the chosen county. Check the ZIP code or the county."
        )


# ------------------------------------------------------------------ uploads

UPLOAD_KINDS = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}
MAX_FILENAME = 200


def upload_filename(raw: str | None) -> str:
    """The name the person gave the file, refused when it carries a folder path or odd bytes."""
    name = raw or ""
    if not name.strip():
        raise ValueError("Choose a file to upload.")
    if "/" in name or "\\" in name or ":" in name or name.startswith(".") or ".." in name:
        raise ValueError(
            "The file name must be a plain name without a folder path (no / \\ : or ..)."
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError(
            "The file name contains control characters; rename the file and try again."
        )
    if len(name) > MAX_FILENAME:
        raise ValueError(f"Shorten the file name to under {MAX_FILENAME} characters.")
    return name.strip()


def sniff_upload(data: bytes, filename: str, max_bytes: int) -> str:
    """The content type of an uploaded document, judged by its content: a PDF that parses and
    is not encrypted, or a PNG/JPEG image that decodes. Raises ValueError for anything else."""
    if not data:
        raise ValueError("The file is empty.")
    if len(data) > max_bytes:
        raise ValueError(
            f"The file is larger than {max_bytes // (1024 * 1024)} MB. Scan at a lower resolution or split it."
        )
    kind = next((ct for ct, (magic, _ext) in UPLOAD_KINDS.items() if data.startswith(magic)), None)
    if kind is None:
        raise ValueError(
            "Only PDF documents and PNG or JPEG scans are accepted; this file is neither."
        )
    ext = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if ext not in UPLOAD_KINDS[kind][1]:
        raise ValueError(
            f"The file is a {kind.split('/')[1].upper()} but its name ends in '{ext or 'nothing'}'. Rename it to end in {UPLOAD_KINDS[kind][1][0]}."
        )
    if kind == "application/pdf":
        _check_pdf(data)
    else:
        _check_image(data)
    return kind


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValueError("The PDF is password-protected. Upload a copy without a password.")
        if len(reader.pages) < 1:
            raise ValueError("The PDF has no pages.")
    except ValueError:
        raise
    except (
        PyPdfError,
        OSError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
    ) as exc:
        raise ValueError(
            "The file starts like a PDF but cannot be read as one. Save it again as PDF and retry."
        ) from exc


def _check_image(data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise ValueError(
            "The image file is damaged or incomplete. Scan it again and retry."
        ) from exc
