"""Finishing a consent: exchange the code, learn who signed in, register the account and send
the browser back to the application that asked, with the outcome in the query string."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import ValidationError
from sqlmodel import select

from app.models import Account
from app.models.base import utcnow
from app.schemas.accounts import AccountCreate
from app.services import accounts, oauth_apps, oauth_flows
from app.services.context import Context
from app.services.errors import InvalidRequest, ServiceError
from app.services.oauth_client import OAuthFailure, email_of
from app.services.oauth_consent import KIND
from app.services.principal import OPERATOR

FORM_KIND = "form"


@dataclass(frozen=True)
class Outcome:
    """Where to send the browser, or (without a redirectUrl) what to tell the user."""

    redirect: str | None
    account: str | None = None
    state: str | None = None
    error: str | None = None
    description: str | None = None


def back_to(base: str | None, **params: str | None) -> str | None:
    if not base:
        return None
    query = urlencode({k: v for k, v in params.items() if v is not None})
    joiner = "&" if urlsplit(base).query else "?"
    return f"{base}{joiner}{query}"


def _failed(payload: dict[str, Any], error: str, description: str) -> Outcome:
    redirect = payload.get("redirectUrl")
    return Outcome(
        back_to(redirect, error=error, error_description=description), error=error, description=description
    )


async def finish(
    ctx: Context, state: str | None, code: str | None, error: str | None, description: str | None
) -> Outcome:
    """Handle the provider's redirect to ``/oauth``."""
    if not state:
        raise InvalidRequest("The sign-in answer has no state", code="InvalidState")
    payload = await oauth_flows.take(ctx, state, KIND)
    if error:
        return _failed(payload, error, description or "The provider did not grant access")
    if not code:
        return _failed(payload, "invalid_request", "The provider sent no authorization code")
    try:
        app = await oauth_apps.load(ctx, str(payload["app"]))
        client = await oauth_apps.client(ctx, app)
        tokens = await client.exchange(code, str(payload["verifier"]))
        claims = await client.identity(tokens)
    except (OAuthFailure, ServiceError) as exc:
        return _failed(payload, getattr(exc, "error", None) or "server_error", str(exc))
    email = email_of(claims)
    if not email:
        return _failed(payload, "invalid_user", "The provider did not say which address signed in")
    fields: dict[str, Any] = dict(payload["account"])
    expected = fields.get("expectedEmail")
    if expected and str(expected).lower() != email.lower():
        return _failed(payload, "unexpected_user", f"Signed in as {email}, but {expected} was expected")
    oauth = dict(fields.get("oauth2") or {})
    oauth["provider"] = app.id
    oauth["auth"] = {**(oauth.get("auth") or {}), "user": email}
    oauth["accessToken"] = tokens["access_token"]
    if tokens.get("refresh_token"):
        oauth["refreshToken"] = tokens["refresh_token"]
    if tokens.get("expires_in"):
        oauth["expires"] = (utcnow() + timedelta(seconds=float(tokens["expires_in"]))).isoformat()
    if tokens.get("scope"):
        oauth["scopes"] = str(tokens["scope"]).split()
    fields["oauth2"] = oauth
    fields.setdefault("email", email)
    fields.setdefault("name", claims.get("name") or email)
    if not fields.get("account"):
        fields["account"] = await _account_of(ctx, app.id, email)
    try:
        data = AccountCreate.model_validate(fields)
        result = await accounts.register(ctx, OPERATOR, data)
    except (ValidationError, ServiceError) as exc:
        return _failed(payload, "invalid_account", str(exc))
    if payload.get("form"):
        with contextlib.suppress(oauth_flows.FlowExpired):  # used up meanwhile: the account stands
            await oauth_flows.take(ctx, str(payload["form"]), FORM_KIND)
    redirect = back_to(payload.get("redirectUrl"), account=result.account, state=result.state)
    return Outcome(redirect, account=result.account, state=result.state)


async def _account_of(ctx: Context, app_id: str, email: str) -> str | None:
    """The account already registered for this user through this app: signing in again updates
    it instead of adding a second account for the same mailbox."""
    async with ctx.db.session() as s:
        rows = (await s.exec(select(Account).where(oauth_apps.uses_app(app_id)))).all()
        for row in rows:
            user = ((row.oauth2 or {}).get("auth") or {}).get("user")
            if isinstance(user, str) and user.lower() == email.lower():
                return str(row.id)
    return None
