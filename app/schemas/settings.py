"""Instance settings: webhooks and notification options."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.events import EVENT_TYPES
from app.schemas.accounts import HttpUrl
from app.schemas.common import Output, StrictInput

EventName = Literal[EVENT_TYPES]  # type: ignore[valid-type]
HeaderName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-9;-~]+$")]


class SettingsUpdate(StrictInput):
    model_config = ConfigDict(extra="forbid", strict=True)  # "yes" is not a boolean here
    webhooksEnabled: bool | None = None
    webhooks: HttpUrl | None = Field(default=None, description="Where events are POSTed")
    webhookEvents: list[EventName] | Literal["*"] | None = Field(
        default=None, description="Which events to send; '*' (or a list containing it) for all"
    )
    serviceUrl: HttpUrl | None = Field(
        default=None, description="This instance's public URL, sent in payloads"
    )
    serviceSecret: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        default=None, description="Key for the webhook signatures (write-only)"
    )
    notifyText: bool | None = Field(default=None, description="Include message text in messageNew")
    notifyTextSize: Annotated[int, Field(ge=0, le=10 * 1024 * 1024)] | None = None
    notifyHeaders: list[HeaderName] | None = Field(
        default=None, description="Headers to include in messageNew"
    )
    inboxNewOnly: bool | None = Field(default=None, description="messageNew only for INBOX")


class SettingsOut(Output):
    webhooksEnabled: bool
    webhooks: str | None
    webhookEvents: list[str] | Literal["*"]
    serviceUrl: str | None
    serviceSecret: str | None = Field(description="'******' when set; the value is never returned")
    notifyText: bool
    notifyTextSize: int
    notifyHeaders: list[str]
    inboxNewOnly: bool
    disabledWebhooks: list[str] = Field(description="URLs switched off after answering 410 Gone")


class SettingsUpdated(Output):
    updated: list[str]
