"""outbox sender

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("sender", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "sender")
