"""token expiry, restrictions and access log; account options

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("token") as batch:
        batch.add_column(sa.Column("expires", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("restrictions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("access_log", sa.JSON(), nullable=True))
    op.add_column("account", sa.Column("options", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("account", "options")
    with op.batch_alter_table("token") as batch:
        batch.drop_column("access_log")
        batch.drop_column("details")
        batch.drop_column("restrictions")
        batch.drop_column("expires")
