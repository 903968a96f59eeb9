"""Suppression lists: addresses that asked not to get a list's messages any more."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import utcnow


class BlocklistEntry(SQLModel, table=True):
    __tablename__ = "blocklist"

    list_id: str = Field(primary_key=True, max_length=256)
    recipient: str = Field(primary_key=True, max_length=320)  # lower-cased address
    account: str | None = Field(default=None, max_length=256)
    message_id: str | None = Field(default=None, max_length=998)
    source: str = Field(default="api", max_length=32)  # api | unsubscribe
    reason: str | None = Field(default=None, max_length=1024)
    remote_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1024)
    created: datetime = Field(default_factory=utcnow)
