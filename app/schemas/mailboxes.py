"""Mailbox (folder) shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.schemas.common import Output, QueryInput, StrictInput

FolderPath = Annotated[str, Field(min_length=1, max_length=1024)]


class MailboxListQuery(QueryInput):
    counters: bool = Field(default=False, description="Add status {messages, unseen}")


class MailboxStatus(Output):
    messages: int
    unseen: int


class MailboxEntry(Output):
    path: str
    delimiter: str | None
    parentPath: str | None
    name: str
    listed: bool
    subscribed: bool
    specialUse: str | None
    messages: int
    uidNext: int | None
    status: MailboxStatus | None = None


class MailboxList(Output):
    mailboxes: list[MailboxEntry]


class MailboxCreate(StrictInput):
    path: (
        FolderPath | Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(min_length=1)]
    ) = Field(description="Folder path, or its segments (joined with the server's delimiter)")


class MailboxCreated(Output):
    path: str
    created: bool


class MailboxUpdate(StrictInput):
    path: FolderPath
    newPath: FolderPath | None = None
    subscribed: bool | None = None


class MailboxUpdated(Output):
    path: str
    newPath: str | None = None
    renamed: bool = False
    subscribed: bool | None = None


class MailboxDeleteQuery(QueryInput):
    path: FolderPath


class MailboxDeleted(Output):
    path: str
    deleted: bool
