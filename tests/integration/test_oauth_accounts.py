"""OAuth2 accounts end to end: a local OAuth2 provider, a Dovecot that introspects its tokens and
an SMTP sink that checks XOAUTH2 against it. Nothing here reaches Google or Microsoft."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

from app.models import Account
from app.services import oauth_tokens
from tests.integration.conftest import Live
from tests.integration.test_sending import Outbox
from tests.servers.fixtures import ImapUser
from tests.servers.idp import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthProvider
from tests.servers.smtp import SmtpSink

REDIRECT = "https://app.example/after"


async def make_app(live: Live, provider: OAuthProvider, sink: SmtpSink | None = None, **extra: Any) -> str:
    body = {
        "name": "Local IdP",
        "provider": "generic",
        "clientId": OAUTH_CLIENT_ID,
        "clientSecret": OAUTH_CLIENT_SECRET,
        "authorizationUrl": provider.authorize_url,
        "tokenUrl": provider.token_url,
        "userInfoUrl": provider.userinfo_url,
        "scopes": ["openid", "email", "mail"],
        "imap": {"host": live.dovecot.host, "port": live.dovecot.port, "secure": False},
        "redirectUrl": "http://mailgate.test/oauth",
    } | extra
    if sink is not None:
        body["smtp"] = {"host": sink.host, "port": sink.port, "secure": False}
    r = await live.client.post("/v1/oauth2", json=body, headers=live.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def register_with_tokens(
    live: Live, app: str, oauth_user: ImapUser, tokens: dict[str, Any], **extra: Any
) -> str:
    expires = datetime.now(UTC) + timedelta(seconds=int(tokens["expires_in"]))
    body = {
        "account": "oa",
        "name": "OAuth",
        "email": oauth_user.email,
        "oauth2": {
            "provider": app,
            "auth": {"user": oauth_user.email},
            "accessToken": tokens["access_token"],
            "refreshToken": tokens["refresh_token"],
            "expires": expires.isoformat(),
        },
    } | extra
    r = await live.client.post("/v1/account", json=body, headers=live.headers)
    assert r.status_code == 200, r.text
    return "oa"


async def stored_oauth(live: Live, account: str) -> dict[str, Any]:
    async with live.ctx.db.session() as s:
        row = await s.get(Account, account)
    assert row is not None and row.oauth2 is not None
    return dict(row.oauth2)


async def consent(live: Live, body: dict[str, Any]) -> httpx2.Response:
    """Start a consent over the API, let the provider consent (it does without a login page),
    and deliver its redirect to /oauth as the browser would."""
    r = await live.client.post("/v1/account", json=body, headers=live.headers)
    assert r.status_code == 200, r.text
    redirect = r.json()["redirect"]
    async with httpx2.AsyncClient(trust_env=False) as browser:
        at_provider = await browser.get(redirect)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.netloc == "mailgate.test" and back.path == "/oauth"
    return await live.client.get(f"/oauth?{back.query}")


async def test_consent_round_trip_with_pkce_registers_and_connects(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    app = await make_app(olive, oauth_provider)
    oauth_provider.consent_user = oauth_user.email
    body = {
        "account": None,
        "name": "Via consent",
        "oauth2": {"provider": app, "authorize": True, "redirectUrl": REDIRECT},
    }
    done = await consent(olive, body)
    asked = oauth_provider.last_authorize or {}
    assert asked.get("code_challenge_method") == "S256" and len(asked.get("code_challenge", "")) >= 43
    assert asked.get("redirect_uri") == "http://mailgate.test/oauth"
    assert done.status_code == 302, done.text
    target = urlsplit(done.headers["location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT and query["state"] == ["new"]
    account = query["account"][0]
    info = await olive.wait_state(account, "connected")
    assert info["email"] == oauth_user.email and info["oauth2"]["auth"]["user"] == oauth_user.email
    assert info["oauth2"]["accessToken"] == "******" and info["oauth2"]["refreshToken"] == "******"
    stored = await stored_oauth(olive, account)
    assert stored["accessToken"].startswith("$mg1$") and stored["refreshToken"].startswith("$mg1$")
    # The same oauth_user signing in again updates that account instead of adding another.
    again = await consent(olive, body)
    assert parse_qs(urlsplit(again.headers["location"]).query)["state"] == ["existing"]
    # The state is single-use: replaying the provider's answer is refused.
    replay = await olive.client.get(f"/oauth?state={asked['state']}&code=whatever")
    assert replay.status_code == 400 and "expired or was already used" in replay.text


async def test_consent_denied_and_wrong_user_come_back_as_errors(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    app = await make_app(olive, oauth_provider)
    oauth_provider.consent = "deny"
    body = {
        "account": "x",
        "name": "X",
        "oauth2": {"provider": app, "authorize": True, "redirectUrl": REDIRECT},
    }
    denied = await consent(olive, body)
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]
    oauth_provider.consent = "allow"
    oauth_provider.consent_user = oauth_user.email
    wrong = await consent(olive, body | {"expectedEmail": "someone.else@example.com"})
    query = parse_qs(urlsplit(wrong.headers["location"]).query)
    assert query["error"] == ["unexpected_user"] and oauth_user.email in query["error_description"][0]
    r = await olive.client.get("/v1/account/x", headers=olive.headers)
    assert r.status_code == 404


async def test_tokens_connect_imap_and_send_over_smtp_with_xoauth2(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser, smtp_sink_oauth: SmtpSink
) -> None:
    app = await make_app(olive, oauth_provider, smtp_sink_oauth)
    minted = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID)
    account = await register_with_tokens(olive, app, oauth_user, minted, logs=True)
    await olive.wait_state(account, "connected")
    log = (await olive.client.get(f"/v1/logs/{account}", headers=olive.headers)).text
    assert "AUTHENTICATE OAUTHBEARER" in log and minted["access_token"] not in log  # Dovecot offers it
    outbox = Outbox(olive, smtp_sink_oauth, oauth_user)
    await outbox.start()
    try:
        await _send_one(olive, oauth_provider, oauth_user, smtp_sink_oauth, account)
    finally:
        await outbox.stop()


async def _send_one(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser, sink: SmtpSink, account: str
) -> None:
    r = await olive.client.post(
        f"/v1/account/{account}/submit",
        json={"to": [{"address": "rcpt@example.net"}], "subject": "via xoauth2", "text": "hello"},
        headers=olive.headers,
    )
    assert r.status_code == 200, r.text
    queue_id = r.json()["queueId"]
    try:
        [received] = await sink.wait_for(1, timeout=15)
    except TimeoutError:
        raise AssertionError(await olive.get(f"/v1/outbox/{queue_id}")) from None
    assert received.auth_login == oauth_user.email and b"via xoauth2" in received.data
    assert oauth_provider.refresh_count(oauth_user.email) == 0  # the token was fresh: nothing refreshed
    # A server that also offers OAUTHBEARER gets that instead.
    sink.oauthbearer = True
    r = await olive.client.post(
        f"/v1/account/{account}/submit",
        json={"to": [{"address": "rcpt@example.net"}], "subject": "via oauthbearer", "text": "hello"},
        headers=olive.headers,
    )
    assert r.status_code == 200, r.text
    second = (await sink.wait_for(2, timeout=15))[1]
    assert second.auth_login == oauth_user.email and b"via oauthbearer" in second.data
    log = (await olive.client.get(f"/v1/logs/{account}", headers=olive.headers)).text
    assert "AUTH OAUTHBEARER" in log and "AUTH XOAUTH2" in log


async def test_token_about_to_expire_is_refreshed_and_rotation_stored(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    app = await make_app(olive, oauth_provider)
    minted = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID, lifetime=60)  # inside the refresh margin
    account = await register_with_tokens(olive, app, oauth_user, minted)
    await olive.wait_state(account, "connected")
    assert oauth_provider.refresh_count(oauth_user.email) >= 1
    stored = await stored_oauth(olive, account)
    assert olive.ctx.cipher.decrypt(stored["refreshToken"]) != minted["refresh_token"]  # rotated, kept
    assert olive.ctx.cipher.decrypt(stored["accessToken"]) != minted["access_token"]


async def test_rejected_token_is_refreshed_once_and_the_account_connects(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    app = await make_app(olive, oauth_provider)
    minted = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID)
    oauth_provider.expire_access_tokens(oauth_user.email)  # looks valid for an hour, but the server says no
    account = await register_with_tokens(olive, app, oauth_user, minted)
    await olive.wait_state(account, "connected", timeout=30)
    assert oauth_provider.refresh_count(oauth_user.email) == 1


async def test_failed_refresh_is_an_authentication_error_until_new_tokens(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    app = await make_app(olive, oauth_provider)
    minted = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID)
    oauth_provider.revoke(oauth_user.email)  # consent withdrawn: access and refresh token both dead
    account = await register_with_tokens(olive, app, oauth_user, minted)
    info = await olive.wait_state(account, "authenticationError", timeout=30)
    assert "invalid_grant" in info["lastError"]["response"]
    assert info["lastError"]["serverResponseCode"] == "OauthRenewError"
    assert minted["refresh_token"] not in str(info)
    await olive.wait_event(account, "authenticationError")
    fresh = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID)
    r = await olive.client.put(
        f"/v1/account/{account}",
        json={
            "oauth2": {
                "partial": True,
                "accessToken": fresh["access_token"],
                "refreshToken": fresh["refresh_token"],
            }
        },
        headers=olive.headers,
    )
    assert r.status_code == 200, r.text
    await olive.wait_state(account, "connected", timeout=30)


async def test_one_refresh_when_two_processes_need_one_at_once(
    olive: Live, oauth_provider: OAuthProvider, oauth_user: ImapUser
) -> None:
    """This process and a second Python process on the same database need a new token at the
    same moment: the provider sees one refresh, and both get its token."""
    app = await make_app(olive, oauth_provider)
    minted = oauth_provider.mint(oauth_user.email, OAUTH_CLIENT_ID)
    account = await register_with_tokens(olive, app, oauth_user, minted, imap={"disabled": True})
    oauth_provider.hold_token_requests()
    here = asyncio.create_task(oauth_tokens.access_token(olive.ctx, account, rejected=minted["access_token"]))
    await oauth_provider.wait_token_requests_waiting(1)
    other = await asyncio.create_subprocess_exec(
        *_second_process(olive, account, minted["access_token"]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert other.stderr is not None
    seen: list[str] = []
    async with asyncio.timeout(30):  # the second process logs when it finds the refresh taken
        while not any("another process is refreshing" in line for line in seen):
            line = (await other.stderr.readline()).decode()
            assert line, f"the second process ended: {seen}"
            seen.append(line)
    assert oauth_provider.waiting_token_requests == 1
    oauth_provider.release_token_requests()
    token = await asyncio.wait_for(here, 20)
    out, _ = await asyncio.wait_for(other.communicate(), 30)
    assert other.returncode == 0
    assert out.decode().strip() == token.value and token.value != minted["access_token"]
    assert oauth_provider.refresh_count(oauth_user.email) == 1


def _second_process(live: Live, account: str, rejected: str) -> list[str]:
    s = live.ctx.settings
    settings = (
        f"Settings(data_dir=Path({str(s.data_dir)!r}), database_url={s.database_url!r}, "
        f"secret={s.secret!r}, auto_migrate=False, lease_seconds={s.lease_seconds!r})"
    )
    code = (
        "import asyncio, logging, sys\n"
        "from pathlib import Path\n"
        "from app.config import Settings\n"
        "from app.services.context import Context\n"
        "from app.services import oauth_tokens\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "async def main():\n"
        f"    ctx = Context.from_settings({settings})\n"
        f"    token = await oauth_tokens.access_token(ctx, {account!r}, rejected={rejected!r})\n"
        "    print(token.value, flush=True)\n"
        "    await ctx.close()\n"
        "asyncio.run(main())\n"
    )
    return [sys.executable, "-c", code]
