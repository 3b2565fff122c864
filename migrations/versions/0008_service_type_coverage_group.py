"""service types: where each counts in county coverage (coverage_group), as data

County coverage read type codes written in models/reference/coverage.py; the column says it instead, so a
type an admin adds in /manage/ can count as a mobile team, a crisis center or a sobering center.
The built-in types get the group the code gave them.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GROUPS = {
    "mobile_crisis": "mobile_team",
    "bhcc": "crisis_center",
    "urgent_bhcc": "crisis_center",
    "sobering_center": "sobering_center",
}


def upgrade():
    with op.batch_alter_table("service_type") as batch:
        batch.add_column(
            sa.Column("coverage_group", sa.String(20), nullable=False, server_default="none")
        )
        batch.create_check_constraint(
            op.f("ck_service_type_coverage_group"),
            "coverage_group IN ('none', 'mobile_team', 'crisis_center', 'sobering_center')",
        )
    service_type = sa.table("service_type", sa.column("code"), sa.column("coverage_group"))
    for code, group in GROUPS.items():
        op.execute(
            service_type.update().where(service_type.c.code == code).values(coverage_group=group)
        )
    with op.batch_alter_table("service_type") as batch:
        batch.alter_column("coverage_group", server_default=None)


def downgrade():
    with op.batch_alter_table("service_type") as batch:
        batch.drop_constraint(op.f("ck_service_type_coverage_group"), type_="check")
        batch.drop_column("coverage_group")
