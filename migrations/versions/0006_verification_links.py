"""re-verification by e-mailed link (models/listings/verification.py)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "verification_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("opened_at", TIME, nullable=True),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("followed_up_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listing.id"],
            name=op.f("fk_verification_link_listing_id_listing"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_verification_link_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_verification_link_token_hash")),
    )
    op.create_index(
        op.f("ix_verification_link_listing_id"), "verification_link", ["listing_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_verification_link_listing_id"), table_name="verification_link")
    op.drop_table("verification_link")
