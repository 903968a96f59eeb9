"""The local OAuth2/OIDC provider, proven with the clients Mailgate uses: authlib over real
sockets, Dovecot's oauth2 passdb (via aioimaplib and ImapConnection) and aiosmtplib."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiosmtplib
import httpx2
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from app.mail.imap import AuthenticationFailed, ImapConnection
from tests.integration.conftest import make_message
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.idp import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthProvider
from tests.servers.smtp import SmtpSink

REDIRECT = "http://127.0.0.1:9/oauth/callback"  # never fetched: the test reads the Location header


@pytest.fixture
def user(oauth_provider: OAuthProvider) -> str:
    email = f"user-{generate_token(8).lower()}@example.com"
    oauth_provider.add_user(email, "Test User")
    return email


def oauth_client(provider: OAuthProvider, **kwargs: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=kwargs.pop("client_id", OAUTH_CLIENT_ID),
        client_secret=kwargs.pop("client_secret", OAUTH_CLIENT_SECRET),
        scope="openid email offline_access",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint=provider.token_url,
        trust_env=False,
        timeout=10,
        **kwargs,
    )


@pytest.fixture
async def browser() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(trust_env=False, timeout=10) as client:
        yield client


async def consent(browser: httpx2.AsyncClient, url: str) -> dict[str, str]:
    """Follow /authorize like a browser would, up to the redirect back to the app."""
    response = await browser.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()} | {"url": location}


async def code_flow(
    provider: OAuthProvider, browser: httpx2.AsyncClient, client: AsyncOAuth2Client, user: str
) -> dict[str, Any]:
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        provider.authorize_url, code_verifier=verifier, login_hint=user
    )
    back = await consent(browser, url)
    assert back["state"] == state
    token: dict[str, Any] = await client.fetch_token(
        provider.token_url, authorization_response=back["url"], code_verifier=verifier
    )
    return token


# ---------------------------------------------------------------------- protocol
async def test_discovery_names_every_endpoint(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient
) -> None:
    config = (await browser.get(f"{oauth_provider.base_url}/.well-known/openid-configuration")).json()
    assert config["issuer"] == oauth_provider.base_url
    assert config["authorization_endpoint"] == oauth_provider.authorize_url
    assert config["token_endpoint"] == oauth_provider.token_url
    assert config["userinfo_endpoint"] == oauth_provider.userinfo_url
    assert config["introspection_endpoint"] == oauth_provider.introspection_url
    assert config["revocation_endpoint"] == oauth_provider.revocation_url
    assert "S256" in config["code_challenge_methods_supported"]


async def test_code_flow_with_pkce_then_userinfo_and_rotating_refresh(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient, user: str
) -> None:
    saved: list[dict[str, Any]] = []

    async def update_token(token: dict[str, Any], refresh_token: str | None = None, **_: Any) -> None:
        saved.append(dict(token))

    async with oauth_client(oauth_provider, update_token=update_token) as client:
        token = await code_flow(oauth_provider, browser, client, user)
        assert oauth_provider.last_authorize is not None
        assert oauth_provider.last_authorize["code_challenge_method"] == "S256"
        assert oauth_provider.last_authorize["login_hint"] == user
        assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600
        assert token["refresh_token"] and token["scope"] == "openid email offline_access"

        # the id_token is signed with the key published at jwks_uri and names the user
        keys = KeySet.import_key_set((await browser.get(f"{oauth_provider.base_url}/jwks")).json())
        claims = jwt.decode(token["id_token"], keys).claims
        assert claims["email"] == user and claims["aud"] == OAUTH_CLIENT_ID
        assert claims["iss"] == oauth_provider.issuer

        profile = (await client.get(oauth_provider.userinfo_url)).json()
        assert profile == {"sub": claims["sub"], "email": user, "email_verified": True, "name": "Test User"}

        # an expired token makes authlib refresh by itself; the refresh token rotates
        first_refresh = token["refresh_token"]
        client.token["expires_at"] = 0
        assert (await client.get(oauth_provider.userinfo_url)).status_code == 200
        assert len(saved) == 1 and saved[0]["refresh_token"] != first_refresh
        assert oauth_provider.refresh_count(user) == 1
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(oauth_provider.token_url, refresh_token=first_refresh)
        assert err.value.error == "invalid_grant"
        fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=saved[0]["refresh_token"])
        assert fresh["access_token"] != saved[0]["access_token"]

    assert [g["grant_type"] for g in oauth_provider.grants] == [
        "authorization_code",
        "refresh_token",
        "refresh_token",
    ]
    assert {g["user"] for g in oauth_provider.grants} == {user}
    assert oauth_provider.refresh_count(user) == 2


async def test_code_is_single_use_and_bound_to_verifier_and_redirect(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient, user: str
) -> None:
    async with oauth_client(oauth_provider) as client:
        verifier = generate_token(48)
        url, _ = client.create_authorization_url(oauth_provider.authorize_url, code_verifier=verifier)
        back = await consent(browser, url)
        with pytest.raises(OAuthError) as err:
            await client.fetch_token(
                oauth_provider.token_url, code=back["code"], code_verifier=generate_token(48)
            )
        assert err.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as err:  # the failed attempt used the code up
            await client.fetch_token(oauth_provider.token_url, code=back["code"], code_verifier=verifier)
        assert err.value.error == "invalid_grant"

        back = await consent(browser, client.create_authorization_url(oauth_provider.authorize_url)[0])
        with pytest.raises(
            OAuthError
        ) as err:  # no verifier is fine without a challenge, another redirect_uri is not
            await client.fetch_token(oauth_provider.token_url, code=back["code"], redirect_uri=REDIRECT + "x")
        assert err.value.error == "invalid_grant"
    assert oauth_provider.grants == []


async def test_client_authentication(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient, user: str
) -> None:
    token = oauth_provider.mint(user, OAUTH_CLIENT_ID)
    for method in ("client_secret_basic", "client_secret_post"):
        async with oauth_client(oauth_provider, token_endpoint_auth_method=method) as client:
            fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
            token = fresh
        async with oauth_client(
            oauth_provider, client_secret="wrong", token_endpoint_auth_method=method
        ) as bad:
            with pytest.raises(OAuthError) as err:
                await bad.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
            assert err.value.error == "invalid_client"
    response = await browser.post(
        oauth_provider.token_url,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert oauth_provider.refresh_count(user) == 2

    unknown = await browser.get(
        oauth_provider.authorize_url, params={"client_id": "nobody", "redirect_uri": REDIRECT}
    )
    assert unknown.status_code == 400 and "location" not in unknown.headers


async def test_public_clients_and_client_credentials(oauth_provider: OAuthProvider, user: str) -> None:
    oauth_provider.add_client("public-app", "")  # no secret: the client_id alone authenticates
    token = oauth_provider.mint(user, "public-app")
    async with oauth_client(
        oauth_provider, client_id="public-app", client_secret=None, token_endpoint_auth_method="none"
    ) as client:
        fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
    assert oauth_provider.introspect(fresh["access_token"])["client_id"] == "public-app"
    async with oauth_client(oauth_provider) as client:  # a token of the app itself, for no user
        service = await client.fetch_token(oauth_provider.token_url, grant_type="client_credentials")
    assert "refresh_token" not in service and "id_token" not in service
    assert oauth_provider.introspect(service["access_token"])["username"] == ""
    assert [g["grant_type"] for g in oauth_provider.grants] == ["refresh_token", "client_credentials"]


async def test_denied_consent_redirects_with_access_denied(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient, user: str
) -> None:
    oauth_provider.consent = "deny"
    async with oauth_client(oauth_provider) as client:
        url, state = client.create_authorization_url(
            oauth_provider.authorize_url, code_verifier=generate_token(48)
        )
    back = await consent(browser, url)
    assert back["error"] == "access_denied" and back["state"] == state and "code" not in back


async def test_consent_user_and_login_hint_choose_who_logs_in(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient, user: str
) -> None:
    other = f"other-{generate_token(8).lower()}@example.com"
    oauth_provider.add_user(other)
    async with oauth_client(oauth_provider) as client:
        assert (await code_flow(oauth_provider, browser, client, other))["access_token"]
        oauth_provider.consent_user = user
        token = await code_flow(oauth_provider, browser, client, other)
    assert oauth_provider.introspect(token["access_token"])["username"] == user
    assert [g["user"] for g in oauth_provider.grants] == [other, user]


async def test_fail_token_requests_then_recover(oauth_provider: OAuthProvider, user: str) -> None:
    token = oauth_provider.mint(user, OAUTH_CLIENT_ID)
    oauth_provider.fail_token_requests(1)
    oauth_provider.fail_token_requests(1, status=400, error="invalid_grant")
    async with oauth_client(oauth_provider) as client:
        with pytest.raises(httpx2.HTTPStatusError) as server_error:
            await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
        assert server_error.value.response.status_code == 500
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
        assert err.value.error == "invalid_grant"
        assert oauth_provider.refresh_count(user) == 0
        # failures do not touch the tokens: the same refresh token still works afterwards
        fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
    assert fresh["refresh_token"] != token["refresh_token"] and oauth_provider.refresh_count(user) == 1


async def test_held_refreshes_overlap_and_only_one_wins_the_rotation(
    oauth_provider: OAuthProvider, user: str
) -> None:
    token = oauth_provider.mint(user, OAUTH_CLIENT_ID)
    oauth_provider.hold_token_requests()

    async def refresh() -> dict[str, Any] | OAuthError:
        async with oauth_client(oauth_provider) as client:
            try:
                answer: dict[str, Any] = await client.refresh_token(
                    oauth_provider.token_url, refresh_token=token["refresh_token"]
                )
                return answer
            except OAuthError as exc:
                return exc

    both = asyncio.gather(refresh(), refresh())
    await oauth_provider.wait_token_requests_waiting(2)
    assert not both.done() and oauth_provider.grants == []
    oauth_provider.release_token_requests()
    results = await asyncio.wait_for(both, 10)
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, OAuthError)]
    assert len(winners) == 1 and len(losers) == 1 and losers[0].error == "invalid_grant"
    assert oauth_provider.waiting_token_requests == 0 and oauth_provider.refresh_count(user) == 1


async def test_without_rotation_the_refresh_token_stays(oauth_provider: OAuthProvider, user: str) -> None:
    oauth_provider.rotate_refresh_tokens = False
    oauth_provider.access_token_lifetime = 120
    token = oauth_provider.mint(user, OAUTH_CLIENT_ID)
    async with oauth_client(oauth_provider) as client:
        for _ in range(2):
            fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
            assert "refresh_token" not in fresh or fresh["refresh_token"] == token["refresh_token"]
            assert fresh["expires_in"] == 120
    assert oauth_provider.refresh_count(user) == 2


async def test_introspection_userinfo_expiry_and_revocation(
    oauth_provider: OAuthProvider, browser: httpx2.AsyncClient, user: str
) -> None:
    token = oauth_provider.mint(user, OAUTH_CLIENT_ID, lifetime=600)
    access = token["access_token"]
    answer = (await browser.post(oauth_provider.introspection_url, data={"token": access})).json()
    assert answer == oauth_provider.introspect(access)
    assert answer["active"] is True and answer["username"] == user and answer["client_id"] == OAUTH_CLIENT_ID
    basic = (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET)
    authed = await browser.post(oauth_provider.introspection_url, data={"token": access}, auth=basic)
    assert authed.json()["active"] is True
    wrong = await browser.post(
        oauth_provider.introspection_url, data={"token": access}, auth=(OAUTH_CLIENT_ID, "x")
    )
    assert wrong.status_code == 401
    bearer = {"Authorization": f"Bearer {access}"}
    assert (await browser.get(oauth_provider.userinfo_url, headers=bearer)).json()["email"] == user

    oauth_provider.expire_access_tokens(user)
    assert oauth_provider.introspect(access) == {"active": False}
    assert (await browser.get(oauth_provider.userinfo_url, headers=bearer)).status_code == 401
    async with oauth_client(oauth_provider) as client:  # the refresh token still works
        fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
        assert oauth_provider.introspect(fresh["access_token"])["active"] is True
        oauth_provider.revoke(user)
        assert oauth_provider.introspect(fresh["access_token"]) == {"active": False}
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(oauth_provider.token_url, refresh_token=fresh["refresh_token"])
        assert err.value.error == "invalid_grant"

    single = oauth_provider.mint(user, OAUTH_CLIENT_ID)  # RFC 7009: one token at a time
    assert (
        await browser.post(oauth_provider.revocation_url, data={"token": single["access_token"]})
    ).is_success
    assert oauth_provider.introspect(single["access_token"]) == {"active": False}
    assert (await browser.post(oauth_provider.introspection_url, data={"token": "nonsense"})).json() == {
        "active": False
    }


# ----------------------------------------------------------------- mail servers
def imap(dovecot: Dovecot, user: str, token: str) -> ImapConnection:
    return ImapConnection(
        {"host": dovecot.host, "port": dovecot.port, "auth": {"user": user, "accessToken": token}}, timeout=10
    )


async def test_dovecot_takes_minted_tokens_and_refuses_dead_ones(
    dovecot_oauth: Dovecot, oauth_provider: OAuthProvider
) -> None:
    email, password = dovecot_oauth.fresh_user()
    oauth_provider.add_user(email)
    await append_messages(
        dovecot_oauth.host, dovecot_oauth.port, email, password, "INBOX", [make_message("hi")]
    )
    token = oauth_provider.mint(email, OAUTH_CLIENT_ID)

    conn = imap(dovecot_oauth, email, token["access_token"])
    await conn.open()
    assert (await conn.select("INBOX", readonly=True)).exists == 1  # the password user's own mailbox
    await conn.logout()

    other, _ = dovecot_oauth.fresh_user()  # a live token of someone else is no good
    with pytest.raises(AuthenticationFailed):
        await imap(dovecot_oauth, other, token["access_token"]).open()

    oauth_provider.expire_access_tokens(email)
    with pytest.raises(AuthenticationFailed):
        await imap(dovecot_oauth, email, token["access_token"]).open()

    async with oauth_client(oauth_provider) as client:
        fresh = await client.refresh_token(oauth_provider.token_url, refresh_token=token["refresh_token"])
    conn = imap(dovecot_oauth, email, fresh["access_token"])
    await conn.open()
    await conn.logout()
    oauth_provider.revoke(email)
    with pytest.raises(AuthenticationFailed):
        await imap(dovecot_oauth, email, fresh["access_token"]).open()


async def test_dovecot_takes_oauthbearer_too(dovecot_oauth: Dovecot, oauth_provider: OAuthProvider) -> None:
    """RFC 7628 OAUTHBEARER, which aioimaplib lacks, spoken over a plain socket."""
    email, _ = dovecot_oauth.fresh_user()
    oauth_provider.add_user(email)
    token = oauth_provider.mint(email, OAUTH_CLIENT_ID)["access_token"]

    async def authenticate(access_token: str) -> bytes:
        reader, writer = await asyncio.open_connection(dovecot_oauth.host, dovecot_oauth.port)
        try:
            await asyncio.wait_for(reader.readline(), 10)  # greeting
            gs2 = f"n,a={email},\x01host={dovecot_oauth.host}\x01port={dovecot_oauth.port}\x01"
            blob = base64.b64encode(f"{gs2}auth=Bearer {access_token}\x01\x01".encode()).decode()
            writer.write(f"a1 AUTHENTICATE OAUTHBEARER {blob}\r\n".encode())
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if line.startswith(b"+"):  # the error challenge: answer with the dummy ^A
                    writer.write(b"AQ==\r\n")
                elif line.startswith(b"a1 ") or not line:
                    return line
        finally:
            writer.close()

    assert (await authenticate(token)).startswith(b"a1 OK")
    oauth_provider.expire_access_tokens(email)
    assert (await authenticate(token)).startswith(b"a1 NO")


async def test_smtp_sink_checks_xoauth2_against_the_provider(
    smtp_sink_oauth: SmtpSink, oauth_provider: OAuthProvider, user: str
) -> None:
    token = oauth_provider.mint(user, OAUTH_CLIENT_ID)["access_token"]
    kw: dict[str, Any] = {"hostname": smtp_sink_oauth.host, "port": smtp_sink_oauth.port, "start_tls": False}
    async with aiosmtplib.SMTP(**kw) as smtp:
        await smtp.auth_xoauth2(user, token)
        await smtp.sendmail(user, ["rcpt@example.com"], make_message("via xoauth2"))
    received = await smtp_sink_oauth.wait_for(1)
    assert received[0].auth_login == user

    other = f"other-{generate_token(8).lower()}@example.com"
    for who, what in ((user, "bad-token"), (other, token)):
        async with aiosmtplib.SMTP(**kw) as smtp:
            with pytest.raises(aiosmtplib.SMTPAuthenticationError) as err:
                await smtp.auth_xoauth2(who, what)
            assert err.value.code == 535
    oauth_provider.expire_access_tokens(user)
    async with aiosmtplib.SMTP(**kw) as smtp:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await smtp.auth_xoauth2(user, token)
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:  # still unauthenticated
            await smtp.sendmail(user, ["rcpt@example.com"], make_message("no"))
        assert refused.value.code == 530
    assert len(smtp_sink_oauth.messages) == 1
