"""/v1/token… routes."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.tokens import TokenCreate, TokenCreated, TokenDeleted, TokenInfo, TokenList
from app.services import tokens

router = Router()
TAG = "Access tokens"


async def _create(call: Call) -> TokenCreated:
    body: TokenCreate = call.body
    value = await tokens.issue_for_account(
        call.ctx, call.principal, account=body.account, description=body.description, scopes=body.scopes
    )
    return TokenCreated(token=value)


for _path in ("/v1/token", "/v1/tokens"):
    router.post(
        _path,
        body=TokenCreate,
        response=TokenCreated,
        tag=TAG,
        errors=(400, 403, 404),
        summary="Create an account-bound access token",
    )(_create)


@router.get("/v1/tokens", response=TokenList, tag=TAG)
async def list_tokens(call: Call) -> TokenList:
    """List tokens (never their values); an account token sees its account's tokens only."""
    rows = await tokens.list_tokens(call.ctx, call.principal)
    return TokenList(tokens=[TokenInfo.from_row(r) for r in rows])


@router.delete("/v1/token/{token}", response=TokenDeleted, tag=TAG, errors=(404,))
async def revoke_token(call: Call) -> TokenDeleted:
    """Revoke a token, given its value or its id."""
    await tokens.revoke(call.ctx, call.principal, call.path("token"))
    return TokenDeleted(deleted=True)
