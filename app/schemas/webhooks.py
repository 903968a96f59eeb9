"""Webhook delivery shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import Output, PageQuery

DeliveryState = Literal["pending", "delivered", "failed", "disabled"]


class DeliveryQuery(PageQuery):
    status: DeliveryState | None = None
    account: str | None = Field(default=None, max_length=256)
    event: str | None = Field(default=None, max_length=64)


class Delivery(Output):
    id: int
    eventId: int
    event: str
    account: str | None
    url: str
    status: DeliveryState
    attempts: int
    maxAttempts: int
    nextAttempt: datetime | None
    lastStatus: int | None
    lastResponse: str | None
    lastError: str | None
    created: datetime
    deliveredAt: datetime | None


class DeliveryList(Output):
    total: int
    page: int
    pages: int
    deliveries: list[Delivery]


class ChangesQuery(PageQuery):
    since: int | None = Field(default=None, ge=0, description="Resume after this event id (or Last-Event-ID)")
    account: str | None = Field(default=None, max_length=256, description="Only this account's events")
