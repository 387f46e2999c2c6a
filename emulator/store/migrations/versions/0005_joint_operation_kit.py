"""Joint-operation family: the merchant's kit switches, enterprises with their departments and
users, the kit calls that told the merchant about them, and a login user's enterprise."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None



def _merchant_columns() -> list[sa.Column]:
    return [
        sa.Column("kit_base_url", sa.String(), nullable=True),
        sa.Column("kit_sign_hex_case", sa.String(), nullable=False, server_default="lower"),
        sa.Column("kit_rsa_padding", sa.String(), nullable=False, server_default="pkcs1v15"),
        sa.Column("kit_org_info", sa.String(), nullable=False, server_default="string"),
        sa.Column("encrypt_buyer_contact", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("aes_key_bits", sa.Integer(), nullable=False, server_default="256"),
    ]


def upgrade() -> None:
    # plain ADD COLUMN: a batch (copy and rename) of merchant would break the foreign keys to it
    for column in _merchant_columns():
        op.add_column("merchant", column)
    op.add_column("oauthuser", sa.Column("tenant_id", sa.String(), nullable=True))
    op.create_table(
        "kittenant",
        sa.Column("tenant_id", sa.String(length=64), primary_key=True),
        sa.Column("merchant_id", sa.String(), sa.ForeignKey("merchant.id"), nullable=False),
        sa.Column("client_id", sa.String(), sa.ForeignKey("oauthapp.client_id"), nullable=False),
        sa.Column("instance_key", sa.String(), nullable=True),
        sa.Column("tenant_code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("domain_name", sa.String(), nullable=False),
        sa.Column("test_flag", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    for column in ("merchant_id", "client_id", "instance_key"):
        op.create_index(f"ix_kittenant_{column}", "kittenant", [column])
    op.create_table(
        "kitorg",
        sa.Column("tenant_id", sa.String(length=64), sa.ForeignKey("kittenant.tenant_id"), primary_key=True),
        sa.Column("org_code", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("parent_code", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "kituser",
        sa.Column("tenant_id", sa.String(length=64), sa.ForeignKey("kittenant.tenant_id"), primary_key=True),
        sa.Column("user_name", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("org_code", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("enable", sa.Boolean(), nullable=False),
        sa.Column("position", sa.String(), nullable=True),
        sa.Column("employee_code", sa.String(), nullable=True),
        sa.Column("employee_type", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("mobile", sa.String(), nullable=True),
        sa.Column("password", sa.String(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("login_user_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "kitcall",
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("delivery.id"), primary_key=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_kitcall_tenant_id", "kitcall", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_kitcall_tenant_id", "kitcall")
    op.drop_table("kitcall")
    op.drop_table("kituser")
    op.drop_table("kitorg")
    for column in ("merchant_id", "client_id", "instance_key"):
        op.drop_index(f"ix_kittenant_{column}", "kittenant")
    op.drop_table("kittenant")
    with op.batch_alter_table("oauthuser") as batch:
        batch.drop_column("tenant_id")
    with op.batch_alter_table("merchant") as batch:
        for column in reversed(_merchant_columns()):
            batch.drop_column(column.name)
