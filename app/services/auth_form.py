"""The hosted sign-up form: a signed, expiring, single-use link an application hands to its end
user, who picks an OAuth2 provider (or types IMAP/SMTP settings, tested before saving) and ends
with a registered account, without ever holding an API token."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from app.mail import probe
from app.models import OAuthApp
from app.schemas.accounts import AccountCreate
from app.schemas.auth_form import AuthFormInput, AuthFormUrl, ImapFormInput
from app.services import accounts, oauth_apps, oauth_consent, oauth_flows, signing
from app.services.context import Context
from app.services.errors import InvalidRequest, ServiceError
from app.services.oauth_callback import FORM_KIND, Outcome, back_to
from app.services.principal import OPERATOR, Principal

PATH = "/accounts/new"
TTL = timedelta(hours=24)
#: Fields of the link that become account fields.
ACCOUNT_FIELDS = ("account", "name", "email", "expectedEmail", "notifyFrom", "subconnections", "path")


class BadFormLink(ServiceError):
    status, code = 403, "InvalidSignature"
    message = "This sign-up link is not valid: it was changed or not made by this instance"


class FormRejected(InvalidRequest):
    """Settings the user typed did not work; the page shows the message and the form again."""

    code = "VerificationFailed"


@dataclass(frozen=True)
class FormLink:
    nonce: str
    fields: dict[str, Any]
    data: str
    sig: str

    @property
    def redirect_url(self) -> str | None:
        value = self.fields.get("redirectUrl")
        return str(value) if value else None

    @property
    def only(self) -> str | None:
        """The provider the link was made for (``type``): an app id or ``imap``."""
        value = self.fields.get("type")
        return str(value) if value else None


async def create(ctx: Context, principal: Principal, data: AuthFormInput, base_url: str) -> AuthFormUrl:
    principal.require_system()
    if data.type and data.type != "imap":
        await oauth_apps.load(ctx, data.type)
    nonce = secrets.token_urlsafe(18)
    fields = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    payload = {"n": nonce, "x": int(time.time() + TTL.total_seconds()), "f": fields}
    await oauth_flows.save(ctx, nonce, FORM_KIND, {}, TTL)
    packed, sig = signing.pack(ctx, FORM_KIND, payload)
    return AuthFormUrl(url=f"{base_url.rstrip('/')}{PATH}?{urlencode({'data': packed, 'sig': sig})}")


async def open_link(ctx: Context, data: str | None, sig: str | None) -> FormLink:
    """The link's request if it verifies, has not expired and was not used yet."""
    if (
        not data
        or not sig
        or len(data) > 16384
        or len(sig) > 64
        or not signing.valid(ctx, FORM_KIND, data, sig)
    ):
        raise BadFormLink()
    try:
        payload = signing.unpack(data)
    except ValueError:
        raise BadFormLink() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("f"), dict):
        raise BadFormLink()
    if int(payload.get("x") or 0) < time.time():
        raise oauth_flows.FlowExpired("This sign-up link has expired")
    await oauth_flows.peek(ctx, str(payload.get("n")), FORM_KIND)
    return FormLink(str(payload["n"]), payload["f"], data, sig)


async def providers(ctx: Context, link: FormLink) -> list[OAuthApp]:
    apps = await oauth_apps.listed(ctx)
    if link.only and link.only != "imap":
        apps = [a for a in apps if a.id == link.only]
    return apps


def _account(link: FormLink, extra: dict[str, Any]) -> AccountCreate:
    fields = {k: v for k, v in link.fields.items() if k in ACCOUNT_FIELDS}
    fields.setdefault("account", None)
    fields.update(extra)
    fields.setdefault("name", fields.get("email") or "Mailbox")
    try:
        return AccountCreate.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise FormRejected(problems) from None


async def start_oauth(ctx: Context, link: FormLink, app_id: str) -> str:
    """The consent URL for the provider the user picked; the link is used up when it finishes."""
    if not any(a.id == app_id for a in await providers(ctx, link)):
        raise InvalidRequest("That provider is not offered here")
    oauth = {"provider": app_id, "authorize": True, "redirectUrl": link.redirect_url}
    if link.fields.get("email"):
        oauth["auth"] = {"user": link.fields["email"]}
    data = _account(link, {"oauth2": oauth, "imap": None})
    return await oauth_consent.start(ctx, data, form=link.nonce)


async def submit_imap(ctx: Context, link: FormLink, form: ImapFormInput) -> Outcome:
    """Test the typed settings, then register the account and use the link up."""
    if link.only and link.only != "imap":
        raise InvalidRequest("This link is for signing in with a provider")
    imap = {"host": form.imap_host, "port": form.imap_port, "secure": form.imap_secure,
            "auth": {"user": form.user, "pass": form.password}}  # fmt: skip
    smtp = {"host": form.smtp_host or form.imap_host, "port": form.smtp_port, "secure": form.smtp_secure,
            "auth": {"user": form.user, "pass": form.password}}  # fmt: skip
    imap_ok, _ = await probe.check_imap(imap)
    if not imap_ok.success:
        raise FormRejected(f"IMAP: {imap_ok.error}")
    smtp_ok = await probe.check_smtp(smtp)
    if not smtp_ok.success:
        raise FormRejected(f"SMTP: {smtp_ok.error}")
    extra: dict[str, Any] = {"email": link.fields.get("email") or form.email, "imap": imap, "smtp": smtp}
    if form.name:
        extra["name"] = form.name
    data = _account(link, extra)
    await oauth_flows.take(ctx, link.nonce, FORM_KIND)
    result = await accounts.register(ctx, OPERATOR, data)
    redirect = back_to(link.redirect_url, account=result.account, state=result.state)
    return Outcome(redirect, account=result.account, state=result.state)


def provider_label(app: OAuthApp) -> str:
    title = (app.options or {}).get("title")
    if title:
        return str(title)
    names = {"gmail": "Gmail", "outlook": "Outlook / Microsoft 365", "mailRu": "Mail.ru"}
    return names.get(app.provider) or app.name
