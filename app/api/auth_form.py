"""The hosted sign-up form: ``POST /v1/authentication/form`` makes a link; ``/accounts/new`` is
the page behind it. The page needs no token: the link's signature is the authorization."""

from __future__ import annotations

import html

from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.api.routing import Call, Router
from app.schemas.auth_form import AuthFormInput, AuthFormUrl, ImapFormInput
from app.schemas.common import QueryInput
from app.services import auth_form
from app.services.errors import ServiceError
from app.services.settings import cached as cached_settings

router = Router()
TAG = "Accounts"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # No form-action: the form's answer redirects to whichever provider the user picked.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
MAX_FORM = 16384
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
    "label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=email],input[type=password],"
    "input[type=number]{width:100%;padding:.4rem;box-sizing:border-box}"
    "button{margin:.3rem 0;padding:.5rem 1rem}"
    ".error{color:#b00020;border:1px solid #b00020;padding:.5rem}fieldset{margin:1rem 0}"
)


class FormLinkQuery(QueryInput):
    data: str | None = None
    sig: str | None = None


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        f"content='width=device-width,initial-scale=1'><meta name=robots content=noindex>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
        headers=HEADERS,
    )


def _hidden(link: auth_form.FormLink) -> str:
    return (
        f"<input type=hidden name=data value='{html.escape(link.data, quote=True)}'>"
        f"<input type=hidden name=sig value='{html.escape(link.sig, quote=True)}'>"
    )


def _field(name: str, label: str, kind: str = "text", value: str = "", extra: str = "") -> str:
    return (
        f"<label for={name}>{html.escape(label)}</label>"
        f"<input id={name} name={name} type={kind} value='{html.escape(value, quote=True)}' {extra}>"
    )


async def _form_page(
    call: Call, link: auth_form.FormLink, error: str | None = None, status: int = 200
) -> Response:
    parts = [f"<p class=error role=alert>{html.escape(error)}</p>" if error else ""]
    if link.only != "imap":
        for app in await auth_form.providers(call.ctx, link):
            label = html.escape(auth_form.provider_label(app))
            parts.append(
                f"<form method=post>{_hidden(link)}"
                f"<input type=hidden name=provider value='{html.escape(app.id, quote=True)}'>"
                f"<button type=submit>Sign in with {label}</button></form>"
            )
    if link.only in (None, "imap"):
        email = str(link.fields.get("email") or "")
        parts.append(
            f"<form method=post>{_hidden(link)}<input type=hidden name=provider value=imap>"
            "<fieldset><legend>Another provider (IMAP and SMTP)</legend>"
            + _field("email", "Email address", "email", email, "required")
            + _field("name", "Your name")
            + _field("user", "User name", value=email, extra="required autocomplete=username")
            + _field("password", "Password", "password", extra="required autocomplete=current-password")
            + _field("imap_host", "IMAP server", extra="required")
            + _field("imap_port", "IMAP port", "number", "993")
            + "<label><input type=checkbox name=imap_secure checked> IMAP uses TLS from the start</label>"
            + _field("smtp_host", "SMTP server (empty: same as IMAP)")
            + _field("smtp_port", "SMTP port", "number", "465")
            + "<label><input type=checkbox name=smtp_secure checked> SMTP uses TLS from the start</label>"
            + "<button type=submit>Test and add the account</button></fieldset></form>"
        )
    return _page("Add your mailbox", "".join(parts), status)


def _refused(exc: ServiceError) -> Response:
    return _page("This link cannot be used", f"<p>{html.escape(exc.message)}</p>", exc.status)


@router.post(
    "/v1/authentication/form", body=AuthFormInput, response=AuthFormUrl, tag=TAG, errors=(400, 403, 404)
)
async def make_link(call: Call) -> AuthFormUrl:
    """A signed, single-use link (valid for 24 hours) to the hosted sign-up form."""
    base = (await cached_settings(call.ctx)).service_url or str(call.request.base_url)
    return await auth_form.create(call.ctx, call.principal, call.body, base)


@router.get(
    auth_form.PATH, query=FormLinkQuery, scope=None, tag=TAG, media_type="text/html", errors=(400, 403)
)
async def show_form(call: Call) -> Response:
    """The sign-up page: the offered providers, and a settings form for any other mailbox."""
    try:
        link = await auth_form.open_link(call.ctx, call.query.data, call.query.sig)
    except ServiceError as exc:
        return _refused(exc)
    return await _form_page(call, link)


@router.post(auth_form.PATH, scope=None, tag=TAG, status=302, media_type="text/html", errors=(400, 403, 413))
async def submit_form(call: Call) -> Response:
    """The page's answer: a provider's consent, or settings to test and register."""
    if int(call.request.headers.get("content-length") or 0) > MAX_FORM:
        return _page("Too much data", "<p>The form is too large.</p>", 413)
    form = {k: v for k, v in (await call.request.form()).items() if isinstance(v, str) and v != ""}
    try:
        link = await auth_form.open_link(call.ctx, form.pop("data", None), form.pop("sig", None))
    except ServiceError as exc:
        return _refused(exc)
    provider = form.pop("provider", "imap")
    try:
        if provider != "imap":
            return RedirectResponse(
                await auth_form.start_oauth(call.ctx, link, provider), 302, headers=HEADERS
            )
        try:
            fields = ImapFormInput.model_validate(form)
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            return await _form_page(call, link, problems, 400)
        outcome = await auth_form.submit_imap(call.ctx, link, fields)
    except auth_form.FormRejected as exc:
        return await _form_page(call, link, exc.message, 400)
    except ServiceError as exc:
        return _refused(exc)
    if outcome.redirect:
        return RedirectResponse(outcome.redirect, 302, headers=HEADERS)
    return _page(
        "Account added", f"<p>{html.escape(str(outcome.account))} is registered. You may close this page.</p>"
    )
