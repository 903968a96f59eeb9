"""Storage quota of an account's mailbox, asked of the IMAP server when a client wants it."""

from __future__ import annotations

from app.schemas.accounts import Quota
from app.services import mailaccess
from app.services.context import Context
from app.services.principal import Principal


async def account_quota(ctx: Context, principal: Principal, account_id: str) -> Quota | None:
    """The INBOX quota root's storage (RFC 2087), or None when the server has no QUOTA extension
    or sets no storage limit."""
    row = await mailaccess.usable_account(ctx, principal, account_id)
    async with mailaccess.imap(ctx, row) as conn:
        found = await conn.quota("INBOX")
    if found is None:
        return None
    used, limit = found
    status = f"{round(used * 100 / limit)}%" if limit else None
    return Quota(usage=used, limit=limit, status=status)
