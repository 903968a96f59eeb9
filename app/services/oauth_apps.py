"""OAuth2 applications: registered once per provider client, used by every account that
signs in through it. Client secrets and service keys are encrypted and never returned."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from app.models import Account, OAuthApp
from app.models.base import utcnow
from app.schemas.common import PageQuery, iso, page_count
from app.schemas.oauth2 import (
    OPTION_FIELDS,
    OAuthAppCreate,
    OAuthAppCreated,
    OAuthAppDeleted,
    OAuthAppInfo,
    OAuthAppList,
    OAuthAppUpdate,
    OAuthAppUpdated,
)
from app.services import oauth_presets
from app.services.context import Context
from app.services.credentials import MASK
from app.services.errors import InvalidRequest, NotFound
from app.services.oauth_client import AppClient
from app.services.principal import Principal
from app.services.settings import cached as cached_settings

CALLBACK_PATH = "/oauth"


class AppNotFound(NotFound):
    code, message = "AppNotFound", "OAuth2 application was not found"


class AppDisabled(InvalidRequest):
    code, message = "AppDisabled", "OAuth2 application is disabled"


def uses_app(app_id: str) -> Any:
    return Account.oauth2["provider"].as_string() == app_id  # type: ignore[index]


def _store_options(row: OAuthApp, data: OAuthAppCreate | OAuthAppUpdate, ctx: Context) -> None:
    options = dict(row.options or {})
    for name in OPTION_FIELDS:
        if name not in data.model_fields_set:
            continue
        value = getattr(data, name)
        if hasattr(value, "model_dump"):
            value = value.model_dump()
        if value is None or (value is False and name in ("redirectUrl", "serviceClient")):
            options.pop(name, None)
        else:
            options[name] = value
    if "serviceKey" in data.model_fields_set:
        if data.serviceKey and data.serviceKey != MASK:
            options["serviceKey"] = ctx.cipher.encrypt(data.serviceKey)
        elif not data.serviceKey:
            options.pop("serviceKey", None)
    row.options = options


async def create(ctx: Context, principal: Principal, data: OAuthAppCreate) -> OAuthAppCreated:
    principal.require_system()
    now = utcnow()
    row = OAuthApp(
        id=secrets.token_hex(8),
        name=data.name,
        provider=data.provider,
        enabled=data.enabled is not False,
        client_id=data.clientId,
        client_secret=ctx.cipher.encrypt(data.clientSecret) if data.clientSecret else None,
        created=now,
        updated=now,
    )
    _store_options(row, data, ctx)
    async with ctx.db.session() as s:
        s.add(row)
        await s.commit()
    return OAuthAppCreated(id=row.id, created=True)


async def update(ctx: Context, principal: Principal, app_id: str, data: OAuthAppUpdate) -> OAuthAppUpdated:
    principal.require_system()
    async with ctx.db.session() as s:
        row = await s.get(OAuthApp, app_id)
        if row is None:
            raise AppNotFound()
        given = data.model_fields_set
        if data.name is not None:
            row.name = data.name
        if data.enabled is not None:
            row.enabled = data.enabled
        if "clientId" in given:
            row.client_id = data.clientId or None
        if "clientSecret" in given and data.clientSecret != MASK:
            row.client_secret = ctx.cipher.encrypt(data.clientSecret) if data.clientSecret else None
        _store_options(row, data, ctx)
        if row.provider == "generic":
            missing = [n for n in ("authorizationUrl", "tokenUrl", "imap") if not (row.options or {}).get(n)]
            if missing:
                raise InvalidRequest("a generic provider needs " + ", ".join(missing))
        row.last_error = None if given & {"clientId", "clientSecret", "serviceKey"} else row.last_error
        row.updated = utcnow()
        s.add(row)
        await s.commit()
    return OAuthAppUpdated(id=app_id, updated=True)


async def remove(ctx: Context, principal: Principal, app_id: str) -> OAuthAppDeleted:
    """Delete the application; accounts that used it stay, and fail to connect until moved."""
    principal.require_system()
    async with ctx.db.session() as s:
        row = await s.get(OAuthApp, app_id)
        if row is None:
            raise AppNotFound()
        accounts = await _count_accounts(s, app_id)
        await s.delete(row)
        await s.commit()
    return OAuthAppDeleted(id=app_id, deleted=True, accounts=accounts)


async def _count_accounts(s: Any, app_id: str) -> int:
    found = await s.exec(select(func.count()).select_from(Account).where(uses_app(app_id)))
    return int(found.one())


def _info(row: OAuthApp, accounts: int | None) -> OAuthAppInfo:
    options = dict(row.options or {})
    ends = oauth_presets.endpoints(row.provider, options)
    options["serviceKey"] = MASK if options.get("serviceKey") else None
    return OAuthAppInfo.model_validate(
        {
            **options,
            "id": row.id,
            "name": row.name,
            "provider": row.provider,
            "enabled": row.enabled,
            "created": iso(row.created),
            "updated": iso(row.updated),
            "clientId": row.client_id,
            "clientSecret": MASK if row.client_secret else None,
            "scopes": ends.scopes,
            "imap": ends.imap.settings() if ends.imap else None,
            "smtp": ends.smtp.settings() if ends.smtp else None,
            "authorizationUrl": ends.authorize_url,
            "tokenUrl": ends.token_url,
            "userInfoUrl": ends.userinfo_url,
            "accounts": accounts,
            "lastError": row.last_error,
        }
    )


async def get(ctx: Context, principal: Principal, app_id: str) -> OAuthAppInfo:
    principal.require_system()
    async with ctx.db.session() as s:
        row = await s.get(OAuthApp, app_id)
        if row is None:
            raise AppNotFound()
        return _info(row, await _count_accounts(s, app_id))


async def list_apps(ctx: Context, principal: Principal, query: PageQuery) -> OAuthAppList:
    principal.require_system()
    async with ctx.db.session() as s:
        total = int((await s.exec(select(func.count()).select_from(OAuthApp))).one())
        rows = (
            await s.exec(
                select(OAuthApp)
                .order_by(col(OAuthApp.created), col(OAuthApp.id))
                .offset(query.page * query.pageSize)
                .limit(query.pageSize)
            )
        ).all()
        provider = Account.oauth2["provider"].as_string()  # type: ignore[index]
        ids = [r.id for r in rows]
        counted = await s.exec(select(provider, func.count()).where(provider.in_(ids)).group_by(provider))
        counts = {str(app_id): int(n) for app_id, n in counted.all()}
        apps = [_info(r, counts.get(r.id, 0)) for r in rows]
    return OAuthAppList(total=total, page=query.page, pages=page_count(total, query.pageSize), apps=apps)


async def listed(ctx: Context) -> list[OAuthApp]:
    """Enabled consent applications to offer on the hosted form."""
    async with ctx.db.session() as s:
        rows = (await s.exec(select(OAuthApp).order_by(col(OAuthApp.created)))).all()
    return [
        r
        for r in rows
        if r.enabled
        and r.provider in oauth_presets.CONSENT_PROVIDERS
        and (r.options or {}).get("includeInListing") is not False
    ]


async def load(ctx: Context, app_id: str) -> OAuthApp:
    async with ctx.db.session() as s:
        row = await s.get(OAuthApp, app_id)
    if row is None:
        raise AppNotFound(f"OAuth2 application {app_id!r} was not found")
    return row


async def client(ctx: Context, row: OAuthApp) -> AppClient:
    """The application ready to talk to its provider."""
    if not row.enabled:
        raise AppDisabled(f"OAuth2 application {row.id!r} is disabled")
    options = row.options or {}
    redirect = options.get("redirectUrl")
    if not redirect:
        base = (await cached_settings(ctx)).service_url
        redirect = f"{base.rstrip('/')}{CALLBACK_PATH}" if base else None
    return AppClient(
        app_id=row.id,
        client_id=row.client_id or options.get("serviceClient") or "",
        client_secret=ctx.cipher.decrypt(row.client_secret) if row.client_secret else None,
        endpoints=oauth_presets.endpoints(row.provider, options),
        redirect_uri=redirect,
    )


async def record_error(ctx: Context, app_id: str, error: dict[str, Any] | None) -> None:
    async with ctx.db.session() as s:
        row = await s.get(OAuthApp, app_id)
        if row is not None and row.last_error != error:
            row.last_error = error
            s.add(row)
            await s.commit()
