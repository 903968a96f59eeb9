"""/v1/oauth2… routes, the consent callback and the account token route."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.api.routing import Call, Router
from app.schemas.common import PageQuery
from app.schemas.oauth2 import (
    ConsentAnswer,
    OAuthAppCreate,
    OAuthAppCreated,
    OAuthAppDeleted,
    OAuthAppInfo,
    OAuthAppList,
    OAuthAppUpdate,
    OAuthAppUpdated,
    OAuthTokenInfo,
    VerifyAppInput,
    VerifyAppResult,
)
from app.services import oauth_apps, oauth_callback, oauth_verify

router = Router()
TAG = "OAuth2 applications"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/v1/oauth2", query=PageQuery, response=OAuthAppList, tag=TAG, errors=(400, 403))
async def list_apps(call: Call) -> OAuthAppList:
    """List OAuth2 applications; secrets are shown as '******'."""
    return await oauth_apps.list_apps(call.ctx, call.principal, call.query)


@router.post("/v1/oauth2", body=OAuthAppCreate, response=OAuthAppCreated, tag=TAG, errors=(400, 403))
async def create_app(call: Call) -> OAuthAppCreated:
    """Register an OAuth2 application (Gmail, Outlook, Mail.ru or a generic provider)."""
    return await oauth_apps.create(call.ctx, call.principal, call.body)


@router.get("/v1/oauth2/{app}", response=OAuthAppInfo, tag=TAG, errors=(403, 404))
async def get_app(call: Call) -> OAuthAppInfo:
    """One application, with the endpoints, scopes and servers in effect."""
    return await oauth_apps.get(call.ctx, call.principal, call.path("app"))


@router.put(
    "/v1/oauth2/{app}", body=OAuthAppUpdate, response=OAuthAppUpdated, tag=TAG, errors=(400, 403, 404)
)
async def update_app(call: Call) -> OAuthAppUpdated:
    """Change an application; fields not given stay as they are."""
    return await oauth_apps.update(call.ctx, call.principal, call.path("app"), call.body)


@router.delete("/v1/oauth2/{app}", response=OAuthAppDeleted, tag=TAG, errors=(403, 404))
async def delete_app(call: Call) -> OAuthAppDeleted:
    """Delete an application; its accounts stay but cannot refresh tokens any more."""
    return await oauth_apps.remove(call.ctx, call.principal, call.path("app"))


@router.post(
    "/v1/oauth2/{app}/verify", body=VerifyAppInput, response=VerifyAppResult, tag=TAG, errors=(400, 403, 404)
)
async def verify_app(call: Call) -> VerifyAppResult:
    """Check the settings, the provider's answer to the client and optionally an account."""
    return await oauth_verify.verify(call.ctx, call.principal, call.path("app"), call.body)


@router.get(
    "/v1/account/{account}/oauth-token", response=OAuthTokenInfo, tag="Accounts", errors=(400, 403, 404, 503)
)
async def oauth_token(call: Call) -> OAuthTokenInfo:
    """The account's current OAuth2 access token, refreshed first when it is about to expire."""
    return await oauth_verify.token_info(call.ctx, call.principal, call.path("account"))


@router.get(
    oauth_apps.CALLBACK_PATH,
    query=ConsentAnswer,
    scope=None,
    tag=TAG,
    status=302,
    media_type="text/html",
    errors=(400,),
)
async def consent_callback(call: Call) -> Response:
    """Where the provider sends the user back: registers the account and redirects to the
    ``redirectUrl`` given when the consent started."""
    q: ConsentAnswer = call.query
    outcome = await oauth_callback.finish(call.ctx, q.state, q.code, q.error, q.error_description)
    if outcome.redirect:
        return RedirectResponse(outcome.redirect, status_code=302, headers=NO_STORE)
    if outcome.error:
        title, text = "Sign-in failed", outcome.description or outcome.error
        status = 400
    else:
        title, text = (
            "Account added",
            f"The account {outcome.account} is registered; you may close this page.",
        )
        status = 200
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
    )
    return HTMLResponse(body + f"<p>{html.escape(text)}</p>", status_code=status, headers=NO_STORE)
