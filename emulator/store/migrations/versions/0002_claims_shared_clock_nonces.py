"""Claims on deliveries, the shared clock's version, stored usage-push nonces."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("delivery", sa.Column("lease_owner", sa.String(), nullable=True))
    op.add_column("delivery", sa.Column("lease_until", sa.DateTime(), nullable=True))
    op.create_index("ix_delivery_lease_owner", "delivery", ["lease_owner"])
    op.add_column("clockrow", sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    if not sa.inspect(op.get_bind()).has_table("usagenonce"):
        op.create_table(
            "usagenonce",
            sa.Column("merchant_id", sa.String(length=64), primary_key=True),
            sa.Column("nonce", sa.String(length=64), primary_key=True),
            sa.Column("expires_at", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_usagenonce_expires_at", "usagenonce", ["expires_at"])


def downgrade() -> None:
    op.drop_table("usagenonce")
    op.drop_column("clockrow", "version")
    op.drop_index("ix_delivery_lease_owner", "delivery")
    op.drop_column("delivery", "lease_until")
    op.drop_column("delivery", "lease_owner")
