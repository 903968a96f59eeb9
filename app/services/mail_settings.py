"""The IMAP and SMTP settings an account logs in with, secrets decrypted.

A password account uses what it stores. An OAuth2 account takes its servers from its OAuth2
application (unless it names its own) and a current access token, refreshed when needed."""

from __future__ import annotations

from typing import Any

from app.models import Account
from app.services import credentials, oauth_apps, oauth_presets, oauth_tokens
from app.services.context import Context
from app.services.errors import ServiceError
from app.services.oauth_tokens import TokenUnavailable

__all__ = ["TokenUnavailable", "imap", "smtp", "uses_oauth"]


def uses_oauth(account: Account) -> bool:
    return account.oauth2 is not None and account.oauth2.get("enabled") is not False


async def _oauth(
    ctx: Context, account: Account, stored: dict[str, Any] | None, kind: str, rejected: str | None
) -> dict[str, Any]:
    settings = {k: v for k, v in (credentials.reveal(stored, ctx.cipher) or {}).items() if k != "auth"}
    token = await oauth_tokens.access_token(ctx, account.id, rejected=rejected)
    if not settings.get("host"):
        try:
            app = await oauth_apps.load(ctx, token.app_id)
        except ServiceError as exc:
            raise TokenUnavailable(exc.message, permanent=True) from None
        server = getattr(oauth_presets.endpoints(app.provider, app.options or {}), kind)
        if server is None:
            raise TokenUnavailable(f"The OAuth2 application has no {kind.upper()} server", permanent=True)
        settings.update(server.settings())
    settings["auth"] = {"user": token.user, "accessToken": token.value}
    return settings


async def imap(ctx: Context, account: Account, *, rejected: str | None = None) -> dict[str, Any]:
    """``rejected``: an access token the server just refused, to be replaced."""
    if uses_oauth(account):
        return await _oauth(ctx, account, account.imap, "imap", rejected)
    return credentials.reveal(account.imap, ctx.cipher) or {}


async def smtp(ctx: Context, account: Account, *, rejected: str | None = None) -> dict[str, Any]:
    if uses_oauth(account):
        return await _oauth(ctx, account, account.smtp, "smtp", rejected)
    return credentials.reveal(account.smtp, ctx.cipher) or {}


def token_of(settings: dict[str, Any]) -> str | None:
    value = (settings.get("auth") or {}).get("accessToken")
    return str(value) if value else None
