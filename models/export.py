"""Registry data written into spreadsheet cells (the admin's CSV exports, the published
`listings.csv`): one rule, so a provider's text never runs as a formula in anyone's spreadsheet."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .text import publishable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
