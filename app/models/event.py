"""The change log: every state, mailbox and message change, in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class Event(SQLModel, table=True):
    # BIGINT on PostgreSQL; INTEGER on SQLite so that it stays the rowid alias and autoincrements.
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    account: str | None = Field(default=None, index=True, max_length=256)
    type: str = Field(max_length=64, index=True)
    path: str | None = Field(default=None, max_length=1024)
    payload: dict[str, Any] = Field(sa_column=json_column(nullable=False))
    created: datetime = Field(default_factory=utcnow)
