"""The per-account protocol log: scrubbed IMAP/SMTP lines, newest kept, oldest trimmed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Column, Field, SQLModel

from app.models.base import utcnow


class ProtocolLog(SQLModel, table=True):
    __tablename__ = "protocol_log"
    # Reads and trims walk one account's lines in id order.
    __table_args__ = (Index("ix_protocol_log_account_id", "account", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(foreign_key="account.id", ondelete="CASCADE", max_length=256)
    created: datetime = Field(default_factory=utcnow)
    connection: str = Field(max_length=300)  # "acc/idle", "acc/command", "acc/smtp"
    direction: str = Field(max_length=1)  # C: sent by Mailgate, S: sent by the server
    line: str = Field(sa_column=Column(Text, nullable=False))
