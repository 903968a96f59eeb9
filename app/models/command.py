"""Account commands on their way to whichever process holds the account's connection."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import utcnow


class AccountCommandRow(SQLModel, table=True):
    __tablename__ = "account_command"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=256)
    command: str = Field(max_length=16)
    created: datetime = Field(default_factory=utcnow, index=True)
