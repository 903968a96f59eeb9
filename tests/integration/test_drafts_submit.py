"""Sending a draft stored in Dovecot's Drafts folder: as it is, through the outbox, with a Sent copy."""

from __future__ import annotations

from typing import Any

from tests.integration import test_sending
from tests.integration.conftest import make_message, seed, wait_until
from tests.integration.test_sending import Outbox, parse

outbox = test_sending.outbox  # the fixture, shared with the other sending tests


async def _listed(outbox: Outbox, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def present() -> bool:
        nonlocal found
        found = (await outbox.live.get("/v1/account/acc/messages", path=path))["messages"]
        return bool(found)

    await wait_until(present, 10, f"nothing listed in {path}")
    return found


async def test_draft_is_sent_and_copied_to_sent(outbox: Outbox) -> None:
    await outbox.account()
    draft = make_message(
        subject="From my mail client",
        body="Written in Thunderbird",
        sender=f"Me <{outbox.user.email}>",
        to="Friend <friend@example.net>",
        Bcc="quiet@example.net",
    )
    await seed(outbox.live.dovecot, outbox.user, "Drafts", [draft])
    stored = (await _listed(outbox, "Drafts"))[0]

    answer = await outbox.submit({"deliveryAttempts": 3}, account=f"acc/message/{stored['id']}")
    assert answer["messageId"] == stored["messageId"] and answer["queueId"]

    got = (await outbox.sink.wait_for(1))[0]
    assert got.mail_from == outbox.user.email
    assert sorted(got.rcpt_tos) == ["friend@example.net", "quiet@example.net"]
    assert b"quiet@example.net" not in got.data  # the Bcc line is not transmitted
    body_start = draft.index(b"\n\n") if b"\n\n" in draft else draft.index(b"\r\n\r\n")
    assert parse(got.data)["Subject"] == "From my mail client"
    assert got.data.replace(b"\r\n", b"\n").endswith(draft[body_start:].replace(b"\r\n", b"\n"))

    sent = (await outbox.live.wait_event("acc", "messageSent"))[0].payload
    assert sent["queueId"] == answer["queueId"]
    copy = (await _listed(outbox, "\\Sent"))[0]
    assert copy["messageId"] == stored["messageId"]


async def test_missing_draft_is_a_404(outbox: Outbox) -> None:
    await outbox.account()
    r = await outbox.live.client.post(
        "/v1/account/acc/message/AAAAAQAAAAE/submit", json={}, headers=outbox.live.headers
    )
    assert r.status_code == 404, r.text
    assert outbox.sink.messages == []
