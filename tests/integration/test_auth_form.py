"""The hosted sign-up form: a signed, expiring, single-use link that ends in an account, by
typed IMAP/SMTP settings (tested first) or through a provider's consent; and the token route."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx2
from sqlalchemy import update

from app.models import OAuthFlow
from app.models.base import utcnow
from tests.integration.conftest import Live
from tests.integration.test_oauth_accounts import make_app, register_with_tokens
from tests.servers.fixtures import ImapUser
from tests.servers.idp import OAUTH_CLIENT_ID, OAuthProvider
from tests.servers.smtp import SmtpSink

BACK = "https://app.example/done"


async def new_link(live: Live, **fields: object) -> str:
    r = await live.client.post(
        "/v1/authentication/form", json={"redirectUrl": BACK} | fields, headers=live.headers
    )
    assert r.status_code == 200, r.text
    url = str(r.json()["url"])
    assert url.startswith("http://mailgate.test/accounts/new?data=")
    return url.removeprefix("http://mailgate.test")


def hidden(page: str) -> dict[str, str]:
    return {m[0]: unescape(m[1]) for m in re.findall(r"name=(data|sig) value='([^']*)'", page)}


async def test_settings_path_tests_before_saving_and_uses_the_link_up(
    olive: Live, oauth_user: ImapUser, smtp_sink: SmtpSink
) -> None:
    link = await new_link(olive, name="From the form")
    page = await olive.client.get(link)  # no token: the signature is the authorization
    assert page.status_code == 200 and "Another provider" in page.text
    assert (
        page.headers["cache-control"] == "no-store"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    form = hidden(page.text) | {
        "provider": "imap",
        "email": oauth_user.email,
        "user": oauth_user.email,
        "password": "wrong-password",
        "imap_host": olive.dovecot.host,
        "imap_port": str(olive.dovecot.port),
        "smtp_host": smtp_sink.host,
        "smtp_port": str(smtp_sink.port),
    }
    bad = await olive.client.post(link.split("?")[0], data=form)
    assert bad.status_code == 400 and "IMAP:" in bad.text and "role=alert" in bad.text
    smtp_sink.users[oauth_user.email] = oauth_user.password
    good = await olive.client.post(link.split("?")[0], data=form | {"password": oauth_user.password})
    assert good.status_code == 302, good.text
    query = parse_qs(urlsplit(good.headers["location"]).query)
    assert good.headers["location"].startswith(BACK) and query["state"] == ["new"]
    info = await olive.wait_state(query["account"][0], "connected")
    assert info["name"] == "From the form" and info["email"] == oauth_user.email
    again = await olive.client.get(link)
    assert again.status_code == 400 and "already used" in again.text
    replay = await olive.client.post(link.split("?")[0], data=form | {"password": oauth_user.password})
    assert replay.status_code == 400


async def test_provider_path_ends_with_an_account(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    app = await make_app(olive, oauth_provider, title="Sign in with Local")
    oauth_provider.consent_user = oauth_user.email
    link = await new_link(olive, email=oauth_user.email, type=app)
    page = await olive.client.get(link)
    assert "Sign in with Local" in page.text and "Another provider" not in page.text
    started = await olive.client.post(link.split("?")[0], data=hidden(page.text) | {"provider": app})
    assert started.status_code == 302
    assert parse_qs(urlsplit(started.headers["location"]).query)["login_hint"] == [oauth_user.email]
    async with httpx2.AsyncClient(trust_env=False) as browser:
        consent = await browser.get(started.headers["location"])
    back = await olive.client.get(f"/oauth?{urlsplit(consent.headers['location']).query}")
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert back.status_code == 302 and query["state"] == ["new"]
    await olive.wait_state(query["account"][0], "connected")
    assert (await olive.client.get(link)).status_code == 400  # used up by the consent


async def test_forged_and_expired_links_are_refused(olive: Live) -> None:
    link = await new_link(olive)
    query = parse_qs(urlsplit(link).query)
    forged = await olive.client.get(
        "/accounts/new", params={"data": query["data"][0][:-2] + "xx", "sig": query["sig"][0]}
    )
    assert forged.status_code == 403 and "not valid" in forged.text
    unsigned = await olive.client.get("/accounts/new", params={"data": query["data"][0]})
    assert unsigned.status_code == 403
    async with olive.ctx.db.core() as s:
        await s.execute(update(OAuthFlow).values(expires=utcnow() - timedelta(seconds=1)))
        await s.commit()
    expired = await olive.client.get(link)
    assert expired.status_code == 400 and "expired" in expired.text
    r = await olive.client.post(
        "/v1/authentication/form", json={"type": "no-such-app"}, headers=olive.headers
    )
    assert r.status_code == 404


async def test_oauth_token_route(olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser) -> None:
    app = await make_app(olive, oauth_provider)
    minted = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID)
    account = await register_with_tokens(olive, app, oauth_user, minted, imap={"disabled": True})
    r = await olive.client.get(f"/v1/account/{account}/oauth-token", headers=olive.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accessToken"] == minted["access_token"] and body["cached"] is True
    assert body["user"] == oauth_user.email and body["app"] == app and body["provider"] == "generic"
    scoped = await olive.client.post(
        "/v1/token",
        json={"account": account, "description": "acct", "scopes": ["api"]},
        headers=olive.headers,
    )
    r = await olive.client.get(
        f"/v1/account/{account}/oauth-token", headers={"Authorization": f"Bearer {scoped.json()['token']}"}
    )
    assert r.status_code == 403
    await olive.client.post("/v1/settings", json={"enableOAuthTokensApi": False}, headers=olive.headers)
    r = await olive.client.get(f"/v1/account/{account}/oauth-token", headers=olive.headers)
    assert r.status_code == 403 and "enableOAuthTokensApi" in r.json()["error"]
