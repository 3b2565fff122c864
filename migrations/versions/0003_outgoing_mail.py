"""outgoing mail: e-mail written in the same transaction as what it announces

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("failed_at", TIME, nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_outgoing_mail_unsent",
        "outgoing_mail",
        ["created_at"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )


def downgrade():
    op.drop_index("ix_outgoing_mail_unsent", table_name="outgoing_mail")
    op.drop_table("outgoing_mail")
