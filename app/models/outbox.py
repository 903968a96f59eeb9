"""The outbox: messages accepted for sending, kept until sent, failed or cancelled."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class Progress(StrEnum):
    """Where a message is. ``processing`` is written before the SMTP transaction starts and
    ``smtp-completed`` as soon as the server accepted it, so a crash in between is detected."""

    queued = "queued"
    processing = "processing"
    smtp_completed = "smtp-completed"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


PENDING = (Progress.queued, Progress.processing, Progress.smtp_completed)


class OutboxItem(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt"),
        UniqueConstraint("account", "idempotency_key", name="uq_outbox_idempotency"),
    )

    id: str = Field(primary_key=True, max_length=32)  # the queueId
    account: str = Field(
        sa_column=Column(
            String(256), ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    message_id: str = Field(max_length=998)
    subject: str | None = Field(default=None, max_length=998)
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # dropped once finished
    envelope: dict[str, Any] = Field(sa_column=json_column(nullable=False))
    state: str = Field(default=Progress.queued, max_length=16)
    send_at: datetime = Field(default_factory=utcnow)
    next_attempt: datetime = Field(default_factory=utcnow)
    attempts_made: int = 0
    attempts: int = 10
    claim: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = None
    # The process (leases.process_id) holding the claim: when it is provably dead its claim and
    # an interrupted attempt are taken back at once, not after claimed_until.
    sender: str | None = Field(default=None, max_length=128)
    # {"path": folder or None for the Sent special-use folder, "bcc": [...]}; None: no copy
    sent_copy: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    # {"message": id, "action": reply | reply-all | forward}: flagged once sent
    reference: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    response: str | None = Field(default=None, max_length=2048)  # the SMTP server's final reply
    last_error: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    idempotency_key: str | None = Field(default=None, max_length=256)
    # Sending options beyond the account's defaults: {"gateway", "dsn", "localAddress", "listId"}
    options: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
