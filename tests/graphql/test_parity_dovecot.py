"""One scenario, two transports: REST and GraphQL against the same synced Dovecot account give
the same mailboxes, listings, messages and outcomes of flag, move, delete and upload."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from tests.graphql.conftest import data, gql, http_client, selection, without_nulls, ws_connect
from tests.integration.conftest import Live, make_message, seed
from tests.integration.test_messages_api import rich_message
from tests.servers.fixtures import ImapUser

MESSAGES = f"""query($p: String!, $n: Int!, $after: String, $s: MessageSearchInput) {{
  messages(account: "acc", path: $p, first: $n, after: $after, search: $s) {{
    totalCount page pages pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {selection("Message")} }} }} }}"""


@pytest.fixture
async def web(live: Live, dovecot_user: ImapUser) -> AsyncIterator[httpx2.AsyncClient]:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(f"plain {i}") for i in range(5)])
    await seed(live.dovecot, dovecot_user, "INBOX", [rich_message()])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    from app.main import create_app

    async with http_client(create_app(ctx=live.ctx), headers=live.headers) as c:
        yield c


async def rest(c: httpx2.AsyncClient, method: str, url: str, **kw: Any) -> Any:
    r = await c.request(method, url, **kw)
    assert r.status_code == 200, r.text
    return r.json()


async def listing(c: httpx2.AsyncClient, path: str = "INBOX", n: int = 20, **kw: Any) -> dict[str, Any]:
    found: dict[str, Any] = data(await gql(c, MESSAGES, {"p": path, "n": n, **kw}))["messages"]
    return found


async def test_reads_match(web: httpx2.AsyncClient) -> None:
    boxes = await rest(web, "GET", "/v1/account/acc/mailboxes", params={"counters": "true"})
    got = data(await gql(web, f'{{ mailboxes(account: "acc", counters: true) {selection("Mailbox")} }}'))
    assert without_nulls(got["mailboxes"]) == without_nulls(boxes["mailboxes"])

    page = await rest(web, "GET", "/v1/account/acc/messages", params={"pageSize": 4})
    conn = await listing(web, n=4)
    assert without_nulls([e["node"] for e in conn["edges"]]) == without_nulls(page["messages"])
    assert (conn["totalCount"], conn["pages"], conn["pageInfo"]["hasNextPage"]) == (6, 2, True)
    again = await listing(web, n=4)  # served from the page cache and the memo: the same answer
    assert again == conn

    # Relay paging: `after` the last edge continues exactly where REST's next page starts.
    rest_next = await rest(web, "GET", "/v1/account/acc/messages",
                           params={"pageSize": 4, "cursor": page["nextPageCursor"]})  # fmt: skip
    following = await listing(web, n=4, after=conn["pageInfo"]["endCursor"])
    assert without_nulls([e["node"] for e in following["edges"]]) == without_nulls(rest_next["messages"])
    assert following["pageInfo"]["hasNextPage"] is False and following["pageInfo"]["hasPreviousPage"] is True
    middle = await listing(web, n=2, after=conn["edges"][0]["cursor"])
    assert [e["node"]["uid"] for e in middle["edges"]] == [m["uid"] for m in page["messages"][1:3]]

    for criteria in ({"subject": "plain 3"}, {"unseen": True, "from": "sender"}, {"body": "ümlauts"}):
        found = await rest(web, "POST", "/v1/account/acc/search", json={"search": criteria})
        gql_criteria = {("from" if k == "from" else k): v for k, v in criteria.items()}
        conn = await listing(web, s=gql_criteria)
        assert without_nulls([e["node"] for e in conn["edges"]]) == without_nulls(found["messages"]), criteria
        assert conn["totalCount"] == found["total"] >= 1

    rich = next(m for m in page["messages"] if m["messageId"] == "<rich-1@example.org>")
    one = await rest(web, "GET", f"/v1/account/acc/message/{rich['id']}", params={"textType": "*"})
    q = f'{{ message(account: "acc", id: "{rich["id"]}", textType: "*") {selection("MessageDetails")} }}'
    got = data(await gql(web, q))["message"]
    assert without_nulls(got) == without_nulls(one)
    assert got["text"]["plain"].startswith("Plain body with ümlauts") and len(got["attachments"]) == 2

    text = await rest(web, "GET", f"/v1/account/acc/text/{rich['text']['id']}")
    got = data(
        await gql(web, f'{{ text(account: "acc", id: "{rich["text"]["id"]}") {{ plain html hasMore }} }}')
    )
    assert got["text"] == text

    bad = await gql(web, '{ message(account: "acc", id: "nope") { id } }')
    r = await web.get("/v1/account/acc/message/nope")
    assert bad["errors"][0]["extensions"]["code"] == r.json()["code"] == "MessageNotFound"
    bad = await gql(web, '{ messages(account: "acc", path: "Nope") { totalCount } }')
    assert bad["errors"][0]["extensions"] == {"code": "MailboxNotFound", "statusCode": 404}


async def test_changes_match(web: httpx2.AsyncClient, live: Live) -> None:
    page = await rest(web, "GET", "/v1/account/acc/messages", params={"pageSize": 10})
    by_subject = {m["subject"]: m for m in page["messages"]}
    a, b = by_subject["plain 0"], by_subject["plain 1"]

    flags = {"add": ["\\Flagged", "$Work"], "delete": ["\\Seen"]}
    via_rest = await rest(web, "PUT", f"/v1/account/acc/message/{a['id']}", json={"flags": flags})
    q = 'mutation($id: ID!, $f: FlagChangesInput!) { updateFlags(account: "acc", id: $id, flags: $f) { flags } }'
    via_gql = data(await gql(web, q, {"id": b["id"], "f": flags}))["updateFlags"]
    assert via_gql["flags"] == via_rest["flags"]
    result = via_rest["flags"].pop("result")
    assert via_rest["flags"] == {"add": True, "delete": True}
    assert {"\\Flagged", "$Work"} <= set(result) and "\\Seen" not in result
    after = {e["node"]["subject"]: e["node"] for e in (await listing(web, n=10))["edges"]}
    assert after["plain 0"]["flags"] == after["plain 1"]["flags"] and "\\Flagged" in after["plain 1"]["flags"]

    moved_rest = await rest(web, "PUT", f"/v1/account/acc/message/{a['id']}/move", json={"path": "Archive"})
    q = 'mutation($id: ID!) { moveMessage(account: "acc", id: $id, path: "Archive") { path id uid } }'
    moved_gql = data(await gql(web, q, {"id": b["id"]}))["moveMessage"]
    assert moved_gql["path"] == moved_rest["path"] == "Archive" and moved_gql["uid"] == moved_rest["uid"] + 1
    archive = await listing(web, "Archive")
    assert {e["node"]["id"] for e in archive["edges"]} == {moved_rest["id"], moved_gql["id"]}

    deleted_rest = await rest(web, "DELETE", f"/v1/account/acc/message/{moved_rest['id']}")
    q = 'mutation($id: ID!) { deleteMessage(account: "acc", id: $id) { deleted moved } }'
    deleted_gql = data(await gql(web, q, {"id": moved_gql["id"]}))["deleteMessage"]
    assert deleted_rest["deleted"] is deleted_gql["deleted"] is False
    assert deleted_rest["moved"]["destination"] == deleted_gql["moved"]["destination"] == "Trash"
    q = 'mutation($id: ID!) { deleteMessage(account: "acc", id: $id, force: true) { deleted } }'
    assert data(await gql(web, q, {"id": deleted_gql["moved"]["message"]})) == {
        "deleteMessage": {"deleted": True}
    }

    raw = base64.b64encode(make_message("uploaded draft")).decode()
    up_rest = await rest(
        web, "POST", "/v1/account/acc/message", json={"path": "Drafts", "raw": raw, "flags": ["\\Draft"]}
    )
    q = 'mutation($i: MessageUploadInput!) { uploadMessage(account: "acc", input: $i) { id path uid messageId } }'
    up_gql = data(
        await gql(
            web, q, {"i": {"path": "Drafts", "subject": "composed", "text": "hi", "flags": ["\\Draft"]}}
        )
    )
    assert up_gql["uploadMessage"]["path"] == up_rest["path"] == "Drafts" and up_gql["uploadMessage"]["id"]
    drafts = await listing(web, "\\Drafts")
    assert {e["node"]["subject"] for e in drafts["edges"]} == {"uploaded draft", "composed"}

    created = data(await gql(web, 'mutation { createMailbox(account: "acc", segments: ["Projects", "X"]) '
                                  "{ path created } }"))  # fmt: skip
    assert created == {"createMailbox": {"path": "Projects/X", "created": True}}
    renamed = data(await gql(web, 'mutation { updateMailbox(account: "acc", path: "Projects/X", newPath: "Projects/Y") '
                                  "{ path newPath renamed } }"))  # fmt: skip
    assert renamed["updateMailbox"] == {"path": "Projects/X", "newPath": "Projects/Y", "renamed": True}
    gone = data(
        await gql(web, 'mutation { deleteMailbox(account: "acc", path: "Projects/Y") { path deleted } }')
    )
    assert gone == {"deleteMailbox": {"path": "Projects/Y", "deleted": True}}
    assert data(await gql(web, 'mutation { syncAccount(account: "acc") { sync } }')) == {
        "syncAccount": {"sync": True}
    }


async def test_account_state_follows_the_sync(live: Live, dovecot_user: ImapUser) -> None:
    from app.main import create_app
    from tests.graphql.conftest import serve

    await live.register(dovecot_user, account="st", imap={"host": live.dovecot.host, "port": 1,
                                                          "auth": {"user": "x", "pass": "y"}})  # fmt: skip
    await live.wait_state("st", "connectError")
    token = live.headers["Authorization"].removeprefix("Bearer ")
    async with serve(create_app(ctx=live.ctx)) as address, ws_connect(address, {"token": token}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        op = await ws.subscribe(
            'subscription { accountState(account: "st") { account state lastError syncTime } }'
        )
        # The supervisor keeps retrying an unreachable server, so the state on subscribe may already be
        # the next `connecting`; what matters is that the failure is streamed with its error.
        seen = (await ws.first_for(op))["payload"]["data"]["accountState"]
        while seen["state"] != "connectError":
            seen = (await ws.first_for(op, timeout=15))["payload"]["data"]["accountState"]
        assert seen["lastError"]
        r = await live.client.put("/v1/account/st", json={"imap": live.imap_settings(dovecot_user)},
                                  headers=live.headers)  # fmt: skip
        assert r.status_code == 200
        states = []
        while "connected" not in states:
            update = (await ws.first_for(op, timeout=15))["payload"]["data"]["accountState"]
            states.append(update["state"])
        assert states[-1] == "connected" and "connecting" in states and update["syncTime"] > 0
        await live.client.delete("/v1/account/st", headers=live.headers)
        last = (await ws.first_for(op))["payload"]["data"]["accountState"]
        assert last == {"account": "st", "state": None, "lastError": None, "syncTime": None}
        assert (await ws.receive())["type"] == "complete"
