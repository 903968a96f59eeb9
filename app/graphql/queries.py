"""Queries: thin adapters over the same service functions REST calls."""

from __future__ import annotations

from typing import Any

import strawberry

from app.graphql.args import parse
from app.graphql.context import GraphQLContext, Info
from app.graphql.types.accounts import AccountInfo, AccountList
from app.graphql.types.mailboxes import Mailbox
from app.graphql.types.messages import MessageConnection, MessageDetails, SearchInput, TextContent, connection
from app.graphql.types.outreach import Blocklist, BlocklistIndex, Gateway, GatewayList, Template, TemplateList
from app.graphql.types.sending import OutboxEntry, OutboxList
from app.graphql.types.system import DeliveryList, Settings, Stats, Token
from app.schemas.accounts import AccountListQuery
from app.schemas.common import PageQuery
from app.schemas.messages import MessageGetQuery, MessageListQuery, SearchCriteria, TextQuery
from app.schemas.submit import OutboxQuery
from app.schemas.templates import TemplateListQuery
from app.schemas.tokens import TokenInfo
from app.schemas.webhooks import DeliveryQuery
from app.services import (
    accounts,
    blocklists,
    gateways,
    mailboxes,
    messages,
    outbox,
    settings,
    templates,
    tokens,
    webhooks,
)
from app.services import stats as stats_service


async def message_page(
    context: GraphQLContext,
    account: str,
    path: str = "INBOX",
    first: int = 20,
    after: str | None = None,
    search: Any = None,
) -> MessageConnection:
    q = parse(MessageListQuery, path=path, pageSize=first, cursor=after)
    ctx, principal = context.ctx, await context.principal()
    if search is None:
        page = await messages.list_messages(ctx, principal, account, q.path, 0, q.pageSize, q.cursor)
    else:
        criteria = parse(SearchCriteria, search)
        page = await messages.search_messages(
            ctx, principal, account, q.path, criteria, 0, q.pageSize, q.cursor
        )
    return connection(page)


@strawberry.type
class Query:
    @strawberry.field(description="Accounts, paged; filter by state or a substring of id, name or email")
    async def accounts(
        self,
        info: Info,
        page: int = 0,
        pageSize: int = 20,
        state: str | None = None,
        query: str | None = None,
    ) -> AccountList:
        q = parse(AccountListQuery, page=page, pageSize=pageSize, state=state, query=query)
        return await accounts.list_accounts(info.context.ctx, await info.context.principal(), q)

    @strawberry.field(description="One account; secrets are masked")
    async def account(self, info: Info, account: strawberry.ID) -> AccountInfo:
        return await accounts.get_account(info.context.ctx, await info.context.principal(), account)

    @strawberry.field(description="An account's folders, from the index")
    async def mailboxes(self, info: Info, account: strawberry.ID, counters: bool = False) -> list[Mailbox]:
        found = await mailboxes.list_mailboxes(
            info.context.ctx, await info.context.principal(), account, counters
        )
        return found.mailboxes

    @strawberry.field(
        description="A folder newest first (path, or a special use such as \\\\Sent); with `search`, "
        "only matching messages (the REST search criteria)"
    )
    async def messages(
        self,
        info: Info,
        account: strawberry.ID,
        path: str = "INBOX",
        first: int = 20,
        after: str | None = None,
        search: SearchInput | None = None,
    ) -> MessageConnection:
        return await message_page(info.context, account, path, first, after, search)

    @strawberry.field(
        description="One message with headers; its text when `textType` is given (`webSafeHtml`: "
        "sanitised HTML; `embedAttachedImages`: cid: images as data: URLs)"
    )
    async def message(
        self,
        info: Info,
        account: strawberry.ID,
        id: strawberry.ID,
        textType: str | None = None,
        maxBytes: int | None = None,
        webSafeHtml: bool = False,
        embedAttachedImages: bool = False,
    ) -> MessageDetails:
        q = parse(
            MessageGetQuery,
            textType=textType,
            maxBytes=maxBytes,
            webSafeHtml=webSafeHtml,
            embedAttachedImages=embedAttachedImages,
        )
        return await messages.get_message(info.context.ctx, await info.context.principal(), account, id, q)

    @strawberry.field(description="A message's text by its text id (`webSafeHtml`: sanitised HTML)")
    async def text(
        self,
        info: Info,
        account: strawberry.ID,
        id: strawberry.ID,
        textType: str | None = None,
        maxBytes: int | None = None,
        webSafeHtml: bool = False,
    ) -> TextContent:
        q = parse(TextQuery, textType=textType, maxBytes=maxBytes, webSafeHtml=webSafeHtml)
        principal = await info.context.principal()
        return await messages.get_text(
            info.context.ctx, principal, account, id, q.textType, q.maxBytes, q.webSafeHtml
        )

    @strawberry.field(description="Access tokens (never their values); an account token sees its own")
    async def tokens(self, info: Info) -> list[Token]:
        rows = await tokens.list_tokens(info.context.ctx, await info.context.principal())
        return [TokenInfo.from_row(r) for r in rows]

    @strawberry.field(description="Instance settings (system tokens only); secrets are masked")
    async def settings(self, info: Info) -> Settings:
        return await settings.get_settings(info.context.ctx, await info.context.principal())

    @strawberry.field(description="Webhook deliveries, newest first")
    async def webhookDeliveries(
        self,
        info: Info,
        page: int = 0,
        pageSize: int = 20,
        status: str | None = None,
        account: str | None = None,
        event: str | None = None,
    ) -> DeliveryList:
        q = parse(DeliveryQuery, page=page, pageSize=pageSize, status=status, account=account, event=event)
        return await webhooks.list_deliveries(info.context.ctx, await info.context.principal(), q)

    @strawberry.field(description="Queued and scheduled messages (`state`: pending by default, or all)")
    async def outbox(
        self,
        info: Info,
        page: int = 0,
        pageSize: int = 20,
        account: str | None = None,
        state: str | None = None,
    ) -> OutboxList:
        q = parse(OutboxQuery, page=page, pageSize=pageSize, account=account, state=state)
        return await outbox.list_outbox(info.context.ctx, await info.context.principal(), q)

    @strawberry.field(description="One outbox entry with its progress")
    async def outboxItem(self, info: Info, queueId: strawberry.ID) -> OutboxEntry:
        return await outbox.get_item(info.context.ctx, await info.context.principal(), queueId)

    @strawberry.field(description="Templates (with `account`: the ones it can use)")
    async def templates(
        self, info: Info, account: str | None = None, page: int = 0, pageSize: int = 20
    ) -> TemplateList:
        q = parse(TemplateListQuery, account=account, page=page, pageSize=pageSize)
        return await templates.list_templates(info.context.ctx, await info.context.principal(), q)

    @strawberry.field(description="One template with its content")
    async def template(self, info: Info, id: strawberry.ID) -> Template:
        return await templates.get(info.context.ctx, await info.context.principal(), id)

    @strawberry.field(description="SMTP gateways with their delivery counts")
    async def gateways(self, info: Info, page: int = 0, pageSize: int = 20) -> GatewayList:
        q = parse(PageQuery, page=page, pageSize=pageSize)
        return await gateways.list_gateways(info.context.ctx, await info.context.principal(), q)

    @strawberry.field(description="One SMTP gateway; its password is never returned")
    async def gateway(self, info: Info, gateway: strawberry.ID) -> Gateway:
        return await gateways.get(info.context.ctx, await info.context.principal(), gateway)

    @strawberry.field(description="Suppression lists and how many addresses each holds")
    async def blocklists(self, info: Info, page: int = 0, pageSize: int = 20) -> BlocklistIndex:
        q = parse(PageQuery, page=page, pageSize=pageSize)
        return await blocklists.list_lists(info.context.ctx, await info.context.principal(), q)

    @strawberry.field(description="The addresses on one suppression list, newest first")
    async def blocklist(self, info: Info, listId: str, page: int = 0, pageSize: int = 20) -> Blocklist:
        q = parse(PageQuery, page=page, pageSize=pageSize)
        return await blocklists.list_entries(info.context.ctx, await info.context.principal(), listId, q)

    @strawberry.field(description="Accounts by connection state, outbox by progress, and the version")
    async def stats(self, info: Info) -> Stats:
        return await stats_service.overview(info.context.ctx, await info.context.principal())
