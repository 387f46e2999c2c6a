"""Indexes for paged lists (orders of a merchant, instances) and for claiming due deliveries."""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_order_merchant_seq", "order", ["merchant_id", "seq"]),
    ("ix_instance_created_key", "instance", ["created_at", "key"]),
    ("ix_instance_merchant_created_key", "instance", ["merchant_id", "created_at", "key"]),
    ("ix_delivery_due", "delivery", ["status", "next_attempt_at", "id"]),
    ("ix_delivery_instance_due", "delivery", ["instance_key", "status", "next_attempt_at", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table)
