"""Outbound faults: a merchant's fault rates and slow-send hold, and the faults of each attempt."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("merchant", sa.Column("faults", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("merchant", sa.Column("slow_send_s", sa.Float(), nullable=False, server_default="3.0"))
    op.add_column("attempt", sa.Column("fault", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_column("fault")
    for column in ("slow_send_s", "faults"):
        op.drop_column("merchant", column)
