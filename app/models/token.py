"""Access tokens, stored only as SHA-256 digests."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class Token(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)  # hex SHA-256 of the token value
    description: str = Field(default="", max_length=1024)
    scopes: list[str] = Field(sa_column=json_column(nullable=False))
    account: str | None = Field(
        default=None, foreign_key="account.id", ondelete="CASCADE", index=True, max_length=256
    )
    created: datetime = Field(default_factory=utcnow)
    last_used: datetime | None = Field(default=None)
    last_ip: str | None = Field(default=None, max_length=64)
