"""Mailbox (folder) shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.schemas.common import Output, QueryInput, StrictInput, absent

FolderPath = Annotated[str, Field(min_length=1, max_length=1024)]
Segments = Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(min_length=1)]


MAILBOX_ID = "The server's MAILBOXID (RFC 8474); null when the server lacks OBJECTID"


class MailboxListQuery(QueryInput):
    counters: bool = Field(default=False, description="Add status {messages, unseen}")


class MailboxStatus(Output):
    messages: int
    unseen: int
    error: str | None = Field(
        default=None,
        exclude_if=absent,
        description="Never set: counters come from the index, which cannot fail to answer; always absent",
    )


class MailboxEntry(Output):
    path: str
    id: str | None = Field(
        default=None,
        exclude_if=absent,
        description="Not provided in listings (the index keeps no MAILBOXID); always absent",
    )
    delimiter: str | None
    parentPath: str | None
    name: str
    listed: bool
    subscribed: bool
    noSelect: bool = Field(default=False, description="The folder holds no messages (\\Noselect)")
    noInferiors: bool = Field(default=False, description="The folder can have no children (\\NoInferiors)")
    specialUse: str | None
    specialUseSource: str | None = Field(
        default=None,
        description="Where specialUse came from: user (account setting), extension (server flag) or name",
    )
    messages: int
    uidNext: int | None
    status: MailboxStatus | None = None


class MailboxList(Output):
    mailboxes: list[MailboxEntry]


class MailboxCreate(StrictInput):
    path: FolderPath | Segments = Field(
        description="Folder path, or its segments (joined with the server's delimiter)"
    )


class MailboxCreated(Output):
    path: str
    mailboxId: str | None = Field(default=None, description=MAILBOX_ID)
    created: bool


class MailboxUpdate(StrictInput):
    path: FolderPath
    newPath: FolderPath | Segments | None = Field(
        default=None, description="New path, or its segments (joined with the server's delimiter)"
    )
    subscribed: bool | None = None


class MailboxUpdated(Output):
    path: str
    newPath: str | None = None
    mailboxId: str | None = Field(default=None, description=MAILBOX_ID)
    renamed: bool = False
    subscribed: bool | None = None


class MailboxDeleteQuery(QueryInput):
    path: FolderPath


class MailboxDeleted(Output):
    path: str
    mailboxId: str | None = Field(default=None, description=MAILBOX_ID)
    deleted: bool
