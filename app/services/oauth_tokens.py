"""Access tokens of OAuth2 accounts: served from the account while fresh, refreshed shortly
before they expire or after a server rejected one, by one process at a time.

Refreshes are serialised across processes with a database lease per account, so two workers (or
an API process and a worker) never spend the same refresh token twice: with rotating refresh
tokens the second refresh would fail and lock the account out."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.models import Account
from app.models.base import utcnow
from app.services import leases, oauth_apps, oauth_presets
from app.services.context import Context
from app.services.credentials import reveal
from app.services.errors import ServiceError
from app.services.oauth_client import TIMEOUT, OAuthFailure

#: Refresh a token this long before it expires, so a connection never starts with one that is
#: about to run out.
log = logging.getLogger(__name__)

MARGIN = timedelta(minutes=2)
WAIT_STEP = 0.1


class TokenUnavailable(Exception):
    """No usable access token; ``permanent`` when only new tokens or a new consent can help."""

    def __init__(self, message: str, *, permanent: bool, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.details = details or {}


@dataclass(frozen=True)
class Token:
    value: str
    user: str
    app_id: str
    provider: str
    expires: datetime | None
    scopes: list[str] | None = field(default=None)
    cached: bool = True


def _expires(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


def _fresh(oauth: dict[str, Any], rejected: str | None) -> bool:
    token = oauth.get("accessToken")
    if not token or token == rejected:
        return False
    expires = _expires(oauth.get("expires"))
    return expires is None or expires - utcnow() > MARGIN


async def _oauth(ctx: Context, account_id: str) -> tuple[dict[str, Any], str]:
    async with ctx.db.session() as s:
        row = await s.get(Account, account_id)
    if row is None or row.oauth2 is None or row.oauth2.get("enabled") is False:
        raise TokenUnavailable("The account has no OAuth2 settings", permanent=True)
    oauth = reveal(row.oauth2, ctx.cipher) or {}
    user = str(
        ((oauth.get("auth") or {}).get("delegatedUser")) or (oauth.get("auth") or {}).get("user") or ""
    )
    return oauth, user


def _token(oauth: dict[str, Any], user: str, provider: str, *, cached: bool) -> Token:
    return Token(
        value=str(oauth["accessToken"]),
        user=user,
        app_id=str(oauth.get("provider") or ""),
        provider=provider,
        expires=_expires(oauth.get("expires")),
        scopes=oauth.get("scopes"),
        cached=cached,
    )


async def access_token(ctx: Context, account_id: str, *, rejected: str | None = None) -> Token:
    """A token for the account's IMAP/SMTP login. ``rejected`` is a token a server just refused:
    it is replaced even if it has not expired yet."""
    oauth, user = await _oauth(ctx, account_id)
    app_id = str(oauth.get("provider") or "")
    try:
        app = await oauth_apps.load(ctx, app_id)
    except ServiceError as exc:
        raise TokenUnavailable(exc.message, permanent=True) from None
    if _fresh(oauth, rejected):
        return _token(oauth, user, app.provider, cached=True)
    if app.provider in oauth_presets.SERVICE_PROVIDERS:
        raise TokenUnavailable(
            f"{app.provider} applications (service accounts) are stored, but accounts cannot sign in "
            "through them yet: use a gmail, outlook or generic application",
            permanent=True,
        )
    if not oauth.get("refreshToken"):
        raise TokenUnavailable(
            "The access token was rejected or has expired, and the account has no refresh token",
            permanent=True,
        )
    return await _refresh_once(ctx, account_id, rejected or oauth.get("accessToken"))


def _lease_name(account_id: str) -> str:
    return "oauth:" + hashlib.sha256(account_id.encode()).hexdigest()[:40]


async def _refresh_once(ctx: Context, account_id: str, stale: str | None) -> Token:
    """Refresh unless another process is already doing it, in which case wait for its result."""
    name, owner = _lease_name(account_id), f"{leases.process_id()}:{secrets.token_hex(4)}"
    loop = asyncio.get_running_loop()
    give_up = loop.time() + ctx.settings.lease_seconds + TIMEOUT
    waiting = False
    while True:
        if await leases.hold(ctx, name, owner):
            try:
                oauth, user = await _oauth(ctx, account_id)
                app = await oauth_apps.load(ctx, str(oauth.get("provider") or ""))
                if _fresh(oauth, stale):  # refreshed elsewhere while this process waited
                    return _token(oauth, user, app.provider, cached=True)
                return await _refresh(ctx, account_id, oauth, user, app)
            except ServiceError as exc:
                raise TokenUnavailable(exc.message, permanent=True) from None
            finally:
                await leases.release(ctx, name, owner)
        if not waiting:
            waiting = True
            log.info("%s: another process is refreshing the OAuth2 token; waiting for it", account_id)
        await asyncio.sleep(WAIT_STEP)  # polling the row: the holder finishes within TIMEOUT
        oauth, user = await _oauth(ctx, account_id)
        if _fresh(oauth, stale):
            app = await oauth_apps.load(ctx, str(oauth.get("provider") or ""))
            return _token(oauth, user, app.provider, cached=True)
        if loop.time() > give_up:
            raise TokenUnavailable(
                "Timed out waiting for another process to refresh the token", permanent=False
            )


async def _refresh(ctx: Context, account_id: str, oauth: dict[str, Any], user: str, app: Any) -> Token:
    client = await oauth_apps.client(ctx, app)
    grant = "refresh_token"
    try:
        answer = await client.refresh(str(oauth["refreshToken"]))
    except OAuthFailure as exc:
        details = {
            "response": str(exc),
            "serverResponseCode": "OauthRenewError",
            "tokenRequest": {
                "url": client.endpoints.token_url,
                "grant": grant,
                "provider": app.provider,
                "status": exc.status,
                "clientId": client.client_id,
                "code": exc.error,
            },
        }
        await oauth_apps.record_error(ctx, app.id, details)
        raise TokenUnavailable(
            f"Token refresh failed: {exc}", permanent=exc.permanent, details=details
        ) from None
    stored = await save_tokens(ctx, account_id, answer)
    await oauth_apps.record_error(ctx, app.id, None)
    return _token(stored, user, app.provider, cached=False)


async def save_tokens(ctx: Context, account_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Store what a token endpoint answered (a rotated refresh token replaces the old one);
    returns the account's decrypted OAuth2 settings."""
    expires_in = answer.get("expires_in")
    expires = utcnow() + timedelta(seconds=float(expires_in)) if expires_in else None
    async with ctx.db.session() as s:
        row = await s.get(Account, account_id)
        if row is None or row.oauth2 is None:
            raise TokenUnavailable("The account was deleted", permanent=True)
        oauth = dict(row.oauth2)
        oauth["accessToken"] = ctx.cipher.encrypt(str(answer["access_token"]))
        if answer.get("refresh_token"):
            oauth["refreshToken"] = ctx.cipher.encrypt(str(answer["refresh_token"]))
        oauth["expires"] = expires.isoformat().replace("+00:00", "Z") if expires else None
        if answer.get("scope"):
            oauth["scopes"] = str(answer["scope"]).split()
        row.oauth2 = oauth
        s.add(row)
        await s.commit()
    ctx.accounts.drop(account_id)
    return reveal(oauth, ctx.cipher) or {}
