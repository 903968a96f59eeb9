"""Webhook deliveries: one row per (event, target URL), kept until delivered or given up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from app.models.base import utcnow


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "state", "next_attempt"),
        Index("ix_webhook_delivery_lane", "account", "url", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("event.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    event_type: str = Field(max_length=64)
    account: str | None = Field(default=None, max_length=256)
    url: str = Field(max_length=2048)
    state: str = Field(default="pending", max_length=16)  # pending | delivered | failed | disabled
    attempts: int = 0
    max_attempts: int = 12
    next_attempt: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    claim: str | None = Field(default=None, max_length=32)  # the one hand-over allowed to send it now
    body: str | None = Field(default=None, sa_column=Column(Text))  # frozen at the first attempt
    last_status: int | None = None
    last_response: str | None = Field(default=None, max_length=2048)
    last_error: str | None = Field(default=None, max_length=2048)
    created: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
