"""webhook secrets sealed at rest (Fernet; models/publishing/sealed.py)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhook") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(200))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, secret FROM webhook")).all()
    if not rows:
        return
    from models.publishing import is_sealed, seal

    for row_id, secret in rows:
        if not is_sealed(secret):
            conn.execute(
                sa.text("UPDATE webhook SET secret = :s WHERE id = :i"),
                {"s": seal(secret), "i": row_id},
            )


def downgrade():
    from models.publishing import unseal

    conn = op.get_bind()
    for row_id, secret in conn.execute(sa.text("SELECT id, secret FROM webhook")).all():
        conn.execute(
            sa.text("UPDATE webhook SET secret = :s WHERE id = :i"),
            {"s": unseal(secret)[:200], "i": row_id},
        )
    with op.batch_alter_table("webhook") as batch:
        batch.alter_column("secret", type_=sa.String(200), existing_type=sa.Text())
