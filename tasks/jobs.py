"""Imports every task module so the worker registers their tasks."""

from . import housekeeping, mail, sweeps  # noqa: F401
