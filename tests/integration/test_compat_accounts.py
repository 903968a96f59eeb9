"""EmailEngine account fields with real behaviour, against real Dovecot, SMTP sink and webhook
receiver: expectedEmail, smtpEhloName, webhooksCustomHeaders, quota; and EmailEngine's outbox
semantics (404 once an entry has left the queue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.conftest import Live, wait_until
from tests.integration.test_sending import Outbox, outbox  # noqa: F401 (fixture)
from tests.integration.test_webhooks import Hooks, hooks  # noqa: F401 (fixture)
from tests.servers.fixtures import ImapUser

MESSAGE = {"to": [{"address": "rcpt@example.net"}], "subject": "s", "text": "t"}


async def test_expected_email_mismatch_refuses_to_connect(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, "wrong", expectedEmail="someone.else@example.org")
    info = await live.wait_state("wrong", "authenticationError")
    assert "someone.else@example.org" in info["lastError"]["response"]
    assert info["expectedEmail"] == "someone.else@example.org"
    # The right address connects, and a PUT fixing it reconnects the refused one.
    await live.register(dovecot_user, "right", expectedEmail=dovecot_user.email.upper())
    await live.wait_state("right", "connected")
    r = await live.client.put(
        "/v1/account/wrong", json={"expectedEmail": dovecot_user.email}, headers=live.headers
    )
    assert r.status_code == 200
    await live.client.put("/v1/account/wrong/reconnect", json={"reconnect": True}, headers=live.headers)
    await live.wait_state("wrong", "connected")


async def test_quota_from_dovecot(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    info = await live.get("/v1/account/acc", quota="true")
    # The test Dovecot runs without the quota plugin: no QUOTA capability, so no quota to report.
    assert "quota" in info and info["quota"] is None
    plain = await live.get("/v1/account/acc")
    assert plain["quota"] is None


async def test_delete_accepts_revoke(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, "gone", imap=False)
    r = await live.client.delete("/v1/account/gone?revoke=true", headers=live.headers)
    assert r.status_code == 200 and r.json() == {"account": "gone", "deleted": True}


async def test_custom_headers_reach_the_receiver(hooks: Hooks) -> None:  # noqa: F811
    await hooks.configure(
        webhooksCustomHeaders=[{"key": "X-Tenant", "value": "global"}, {"key": "X-Both", "value": "g"}]
    )
    body = {
        "account": "acc",
        "name": "A",
        "imap": False,
        "webhooksCustomHeaders": [
            {"key": "X-Both", "value": "account"},
            {"key": "X-EE-Wh-Signature", "value": "forged"},
        ],
    }
    r = await hooks.client.post("/v1/account", json=body, headers=hooks.headers)
    assert r.status_code == 200, r.text
    await hooks.event("messageNew", account="acc")
    hit = next(h for h in await hooks.receiver.wait_for(2) if b'"messageNew"' in h.body)
    assert hit.headers["x-tenant"] == "global" and hit.headers["x-both"] == "account"
    assert hit.headers["x-ee-wh-signature"] != "forged"  # custom headers never replace the signature
    got = (await hooks.client.get("/v1/account/acc", headers=hooks.headers)).json()
    assert got["webhooksCustomHeaders"][0] == {"key": "X-Both", "value": "account"}


async def test_ehlo_name_seen_by_the_sink(outbox: Outbox) -> None:  # noqa: F811
    await outbox.account(imap=False)
    r = await outbox.live.client.put(
        "/v1/account/acc", json={"smtpEhloName": "mx.tenant.example"}, headers=outbox.live.headers
    )
    assert r.status_code == 200
    await outbox.submit(MESSAGE)
    received = (await outbox.sink.wait_for(1))[0]
    assert received.ehlo_name == "mx.tenant.example"
    info = await outbox.live.get("/v1/account/acc")
    assert info["smtpEhloName"] == "mx.tenant.example" and "ehloName" not in info["smtp"]


async def _gone(outbox: Outbox, queue_id: str) -> dict[str, Any]:  # noqa: F811
    """Wait until GET answers 404; the entry as the ?state=all list shows it."""

    async def left() -> bool:
        r = await outbox.live.client.get(f"/v1/outbox/{queue_id}", headers=outbox.live.headers)
        assert r.status_code in (200, 404)
        return r.status_code == 404

    await wait_until(left, 15.0, lambda: f"{queue_id} still answers 200")
    listed = await outbox.live.get("/v1/outbox", state="all", pageSize=100)
    return dict(next(m for m in listed["messages"] if m["queueId"] == queue_id))


async def test_outbox_404_after_cancel_sent_and_failed(outbox: Outbox) -> None:  # noqa: F811
    await outbox.account(imap=False)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = await outbox.submit({**MESSAGE, "sendAt": later})
    assert (
        await outbox.live.client.get(f"/v1/outbox/{scheduled['queueId']}", headers=outbox.live.headers)
    ).status_code == 200
    r = await outbox.live.client.delete(f"/v1/outbox/{scheduled['queueId']}", headers=outbox.live.headers)
    assert r.json() == {"deleted": True}
    assert (await _gone(outbox, scheduled["queueId"]))["progress"]["status"] == "cancelled"
    sent = await outbox.submit(MESSAGE)
    assert (await _gone(outbox, sent["queueId"]))["progress"]["status"] == "sent"
    outbox.sink.mode = "reject"
    failed = await outbox.submit({**MESSAGE, "deliveryAttempts": 1})
    assert (await _gone(outbox, failed["queueId"]))["progress"]["status"] == "failed"


async def test_delivery_attempts_setting_is_the_default(outbox: Outbox) -> None:  # noqa: F811
    await outbox.account(imap=False)
    r = await outbox.live.client.post(
        "/v1/settings", json={"deliveryAttempts": 2}, headers=outbox.live.headers
    )
    assert r.status_code == 200
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    queued = await outbox.submit({**MESSAGE, "sendAt": later})
    item = await outbox.live.get(f"/v1/outbox/{queued['queueId']}")
    assert item["attempts"] == 2
