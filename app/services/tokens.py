"""Access tokens: issue, list, revoke, and resolve a presented token to a Principal."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import col, select

from app.models.account import Account
from app.models.base import utcnow
from app.models.token import Token
from app.services.context import Context
from app.services.errors import AccountNotFound, Forbidden, InvalidRequest, TokenNotFound
from app.services.principal import SCOPES, Principal

TOKEN_RE = re.compile(r"^[0-9a-f]{64}$")
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    ctx: Context, principal: Principal, *, description: str, scopes: Sequence[str], account: str | None
) -> tuple[str, Token]:
    """Create a token; the value is returned once and only its digest is kept."""
    principal.require_system()
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidRequest("Unknown scope", details={"scopes": f"must be some of {', '.join(SCOPES)}"})
    value = secrets.token_hex(32)
    row = Token(
        id=digest(value), description=description, scopes=list(dict.fromkeys(scopes)), account=account
    )
    async with ctx.db.session() as session:
        if account is not None and await session.get(Account, account) is None:
            raise AccountNotFound()
        session.add(row)
        await session.commit()
    return value, row


async def issue_for_account(
    ctx: Context, principal: Principal, *, account: str, description: str, scopes: Sequence[str]
) -> str:
    """The API's way: tokens are always account-bound, and account tokens cannot mint more."""
    if not principal.is_system:
        raise Forbidden("Account tokens cannot create tokens")
    value, _ = await issue(ctx, principal, description=description, scopes=scopes, account=account)
    return value


async def list_tokens(ctx: Context, principal: Principal) -> list[Token]:
    query = select(Token).order_by(col(Token.created), col(Token.id))
    if principal.account is not None:
        query = query.where(Token.account == principal.account)
    async with ctx.db.session() as session:
        return list((await session.exec(query)).all())


async def revoke(ctx: Context, principal: Principal, token_or_id: str) -> None:
    """Accept either the token value or its id (digest); account tokens may revoke only their own kind."""
    async with ctx.db.session() as session:
        row = await session.get(Token, digest(token_or_id))
        if row is None and TOKEN_RE.match(token_or_id):
            row = await session.get(Token, token_or_id)
        if row is None or (principal.account is not None and row.account != principal.account):
            raise TokenNotFound()
        await session.delete(row)
        await session.commit()
    ctx.principals.drop(row.id)


async def authenticate(ctx: Context, token: str, ip: str | None = None) -> Principal | None:
    if not TOKEN_RE.match(token):
        return None
    token_id = digest(token)
    return await ctx.principals.get_or_load(token_id, lambda: _load_principal(ctx, token_id, ip))


async def _load_principal(ctx: Context, token_id: str, ip: str | None) -> Principal | None:
    async with ctx.db.session() as session:
        row = await session.get(Token, token_id)
        if row is None:
            return None
        now = utcnow()
        # Bounded write rate: "last used" to the minute is enough and keeps reads cheap.
        if row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION:
            row.last_used, row.last_ip = now, ip
            await session.commit()
        return Principal(token_id=row.id, scopes=frozenset(row.scopes), account=row.account)
