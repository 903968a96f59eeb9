"""Reaching an account's mail: is it usable, which folder is meant, and a command connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func
from sqlmodel import col, select

from app.mail.session import AuthenticationFailed, CommandFailed, ConnectFailed, ImapError, MailSession
from app.models import Account, AccountState, Mailbox
from app.services import accounts, mail_settings
from app.services.context import Context
from app.services.errors import NotFound, ServiceError
from app.services.mail_settings import TokenUnavailable
from app.services.principal import Principal
from app.services.states import UNAVAILABLE_CODES

SPECIAL_USES = {"\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash", "\\inbox"}


class AccountUnavailable(ServiceError):
    status = 503


class MailboxNotFound(NotFound):
    code, message = "MailboxNotFound", "Mailbox was not found"


class MessageNotFound(NotFound):
    code, message = "MessageNotFound", "Message was not found"


class ServerRefused(ServiceError):
    """The IMAP server said NO to a valid request (e.g. the folder already exists)."""

    status, code = 400, "ServerRefused"


async def usable_account(ctx: Context, principal: Principal, account_id: str) -> Account:
    account = await accounts.load(ctx, principal, account_id, cached=True)
    state = AccountState(account.state)
    if not account.has_imap:
        raise AccountUnavailable("This account has no IMAP access", code="NotSyncing")
    if state in UNAVAILABLE_CODES:
        error = account.last_error or {}
        detail = f": {error.get('response')}" if error.get("response") else ""
        raise AccountUnavailable(
            f"Account is not usable (state {state.value}){detail}", code=UNAVAILABLE_CODES[state]
        )
    return account


async def find_mailbox(ctx: Context, account: str, path: str, *, cached: bool = False) -> Mailbox:
    """A folder by path, or by special use (``\\Sent``) when the path starts with a backslash."""

    async def fetch() -> Mailbox | None:
        query = select(Mailbox).where(Mailbox.account == account)
        if path.lower() in SPECIAL_USES:
            if path.lower() == "\\inbox":
                query = query.where(Mailbox.path == "INBOX")
            else:
                # Equality, not LIKE: in LIKE patterns the backslash is an escape character.
                query = query.where(func.lower(col(Mailbox.special_use)) == path.lower())
        elif path.upper() == "INBOX":
            query = query.where(Mailbox.path == "INBOX")
        else:
            query = query.where(Mailbox.path == path)
        async with ctx.db.session() as s:
            return (await s.exec(query.order_by(col(Mailbox.id)))).first()

    box = await ctx.mailboxes.get_or_load((account, path), fetch) if cached else await fetch()
    if box is None:
        raise MailboxNotFound(f"Mailbox {path!r} was not found")
    return box


@asynccontextmanager
async def imap(ctx: Context, account: Account) -> AsyncIterator[MailSession]:
    """The account's command connection; IMAP failures become API errors, never 500s."""
    try:
        settings = await mail_settings.imap(ctx, account)
    except TokenUnavailable as exc:
        raise AccountUnavailable(f"Authentication failed: {exc}", code="AuthenticationFails") from None
    try:
        async with ctx.imap.use(account.id, settings) as conn:
            yield conn
    except AuthenticationFailed as exc:
        raise AccountUnavailable(
            f"Authentication failed: {exc.response or exc}", code="AuthenticationFails"
        ) from None
    except ConnectFailed as exc:
        raise AccountUnavailable(f"Cannot reach the mail server: {exc}", code="ConnectionError") from None
    except CommandFailed as exc:
        raise ServerRefused(f"The mail server refused: {exc.response or exc}") from None
    except ImapError as exc:
        raise AccountUnavailable(f"Mail server connection failed: {exc}", code="ConnectionError") from None
