"""Registering, reading, changing and removing accounts."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select

from app import events
from app.models.account import Account, AccountState
from app.models.base import utcnow
from app.models.token import Token
from app.schemas.accounts import (
    EMAIL_RE,
    AccountCreate,
    AccountDeleted,
    AccountInfo,
    AccountList,
    AccountListQuery,
    AccountSummary,
    AccountUpdate,
    RegisterResult,
)
from app.schemas.common import page_count
from app.services import account_options, control, credentials, oauth_consent, protocol_logs
from app.services.context import Context
from app.services.errors import AccountNotFound
from app.services.principal import Principal
from app.services.settings import check_webhook_url
from app.services.states import initial_state

CONNECTION_FIELDS = ("imap", "smtp", "oauth2")


def _default_email(data: AccountCreate, account_id: str) -> str | None:
    if data.email:
        return data.email
    candidates = [account_id]
    if data.imap and data.imap.auth and data.imap.auth.user:
        candidates.append(data.imap.auth.user)
    if data.oauth2 and data.oauth2.auth:
        candidates.append(data.oauth2.auth.user)
    return next((c for c in candidates if EMAIL_RE.match(c)), None)


def _apply(ctx: Context, row: Account, data: AccountCreate | AccountUpdate, fields: set[str]) -> bool:
    """Copy the given fields onto ``row``; returns whether connection settings changed."""
    changed = False
    for name in CONNECTION_FIELDS:
        if name not in fields:
            continue
        value = getattr(data, name)
        stored = getattr(row, name)
        if value is None or value is False:
            new = None
        else:
            new = credentials.merge(value, stored, ctx.cipher, partial=value.partial)
        changed |= new != stored
        setattr(row, name, new)
    simple = {"name": "name", "email": "email", "webhooks": "webhooks", "locale": "locale", "tz": "tz"}
    for field, column in simple.items():
        if field in fields:
            setattr(row, column, getattr(data, field))
    if "copy_" in fields:
        row.copy_sent = data.copy_
    if "path" in fields:
        row.path = None if data.path in (None, "*") else list(data.path or [])
    if "subconnections" in fields:
        subconnections = list(dict.fromkeys(data.subconnections or [])) or None
        changed |= subconnections != row.subconnections  # the worker opens its connections anew
        row.subconnections = subconnections
    if "notifyFrom" in fields:
        row.notify_from = data.notifyFrom or utcnow()
    changed |= account_options.apply(row, data, fields)
    wanted = initial_state(row.imap, row.oauth2)
    # Switching IMAP off parks the account; switching it back on starts it afresh.
    if (AccountState.unset in (wanted, row.state)) and row.state != wanted:
        row.state = wanted
        row.last_error = None
    row.updated = utcnow()
    return changed


async def register(ctx: Context, principal: Principal, data: AccountCreate) -> RegisterResult:
    """Create the account, or overwrite the one with the same id (EmailEngine's semantics)."""
    principal.require_system()
    if data.webhooks:
        await check_webhook_url(ctx, data.webhooks)
    if data.oauth2 is not None and data.oauth2.authorize:
        return RegisterResult(redirect=await oauth_consent.start(ctx, data))
    account_id = data.account or secrets.token_hex(8)
    fields = set(data.model_fields_set) | set(CONNECTION_FIELDS)
    for attempt in range(2):
        async with ctx.db.turn(), ctx.db.session() as session:
            row = await session.get(Account, account_id)
            existing = row is not None
            if row is None:
                row = Account(id=account_id, name=data.name, state=AccountState.init)
                session.add(row)
            _apply(ctx, row, data, fields)
            if row.email is None:
                row.email = _default_email(data, account_id)
            if not existing:
                events.record(session, "accountAdded", account_id, {"account": account_id})
            control.record(session, account_id, "changed" if existing else "reconnect")
            try:
                await session.commit()
            except IntegrityError:  # a concurrent registration of the same id won the insert
                if attempt:
                    raise
                continue
        ctx.accounts.drop(account_id)
        return RegisterResult(account=account_id, state="existing" if existing else "new")
    raise AssertionError("unreachable")


def _summary_fields(row: Account) -> dict[str, Any]:
    oauth_on = row.oauth2 is not None and row.oauth2.get("enabled") is not False
    kind = "oauth2" if oauth_on else "imap" if row.imap is not None else "sending"
    return {
        "account": row.id,
        "name": row.name,
        "email": row.email,
        "state": AccountState(row.state),
        "type": kind,
        "syncTime": int(row.sync_time.timestamp() * 1000) if row.sync_time else None,
        "lastError": row.last_error,
        "webhooks": row.webhooks,
        "smtpEhloName": (row.options or {}).get("smtpEhloName"),
        "counters": row.counters or {},
    }


async def list_accounts(ctx: Context, principal: Principal, query: AccountListQuery) -> AccountList:
    principal.require_system()
    conditions: list[Any] = []
    if query.state is not None:
        conditions.append(Account.state == query.state.value)
    if query.query:
        needle = query.query.lower()
        conditions.append(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (col(Account.id), col(Account.name), col(Account.email))
                )
            )
        )
    async with ctx.db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Account).where(*conditions))).one()
        rows = (
            await session.exec(
                select(Account)
                .where(*conditions)
                .order_by(col(Account.id))
                .offset(query.page * query.pageSize)
                .limit(query.pageSize)
            )
        ).all()
    return AccountList(
        query=query.query,
        state=query.state.value if query.state is not None else None,
        total=total,
        page=query.page,
        pages=page_count(total, query.pageSize),
        accounts=[AccountSummary.model_validate(_summary_fields(r)) for r in rows],
    )


async def load(ctx: Context, principal: Principal, account_id: str, *, cached: bool = False) -> Account:
    """The account row; ``cached`` accepts one up to a second old (hot read paths only)."""
    principal.require_account(account_id)

    async def fetch() -> Account | None:
        async with ctx.db.session() as session:
            return await session.get(Account, account_id)

    row = await ctx.accounts.get_or_load(account_id, fetch) if cached else await fetch()
    if row is None:
        raise AccountNotFound()
    return row


async def get_account(ctx: Context, principal: Principal, account_id: str) -> AccountInfo:
    row = await load(ctx, principal, account_id)
    return AccountInfo.model_validate(
        {
            **_summary_fields(row),
            "notifyFrom": row.notify_from,
            "webhooks": row.webhooks,
            "path": row.path if row.path is not None else "*",
            "subconnections": row.subconnections or [],
            "copy": row.copy_sent,
            "locale": row.locale,
            "tz": row.tz,
            "imap": credentials.masked(row.imap) if row.imap is not None else False,
            "smtp": account_options.without_ehlo(credentials.masked(row.smtp))
            if row.smtp is not None
            else False,
            "oauth2": credentials.masked(row.oauth2) if row.oauth2 is not None else None,
            "counters": row.counters or {},
            "created": row.created,
            **account_options.info(row),
        }
    )


async def update_account(ctx: Context, principal: Principal, account_id: str, data: AccountUpdate) -> str:
    principal.require_account(account_id)
    if data.webhooks:
        await check_webhook_url(ctx, data.webhooks)
    async with ctx.db.session() as session:
        row = await session.get(Account, account_id)
        if row is None:
            raise AccountNotFound()
        logged_before = protocol_logs.enabled(row)
        changed = _apply(ctx, row, data, set(data.model_fields_set))
        relog = protocol_logs.enabled(row) != logged_before  # connections are tapped when opened
        if changed or relog:
            control.record(session, account_id, "changed")
        await session.commit()
    ctx.accounts.drop(account_id)
    if relog:
        await ctx.imap.drop(account_id)
    return account_id


async def delete_account(ctx: Context, principal: Principal, account_id: str) -> AccountDeleted:
    principal.require_account(account_id)
    async with ctx.db.session() as session:
        row = await session.get(Account, account_id)
        if row is None:
            raise AccountNotFound()
        # Explicit as well as ON DELETE CASCADE: a reused account id must never inherit old tokens.
        await session.exec(delete(Token).where(col(Token.account) == account_id))
        await session.delete(row)
        events.record(session, "accountDeleted", account_id, {"account": account_id})
        control.record(session, account_id, "stop")
        await session.commit()
    ctx.accounts.drop(account_id)
    ctx.mailboxes.drop_where(account_id)
    ctx.principals.clear()  # the account's tokens are gone
    await ctx.imap.drop(account_id)
    return AccountDeleted(account=account_id, deleted=True)


async def reconnect(ctx: Context, principal: Principal, account_id: str) -> None:
    await load(ctx, principal, account_id)
    await control.send(ctx, account_id, "reconnect")


async def request_sync(ctx: Context, principal: Principal, account_id: str) -> None:
    await load(ctx, principal, account_id)
    await control.send(ctx, account_id, "sync")


async def stats(ctx: Context) -> dict[str, int]:
    async with ctx.db.session() as session:
        rows = (await session.exec(select(Account.state, func.count()).group_by(Account.state))).all()
    counts = {state.value: 0 for state in AccountState}
    counts.update({state: n for state, n in rows})
    return counts
