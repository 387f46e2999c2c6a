"""Indexes for the console at scale: search by businessId and by the merchant's instanceId,
deliveries by emulated time."""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_attempt_business_id", "attempt", ["business_id"]),
    ("ix_instance_instance_id", "instance", ["instance_id"]),
    ("ix_delivery_created_id", "delivery", ["created_at", "id"]),
    ("ix_delivery_test_flag_id", "delivery", ["test_flag", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table)
