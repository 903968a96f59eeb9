"""Mutations: thin adapters over the same service functions REST calls."""

from __future__ import annotations

import strawberry

from app.graphql.args import parse
from app.graphql.context import Info
from app.graphql.types.accounts import (
    AccountCreateInput,
    AccountDeleted,
    AccountUpdated,
    AccountUpdateInput,
    ReconnectResult,
    RegisterResult,
    SyncResult,
)
from app.graphql.types.mailboxes import MailboxCreated, MailboxDeleted, MailboxUpdated
from app.graphql.types.messages import Deleted, FlagsInput, FlagsUpdated, Moved, Uploaded, UploadInput
from app.graphql.types.outreach import (
    BlocklistAdded,
    BlocklistAddInput,
    BlocklistRemoved,
    GatewayCreateInput,
    GatewayDeleted,
    GatewaySaved,
    GatewayUpdateInput,
    TemplateCreated,
    TemplateCreateInput,
    TemplateDeleted,
    TemplatesFlushed,
    TemplateUpdated,
    TemplateUpdateInput,
)
from app.graphql.types.sending import OutboxDeleted, StoredSubmitInput, SubmitAnswer, SubmitInput
from app.graphql.types.system import (
    Delivery,
    SettingsUpdated,
    SettingsUpdateInput,
    TokenCreated,
    TokenCreateInput,
    TokenDeleted,
)
from app.schemas import accounts as account_schemas
from app.schemas import blocklists as blocklist_schemas
from app.schemas import gateways as gateway_schemas
from app.schemas import templates as template_schemas
from app.schemas import tokens as token_schemas
from app.schemas.mailboxes import MailboxCreate, MailboxDeleteQuery, MailboxUpdate
from app.schemas.messages import FlagChanges, MoveInput
from app.schemas.messages import UploadInput as UploadModel
from app.schemas.settings import SettingsUpdate
from app.schemas.submit import StoredSubmitInput as StoredSubmitModel
from app.schemas.submit import SubmitAnswer as SubmitAnswerModel
from app.schemas.submit import SubmitInput as SubmitModel
from app.services import (
    accounts,
    blocklists,
    gateways,
    mailboxes,
    messages,
    outbox,
    settings,
    submit,
    templates,
    tokens,
    webhooks,
)


@strawberry.type
class Mutation:
    # -- accounts -----------------------------------------------------------------------------------
    @strawberry.mutation(description="Register an account, or overwrite the one with the same id")
    async def registerAccount(self, info: Info, input: AccountCreateInput) -> RegisterResult:
        data = parse(account_schemas.AccountCreate, input)
        return await accounts.register(info.context.ctx, await info.context.principal(), data)

    @strawberry.mutation(description="Change an account; `partial: true` in imap/smtp/oauth2 merges")
    async def updateAccount(
        self, info: Info, account: strawberry.ID, input: AccountUpdateInput
    ) -> AccountUpdated:
        data = parse(account_schemas.AccountUpdate, input)
        found = await accounts.update_account(info.context.ctx, await info.context.principal(), account, data)
        return account_schemas.AccountUpdated(account=found)

    @strawberry.mutation(description="Remove an account, stop its sync and revoke its tokens")
    async def deleteAccount(self, info: Info, account: strawberry.ID) -> AccountDeleted:
        return await accounts.delete_account(info.context.ctx, await info.context.principal(), account)

    @strawberry.mutation(description="Drop and re-open the account's connections now")
    async def reconnectAccount(self, info: Info, account: strawberry.ID) -> ReconnectResult:
        await accounts.reconnect(info.context.ctx, await info.context.principal(), account)
        return account_schemas.ReconnectResult(reconnect=True)

    @strawberry.mutation(description="Run a sync pass now instead of waiting for the next change or poll")
    async def syncAccount(self, info: Info, account: strawberry.ID) -> SyncResult:
        await accounts.request_sync(info.context.ctx, await info.context.principal(), account)
        return account_schemas.SyncResult(sync=True)

    # -- mailboxes ----------------------------------------------------------------------------------
    @strawberry.mutation(description="Create a folder (a path, or its segments)")
    async def createMailbox(
        self, info: Info, account: strawberry.ID, path: str | None = None, segments: list[str] | None = None
    ) -> MailboxCreated:
        data = parse(MailboxCreate, path=path if segments is None else segments)
        return await mailboxes.create_mailbox(info.context.ctx, await info.context.principal(), account, data)

    @strawberry.mutation(description="Rename a folder (message ids inside stay valid) and/or (un)subscribe")
    async def updateMailbox(
        self,
        info: Info,
        account: strawberry.ID,
        path: str,
        newPath: str | None = None,
        subscribed: bool | None = None,
    ) -> MailboxUpdated:
        data = parse(MailboxUpdate, path=path, newPath=newPath, subscribed=subscribed)
        return await mailboxes.update_mailbox(info.context.ctx, await info.context.principal(), account, data)

    @strawberry.mutation(description="Delete a folder and everything in it")
    async def deleteMailbox(self, info: Info, account: strawberry.ID, path: str) -> MailboxDeleted:
        q = parse(MailboxDeleteQuery, path=path)
        return await mailboxes.delete_mailbox(
            info.context.ctx, await info.context.principal(), account, q.path
        )

    # -- messages -----------------------------------------------------------------------------------
    @strawberry.mutation(description="Add, remove or set flags")
    async def updateFlags(
        self, info: Info, account: strawberry.ID, id: strawberry.ID, flags: FlagsInput
    ) -> FlagsUpdated:
        changes = parse(FlagChanges, flags)
        principal = await info.context.principal()
        return await messages.update_message(info.context.ctx, principal, account, id, changes)

    @strawberry.mutation(description="Move to another folder; answers the message's new id there")
    async def moveMessage(self, info: Info, account: strawberry.ID, id: strawberry.ID, path: str) -> Moved:
        q = parse(MoveInput, path=path)
        return await messages.move_message(
            info.context.ctx, await info.context.principal(), account, id, q.path
        )

    @strawberry.mutation(
        description="Move to Trash, or delete for good with `force: true` (or when in Trash)"
    )
    async def deleteMessage(
        self, info: Info, account: strawberry.ID, id: strawberry.ID, force: bool = False
    ) -> Deleted:
        principal = await info.context.principal()
        return await messages.delete_message(info.context.ctx, principal, account, id, force)

    @strawberry.mutation(description="Store a message in a folder (APPEND), e.g. a draft")
    async def uploadMessage(self, info: Info, account: strawberry.ID, input: UploadInput) -> Uploaded:
        data = parse(UploadModel, input)
        return await messages.upload_message(info.context.ctx, await info.context.principal(), account, data)

    # -- sending ------------------------------------------------------------------------------------
    @strawberry.mutation(
        description="Queue a message for delivery (or build it only, with dryRun). The same "
        "idempotencyKey within 24 hours answers as the first call did and never sends twice."
    )
    async def submitMessage(
        self, info: Info, account: strawberry.ID, input: SubmitInput, idempotencyKey: str | None = None
    ) -> SubmitAnswer:
        data = parse(SubmitModel, input)
        principal = await info.context.principal()
        answer = await submit.submit(info.context.ctx, principal, account, data, idempotencyKey)
        return SubmitAnswerModel(**answer.model_dump())

    @strawberry.mutation(description="Send a message stored in a folder (e.g. a draft) as it is")
    async def submitStoredMessage(
        self,
        info: Info,
        account: strawberry.ID,
        id: strawberry.ID,
        input: StoredSubmitInput | None = None,
        idempotencyKey: str | None = None,
    ) -> SubmitAnswer:
        data = parse(StoredSubmitModel, input) if input is not None else StoredSubmitModel()
        principal = await info.context.principal()
        answer = await submit.submit_stored(info.context.ctx, principal, account, id, data, idempotencyKey)
        return SubmitAnswerModel(**answer.model_dump())

    @strawberry.mutation(description="Store a Handlebars template (global, or an account's)")
    async def createTemplate(self, info: Info, input: TemplateCreateInput) -> TemplateCreated:
        data = parse(template_schemas.TemplateCreate, input)
        return await templates.create(info.context.ctx, await info.context.principal(), data)

    @strawberry.mutation(description="Change a template; content parts not given stay as they are")
    async def updateTemplate(
        self, info: Info, id: strawberry.ID, input: TemplateUpdateInput
    ) -> TemplateUpdated:
        data = parse(template_schemas.TemplateUpdate, input)
        return await templates.update(info.context.ctx, await info.context.principal(), id, data)

    @strawberry.mutation(description="Delete a template")
    async def deleteTemplate(self, info: Info, id: strawberry.ID) -> TemplateDeleted:
        return await templates.delete_one(info.context.ctx, await info.context.principal(), id)

    @strawberry.mutation(description="Delete every template of an account (force must be true)")
    async def flushTemplates(
        self, info: Info, account: strawberry.ID, force: bool = False
    ) -> TemplatesFlushed:
        return await templates.flush(info.context.ctx, await info.context.principal(), account, force)

    @strawberry.mutation(description="Register an SMTP gateway, or replace the one with the same id")
    async def createGateway(self, info: Info, input: GatewayCreateInput) -> GatewaySaved:
        data = parse(gateway_schemas.GatewayCreate, input)
        return await gateways.create(info.context.ctx, await info.context.principal(), data)

    @strawberry.mutation(description="Change an SMTP gateway; fields not given stay as they are")
    async def updateGateway(
        self, info: Info, gateway: strawberry.ID, input: GatewayUpdateInput
    ) -> GatewaySaved:
        data = parse(gateway_schemas.GatewayUpdate, input)
        return await gateways.edit(info.context.ctx, await info.context.principal(), gateway, data)

    @strawberry.mutation(description="Delete an SMTP gateway")
    async def deleteGateway(self, info: Info, gateway: strawberry.ID) -> GatewayDeleted:
        return await gateways.remove(info.context.ctx, await info.context.principal(), gateway)

    @strawberry.mutation(description="Suppress an address on a list")
    async def addToBlocklist(self, info: Info, listId: str, input: BlocklistAddInput) -> BlocklistAdded:
        data = parse(blocklist_schemas.BlocklistAdd, input)
        return await blocklists.add(info.context.ctx, await info.context.principal(), listId, data)

    @strawberry.mutation(description="Take an address off a list")
    async def removeFromBlocklist(self, info: Info, listId: str, recipient: str) -> BlocklistRemoved:
        q = parse(blocklist_schemas.BlocklistRemoveQuery, recipient=recipient)
        return await blocklists.remove(info.context.ctx, await info.context.principal(), listId, q.recipient)

    @strawberry.mutation(description="Cancel a queued or scheduled message")
    async def cancelOutboxItem(self, info: Info, queueId: strawberry.ID) -> OutboxDeleted:
        return await outbox.cancel(info.context.ctx, await info.context.principal(), queueId)

    # -- tokens, settings, webhooks -------------------------------------------------------------------
    @strawberry.mutation(description="Create an account-bound access token; the value is shown once")
    async def createToken(self, info: Info, input: TokenCreateInput) -> TokenCreated:
        data = parse(token_schemas.TokenCreate, input)
        value = await tokens.issue_for_account(
            info.context.ctx,
            await info.context.principal(),
            account=data.account,
            description=data.description,
            scopes=data.scopes,
        )
        return token_schemas.TokenCreated(token=value)

    @strawberry.mutation(description="Revoke a token, given its value or its id")
    async def revokeToken(self, info: Info, token: str) -> TokenDeleted:
        await tokens.revoke(info.context.ctx, await info.context.principal(), token)
        return token_schemas.TokenDeleted(deleted=True)

    @strawberry.mutation(description="Change instance settings; only the fields given are changed")
    async def updateSettings(self, info: Info, input: SettingsUpdateInput) -> SettingsUpdated:
        data = parse(SettingsUpdate, input)
        return await settings.update_settings(info.context.ctx, await info.context.principal(), data)

    @strawberry.mutation(description="Send a webhook delivery again now (same event id)")
    async def redeliverWebhook(self, info: Info, id: int) -> Delivery:
        return await webhooks.redeliver(info.context.ctx, await info.context.principal(), id)
