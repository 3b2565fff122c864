"""listings: the dashboard's sort inputs stored and indexed (attention_rank, sort_name)

The provider dashboard lists an organization's listings by what needs attention first, then
by name. It worked both out in its query, so every page sorted the organization's whole list.
Stored on the listing (models/listings/listing.py, Listing.set_sort_keys) and indexed with the
organization, a page is read in order from the index. Existing listings get the keys the model
gives them, worked out here in Python as the model does: the rule is copied, so that this
migration keeps doing what it did when it was written.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NEEDS_ACTION, DRAFT, SETTLED = 0, 1, 2
OPEN_STATES = "'draft', 'submitted', 'in_review', 'changes_requested'"

LISTINGS = f"""
    SELECT l.id, l.live_revision_id IS NOT NULL AS is_live, l.is_suspended,
           l.stale_since IS NOT NULL AS is_stale, l.verified_at IS NULL AS never_verified,
           lv.name AS live_name, o.state AS open_state, o.name AS open_name
    FROM listing l
    LEFT JOIN listing_revision lv ON lv.id = l.live_revision_id
    LEFT JOIN listing_revision o ON o.listing_id = l.id AND o.state IN ({OPEN_STATES})
"""


def _keys(row) -> dict:
    if (
        row.open_state == "changes_requested"
        or row.is_suspended
        or (row.is_live and (row.is_stale or row.never_verified))
    ):
        rank = NEEDS_ACTION
    elif row.open_state == "draft":
        rank = DRAFT
    else:
        rank = SETTLED
    shown = row.live_name if row.live_name is not None else row.open_name
    name = shown if shown is not None else f"Listing {row.id}"
    return {"listing_id": row.id, "rank": rank, "name": name.lower()}


def upgrade():
    with op.batch_alter_table("listing") as batch:
        batch.add_column(
            sa.Column("attention_rank", sa.SmallInteger(), nullable=False, server_default="2")
        )
        batch.add_column(sa.Column("sort_name", sa.String(200), nullable=False, server_default=""))
        batch.create_check_constraint(
            op.f("ck_listing_attention_rank"), "attention_rank IN (0, 1, 2)"
        )
    conn = op.get_bind()
    keys = [_keys(row) for row in conn.execute(sa.text(LISTINGS))]
    if keys:
        conn.execute(
            sa.text(
                "UPDATE listing SET attention_rank = :rank, sort_name = :name "
                "WHERE id = :listing_id"
            ),
            keys,
        )
    with op.batch_alter_table("listing") as batch:
        batch.alter_column("attention_rank", server_default=None)
        batch.alter_column("sort_name", server_default=None)
        batch.create_index(
            "ix_listing_dashboard_order", ["organization_id", "attention_rank", "sort_name", "id"]
        )
        batch.create_index(
            "ix_listing_dashboard_due", ["organization_id", "attention_rank", "verified_at"]
        )


def downgrade():
    with op.batch_alter_table("listing") as batch:
        batch.drop_index("ix_listing_dashboard_due")
        batch.drop_index("ix_listing_dashboard_order")
        batch.drop_constraint(op.f("ck_listing_attention_rank"), type_="check")
        batch.drop_column("sort_name")
        batch.drop_column("attention_rank")
