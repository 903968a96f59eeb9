"""OAuth2 applications over HTTP: validation, write-only secrets, listing, verify."""

from __future__ import annotations

import httpx2
from sqlalchemy import text

from app.services.context import Context
from tests.servers.idp import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthProvider


def generic(provider: OAuthProvider, **extra: object) -> dict[str, object]:
    return {
        "name": "Local",
        "provider": "generic",
        "clientId": OAUTH_CLIENT_ID,
        "clientSecret": OAUTH_CLIENT_SECRET,
        "authorizationUrl": provider.authorize_url,
        "tokenUrl": provider.token_url,
        "userInfoUrl": provider.userinfo_url,
        "imap": {"host": "127.0.0.1", "port": 143, "secure": False},
        "redirectUrl": "http://mailgate.test/oauth",
    } | extra


async def test_create_read_update_delete_with_write_only_secret(
    client: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    r = await client.post(
        "/v1/oauth2",
        json={"name": "Gmail", "provider": "gmail", "clientId": "cid.apps", "clientSecret": "very-secret-1"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    app = r.json()["id"]
    assert r.json()["created"] is True
    got = (await client.get(f"/v1/oauth2/{app}", headers=auth)).json()
    assert got["clientSecret"] == "******" and got["accounts"] == 0
    assert got["imap"] == {"host": "imap.gmail.com", "port": 993, "secure": True}
    assert "https://mail.google.com/" in got["scopes"]
    async with ctx.db.engine.connect() as conn:
        dump = str((await conn.execute(text("SELECT * FROM oauth_app"))).all())
    assert "very-secret-1" not in dump
    # The mask sent back keeps the secret; other fields change.
    r = await client.put(
        f"/v1/oauth2/{app}",
        json={"clientSecret": "******", "description": "Ours", "extraScopes": ["x"]},
        headers=auth,
    )
    assert r.status_code == 200 and r.json() == {"id": app, "updated": True}
    got = (await client.get(f"/v1/oauth2/{app}", headers=auth)).json()
    assert got["description"] == "Ours" and got["scopes"][-1] == "x" and got["clientSecret"] == "******"
    account = {"account": "g", "name": "G", "oauth2": {"provider": app, "auth": {"user": "g@example.com"}}}
    assert (await client.post("/v1/account", json=account, headers=auth)).status_code == 200
    listed = (await client.get("/v1/oauth2", headers=auth)).json()
    assert listed["total"] == 1 and listed["apps"][0]["id"] == app and listed["apps"][0]["accounts"] == 1
    await client.delete("/v1/account/g", headers=auth)
    r = await client.delete(f"/v1/oauth2/{app}", headers=auth)
    assert r.json() == {"id": app, "deleted": True, "accounts": 0}
    r = await client.get(f"/v1/oauth2/{app}", headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "AppNotFound"


async def test_bad_applications_are_refused_in_words(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    cases = [
        ({"name": "x", "provider": "gmail"}, "clientId is required"),
        ({"name": "x", "provider": "generic", "clientId": "c"}, "authorizationUrl, tokenUrl, imap"),
        ({"name": "x", "provider": "yahoo", "clientId": "c"}, "provider"),
        ({"name": "x", "provider": "outlook", "clientId": "c", "cloud": "mars"}, "cloud"),
    ]
    for body, words in cases:
        r = await client.post("/v1/oauth2", json=body, headers=auth)
        assert r.status_code == 400 and r.json()["code"] and words in r.text, (body, r.text)


async def test_account_naming_a_missing_app_is_kept_and_says_why_it_cannot_connect(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    """The application may be registered later (EmailEngine accepts such accounts too)."""
    body = {"account": "a", "name": "A", "oauth2": {"provider": "nope", "auth": {"user": "a@example.com"}}}
    r = await client.post("/v1/account", json=body, headers=auth)
    assert r.status_code == 200, r.text
    r = await client.get("/v1/account/a/oauth-token", headers=auth)
    assert r.status_code == 400 and "'nope' was not found" in r.json()["error"]


async def test_verify_checks_the_client_against_the_provider(
    client: httpx2.AsyncClient, auth: dict[str, str], oauth_provider: OAuthProvider
) -> None:
    app = (await client.post("/v1/oauth2", json=generic(oauth_provider), headers=auth)).json()["id"]
    r = await client.post(f"/v1/oauth2/{app}/verify", json={}, headers=auth)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is True and [s["status"] for s in result["steps"]] == ["ok", "ok", "ok", "ok"]
    await client.put(f"/v1/oauth2/{app}", json={"clientSecret": "wrong"}, headers=auth)
    result = (await client.post(f"/v1/oauth2/{app}/verify", json={}, headers=auth)).json()
    provider_step = next(s for s in result["steps"] if s["id"] == "provider")
    assert (
        result["ok"] is False
        and provider_step["status"] == "fail"
        and "invalid_client" in provider_step["message"]
    )
    assert "clientSecret" in provider_step["hint"]
    await client.put(f"/v1/oauth2/{app}", json={"redirectUrl": False}, headers=auth)
    result = (await client.post(f"/v1/oauth2/{app}/verify", json={}, headers=auth)).json()
    redirect_step = next(s for s in result["steps"] if s["id"] == "redirect")
    assert redirect_step["status"] == "fail" and "serviceUrl" in redirect_step["message"]


async def test_consent_needs_somewhere_to_come_back_to(
    client: httpx2.AsyncClient, auth: dict[str, str], oauth_provider: OAuthProvider
) -> None:
    app = (
        await client.post("/v1/oauth2", json=generic(oauth_provider, redirectUrl=None), headers=auth)
    ).json()["id"]
    body = {"account": None, "name": "N", "oauth2": {"provider": app, "authorize": True}}
    r = await client.post("/v1/account", json=body, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "MissingRedirectUrl"
    await client.post("/v1/settings", json={"serviceUrl": "https://mail.example.com/"}, headers=auth)
    r = await client.post("/v1/account", json=body, headers=auth)
    assert r.status_code == 200 and "account" not in r.json()
    assert "redirect_uri=https%3A%2F%2Fmail.example.com%2Foauth" in r.json()["redirect"]


async def test_service_account_apps_are_kept_but_say_they_cannot_sign_in(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"name": "Svc", "provider": "outlookService", "clientId": "c", "clientSecret": "s", "tenant": "t1"}
    app = (await client.post("/v1/oauth2", json=body, headers=auth)).json()["id"]
    result = (await client.post(f"/v1/oauth2/{app}/verify", json={}, headers=auth)).json()
    step = next(s for s in result["steps"] if s["id"] == "provider")
    assert result["ok"] is False and step["status"] == "fail" and "Service-account" in step["message"]
    account = {"account": "s", "name": "S", "oauth2": {"provider": app, "auth": {"user": "s@example.com"}}}
    assert (await client.post("/v1/account", json=account, headers=auth)).status_code == 200
    r = await client.get("/v1/account/s/oauth-token", headers=auth)
    assert r.status_code == 400 and "service accounts" in r.json()["error"]
