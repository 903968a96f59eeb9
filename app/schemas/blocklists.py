"""Suppression lists ("blocklists"): who unsubscribed from which list."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.schemas.common import Output, QueryInput, StrictInput

ListId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s<>\x00]+$")]
Recipient = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^\s@<>,;\x00]+@[^\s@<>,;\x00]+$")]


class BlocklistAdd(StrictInput):
    account: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    recipient: Recipient
    reason: Annotated[str, Field(max_length=1024)] | None = None


class BlocklistRemoveQuery(QueryInput):
    recipient: Recipient


class BlocklistAdded(Output):
    success: bool
    added: bool = Field(description="false when the address was on the list already")


class BlocklistRemoved(Output):
    deleted: bool


class BlockedAddress(Output):
    recipient: str
    account: str | None = None
    messageId: str | None = None
    source: str
    reason: str | None = None
    remoteAddress: str | None = None
    userAgent: str | None = None
    created: str


class BlocklistPage(Output):
    listId: str
    total: int
    page: int
    pages: int
    addresses: list[BlockedAddress]


class BlocklistCount(Output):
    listId: str
    count: int


class BlocklistIndex(Output):
    total: int
    page: int
    pages: int
    blocklists: list[BlocklistCount]
