"""account commands

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("command", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_command_created", "account_command", ["created"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_account_command_created", table_name="account_command")
    op.drop_table("account_command")
