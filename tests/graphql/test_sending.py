"""Sending over GraphQL: the same service as REST, so the same answers, outbox and refusals."""

from __future__ import annotations

import base64
from typing import Any

from app.services import tokens
from app.services.principal import OPERATOR
from tests.graphql.conftest import codes, data, gql
from tests.integration.test_sending import Outbox, outbox  # noqa: F401  (fixture)

SUBMIT = """mutation($account: ID!, $input: SubmitInput!, $key: String) {
  submitMessage(account: $account, input: $input, idempotencyKey: $key) {
    response messageId queueId sendAt envelope raw
  }
}"""
OUTBOX = """query($state: String) { outbox(state: $state) { total messages {
  queueId account messageId envelope subject scheduled attemptsMade attempts progress } } }"""


async def test_submit_outbox_and_cancel_match_rest(outbox: Outbox) -> None:  # noqa: F811
    await outbox.account(imap=False)
    c, h = outbox.live.client, outbox.live.headers
    message: dict[str, Any] = {"to": [{"name": "Ada", "address": "ada@example.net"}], "subject": "Hi",
                               "text": "Hello", "bcc": [{"address": "hidden@example.net"}]}  # fmt: skip
    sent = data(await gql(c, SUBMIT, {"account": "acc", "input": message, "key": "g-1"}, h))["submitMessage"]
    assert sent["response"] == "Queued for delivery" and sent["raw"] is None
    again = data(await gql(c, SUBMIT, {"account": "acc", "input": message, "key": "g-1"}, h))["submitMessage"]
    assert again == sent  # the same idempotency key: the first answer, nothing new queued
    got = (await outbox.sink.wait_for(1))[0]
    assert sorted(got.rcpt_tos) == ["ada@example.net", "hidden@example.net"] and b"hidden@" not in got.data
    await outbox.wait_status(sent["queueId"], "sent")

    later = {**message, "sendAt": "2099-01-01T00:00:00Z"}
    scheduled = data(await gql(c, SUBMIT, {"account": "acc", "input": later}, h))["submitMessage"]
    over_gql = data(await gql(c, OUTBOX, {"state": "all"}, h))["outbox"]
    over_rest = (await c.get("/v1/outbox", params={"state": "all"}, headers=h)).json()
    fields = ("queueId", "account", "messageId", "envelope", "subject", "scheduled", "attemptsMade", "attempts",
              "progress")  # fmt: skip
    assert over_gql["total"] == over_rest["total"] == 2
    assert over_gql["messages"] == [{k: m[k] for k in fields} for m in over_rest["messages"]]

    cancel = "mutation($id: ID!) { cancelOutboxItem(queueId: $id) { deleted } }"
    assert data(await gql(c, cancel, {"id": scheduled["queueId"]}, h))["cancelOutboxItem"] == {
        "deleted": True
    }
    # As over REST: an entry that has left the queue is not found; its history stays listed.
    item = "query($id: ID!) { outboxItem(queueId: $id) { progress nextAttempt } }"
    assert codes(await gql(c, item, {"id": scheduled["queueId"]}, h)) == ["MessageNotFound"]
    listed = data(await gql(c, OUTBOX, {"state": "cancelled"}, h))["outbox"]["messages"]
    assert [m["progress"] for m in listed] == [{"status": "cancelled"}]

    dry = data(await gql(c, SUBMIT, {"account": "acc", "input": {**message, "dryRun": True}}, h))[
        "submitMessage"
    ]
    assert dry["response"] == "Dry run" and dry["queueId"] is None
    assert b"Subject: Hi" in base64.b64decode(dry["raw"])
    assert len(outbox.sink.messages) == 1


async def test_refusals_carry_rest_codes(outbox: Outbox) -> None:  # noqa: F811
    await outbox.account(imap=False)
    c, h = outbox.live.client, outbox.live.headers
    body = await gql(c, SUBMIT, {"account": "acc", "input": {"text": "no recipients"}}, h)
    assert codes(body) == ["InvalidRequest"]
    body = await gql(c, SUBMIT, {"account": "acc", "input": {"raw": "eA==", "subject": "x"}}, h)
    assert codes(body) == ["InvalidRequest"]
    body = await gql(c, SUBMIT, {"account": "acc", "input": {"to": [{"address": "a@b.c"}]}, "key": " "}, h)
    assert codes(body) == ["InvalidRequest"]
    body = await gql(c, 'mutation { cancelOutboxItem(queueId: "nope") { deleted } }', None, h)
    assert codes(body) == ["MessageNotFound"]
    scheduled = {"to": [{"address": "a@b.c"}], "text": "x", "sendAt": "2099-01-01T00:00:00Z"}
    mine = data(await gql(c, SUBMIT, {"account": "acc", "input": scheduled}, h))["submitMessage"]
    await outbox.live.register(outbox.user, "other", imap=False, smtp=outbox.smtp())
    token, _ = await tokens.issue(outbox.live.ctx, OPERATOR, description="b", scopes=["api"], account="other")
    bound = {"Authorization": f"Bearer {token}"}
    assert codes(await gql(c, SUBMIT, {"account": "acc", "input": scheduled}, bound)) == ["Forbidden"]
    item = "query($id: ID!) { outboxItem(queueId: $id) { queueId } }"
    assert codes(await gql(c, item, {"id": mine["queueId"]}, bound)) == ["MessageNotFound"]
    assert data(await gql(c, OUTBOX, {"state": "all"}, bound))["outbox"]["total"] == 0
