"""The family an instance was bought in (its calls keep it), the family of each delivery, the
instance behind an authorization code, and the License 2.0 switches of a merchant."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("merchant", sa.Column("license_field", sa.String(), nullable=False, server_default="license"))
    op.add_column("merchant", sa.Column("license_activities", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("instance", sa.Column("family", sa.String(), nullable=False, server_default="saas_v2_slim"))
    op.add_column("delivery", sa.Column("family", sa.String(), nullable=True))
    op.add_column("licensecode", sa.Column("instance_key", sa.String(), nullable=True))
    op.create_index("ix_licensecode_instance_key", "licensecode", ["instance_key"])
    # calls already made were made in their merchant's family
    op.execute("UPDATE instance SET family = (SELECT family FROM merchant WHERE merchant.id = instance.merchant_id)")


def downgrade() -> None:
    op.drop_index("ix_licensecode_instance_key", "licensecode")
    with op.batch_alter_table("licensecode") as batch:
        batch.drop_column("instance_key")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("family")
    for table, column in (("instance", "family"), ("merchant", "license_activities"), ("merchant", "license_field")):
        op.drop_column(table, column)
