"""The message index: metadata only. Bodies and attachments are fetched live from IMAP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import json_column, no_flags


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("mailbox_id", "uid", name="uq_message_mailbox_uid"),
        Index("ix_message_account_message_id", "account", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(foreign_key="account.id", ondelete="CASCADE", max_length=256)
    mailbox_id: int = Field(foreign_key="mailbox.id", ondelete="CASCADE")
    uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    modseq: int | None = Field(default=None, sa_column=Column(BigInteger))
    flags: list[str] = Field(default_factory=no_flags, sa_column=json_column(nullable=False))
    seen: bool = False
    flagged: bool = False
    internal_date: datetime | None = None
    date: datetime | None = None
    size: int | None = None
    subject: str | None = None
    from_: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    to: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
    cc: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
    bcc: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
    reply_to: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
    message_id: str | None = Field(default=None, max_length=998)
    in_reply_to: str | None = Field(default=None)
    email_id: str | None = Field(default=None, max_length=128)
    thread_id: str | None = Field(default=None, max_length=128)
    attachments: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
    text: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    preview: str | None = Field(default=None)
    # Lower-cased "name address" text of From/Sender and of To, for index-side search.
    search_from: str | None = Field(default=None)
    search_to: str | None = Field(default=None)
