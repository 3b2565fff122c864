"""`flask publish`: build a release now (synchronously, with a progress bar), or roll back."""

from __future__ import annotations

import click

from models import PublishRunStatus, ReleaseTrigger


@click.command("publish")
@click.option(
    "--rollback",
    "rollback",
    type=int,
    default=None,
    metavar="N",
    help="Point `current` back at kept release N instead of building.",
)
def publish_command(rollback: int | None):
    """Build a release from the approved listings (no new release if nothing changed)."""
    from tasks.publish import run_build
    from tasks.publishing.builder import rollback_to

    if rollback is not None:
        try:
            rollback_to(rollback)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--rollback") from exc
        click.echo(f"current release is now {rollback}")
        return
    bar_state = {"bar": None, "done": 0, "phase": ""}

    def progress(step: int, total: int, label: str) -> None:
        # two phases: the feeds (then public), the printed directories
        phase = "printing" if label.startswith("printing") else "publishing"
        if bar_state["bar"] is not None and phase != bar_state["phase"]:
            bar_state["bar"].__exit__(None, None, None)
            bar_state.update(bar=None, done=0)
            if phase == "printing":
                click.echo("feeds published; printing the directories", err=True)
        if bar_state["bar"] is None:
            bar_state["bar"] = click.progressbar(
                length=total,
                label=phase,
                show_pos=True,
                file=click.get_text_stream("stderr"),
            )
            bar_state["bar"].__enter__()
            bar_state["phase"] = phase
        bar = bar_state["bar"]
        bar.label = f"{phase}: {label.removeprefix('printing ')[:40]:<40}"
        bar.update(step - bar_state["done"])
        bar_state["done"] = step

    try:
        result = run_build(ReleaseTrigger.MANUAL.value, progress=progress)
    finally:
        if bar_state["bar"] is not None:
            bar_state["bar"].__exit__(None, None, None)
    if result.status == PublishRunStatus.PUBLISHED:
        click.echo(f"published release {result.number}")
    elif result.status == PublishRunStatus.UNCHANGED:
        click.echo(f"unchanged: release {result.number} is current")
    else:
        click.echo("another build is running; nothing done")
