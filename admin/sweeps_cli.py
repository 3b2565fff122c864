"""`flask sweep certifications|verification`: run the daily sweeps now (they also run from
Celery beat, tasks/schedule.py)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from tasks.sweeps import SweepResult, run_certification_sweep, run_verification_sweep

sweep_cli = AppGroup("sweep", help="Run the daily sweeps now (they also run from Celery beat).")


def _date_option(f):
    return click.option(
        "--date",
        "day",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Sweep as of this day (YYYY-MM-DD); default today (UTC).",
    )(f)


def _echo(result: SweepResult) -> None:
    if result.skipped:
        click.echo(
            f"{result.sweep} sweep for {result.on}: another run is in progress; nothing done"
        )
        return
    parts = [f"{len(result.reminders)} reminders"]
    if result.sweep == "certifications":
        parts.insert(0, f"{len(result.expired)} certifications expired")
        parts.insert(1, f"{len(set(result.listings_marked))} listings marked for the next release")
    else:
        parts.append(f"{len(result.flagged_stale)} listings flagged stale")
    click.echo(f"{result.sweep} sweep for {result.on}: " + ", ".join(parts))


@sweep_cli.command("certifications")
@_date_option
def sweep_certifications_command(day):
    """Expire lapsed certifications and send due renewal reminders."""
    _echo(run_certification_sweep(day.date() if day else None))


@sweep_cli.command("verification")
@_date_option
def sweep_verification_command(day):
    """Remind about listings not verified for a year; flag them stale after the grace period."""
    _echo(run_verification_sweep(day.date() if day else None))
