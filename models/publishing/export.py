"""Registry data written into spreadsheet cells (the admin's CSV exports, the published
`listings.csv`): one rule, so a provider's text never runs as a formula in anyone's spreadsheet."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from models.text import publishable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    """Text a spreadsheet would read as a formula (or whose start it would hide)."""
    return text.startswith(FORMULA_START)


def safe_cell(value: Any) -> Any:
    """A cell no spreadsheet will run as a formula: text starting with = + - @ tab or CR gets a
    leading apostrophe; numbers stay numbers; dates become ISO text; booleans yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = publishable(str(value))
    if starts_formula(text):
        return "'" + text
    return text
