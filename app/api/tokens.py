"""/v1/token… routes."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.tokens import (
    TokenCreate,
    TokenCreated,
    TokenDeleted,
    TokenInfo,
    TokenList,
    TokenListQuery,
    TokenLog,
    TokenLogQuery,
)
from app.services import tokens

router = Router()
TAG = "Access tokens"


async def _create(call: Call) -> TokenCreated:
    address = call.request.client.host if call.request.client else None
    value, token_id = await tokens.create(call.ctx, call.principal, call.body, address)
    return TokenCreated(token=value, id=token_id)


for _path in ("/v1/token", "/v1/tokens"):
    router.post(
        _path,
        body=TokenCreate,
        response=TokenCreated,
        tag=TAG,
        errors=(400, 403, 404),
        summary="Create an account-bound access token",
    )(_create)


@router.get("/v1/tokens", query=TokenListQuery, response=TokenList, tag=TAG, errors=(400, 403))
async def list_tokens(call: Call) -> TokenList:
    """List tokens (never their values), paged; an account token sees its account's tokens only."""
    return await tokens.list_page(call.ctx, call.principal, call.query)


@router.get("/v1/tokens/{token}", response=TokenInfo, tag=TAG, errors=(404,))
async def get_token(call: Call) -> TokenInfo:
    """One token, given its value or its id."""
    return TokenInfo.from_row(await tokens.get_token(call.ctx, call.principal, call.path("token")))


@router.get("/v1/tokens/{token}/log", query=TokenLogQuery, response=TokenLog, tag=TAG, errors=(400, 404))
async def token_log(call: Call) -> TokenLog:
    """The token's most recent uses and refusals (the last 50), newest first."""
    q: TokenLogQuery = call.query
    return await tokens.access_log(call.ctx, call.principal, call.path("token"), q.page, q.pageSize)


async def _revoke(call: Call) -> TokenDeleted:
    await tokens.revoke(call.ctx, call.principal, call.path("token"))
    return TokenDeleted(deleted=True)


for _path in ("/v1/token/{token}", "/v1/tokens/{token}"):
    router.delete(
        _path,
        response=TokenDeleted,
        tag=TAG,
        errors=(404,),
        summary="Revoke a token, given its value or its id",
    )(_revoke)
