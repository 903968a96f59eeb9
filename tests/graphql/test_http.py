"""GraphQL over HTTP against the served app: auth, scopes, errors, guards, and REST parity for
accounts, tokens, settings and stats (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from app.models import Account
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.graphql.conftest import codes, data, gql, http_client, selection, without_nulls


@pytest.fixture
async def web(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    async with http_client(app) as c:
        yield c


async def rest(c: httpx2.AsyncClient, method: str, url: str, auth: dict[str, str], **kw: Any) -> Any:
    r = await c.request(method, url, headers=auth, **kw)
    assert r.status_code == 200, r.text
    return r.json()


ACCOUNT_BODY = {"name": "Parity", "email": "p@example.com", "imap": False, "smtp": False, "locale": "de"}
REGISTER = "mutation($input: AccountCreateInput!) { registerAccount(input: $input) { account state } }"


async def test_accounts_parity(web: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    assert await rest(web, "POST", "/v1/account", auth, json={"account": "p-rest", **ACCOUNT_BODY}) == {
        "account": "p-rest", "state": "new"}  # fmt: skip
    gql_input = {"account": "p-gql", **{k: v for k, v in ACCOUNT_BODY.items() if k not in ("imap", "smtp")},
                 "noImap": True, "noSmtp": True}  # fmt: skip
    assert data(await gql(web, REGISTER, {"input": gql_input}, auth))["registerAccount"] == {
        "account": "p-gql", "state": "new"}  # fmt: skip

    listed = await rest(web, "GET", "/v1/accounts", auth, params={"query": "p-", "pageSize": 10})
    q = f'{{ accounts(query: "p-", pageSize: 10) {selection("AccountList")} }}'
    assert without_nulls(data(await gql(web, q, headers=auth))["accounts"]) == without_nulls(listed)
    assert listed["total"] == 2

    for account in ("p-rest", "p-gql"):  # each registered by the other transport reads the same
        one = await rest(web, "GET", f"/v1/account/{account}", auth)
        q = f'{{ account(account: "{account}") {selection("AccountDetails")} }}'
        assert without_nulls(data(await gql(web, q, headers=auth))["account"]) == without_nulls(one)

    update = (
        "mutation($a: ID!, $i: AccountUpdateInput!) { updateAccount(account: $a, input: $i) { account } }"
    )
    await rest(web, "PUT", "/v1/account/p-rest", auth, json={"name": "Renamed", "tz": "Europe/Berlin"})
    data(await gql(web, update, {"a": "p-gql", "i": {"name": "Renamed", "tz": "Europe/Berlin"}}, auth))
    a = await rest(web, "GET", "/v1/account/p-rest", auth)
    b = data(await gql(web, f'{{ account(account: "p-gql") {selection("AccountDetails")} }}', headers=auth))
    for key in ("account", "created", "notifyFrom"):
        a.pop(key), b["account"].pop(key)
    assert without_nulls(b["account"]) == without_nulls(a)

    for name, field in (("reconnect", "reconnectAccount"), ("sync", "syncAccount")):
        via_rest = await rest(web, "PUT", f"/v1/account/p-rest/{name}", auth, json={name: True})
        via_gql = data(await gql(web, f'mutation {{ {field}(account: "p-gql") {{ {name} }} }}', headers=auth))
        assert via_gql[field] == via_rest == {name: True}
    missing = await gql(web, 'mutation { reconnectAccount(account: "nope") { reconnect } }', headers=auth)
    assert codes(missing) == ["AccountNotFound"]
    deleted = data(
        await gql(web, 'mutation { deleteAccount(account: "p-gql") { account deleted } }', headers=auth)
    )
    assert deleted == {"deleteAccount": {"account": "p-gql", "deleted": True}}
    again = await gql(web, 'mutation { deleteAccount(account: "p-gql") { account } }', headers=auth)
    assert codes(again) == ["AccountNotFound"]
    r = await web.delete("/v1/account/p-gql", headers=auth)
    assert r.json()["code"] == "AccountNotFound"


async def test_invalid_input_has_the_rest_details(web: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    bad = {"account": "x", "name": "X", "email": "not-an-address", "imap": {"host": "h", "port": 99999}}
    r = await web.post("/v1/account", json=bad, headers=auth)
    gql_bad = {"account": "x", "name": "X", "email": "not-an-address", "imap": {"host": "h", "port": 99999}}
    body = await gql(web, REGISTER, {"input": gql_bad}, auth)
    assert codes(body) == ["InvalidRequest"] == [r.json()["code"]]
    assert body["errors"][0]["extensions"]["details"] == r.json()["details"]
    assert body["errors"][0]["extensions"]["statusCode"] == 400


async def test_tokens_settings_stats_parity(
    web: httpx2.AsyncClient, auth: dict[str, str], ctx: Context
) -> None:
    async with ctx.db.session() as s:
        s.add(Account(id="t1", name="T"))
        await s.commit()
    created = data(await gql(web, 'mutation { createToken(input: {account: "t1", description: "g", scopes: ["api"]}) '
                                   "{ token } }", headers=auth))["createToken"]["token"]  # fmt: skip
    assert len(created) == 64
    listed = await rest(web, "GET", "/v1/tokens", auth)
    assert without_nulls(data(await gql(web, f"{{ tokens {selection('Token')} }}", headers=auth))["tokens"]) == (
        without_nulls(listed["tokens"]))  # fmt: skip
    assert {t["description"] for t in listed["tokens"]} == {"tests", "g"}

    upd = 'mutation { updateSettings(input: {serviceUrl: "https://mail.example.com", notifyText: true}) { updated } }'
    assert data(await gql(web, upd, headers=auth)) == {
        "updateSettings": {"updated": ["notifyText", "serviceUrl"]}
    }
    rest_settings = await rest(web, "GET", "/v1/settings", auth)
    got = data(await gql(web, f"{{ settings {selection('Settings')} }}", headers=auth))["settings"]
    assert (
        without_nulls(got) == without_nulls(rest_settings) and got["serviceUrl"] == "https://mail.example.com"
    )

    stats = await rest(web, "GET", "/v1/stats", auth)
    query = "{ stats { version accounts connections queues } }"
    got_stats = data(await gql(web, query, headers=auth))["stats"]
    assert got_stats == {k: stats[k] for k in ("version", "accounts", "connections", "queues")}
    deliveries = await rest(web, "GET", "/v1/webhooks/deliveries", auth)
    q = f"{{ webhookDeliveries {selection('WebhookDeliveryList')} }}"
    assert data(await gql(web, q, headers=auth))["webhookDeliveries"] == deliveries

    revoked = await gql(web, f'mutation {{ revokeToken(token: "{created}") {{ deleted }} }}', headers=auth)
    assert data(revoked) == {"revokeToken": {"deleted": True}}
    assert codes(await gql(web, f'mutation {{ revokeToken(token: "{created}") {{ deleted }} }}', headers=auth)) == [
        "TokenNotFound"]  # fmt: skip


async def test_authentication_and_scopes(web: httpx2.AsyncClient, ctx: Context) -> None:
    body = await gql(web, "{ accounts { total } }")
    assert codes(body) == ["AuthenticationRequired"] and body["errors"][0]["extensions"]["statusCode"] == 401
    assert codes(await gql(web, "{ accounts { total } }", headers={"Authorization": "Bearer " + "0" * 64})) == [
        "AuthenticationRequired"]  # fmt: skip
    metrics_only, _ = await tokens.issue(ctx, OPERATOR, description="m", scopes=["metrics"], account=None)
    body = await gql(web, "{ accounts { total } }", headers={"Authorization": f"Bearer {metrics_only}"})
    assert codes(body) == ["Forbidden"] and body["errors"][0]["extensions"]["statusCode"] == 403
    api, _ = await tokens.issue(ctx, OPERATOR, description="q", scopes=["api"], account=None)
    r = await web.post(f"/graphql?access_token={api}", json={"query": "{ accounts { total } }"})
    assert r.json() == {"data": {"accounts": {"total": 0}}}
    # The schema itself is public, like /openapi.json: GraphiQL needs it before a token is typed in.
    r = await web.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert r.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_account_token_sees_only_its_account(web: httpx2.AsyncClient, ctx: Context) -> None:
    async with ctx.db.session() as s:
        s.add_all([Account(id="mine", name="M", state="unset"), Account(id="other", name="O", state="unset")])
        await s.commit()
    value, _ = await tokens.issue(ctx, OPERATOR, description="b", scopes=["api"], account="mine")
    bound = {"Authorization": f"Bearer {value}"}
    assert data(await gql(web, '{ account(account: "mine") { account } }', headers=bound)) == {
        "account": {"account": "mine"}}  # fmt: skip
    for q in ('{ account(account: "other") { account } }', '{ mailboxes(account: "other") { path } }',
              '{ messages(account: "other") { totalCount } }', "{ accounts { total } }", "{ stats { accounts } }",
              "{ settings { webhooks } }", '{ webhookDeliveries(account: "other") { total } }'):  # fmt: skip
        assert codes(await gql(web, q, headers=bound)) == ["Forbidden"], q
    for m in ('mutation { deleteAccount(account: "other") { deleted } }',
              'mutation { createToken(input: {account: "mine"}) { token } }',
              'mutation { registerAccount(input: {account: "x", name: "x", noImap: true}) { account } }'):  # fmt: skip
        assert codes(await gql(web, m, headers=bound)) == ["Forbidden"], m
    assert [
        t["account"] for t in data(await gql(web, "{ tokens { account } }", headers=bound))["tokens"]
    ] == ["mine"]


async def test_no_request_produces_a_500(web: httpx2.AsyncClient, auth: dict[str, str], ctx: Context) -> None:
    cases: list[dict[str, Any]] = [
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        {"content": b"query=1", "headers": {"Content-Type": "text/plain"}},
        {"json": {"query": 42}},
        {"json": {"variables": {}}},
        {"json": {"query": "{ accounts { total } }", "variables": "x"}},
        {"json": {"query": "subscription { events { id } }"}},
        {"json": {"query": "{ accounts { total } "}},
        {"json": [{"query": "{ stats { version } }"}]},
    ]
    for case in cases:
        r = await web.post("/graphql", headers={**auth, **case.pop("headers", {})}, **case)
        assert r.status_code < 500, (case, r.status_code, r.text)
        body = r.json()
        if r.status_code != 200:
            assert set(body) >= {"error", "code", "statusCode"}, body
        else:
            assert body.get("errors"), body
            assert all("code" in e.get("extensions", {}) for e in body["errors"]), (case, body)
    assert (await web.get("/graphql", headers={"Accept": "text/html"})).status_code == 200  # GraphiQL
    pad = "x" * ctx.settings.max_body_size
    r = await web.post("/graphql", headers=auth, json={"query": "{ stats { version } }", "pad": pad})
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"
    r = await web.get("/graphql", params={"query": "{ stats { version } }"}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["stats"]["version"]
    r = await web.get(
        "/graphql", params={"query": 'mutation { syncAccount(account: "x") { sync } }'}, headers=auth
    )
    assert r.status_code < 500 and r.json()["code"]


async def test_depth_and_complexity_are_refused(web: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    from app.graphql import guards

    fine = '{ messages(account: "a") { edges { node { from { name } } } } }'
    assert codes(await gql(web, fine, headers=auth)) == ["AccountNotFound"]  # validated, then ran
    too_deep = (
        "{ accounts { accounts { " + "a { " * guards.MAX_DEPTH + "b" + " }" * guards.MAX_DEPTH + " } } }"
    )
    body = await gql(web, too_deep, headers=auth)
    assert body["data"] is None and any(
        "exceeds maximum operation depth" in e["message"] for e in body["errors"]
    )
    assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}

    expensive = (
        "{ "
        + " ".join(
            f'm{i}: messages(account: "a", first: 1000) {{ edges {{ node {{ id subject to {{ address }} }} }} }}'
            for i in range(20)
        )
        + " }"
    )
    body = await gql(web, expensive, headers=auth)
    assert codes(body) == ["QueryTooComplex"], body
    assert body["errors"][0]["extensions"]["cost"] > guards.MAX_COST and body["data"] is None
    # A page size given as a variable counts as the largest page, whatever the variable holds.
    by_variable = "query($n: Int) { " + expensive[2:].replace("first: 1000", "first: $n")
    assert codes(await gql(web, by_variable, {"n": 1}, auth)) == ["QueryTooComplex"]
    one_page = (
        'query { messages(account: "a", first: 1000) { edges { node { id subject to { address } } } } }'
    )
    assert codes(await gql(web, one_page, headers=auth)) == ["AccountNotFound"]

    many = "{ " + " ".join(f"a{i}: stats {{ version }}" for i in range(guards.MAX_ALIASES + 1)) + " }"
    assert codes(await gql(web, many, headers=auth)) == ["GRAPHQL_VALIDATION_FAILED"]
    huge = "{ stats { " + "version " * guards.MAX_TOKENS + "} }"
    assert codes(await gql(web, huge, headers=auth)) == ["GRAPHQL_PARSE_FAILED"]
    assert codes(await gql(web, '{ messages(account: "a", first: 1001) { totalCount } }', headers=auth)) == [
        "InvalidRequest"]  # fmt: skip
