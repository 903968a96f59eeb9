"""Subscriptions over graphql-transport-ws: the change log (as webhooks and /v1/changes see it)
and an account's connection state. Rows come from the database, so a subscriber resuming with
``since`` misses nothing, whichever process wrote them."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.graphql.context import Info
from app.graphql.types.events import AccountState, ChangeEvent
from app.services import changes

IDLE = 3600.0  # graphql-transport-ws has its own ping/pong; no keep-alive items needed


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Change-log events, live; `since` resumes after an event id (else from now), "
        "`types` keeps only those event types"
    )
    async def events(
        self,
        info: Info,
        account: strawberry.ID | None = None,
        types: list[str] | None = None,
        since: int | None = None,
    ) -> AsyncGenerator[ChangeEvent, None]:
        wanted = changes.event_types(types)
        principal = await info.context.principal()
        source = await changes.stream(info.context.ctx, principal, since, account, idle=IDLE, types=wanted)
        try:
            async for item in source:
                if item is None:
                    continue
                event_id, kind, body = item
                yield ChangeEvent(
                    id=event_id,
                    event=kind,
                    account=body.get("account"),
                    path=body.get("path"),
                    specialUse=body.get("specialUse"),
                    date=body["date"],
                    serviceUrl=body.get("serviceUrl"),
                    data=body["data"],
                )
        finally:
            await source.aclose()  # type: ignore[attr-defined]

    @strawberry.subscription(description="The account's connection state now, then on every change")
    async def accountState(self, info: Info, account: strawberry.ID) -> AsyncGenerator[AccountState, None]:
        principal = await info.context.principal()
        source = changes.account_states(info.context.ctx, principal, account)
        try:
            async for item in source:
                yield AccountState(**item)
        finally:
            await source.aclose()  # type: ignore[attr-defined]
