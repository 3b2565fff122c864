"""live capacity: one row per status report (models/listings/capacity.py)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "capacity_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listing.id"],
            name=op.f("fk_capacity_update_listing_id_listing"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["user.id"], name=op.f("fk_capacity_update_by_id_user")
        ),
        sa.CheckConstraint(
            "status IN ('accepting', 'limited', 'full', 'diverting')",
            name=op.f("ck_capacity_update_capacity_status"),
        ),
        sa.CheckConstraint(
            "available IS NULL OR available >= 0",
            name=op.f("ck_capacity_update_capacity_available"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_update")),
    )
    with op.batch_alter_table("organization") as batch:
        batch.add_column(
            sa.Column(
                "capacity_reminders", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
    op.create_index(op.f("ix_capacity_update_listing_at"), "capacity_update", ["listing_id", "at"])


def downgrade():
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("capacity_reminders")
    op.drop_index(op.f("ix_capacity_update_listing_at"), table_name="capacity_update")
    op.drop_table("capacity_update")
