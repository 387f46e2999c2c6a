"""The store of release 0.1.0 (schema version 5, created before migrations existed).

A store of that release is stamped with this revision when first opened, then upgraded.
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the tables already exist: this revision only names their shape


def downgrade() -> None:
    raise NotImplementedError("the first revision cannot be downgraded")
