"""Imports every task module so the worker registers their tasks."""

from . import capacity, housekeeping, mail, pdf_parts, pdf_preview, publish, sweeps  # noqa: F401
