"""Storage quota of an account's mailbox, asked of the IMAP server when a client wants it."""

from __future__ import annotations

from app.schemas.accounts import Quota
from app.services import mailaccess
from app.services.context import Context
from app.services.principal import Principal


async def account_quota(ctx: Context, principal: Principal, account_id: str) -> Quota | None:
    """The INBOX quota root's storage (RFC 2087), or None when the server has no QUOTA extension,
    sets no storage limit, or cannot be asked (offline or IMAP-less account): the quota rides along
    with the account's details, which are still worth returning without it."""
    try:
        row = await mailaccess.usable_account(ctx, principal, account_id)
        async with mailaccess.imap(ctx, row) as conn:
            found = await conn.quota("INBOX")
    except mailaccess.AccountUnavailable:
        return None
    if found is None:
        return None
    used, limit = found
    status = f"{round(used * 100 / limit)}%" if limit else None
    return Quota(usage=used, limit=limit, status=status)
