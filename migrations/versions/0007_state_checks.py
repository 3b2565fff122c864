"""state columns: a CHECK on the verification link's answer; unused trigger and outbox kinds go

The verification link's outcome is limited to its LinkOutcome values and is set exactly when the
link is used. ReleaseTrigger "sweep" and OutboxKind "publish_requested" were never written;
their CHECK constraints stop allowing them (downgrade allows them again).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TRIGGERS = "'changes', 'nightly', 'manual'"
OLD_TRIGGERS = "'changes', 'nightly', 'manual', 'sweep'"
KINDS = "'listing_changed'"
OLD_KINDS = "'listing_changed', 'publish_requested'"


def _replace_check(table: str, name: str, condition: str) -> None:
    """Drop and re-create one named CHECK (batch mode: SQLite rebuilds the table)."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def upgrade():
    with op.batch_alter_table("verification_link") as batch:
        batch.create_check_constraint(
            op.f("ck_verification_link_outcome"), "outcome IN ('confirmed', 'changed')"
        )
        batch.create_check_constraint(
            op.f("ck_verification_link_outcome_iff_used"),
            "(outcome IS NULL) = (used_at IS NULL)",
        )
    _replace_check("release", "trigger", f"trigger IN ({TRIGGERS})")
    _replace_check("publish_run", "trigger", f"trigger IN ({TRIGGERS})")
    _replace_check("outbox_event", "kind", f"kind IN ({KINDS})")


def downgrade():
    _replace_check("outbox_event", "kind", f"kind IN ({OLD_KINDS})")
    _replace_check("publish_run", "trigger", f"trigger IN ({OLD_TRIGGERS})")
    _replace_check("release", "trigger", f"trigger IN ({OLD_TRIGGERS})")
    with op.batch_alter_table("verification_link") as batch:
        batch.drop_constraint(op.f("ck_verification_link_outcome_iff_used"), type_="check")
        batch.drop_constraint(op.f("ck_verification_link_outcome"), type_="check")
