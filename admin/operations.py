"""How a view runs a domain operation: the one place that commits, rolls back a refused
operation and tells the person why (always with the same flash category), and runs what must
happen only once the change is committed (queueing a publish, a task)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash

from models import WorkflowError, db

T = TypeVar("T")
REFUSED = "warning"  # the flash category of every refused operation


class Refused:
    """What `run` returns when the domain refused the operation (already rolled back and said)."""

    def __init__(self, error: WorkflowError):
        self.error = error

    def __bool__(self) -> bool:
        return False


def refuse(error: WorkflowError) -> None:
    """Undo what a refused operation wrote and say why."""
    db.session.rollback()
    flash(str(error), REFUSED)


def run(
    operation: Callable[[], T],
    *,
    done: str | None = None,
    after_commit: Callable[[], Any] | None = None,
) -> T | Refused:
    """Run `operation` and commit; a WorkflowError rolls back and is flashed (`Refused`, which is
    falsy). On success `done` is flashed and `after_commit` runs."""
    try:
        result = operation()
        db.session.commit()
    except WorkflowError as exc:
        refuse(exc)
        return Refused(exc)
    if after_commit is not None:
        after_commit()
    if done:
        flash(done, "success")
    return result
