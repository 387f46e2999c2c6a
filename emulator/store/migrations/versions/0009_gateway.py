"""The gateway of Agents and API products: backends, buyers' keys and the forwarded calls."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gatewaybackend",
        sa.Column("product_id", sa.String(length=64), sa.ForeignKey("product.id"), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("backend_url", sa.String(), nullable=False),
        sa.Column("http_method", sa.String(), nullable=False),
        sa.Column("auth_mode", sa.String(), nullable=False),
        sa.Column("access_key", sa.String(), nullable=True),
        sa.Column("secret_key", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "gatewaykey",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("instance_key", sa.String(length=64), nullable=False, unique=True),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_gatewaykey_order_id", "gatewaykey", ["order_id"])
    op.create_table(
        "gatewaycall",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(), nullable=True),
        sa.Column("merchant_id", sa.String(), nullable=True),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("instance_key", sa.String(), nullable=True),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("wall", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("query", sa.String(), nullable=False),
        sa.Column("target_url", sa.String(), nullable=True),
        sa.Column("request_headers", sa.JSON(), nullable=False),
        sa.Column("request_body", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=False),
        sa.Column("response_body", sa.String(), nullable=False),
        sa.Column("streamed", sa.Boolean(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("caller_status", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("billed_tokens", sa.Integer(), nullable=False),
        sa.Column("billed_calls", sa.Integer(), nullable=False),
        sa.Column("elapsed_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_gatewaycall_request_id", "gatewaycall", ["request_id"])
    op.create_index("ix_gatewaycall_order_id", "gatewaycall", ["order_id", "id"])
    op.create_index("ix_gatewaycall_merchant_id", "gatewaycall", ["merchant_id", "id"])
    op.create_index("ix_gatewaycall_product_id", "gatewaycall", ["product_id", "id"])


def downgrade() -> None:
    op.drop_table("gatewaycall")
    op.drop_table("gatewaykey")
    op.drop_table("gatewaybackend")
