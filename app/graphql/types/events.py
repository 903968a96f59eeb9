"""What subscriptions stream."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON


@strawberry.type(description="One change-log event: the webhook envelope plus its id")
class ChangeEvent:
    id: int = strawberry.field(description="Resume after it with `since`")
    event: str
    account: str | None
    path: str | None
    specialUse: str | None
    date: str
    serviceUrl: str | None
    data: JSON


@strawberry.type(description="An account's connection state")
class AccountState:
    account: str
    state: str | None = strawberry.field(description="null once the account is deleted")
    lastError: JSON | None
    syncTime: float | None = strawberry.field(description="Last completed sync, ms since the epoch")
