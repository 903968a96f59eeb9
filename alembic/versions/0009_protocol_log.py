"""protocol log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 00:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protocol_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_protocol_log_account_id", "protocol_log", ["account", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_protocol_log_account_id", table_name="protocol_log")
    op.drop_table("protocol_log")
