"""Mail merge against aiosmtpd: one personalised message per entry, each answered on its own."""

from __future__ import annotations

import pytest

from tests.integration import test_sending
from tests.integration.test_sending import Outbox, parse

outbox = test_sending.outbox  # the fixture, shared with the other sending tests


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_mail_merge_with_one_bad_entry(outbox: Outbox) -> None:
    await outbox.account()
    answer = await outbox.submit(
        {
            "subject": "Invoice {{number}} for {{name}}",
            "html": "<p>Dear {{name}}, you owe {{amount}}.</p>",
            "render": {"params": {"amount": "10 EUR"}},
            "mailMerge": [
                {"to": {"name": "Ann", "address": "ann@example.net"}, "params": {"name": "Ann", "number": 1}},
                {"to": {"address": "not an address"}, "params": {"name": "Nobody"}},
                {
                    "to": {"address": "bob@example.net"},
                    "params": {"name": "Bob", "number": 2, "amount": "20 EUR"},
                    "messageId": "<merge-bob@example.org>",
                },
            ],
        }
    )
    results = answer["mailMerge"]
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["code"] == "InvalidRequest" and results[1]["statusCode"] == 400
    assert "to.address" in results[1]["details"]
    assert results[2]["messageId"] == "<merge-bob@example.org>"
    assert results[0]["to"] == {"name": "Ann", "address": "ann@example.net"}
    assert all(r["queueId"] for r in (results[0], results[2]))

    got = await outbox.sink.wait_for(2)
    by_rcpt = {m.rcpt_tos[0]: parse(m.data) for m in got}
    assert set(by_rcpt) == {"ann@example.net", "bob@example.net"}
    ann, bob = by_rcpt["ann@example.net"], by_rcpt["bob@example.net"]
    assert ann["Subject"] == "Invoice 1 for Ann" and ann["To"] == "Ann <ann@example.net>"
    assert "<p>Dear Ann, you owe 10 EUR.</p>" in ann.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert bob["Subject"] == "Invoice 2 for Bob" and bob["Message-ID"] == "<merge-bob@example.org>"
    assert "<p>Dear Bob, you owe 20 EUR.</p>" in bob.get_body(("html",)).get_content()  # type: ignore[union-attr]
    sent = await outbox.live.wait_event("acc", "messageSent", count=2)
    assert {e.payload["queueId"] for e in sent} == {results[0]["queueId"], results[2]["queueId"]}


async def test_mail_merge_refuses_fixed_recipients(outbox: Outbox) -> None:
    await outbox.account()
    answer = await outbox.submit(
        {"to": [{"address": "x@example.net"}], "mailMerge": [{"to": {"address": "y@example.net"}}]},
        status=400,
    )
    assert answer["code"] == "InvalidRequest" and "mailMerge cannot be combined with to" in str(answer)
