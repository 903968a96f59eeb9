"""SMTP gateways: their routes (the password is write-only) and deliveries through one."""

from __future__ import annotations

import json

from app.models import Gateway
from tests.integration import test_sending
from tests.integration.conftest import wait_until
from tests.integration.test_sending import Outbox, parse
from tests.servers.fixtures import DOVECOT_USERS

outbox = test_sending.outbox  # the fixture, shared with the other sending tests

USER = "bob@example.com"


async def test_gateway_routes_keep_the_password_secret(outbox: Outbox) -> None:
    live = outbox.live
    body = {
        "gateway": "relay",
        "name": "Relay",
        "host": "127.0.0.1",
        "port": 2525,
        "user": "u",
        "pass": "s3cret!",
    }
    r = await live.client.post("/v1/gateway", json=body, headers=live.headers)
    assert r.status_code == 200 and r.json() == {"gateway": "relay", "state": "new"}, r.text
    r = await live.client.post("/v1/gateway", json=body, headers=live.headers)
    assert r.json()["state"] == "existing"

    got = await live.get("/v1/gateway/relay")
    assert (
        got["pass"] == "******" and got["user"] == "u" and got["host"] == "127.0.0.1" and got["port"] == 2525
    )
    listed = await live.get("/v1/gateways")
    assert listed["total"] == 1 and listed["gateways"][0]["gateway"] == "relay"
    assert "s3cret" not in json.dumps(got) + json.dumps(listed)
    async with live.ctx.db.session() as s:
        row = await s.get(Gateway, "relay")
    assert row is not None and row.password is not None and "s3cret" not in row.password  # encrypted

    r = await live.client.put(
        "/v1/gateway/edit/relay", json={"port": 2526, "name": "R2"}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    got = await live.get("/v1/gateway/relay")
    assert got["port"] == 2526 and got["name"] == "R2" and got["pass"] == "******"

    r = await live.client.put("/v1/gateway/edit/missing", json={"port": 1}, headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "GatewayNotFound"
    r = await live.client.delete("/v1/gateway/relay", headers=live.headers)
    assert r.status_code == 200 and r.json() == {"gateway": "relay", "deleted": True}
    r = await live.client.get("/v1/gateway/relay", headers=live.headers)
    assert r.status_code == 404


async def test_account_without_smtp_sends_through_a_gateway(outbox: Outbox) -> None:
    live, sink = outbox.live, outbox.sink
    sink.require_auth = True
    await live.register(outbox.user, "acc")  # IMAP only: no SMTP settings of its own
    await live.wait_state("acc", "connected")
    message = {"to": [{"address": "r@example.net"}], "subject": "Via relay", "text": "hi"}

    refused = await outbox.submit(message, status=400)
    assert refused["code"] == "SmtpNotConfigured"
    unknown = await outbox.submit({**message, "gateway": "nope"}, status=404)
    assert unknown["code"] == "GatewayNotFound"

    gateway = {
        "gateway": "relay",
        "host": sink.host,
        "port": sink.port,
        "user": USER,
        "pass": DOVECOT_USERS[USER],
    }
    r = await live.client.post("/v1/gateway", json=gateway, headers=live.headers)
    assert r.status_code == 200, r.text
    answer = await outbox.submit({**message, "gateway": "relay"})

    got = (await sink.wait_for(1))[0]
    assert got.auth_login == USER and got.rcpt_tos == ["r@example.net"]
    assert parse(got.data)["Subject"] == "Via relay"
    sent = await live.wait_event("acc", "messageSent")
    assert sent[0].payload["queueId"] == answer["queueId"]

    async def counted() -> bool:
        return int((await live.get("/v1/gateway/relay"))["deliveries"]) == 1

    await wait_until(counted, 10, "gateway delivery not counted")
    listed = await live.get("/v1/outbox", state="all")
    assert [m["gateway"] for m in listed["messages"]] == ["relay"]


async def test_local_address_and_dsn_reach_the_smtp_session(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    message = {"to": [{"address": "r@example.net"}], "subject": "opts", "text": "x"}
    dsn = {"id": "env-1", "return": "headers", "notify": ["failure"]}
    answer = await outbox.submit({**message, "localAddress": "127.0.0.1", "dsn": dsn})
    got = (await outbox.sink.wait_for(1))[0]
    # aiosmtpd offers no DSN extension: the message goes out without the parameters.
    assert not any(o.startswith(("RET=", "ENVID=")) for o in got.mail_options)
    listed = await outbox.live.get("/v1/outbox", state="all")
    assert listed["messages"][0]["localAddress"] == "127.0.0.1"
    assert listed["messages"][0]["queueId"] == answer["queueId"]

    # An address this host does not have: connecting from it fails, so it was really used.
    failed = await outbox.submit({**message, "localAddress": "192.0.2.1", "deliveryAttempts": 1})
    [error] = await outbox.live.wait_event("acc", "messageFailed")
    assert error.payload["queueId"] == failed["queueId"] and error.payload["errorCode"] == "ECONNECTION"
    assert len(outbox.sink.messages) == 1

    r = await outbox.live.client.post(
        "/v1/account/acc/submit", json={**message, "localAddress": "1.2.3"}, headers=outbox.live.headers
    )
    assert r.status_code == 400 and "localAddress" in r.json()["details"]
