"""The order an open-API call asked about (Query Order), so that the §4 R7 check is an index
lookup instead of a scan of the journal's query strings."""

from urllib.parse import parse_qs

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inboundcall") as batch:
        batch.add_column(sa.Column("order_id", sa.String(), nullable=True))
    op.create_index("ix_inboundcall_merchant_order", "inboundcall", ["merchant_id", "order_id"])
    conn = op.get_bind()
    calls = conn.execute(sa.text("SELECT id, query FROM inboundcall WHERE api = 'query_order'")).all()
    for call_id, query in calls:  # the calls journaled before: their orderId from the query string
        order_id = parse_qs(query or "").get("orderId", [None])[0]
        if order_id:
            conn.execute(sa.text("UPDATE inboundcall SET order_id = :order_id WHERE id = :id"),
                         {"order_id": order_id, "id": call_id})


def downgrade() -> None:
    op.drop_index("ix_inboundcall_merchant_order", "inboundcall")
    with op.batch_alter_table("inboundcall") as batch:
        batch.drop_column("order_id")
