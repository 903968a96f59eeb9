"""Starting a consent: the provider's URL for the user's browser, with ``state`` and PKCE.

What the account will be once the user agrees is kept (encrypted, single-use) under ``state``;
:mod:`app.services.oauth_callback` picks it up when the provider sends the browser back."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from app.schemas.accounts import AccountCreate
from app.services import oauth_apps, oauth_flows, oauth_presets
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.oauth_client import OAuthFailure, new_verifier

TTL = timedelta(minutes=30)
KIND = "consent"


async def start(ctx: Context, data: AccountCreate, *, form: str | None = None) -> str:
    """The consent URL for registering ``data`` (``oauth2.authorize: true``); ``form`` is the
    hosted-form link that started it, used up when the account is registered."""
    oauth = data.oauth2
    if oauth is None or not oauth.provider:
        raise InvalidRequest("oauth2.provider (an OAuth2 application id) is required to authorize")
    app = await oauth_apps.load(ctx, oauth.provider)
    if app.provider not in oauth_presets.CONSENT_PROVIDERS:
        raise InvalidRequest(f"Accounts of a {app.provider} application are not authorized by consent")
    client = await oauth_apps.client(ctx, app)
    if not client.redirect_uri:
        raise InvalidRequest(
            "The OAuth2 application has no redirectUrl and the serviceUrl setting is not set: "
            f"the provider would not know where to send the user back ({oauth_apps.CALLBACK_PATH})",
            code="MissingRedirectUrl",
        )
    account: dict[str, Any] = data.model_dump(mode="json", by_alias=True, exclude_unset=True)
    account["oauth2"] = {
        k: v for k, v in account.get("oauth2", {}).items() if k not in ("authorize", "redirectUrl", "partial")
    }
    state, verifier = secrets.token_urlsafe(24), new_verifier()
    login_hint = data.email or (oauth.auth.user if oauth.auth else None)
    try:
        url = client.consent_url(state, verifier, login_hint)
    except OAuthFailure as exc:
        raise InvalidRequest(str(exc)) from None
    payload = {
        "app": app.id,
        "verifier": verifier,
        "account": account,
        "redirectUrl": oauth.redirectUrl,
        "form": form,
    }
    await oauth_flows.save(ctx, state, KIND, payload, TTL)
    return url
