"""Admin UI sign-in: first-run password, session cookie, CSRF, rate limit, sign out everywhere,
token sign-in, and the static bundle at /admin."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
import websockets
from sqlmodel import col, delete

from app.api import admin_ui
from app.api.auth import FailureLimiter
from app.config import Settings
from app.models import Setting, Token
from app.models.base import utcnow
from app.services import admin, tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.graphql.conftest import PROTOCOL, serve
from tests.servers.receiver import Answer, Receiver
from tests.test_cli import cli_env

PASSWORD = "correct horse battery"
# The admin keys, and the webhook keys the test-event test sets.
KEYS = (
    admin.PASSWORD_KEY,
    admin.SIGNING_KEY,
    admin.GENERATION_KEY,
    "webhooks",
    "serviceSecret",
    "webhooksCustomHeaders",
)


@pytest.fixture
async def ctx(ctx: Context) -> Context:
    """The settings table outlives a test on PostgreSQL: start each test without these settings."""
    async with ctx.db.session() as s:
        await s.exec(delete(Setting).where(col(Setting.key).in_(KEYS)))  # type: ignore[call-overload]
        await s.commit()
    return ctx


@pytest.fixture
async def browser(app) -> AsyncIterator[httpx2.AsyncClient]:  # type: ignore[no-untyped-def]
    """A second cookie jar: another browser signed in as the same operator."""
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://mailgate.test"
    ) as c:
        yield c


async def sign_in(client: httpx2.AsyncClient, password: str = PASSWORD) -> str:
    r = await client.post("/admin/api/login", json={"password": password})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrfToken"]
    return csrf


async def test_first_run_sets_the_password_and_signs_in(client: httpx2.AsyncClient) -> None:
    info = (await client.get("/admin/api/session")).json()
    assert info == {
        "passwordSet": False,
        "setupAllowed": True,
        "signedIn": False,
        "csrfToken": None,
        "method": None,
    }
    short = await client.post("/admin/api/setup", json={"password": "short"})
    assert short.status_code == 400 and "at least 10 characters" in short.json()["error"]

    r = await client.post("/admin/api/setup", json={"password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "mailgate_session=" in cookie
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http here; see the https test
    assert PASSWORD not in cookie

    assert (await client.get("/v1/accounts")).status_code == 200  # no token: the cookie is enough
    info = (await client.get("/admin/api/session")).json()
    assert info["signedIn"] and info["passwordSet"] and info["method"] == "password"
    assert info["csrfToken"] == r.json()["csrfToken"]

    again = await client.post("/admin/api/setup", json={"password": "another password"})
    assert again.status_code == 403 and again.json()["code"] == "AlreadySetUp"


async def test_setup_is_refused_through_a_proxy(client: httpx2.AsyncClient) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9"}
    assert (await client.get("/admin/api/session", headers=headers)).json()["setupAllowed"] is False
    r = await client.post("/admin/api/setup", json={"password": PASSWORD}, headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "SetupNotAllowed" and "mailgate admin password" in r.json()["error"]
    assert (await client.get("/admin/api/session")).json()["passwordSet"] is False


async def test_cookie_is_secure_over_https(app, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    await admin.set_password(ctx, PASSWORD)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="https://mailgate.test") as c:
        r = await c.post("/admin/api/login", json={"password": PASSWORD})
    assert "secure" in {part.strip().lower() for part in r.headers["set-cookie"].split(";")}


async def test_writes_need_the_csrf_token(client: httpx2.AsyncClient, ctx: Context) -> None:
    await admin.set_password(ctx, PASSWORD)
    csrf = await sign_in(client)
    body = {"account": "csrf1", "name": "A", "imap": {"host": "h.example", "port": 993}}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        r = await client.post("/v1/account", json=body, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "CsrfTokenInvalid", r.text
    mutation = {"query": 'mutation { deleteAccount(account: "csrf1") { deleted } }'}
    refused = (await client.post("/graphql", json=mutation)).json()
    assert refused["data"] is None, refused
    assert refused["errors"][0]["extensions"]["code"] == "CsrfTokenInvalid"
    assert (await client.get("/v1/account/csrf1")).status_code == 404  # nothing was created
    ok = await client.post("/v1/account", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    logout = await client.post("/admin/api/logout")
    assert logout.status_code == 403  # signing out is a write too


async def test_wrong_password_is_a_clear_401_and_rate_limited(
    app, client: httpx2.AsyncClient, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    await admin.set_password(ctx, PASSWORD)
    app.state.limiter = FailureLimiter(3)
    for _ in range(3):
        r = await client.post("/admin/api/login", json={"password": "not the password"})
        assert r.status_code == 401
        assert r.json() == {"error": "Wrong password", "code": "WrongPassword", "statusCode": 401}
        assert "set-cookie" not in r.headers
    limited = await client.post("/admin/api/login", json={"password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "set-cookie" not in limited.headers


async def test_no_password_yet_says_so(client: httpx2.AsyncClient) -> None:
    r = await client.post("/admin/api/login", json={"password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "NoPassword"
    both = await client.post("/admin/api/login", json={"password": PASSWORD, "token": "x"})
    assert both.status_code == 400


async def test_sign_out_everywhere(
    client: httpx2.AsyncClient, browser: httpx2.AsyncClient, ctx: Context
) -> None:
    await admin.set_password(ctx, PASSWORD)
    csrf = await sign_in(client)
    await sign_in(browser)
    assert (await browser.get("/v1/accounts")).status_code == 200
    r = await client.post("/admin/api/logout-all", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    for c in (client, browser):
        assert (await c.get("/v1/accounts")).status_code == 401
    r = await browser.get("/v1/stats")
    assert r.status_code == 401 and r.json()["code"] == "SessionExpired"
    assert (await browser.get("/admin/api/session")).json()["signedIn"] is False
    await sign_in(browser)  # a new sign-in works again
    assert (await browser.get("/v1/stats")).status_code == 200


async def test_sign_out_ends_this_browser_only(
    client: httpx2.AsyncClient, browser: httpx2.AsyncClient, ctx: Context
) -> None:
    await admin.set_password(ctx, PASSWORD)
    csrf = await sign_in(client)
    await sign_in(browser)
    assert (await client.post("/admin/api/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert "mailgate_session" not in client.cookies
    assert (await client.get("/v1/stats")).status_code == 401
    assert (await browser.get("/v1/stats")).status_code == 200


async def test_changing_the_password_ends_other_sessions(
    client: httpx2.AsyncClient, browser: httpx2.AsyncClient, ctx: Context
) -> None:
    await admin.set_password(ctx, PASSWORD)
    csrf = await sign_in(client)
    await sign_in(browser)
    r = await client.post(
        "/admin/api/password", json={"password": "a new password"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 200
    assert (await client.get("/v1/stats")).status_code == 200  # this browser got a new cookie
    assert (await browser.get("/v1/stats")).status_code == 401
    assert (await browser.post("/admin/api/login", json={"password": PASSWORD})).status_code == 401
    await sign_in(browser, "a new password")


async def test_token_sign_in(client: httpx2.AsyncClient, ctx: Context) -> None:
    value, row = await tokens.issue(ctx, OPERATOR, description="ui", scopes=["api"], account=None)
    r = await client.post("/admin/api/login", json={"token": value})
    assert r.status_code == 200
    assert value not in r.headers["set-cookie"]
    assert (await client.get("/admin/api/session")).json()["method"] == "token"
    assert (await client.get("/v1/accounts")).status_code == 200
    await tokens.revoke(ctx, OPERATOR, row.id)
    r = await client.get("/v1/accounts")
    assert r.status_code == 401 and r.json()["code"] == "SessionExpired"


async def test_a_token_session_ends_when_the_token_expires(client: httpx2.AsyncClient, ctx: Context) -> None:
    value, row = await tokens.issue(ctx, OPERATOR, description="ui", scopes=["api"], account=None)
    assert (await client.post("/admin/api/login", json={"token": value})).status_code == 200
    assert (await client.get("/v1/accounts")).status_code == 200
    async with ctx.db.session() as s:
        stored = await s.get(Token, row.id)
        assert stored is not None
        stored.expires = utcnow() - timedelta(seconds=1)
        await s.commit()
    r = await client.get("/v1/accounts")
    assert r.status_code == 401 and r.json()["code"] == "SessionExpired"


async def test_token_sign_in_refuses_bad_and_account_tokens(client: httpx2.AsyncClient, ctx: Context) -> None:
    bad = await client.post("/admin/api/login", json={"token": "0" * 64})
    assert bad.status_code == 401 and bad.json()["error"] == "Invalid or revoked access token"
    await client.post(
        "/v1/account",
        json={"account": "acc1", "name": "A", "imap": {"host": "h.example", "port": 993}},
        headers={
            "Authorization": f"Bearer {(await tokens.issue(ctx, OPERATOR, description='', scopes=['*'], account=None))[0]}"
        },
    )
    bound, _ = await tokens.issue(ctx, OPERATOR, description="", scopes=["api"], account="acc1")
    r = await client.post("/admin/api/login", json={"token": bound})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    metrics, _ = await tokens.issue(ctx, OPERATOR, description="", scopes=["metrics"], account=None)
    assert (await client.post("/admin/api/login", json={"token": metrics})).status_code == 403


async def test_a_bearer_token_wins_over_a_stale_cookie(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    client.cookies.set("mailgate_session", "forged.value")
    assert (await client.get("/v1/stats")).status_code == 401
    assert (await client.get("/v1/stats", headers=auth)).status_code == 200


async def test_graphql_websocket_with_the_session(app, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    await admin.set_password(ctx, PASSWORD)
    async with serve(app) as address:
        async with httpx2.AsyncClient(base_url=f"http://{address}") as c:
            csrf = await sign_in(c)
            cookie = f"mailgate_session={c.cookies['mailgate_session']}"
        url = f"ws://{address}/graphql"
        headers = {"Cookie": cookie}
        async with websockets.connect(url, subprotocols=[PROTOCOL], additional_headers=headers) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"csrfToken": csrf}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        async with websockets.connect(url, subprotocols=[PROTOCOL], additional_headers=headers) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_bundle_is_served_with_spa_fallback(
    client: httpx2.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = await client.get("/admin/")
    monkeypatch.setattr(admin_ui, "BUNDLE", tmp_path)
    assert (await client.get("/admin/accounts")).status_code == 503
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Mailgate</title>")
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log(1)")
    assert missing.status_code in (200, 503)

    root = await client.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/admin/"
    for path in ("/admin/", "/admin/accounts/a1/messages", "/admin/webhooks"):
        page = await client.get(path)
        assert page.status_code == 200 and "<title>Mailgate</title>" in page.text
        assert page.headers["cache-control"] == "no-cache"
    asset = await client.get("/admin/assets/app-1a2b.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert (await client.get("/admin/assets/nope.js")).status_code == 404
    api = await client.get("/admin/api/nope")
    assert api.status_code == 404 and api.json()["statusCode"] == 404


def test_cli_sets_the_password_from_stdin(tmp_path: Path) -> None:
    """``mailgate admin password`` as an operator runs it: the hash is stored, never the password,
    and a short password is refused with the rule, not a traceback."""

    def run(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "admin", "password"],
            env=cli_env(tmp_path),
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    short = run("short")
    assert (
        short.returncode == 1 and "at least 10 characters" in short.stderr and "Traceback" not in short.stderr
    )
    done = run(PASSWORD)
    assert done.returncode == 0 and "admin password set" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr

    async def check() -> tuple[bool, bool, str | None]:
        env = cli_env(tmp_path)
        ctx = Context.from_settings(Settings.from_env(env))
        try:
            state = await admin.load_state(ctx)
            return (
                await admin.verify_password(ctx, PASSWORD),
                await admin.verify_password(ctx, "wrong password"),
                state.password_hash,
            )
        finally:
            await ctx.close()

    right, wrong, stored = asyncio.run(check())
    assert right and not wrong
    assert stored is not None and stored.startswith("scrypt$") and PASSWORD not in stored


async def test_send_a_test_event(client: httpx2.AsyncClient, ctx: Context) -> None:
    await admin.set_password(ctx, PASSWORD)
    csrf = await sign_in(client)
    write = {"X-CSRF-Token": csrf}
    none = await client.post("/admin/api/webhooks/test", headers=write)
    assert none.status_code == 400 and none.json()["error"] == "Set a webhook URL first"
    receiver = Receiver()
    await receiver.start()
    try:
        settings = {
            "webhooks": receiver.url,
            "serviceSecret": "test-signing-secret",
            "webhooksCustomHeaders": [{"key": "X-Custom", "value": "yes"}],
        }
        assert (await client.post("/v1/settings", json=settings, headers=write)).status_code == 200
        assert (await client.post("/admin/api/webhooks/test")).status_code == 403  # no CSRF token
        r = await client.post("/admin/api/webhooks/test", headers=write)
        assert r.json() == {"success": True, "status": 200, "response": "ok", "error": None}
        [hit] = await receiver.wait_for(1)
        assert json.loads(hit.body)["event"] == "test"
        expected = hmac.new(b"test-signing-secret", hit.body, hashlib.sha256).digest()
        assert hit.headers["x-ee-wh-signature"] == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()
        assert hit.headers["x-custom"] == "yes"
        receiver.default = Answer(status=500)
        failed = (await client.post("/admin/api/webhooks/test", headers=write)).json()
        assert failed["success"] is False and failed["status"] == 500 and failed["response"] == "nope"
        deliveries = (await client.get("/v1/webhooks/deliveries")).json()
        assert deliveries["total"] == 0  # a test is not a change-log event
    finally:
        await receiver.stop()
