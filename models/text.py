"""The one text policy for everything people and systems type into the registry (forms, CSV
import): what is kept, what is normalised, what is refused — and why, in docs/decisions.md.

- Unicode NFC, so the same name is the same string (and the same content hash) however typed;
  CRLF and CR become LF.
- C0 and C1 control characters (NUL, escape, vertical tab, ...) and DEL are refused: they break
  XML (the Atom feed), CSV readers and e-mail headers and never belong in a listing. Tab and
  newline are allowed in multi-line fields only (U+2028/U+2029 become newlines there).
- Bidirectional controls (U+202A-U+202E, U+2066-U+2069) are refused everywhere: they make
  published text read differently from what a reviewer approved ("Trojan source").
- In single-line fields (names, phones, addresses, URLs, e-mail) also line breaks and
  invisible characters (zero-width space/joiners U+200B-U+200D, word joiner U+2060, BOM U+FEFF),
  which make two names that look identical differ."""

from __future__ import annotations

import re
import unicodedata

_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 but tab, LF, CR; DEL; C1
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_INVISIBLE = r"\u200b-\u200d\u2060\ufeff"
_LINE_BREAKS = r"\t\n\u2028\u2029"

MULTI_LINE_REFUSED = re.compile(f"[{_CONTROLS}{_BIDI}]")
SINGLE_LINE_REFUSED = re.compile(f"[{_CONTROLS}{_BIDI}{_INVISIBLE}{_LINE_BREAKS}]")


def normalise(value: str, *, multi_line: bool = False) -> str:
    """NFC, with CRLF/CR (and, in multi-line text, U+2028/U+2029) as LF."""
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    if multi_line:
        value = value.replace("\u2028", "\n").replace("\u2029", "\n")
    return value


def describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name.lower()}" if name else "")


def problem(value: str, *, multi_line: bool = False) -> str | None:
    """Why `value` (already normalised) is refused, in words for the person who typed it; None
    when it is acceptable."""
    found = (MULTI_LINE_REFUSED if multi_line else SINGLE_LINE_REFUSED).search(value)
    if found is None:
        return None
    ch = found.group()
    if ch in "\n\t\u2028\u2029":
        return "Keep this on one line (no line breaks or tabs)."
    if re.match(f"[{_BIDI}]", ch):
        return f"Remove the hidden text-direction character ({describe(ch)})."
    if re.match(f"[{_INVISIBLE}]", ch):
        return f"Remove the invisible character ({describe(ch)})."
    return f"Remove the control character ({describe(ch)}); it cannot be published."


_UNPUBLISHABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def publishable(value: str) -> str:
    """Second line of defence for every XML and CSV writer: drop the control characters the
    policy refuses (and the two XML cannot carry), whatever reached the database before it."""
    return _UNPUBLISHABLE.sub("", value)
