"""/v1/account… routes."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.accounts import (
    AccountCreate,
    AccountDeleted,
    AccountDeleteQuery,
    AccountGetQuery,
    AccountInfo,
    AccountList,
    AccountListQuery,
    AccountUpdate,
    AccountUpdated,
    ReconnectInput,
    ReconnectResult,
    RegisterResult,
    SyncInput,
    SyncResult,
    VerifyInput,
    VerifyResult,
)
from app.services import accounts, quota, verify

router = Router()
TAG = "Accounts"


@router.post("/v1/account", body=AccountCreate, response=RegisterResult, tag=TAG, errors=(400, 403))
async def register_account(call: Call) -> RegisterResult:
    """Register an account, or overwrite the one with the same id."""
    return await accounts.register(call.ctx, call.principal, call.body)


@router.get("/v1/accounts", query=AccountListQuery, response=AccountList, tag=TAG, errors=(400, 403))
async def list_accounts(call: Call) -> AccountList:
    """List accounts, paged, optionally filtered by state or a search string."""
    return await accounts.list_accounts(call.ctx, call.principal, call.query)


@router.get(
    "/v1/account/{account}", query=AccountGetQuery, response=AccountInfo, tag=TAG, errors=(400, 403, 404)
)
async def get_account(call: Call) -> AccountInfo:
    """Account details; secrets are masked. ``?quota=true`` asks the IMAP server for the quota."""
    found = await accounts.get_account(call.ctx, call.principal, call.path("account"))
    if call.query.quota:
        found.quota = await quota.account_quota(call.ctx, call.principal, found.account)
    return found


@router.put(
    "/v1/account/{account}", body=AccountUpdate, response=AccountUpdated, tag=TAG, errors=(400, 403, 404)
)
async def update_account(call: Call) -> AccountUpdated:
    """Change an account; ``partial: true`` in imap/smtp/oauth2 merges instead of replacing."""
    account = await accounts.update_account(call.ctx, call.principal, call.path("account"), call.body)
    return AccountUpdated(account=account)


@router.delete(
    "/v1/account/{account}",
    query=AccountDeleteQuery,
    response=AccountDeleted,
    tag=TAG,
    errors=(400, 403, 404),
)
async def delete_account(call: Call) -> AccountDeleted:
    """Remove an account, stop its sync and revoke its tokens (``?revoke`` is accepted; the
    account's tokens are revoked whatever it says)."""
    return await accounts.delete_account(call.ctx, call.principal, call.path("account"))


@router.put(
    "/v1/account/{account}/reconnect",
    body=ReconnectInput,
    response=ReconnectResult,
    tag=TAG,
    errors=(403, 404),
)
async def reconnect_account(call: Call) -> ReconnectResult:
    """Drop and re-open the account's connections now."""
    if call.body.reconnect:
        await accounts.reconnect(call.ctx, call.principal, call.path("account"))
    return ReconnectResult(reconnect=call.body.reconnect)


@router.put("/v1/account/{account}/sync", body=SyncInput, response=SyncResult, tag=TAG, errors=(403, 404))
async def sync_account(call: Call) -> SyncResult:
    """Run a sync pass now instead of waiting for the next change or poll."""
    if call.body.sync:
        await accounts.request_sync(call.ctx, call.principal, call.path("account"))
    return SyncResult(sync=call.body.sync)


@router.post("/v1/verifyAccount", body=VerifyInput, response=VerifyResult, tag=TAG, errors=(400, 403))
async def verify_account(call: Call) -> VerifyResult:
    """Log in with IMAP and/or SMTP settings without storing them."""
    return await verify.verify_account(call.principal, call.body)
