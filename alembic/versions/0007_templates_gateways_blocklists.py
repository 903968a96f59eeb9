"""templates, gateways, blocklists and outbox sending options

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString
Time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "template",
        sa.Column("id", Text(length=64), nullable=False),
        sa.Column("account", sa.String(length=256), nullable=True),
        sa.Column("name", Text(length=256), nullable=False),
        sa.Column("description", Text(length=1024), nullable=True),
        sa.Column("format", Text(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created", Time(), nullable=False),
        sa.Column("updated", Time(), nullable=False),
        sa.ForeignKeyConstraint(["account"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_template_account", "template", ["account"], unique=False)
    op.create_table(
        "gateway",
        sa.Column("id", Text(length=256), nullable=False),
        sa.Column("name", Text(length=256), nullable=True),
        sa.Column("host", Text(length=256), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("secure", sa.Boolean(), nullable=False),
        sa.Column("user", Text(length=256), nullable=True),
        sa.Column("password", Text(), nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("last_use", Time(), nullable=True),
        sa.Column("last_error", sa.JSON(), nullable=True),
        sa.Column("created", Time(), nullable=False),
        sa.Column("updated", Time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "blocklist",
        sa.Column("list_id", Text(length=256), nullable=False),
        sa.Column("recipient", Text(length=320), nullable=False),
        sa.Column("account", Text(length=256), nullable=True),
        sa.Column("message_id", Text(length=998), nullable=True),
        sa.Column("source", Text(length=32), nullable=False),
        sa.Column("reason", Text(length=1024), nullable=True),
        sa.Column("remote_address", Text(length=64), nullable=True),
        sa.Column("user_agent", Text(length=1024), nullable=True),
        sa.Column("created", Time(), nullable=False),
        sa.PrimaryKeyConstraint("list_id", "recipient"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("options")
    op.drop_table("blocklist")
    op.drop_table("gateway")
    op.drop_index("ix_template_account", table_name="template")
    op.drop_table("template")
