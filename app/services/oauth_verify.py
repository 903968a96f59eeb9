"""Checking an OAuth2 application: what can be checked offline, then the provider itself, then
(optionally) one account's token and mailbox, each step saying in words what is wrong."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from app.mail import probe
from app.models import Account, OAuthApp
from app.schemas.common import iso
from app.schemas.oauth2 import OAuthTokenInfo, VerifyAppInput, VerifyAppResult, VerifyStep
from app.services import mail_settings, oauth_apps, oauth_presets, oauth_tokens
from app.services.context import Context
from app.services.errors import AccountNotFound, Forbidden, InvalidRequest, ServiceError
from app.services.oauth_client import AppClient, OAuthFailure
from app.services.principal import Principal
from app.services.settings import stored as stored_settings


def _offline(row: OAuthApp, client: AppClient) -> list[VerifyStep]:
    ends = client.endpoints
    steps = []
    missing = [
        label
        for label, value in (
            ("clientId", client.client_id),
            ("clientSecret", client.client_secret or row.provider in ("outlook", "outlookService")),
            ("authorization endpoint", ends.authorize_url or row.provider.endswith("Service")),
            ("token endpoint", ends.token_url),
        )
        if not value
    ]
    steps.append(
        VerifyStep(
            id="config", label="Application settings", status="fail", message="Missing: " + ", ".join(missing)
        )
        if missing
        else VerifyStep(id="config", label="Application settings", status="ok")
    )
    if row.provider.endswith("Service"):
        steps.append(
            VerifyStep(
                id="redirect", label="Redirect URL", status="skip", message="Service clients need none"
            )
        )
    elif not client.redirect_uri:
        steps.append(
            VerifyStep(
                id="redirect",
                label="Redirect URL",
                status="fail",
                message="Neither the application's redirectUrl nor the serviceUrl setting is set",
                hint=f"Set redirectUrl to this instance's public URL followed by {oauth_apps.CALLBACK_PATH}",
            )
        )
    elif urlsplit(client.redirect_uri).path.rstrip("/") != oauth_apps.CALLBACK_PATH:
        steps.append(
            VerifyStep(
                id="redirect",
                label="Redirect URL",
                status="fail",
                message=f"{client.redirect_uri} does not end in {oauth_apps.CALLBACK_PATH}",
                hint="The provider must send users back to this instance's /oauth page",
            )
        )
    else:
        steps.append(
            VerifyStep(id="redirect", label="Redirect URL", status="ok", message=client.redirect_uri)
        )
    if ends.imap is None:
        steps.append(VerifyStep(id="servers", label="Mail servers", status="fail", message="No IMAP server"))
    else:
        steps.append(VerifyStep(id="servers", label="Mail servers", status="ok", message=ends.imap.host))
    return steps


async def _provider(client: AppClient) -> VerifyStep:
    """Present the client's credentials with a refresh token nobody has: a provider that knows
    the client answers ``invalid_grant``, one that does not ``invalid_client``."""
    label = "Provider accepts the client"
    if client.endpoints.provider in oauth_presets.SERVICE_PROVIDERS:
        return VerifyStep(
            id="provider",
            label=label,
            status="fail",
            message="Service-account applications cannot sign accounts in yet",
            hint="Use a gmail, outlook or generic application with user consent",
        )
    try:
        await client.refresh("mailgate-verify-" + secrets.token_urlsafe(16))
    except OAuthFailure as exc:
        if exc.error == "invalid_grant":
            return VerifyStep(
                id="provider", label=label, status="ok", message="The client credentials were accepted"
            )
        hint = (
            "Check clientId and clientSecret"
            if exc.error in ("invalid_client", "unauthorized_client")
            else None
        )
        return VerifyStep(id="provider", label=label, status="fail", message=str(exc), hint=hint)
    return VerifyStep(id="provider", label=label, status="ok")


async def _account(ctx: Context, app_id: str, account_id: str, connect: bool) -> list[VerifyStep]:
    async with ctx.db.session() as s:
        row = await s.get(Account, account_id)
    if row is None or (row.oauth2 or {}).get("provider") != app_id:
        return [
            VerifyStep(
                id="token",
                label="Account token",
                status="fail",
                message="The account does not use this application",
            )
        ]
    try:
        token = await oauth_tokens.access_token(ctx, account_id, rejected=None)
    except oauth_tokens.TokenUnavailable as exc:
        return [VerifyStep(id="token", label="Account token", status="fail", message=str(exc))]
    steps = [
        VerifyStep(
            id="token", label="Account token", status="ok", message=f"Valid until {iso(token.expires)}"
        )
    ]
    if connect:
        try:
            cfg = await mail_settings.imap(ctx, row)
        except oauth_tokens.TokenUnavailable as exc:
            return [*steps, VerifyStep(id="imap", label="IMAP login", status="fail", message=str(exc))]
        outcome, _ = await probe.check_imap(cfg)
        steps.append(
            VerifyStep(
                id="imap",
                label="IMAP login",
                status="ok" if outcome.success else "fail",
                message=outcome.error,
            )
        )
    return steps


async def verify(ctx: Context, principal: Principal, app_id: str, data: VerifyAppInput) -> VerifyAppResult:
    principal.require_system()
    row = await oauth_apps.load(ctx, app_id)
    try:
        client = await oauth_apps.client(ctx, row.model_copy(update={"enabled": True}))
    except ServiceError as exc:
        raise InvalidRequest(exc.message) from None
    steps = _offline(row, client)
    if all(s.status != "fail" for s in steps):
        steps.append(await _provider(client))
    else:
        steps.append(VerifyStep(id="provider", label="Provider accepts the client", status="skip"))
    if data.account:
        steps.extend(await _account(ctx, app_id, data.account, bool(data.testConnection)))
    if not row.enabled:
        steps.insert(
            0, VerifyStep(id="enabled", label="Enabled", status="fail", message="The application is disabled")
        )
    return VerifyAppResult(
        app=app_id,
        provider=row.provider,
        authMethod=(row.options or {}).get("authMethod"),
        account=data.account,
        ok=all(s.status != "fail" for s in steps),
        steps=steps,
    )


async def token_info(ctx: Context, principal: Principal, account_id: str) -> OAuthTokenInfo:
    """``GET /v1/account/{account}/oauth-token``: for system tokens, unless switched off."""
    principal.require_system()
    if (await stored_settings(ctx)).get("enableOAuthTokensApi") is False:
        raise Forbidden(
            "The OAuth2 token API is switched off (setting enableOAuthTokensApi)", code="Disabled"
        )
    async with ctx.db.session() as s:
        row = await s.get(Account, account_id)
    if row is None:
        raise AccountNotFound()
    if not mail_settings.uses_oauth(row):
        raise InvalidRequest("The account does not use OAuth2", code="NotOAuth2Account")
    try:
        token = await oauth_tokens.access_token(ctx, account_id)
    except oauth_tokens.TokenUnavailable as exc:
        raise ServiceError(str(exc), code="OAuthRenewError", status=400 if exc.permanent else 503) from None
    provider = token.provider if token.provider in oauth_presets.PROVIDERS else "generic"
    return OAuthTokenInfo(
        account=account_id,
        user=token.user,
        accessToken=token.value,
        provider=provider,
        app=token.app_id,
        registeredScopes=token.scopes,
        expires=iso(token.expires),
        cached=token.cached,
    )
