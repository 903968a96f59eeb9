"""The mailbox index: one row per folder, with the sync cursors that make resyncs incremental."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import json_column, no_flags


def big(nullable: bool = True) -> Column[int]:
    return Column(BigInteger, nullable=nullable)


class Mailbox(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account", "path", name="uq_mailbox_account_path"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(foreign_key="account.id", ondelete="CASCADE", index=True, max_length=256)
    path: str = Field(max_length=1024)
    delimiter: str | None = Field(default=None, max_length=8)
    special_use: str | None = Field(default=None, max_length=16)
    flags: list[str] = Field(default_factory=no_flags, sa_column=json_column(nullable=False))
    subscribed: bool = True
    uid_validity: int | None = Field(default=None, sa_column=big())
    uid_next: int | None = Field(default=None, sa_column=big())
    # The server's HIGHESTMODSEQ when last seen, and the one the index is known to be complete for.
    highest_modseq: int | None = Field(default=None, sa_column=big())
    synced_modseq: int | None = Field(default=None, sa_column=big())
    messages: int = 0
    #: EXISTS at the SELECT that began the folder's first pass: until that pass ends (see
    #: ``initialized``), listings count this many and wait for the pages not indexed yet.
    server_messages: int | None = None
    unseen: int = 0
    initialized: bool = False  # the first full index of this folder has finished
    last_sync: datetime | None = None
    #: One more with every write to the folder's index, in the same transaction, whichever
    #: process makes it: what was rendered from version N is still right while the row says N.
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
