"""Mailbox shapes (generated from the REST schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.graphql.types.generate import output_type, register
from app.schemas import mailboxes as s

if TYPE_CHECKING:
    Mailbox = s.MailboxEntry
    MailboxCreated = s.MailboxCreated
    MailboxUpdated = s.MailboxUpdated
    MailboxDeleted = s.MailboxDeleted
else:
    register(s.MailboxEntry, "Mailbox")
    Mailbox = output_type(s.MailboxEntry)
    MailboxCreated = output_type(s.MailboxCreated)
    MailboxUpdated = output_type(s.MailboxUpdated)
    MailboxDeleted = output_type(s.MailboxDeleted)
