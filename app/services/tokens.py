"""Access tokens: issue, list, revoke, and resolve a presented token to a Principal."""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from app.models.account import Account
from app.models.base import utcnow
from app.models.token import Token
from app.schemas.common import page_count
from app.schemas.tokens import TokenCreate, TokenList, TokenListQuery, TokenLog, TokenLogEntry
from app.schemas.tokens import TokenInfo as TokenOut
from app.services.context import Context
from app.services.errors import AccountNotFound, Forbidden, InvalidRequest, TokenNotFound
from app.services.principal import SCOPES, Principal

TOKEN_RE = re.compile(r"^[0-9a-f]{64}$")
LAST_USED_RESOLUTION = timedelta(minutes=1)
ACCESS_LOG_SIZE = 50
#: Scopes of subsystems this instance does not have: accepted and stored, they grant nothing.
INERT_SCOPES = ("mcp",)


@dataclass(frozen=True)
class Request:
    """What auth knows about the request a token came with (for restrictions and the access log)."""

    ip: str | None = None
    referrer: str | None = None
    method: str | None = None
    path: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    ctx: Context,
    principal: Principal,
    *,
    description: str,
    scopes: Sequence[str],
    account: str | None,
    extra: TokenCreate | None = None,
    remote_address: str | None = None,
) -> tuple[str, Token]:
    """Create a token; the value is returned once and only its digest is kept."""
    principal.require_system()
    bad = [s for s in scopes if s not in SCOPES and s not in INERT_SCOPES]
    if bad or not scopes:
        raise InvalidRequest("Unknown scope", details={"scopes": f"must be some of {', '.join(SCOPES)}"})
    value = secrets.token_hex(32)
    row = Token(
        id=digest(value), description=description, scopes=list(dict.fromkeys(scopes)), account=account
    )
    if extra is not None:
        if extra.expires is not None and extra.expires.tzinfo is None:
            raise InvalidRequest("Give expires with a time zone", details={"expires": "no time zone"})
        row.expires = extra.expires
        if extra.restrictions is not None:
            row.restrictions = extra.restrictions.model_dump(exclude_none=True)
        details = {
            "metadata": extra.metadata,
            "ip": extra.ip,
            "remoteAddress": remote_address,
            "permissions": extra.permissions.model_dump(exclude_none=True) if extra.permissions else None,
        }
        row.details = {k: v for k, v in details.items() if v is not None} or None
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
    data = TokenCreate.model_validate({"account": account, "description": description, "scopes": scopes})
    value, _ = await create(ctx, principal, data)
    return value


async def create(
    ctx: Context, principal: Principal, data: TokenCreate, remote_address: str | None = None
) -> tuple[str, str]:
    """An account-bound token with EmailEngine's options; returns (value, id)."""
    if not principal.is_system:
        raise Forbidden("Account tokens cannot create tokens")
    value, row = await issue(
        ctx,
        principal,
        description=data.description,
        scopes=data.scopes,
        account=data.account,
        extra=data,
        remote_address=remote_address,
    )
    return value, row.id


async def list_tokens(ctx: Context, principal: Principal) -> list[Token]:
    query = select(Token).order_by(col(Token.created), col(Token.id))
    if principal.account is not None:
        query = query.where(Token.account == principal.account)
    async with ctx.db.session() as session:
        return list((await session.exec(query)).all())


async def list_page(ctx: Context, principal: Principal, query: TokenListQuery) -> TokenList:
    """EmailEngine's paged token list, optionally for one account or matching a description."""
    account = query.account
    if principal.account is not None:
        principal.require_account(account or principal.account)
        account = principal.account
    conditions: list[Any] = []
    if account is not None:
        conditions.append(col(Token.account) == account)
    if query.query:
        conditions.append(func.lower(col(Token.description)).contains(query.query.lower(), autoescape=True))
    async with ctx.db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Token).where(*conditions))).one()
        rows = (
            await session.exec(
                select(Token)
                .where(*conditions)
                .order_by(col(Token.created), col(Token.id))
                .offset(query.page * query.pageSize)
                .limit(query.pageSize)
            )
        ).all()
    return TokenList(
        account=account,
        total=total,
        page=query.page,
        pages=page_count(total, query.pageSize),
        tokens=[TokenOut.from_row(r) for r in rows],
    )


async def _find(session: Any, principal: Principal, token_or_id: str) -> Token:
    row = await session.get(Token, digest(token_or_id))
    if row is None and TOKEN_RE.match(token_or_id):
        row = await session.get(Token, token_or_id)
    if row is None or (principal.account is not None and row.account != principal.account):
        raise TokenNotFound()
    return row  # type: ignore[no-any-return]


async def get_token(ctx: Context, principal: Principal, token_or_id: str) -> Token:
    """One token by its value or id; another account's token does not exist for an account token."""
    async with ctx.db.session() as session:
        return await _find(session, principal, token_or_id)


async def access_log(ctx: Context, principal: Principal, token_or_id: str, page: int, size: int) -> TokenLog:
    row = await get_token(ctx, principal, token_or_id)
    entries = list(reversed(row.access_log or []))
    chosen = entries[page * size : (page + 1) * size]
    return TokenLog(
        token=row.id,
        total=len(entries),
        page=page,
        pages=page_count(len(entries), size),
        entries=[TokenLogEntry.model_validate({**e, "account": row.account}) for e in chosen],
    )


async def revoke(ctx: Context, principal: Principal, token_or_id: str) -> None:
    """Accept either the token value or its id (digest); account tokens may revoke only their own kind."""
    async with ctx.db.session() as session:
        row = await _find(session, principal, token_or_id)
        await session.delete(row)
        await session.commit()
    ctx.principals.drop(row.id)


async def authenticate(ctx: Context, token: str, request: Request) -> Principal | None:
    """The principal of a valid token, None for an unknown or expired one; Forbidden when the
    token's restrictions refuse this request. Only unrestricted tokens without expiry are cached,
    so a restriction or an expiry is checked on every request."""
    if not TOKEN_RE.match(token):
        return None
    token_id = digest(token)
    hit = ctx.principals.get(token_id)
    if hit is not None:
        return hit
    principal, cacheable = await _load_principal(ctx, token_id, request)
    if principal is None or not cacheable:
        return principal
    # Cached through a fresh read: a revocation that raced this request is never undone.
    return await ctx.principals.get_or_load(token_id, lambda: principal_of(ctx, token_id))


async def session_principal(ctx: Context, token_id: str, request: Request) -> Principal | None:
    """What an admin session opened with a token grants now: None once the token is revoked or
    expired, Forbidden where its restrictions refuse this request, as the token itself would be."""
    principal, _cacheable = await _load_principal(ctx, token_id, request)
    return principal


async def principal_of(ctx: Context, token_id: str) -> Principal | None:
    """What a stored token grants, by id, with no check of its expiry or restrictions; None once
    it is revoked."""
    async with ctx.db.session() as session:
        row = await session.get(Token, token_id)
    return (
        None if row is None else Principal(token_id=row.id, scopes=frozenset(row.scopes), account=row.account)
    )


def refusal(row: Token, request: Request, now: datetime) -> str | None:
    """Why the token may not be used for this request, or None."""
    if row.expires is not None and row.expires <= now:
        return "expired"
    limits = row.restrictions or {}
    addresses = limits.get("addresses") or []
    if addresses:
        try:
            client = ipaddress.ip_address(request.ip or "")
        except ValueError:
            return "address not allowed"
        if not any(client in ipaddress.ip_network(a, strict=False) for a in addresses):
            return "address not allowed"
    referrers = limits.get("referrers") or []
    if referrers:
        given = (request.referrer or "").lower()
        if not given or not any(fnmatch.fnmatchcase(given, p.lower()) for p in referrers):
            return "referrer not allowed"
    return None


def _log(row: Token, request: Request, now: datetime, reason: str | None) -> bool:
    """Append to the bounded access log when something new happened: another address, a refusal,
    or a minute since the last entry. Returns whether the row changed."""
    entries = list(row.access_log or [])
    last = entries[-1] if entries else None
    status = "denied" if reason else "allowed"
    if last is not None and last.get("ip") == request.ip and last.get("status") == status:
        when = datetime.fromisoformat(last["time"])
        if now - when < LAST_USED_RESOLUTION:
            return False
    entry = {"time": now.isoformat(), "ip": request.ip, "status": status}
    entry.update({k: v for k, v in (("method", request.method), ("path", request.path)) if v})
    if reason:
        entry["reason"] = reason
    row.access_log = [*entries, entry][-ACCESS_LOG_SIZE:]
    return True


async def _load_principal(ctx: Context, token_id: str, request: Request) -> tuple[Principal | None, bool]:
    """The principal (None: unknown or expired) and whether it may be cached (no expiry and no
    restrictions: nothing about it depends on the request or the time)."""
    async with ctx.db.session() as session:
        row = await session.get(Token, token_id)
        if row is None:
            return None, False
        now = utcnow()
        reason = refusal(row, request, now)
        changed = _log(row, request, now, reason)
        if reason is None and (row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION):
            row.last_used, row.last_ip = now, request.ip
            changed = True
        if changed:
            await session.commit()
    if reason == "expired":
        return None, False
    if reason is not None:
        raise Forbidden(f"This token may not be used here: {reason}")
    principal = Principal(token_id=row.id, scopes=frozenset(row.scopes), account=row.account)
    limits = row.restrictions or {}
    return principal, row.expires is None and not limits.get("addresses") and not limits.get("referrers")
