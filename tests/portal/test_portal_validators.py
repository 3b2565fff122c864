"""Each parser of forms/validators.py with good and bad values (no database needed)."""

from __future__ import annotations

import pytest

from forms.validators import (
    http_url,
    normalize_email,
    normalize_phone,
    parse_hhmm,
    sniff_upload,
    upload_filename,
    zip_code,
    zip_in_county,
)
from tests.portal.conftest import make_pdf, make_png

MB = 1024 * 1024


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("(573) 555-0123", "+15735550123"),
        ("573.555.0123", "+15735550123"),
        ("573-555-0123", "+15735550123"),
        ("+1 573 555 0123", "+15735550123"),
        (" 1 (816) 555-0199 ", "+18165550199"),
    ],
)
def test_phone_good(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "555-0123", "12345", "call us", "573 555 01234", "(000) 555-0123"]
)
def test_phone_bad(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "https://example.org",
        "http://chat.example.org/start?x=1",
        "https://example.org/a b".replace(" ", "%20"),
    ],
)
def test_url_good(raw):
    assert http_url(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "example.org",
        "https://",
        "https://localhost",
        "http://exa mple.org",
        "data:text/html,hi",
        "https://" + "a" * 300 + ".org",
    ],
)
def test_url_bad(raw):
    with pytest.raises(ValueError):
        http_url(raw)


def test_email_good():
    assert normalize_email(" Intake@Example.org ") == "Intake@example.org"


@pytest.mark.parametrize(
    "raw", ["", "intake", "intake@", "@example.org", "a b@example.org", "intake@example..org"]
)
def test_email_bad(raw):
    with pytest.raises(ValueError):
        normalize_email(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("8:00", "08:00"),
        ("08:00", "08:00"),
        ("23:59", "23:59"),
        ("24:00", "24:00"),
        ("00:00", "00:00"),
    ],
)
def test_time_good(raw, expected):
    assert parse_hhmm(raw) == expected


@pytest.mark.parametrize("raw", ["", "8", "8am", "25:00", "24:30", "8:60", "-1:00", "08:00:00"])
def test_time_bad(raw):
    with pytest.raises(ValueError):
        parse_hhmm(raw)


def test_zip_format():
    assert zip_code("65201") == "65201"
    assert zip_code("65201-1234") == "65201"
    for bad in ("6520", "652011", "abcde", ""):
        with pytest.raises(ValueError):
            zip_code(bad)


def test_zip_in_county():
    zip_in_county("65201", "29019")  # Columbia, Boone County
    zip_in_county("63101", "29510")  # downtown St. Louis city
    with pytest.raises(ValueError, match="not in the chosen county"):
        zip_in_county("63101", "29019")
    with pytest.raises(ValueError, match="not a Missouri ZIP"):
        zip_in_county("90210", "29019")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../../etc/passwd.pdf",
        "a/b.pdf",
        "C:\\\\scans\\\\x.pdf",
        ".hidden.pdf",
        "bad\\x00name.pdf",
        "x" * 250 + ".pdf",
    ],
)
def test_upload_filename_bad(name):
    with pytest.raises(ValueError):
        upload_filename(name)


def test_upload_filename_good():
    assert upload_filename("Fire inspection 2026.pdf") == "Fire inspection 2026.pdf"


def test_sniff_real_files():
    assert sniff_upload(make_pdf(), "a.pdf", 20 * MB) == "application/pdf"
    assert sniff_upload(make_png(), "scan.png", 20 * MB) == "image/png"


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "a.pdf", "empty"),
        (b"This is plain text pretending to be a PDF.\n", "notes.pdf", "neither"),
        (b"%PDF-1.7\n garbage that is not a PDF body", "broken.pdf", "cannot be read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "scan.png", "damaged"),
        (b"MZ\x90\x00 executable", "setup.pdf", "neither"),
    ],
)
def test_sniff_refuses(data, name, message):
    with pytest.raises(ValueError, match=message):
        sniff_upload(data, name, 20 * MB)


def test_sniff_refuses_encrypted_pdf_and_mismatched_names_and_size():
    with pytest.raises(ValueError, match="password"):
        sniff_upload(make_pdf(password="secret"), "locked.pdf", 20 * MB)
    with pytest.raises(ValueError, match="PNG but its name"):
        sniff_upload(make_png(), "scan.pdf", 20 * MB)
    with pytest.raises(ValueError, match="larger than 1 MB"):
        sniff_upload(make_pdf() + b"%" + b"x" * MB, "big.pdf", 1 * MB)
