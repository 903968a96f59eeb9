"""Repeated queries (answered from the parse and validation caches and the service layer's page
cache) give the same answers as the first, follow index changes, and still authenticate and
authorise every request: nothing cached for one caller reaches another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx2
import pytest
from starlette.applications import Starlette

from app.models import Account, Mailbox, Message
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.graphql.conftest import codes, gql, http_client, selection

QUERY = f"""query($n: Int!, $after: String) {{ inbox: messages(account: "acc", first: $n, after: $after) {{
  totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {selection("Message")} }} }} }}"""


async def add_messages(ctx: Context, box_id: int, uids: range) -> None:
    now = datetime.now(UTC)
    async with ctx.db.session() as s:
        for uid in uids:
            s.add(Message(account="acc", mailbox_id=box_id, uid=uid, flags=["\\Seen"], seen=True, internal_date=now,
                          date=now, size=100 + uid, subject=f"Subject {uid}", from_={"name": "A", "address": "a@x"},
                          to=[{"address": "b@x"}], message_id=f"<{uid}@x>", attachments=[], preview="p"))  # fmt: skip
        box = await s.get(Mailbox, box_id)
        assert box is not None
        box.messages += len(uids)
        await s.commit()
    ctx.index_changed("acc", box_id)


@pytest.fixture
async def seeded(ctx: Context) -> int:
    async with ctx.db.session() as s:
        s.add(Account(id="acc", name="A", state="connected", imap={"host": "127.0.0.1"}))
        s.add(Account(id="other", name="O", state="unset"))
        await s.commit()
        box = Mailbox(account="acc", path="INBOX", uid_validity=7, messages=0, initialized=True)
        s.add(box)
        await s.commit()
        assert box.id is not None
        box_id = box.id
    await add_messages(ctx, box_id, range(1, 31))
    return box_id


@pytest.fixture
async def web(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    async with http_client(app) as c:
        yield c


async def test_repeated_queries_answer_the_same(
    web: httpx2.AsyncClient, auth: dict[str, str], seeded: int, ctx: Context
) -> None:
    first = await gql(web, QUERY, {"n": 5}, auth)  # parsed, validated, executed: the caches are filled
    assert first["data"]["inbox"]["totalCount"] == 30 and len(first["data"]["inbox"]["edges"]) == 5
    assert [e["node"]["uid"] for e in first["data"]["inbox"]["edges"]] == [30, 29, 28, 27, 26]
    for _ in range(3):
        assert await gql(web, QUERY, {"n": 5}, auth) == first

    other_size = await gql(web, QUERY, {"n": 2}, auth)  # other variables: another rendering
    assert [e["node"]["uid"] for e in other_size["data"]["inbox"]["edges"]] == [30, 29]
    after = await gql(
        web, QUERY, {"n": 2, "after": other_size["data"]["inbox"]["pageInfo"]["endCursor"]}, auth
    )
    assert [e["node"]["uid"] for e in after["data"]["inbox"]["edges"]] == [28, 27]

    searching = QUERY.replace("$after)", '$after, search: {subject: "Subject 1"})')
    found = await gql(web, searching, {"n": 50}, auth)
    assert await gql(web, searching, {"n": 50}, auth) == found and found["data"]["inbox"]["totalCount"] == 11

    await add_messages(ctx, seeded, range(31, 33))  # the index changed: the cached page is gone
    changed = await gql(web, QUERY, {"n": 5}, auth)
    assert changed["data"]["inbox"]["totalCount"] == 32
    assert [e["node"]["uid"] for e in changed["data"]["inbox"]["edges"]] == [32, 31, 30, 29, 28]


async def test_repeated_queries_still_authenticate_and_authorise(
    web: httpx2.AsyncClient, auth: dict[str, str], seeded: int, ctx: Context
) -> None:
    assert not (await gql(web, QUERY, {"n": 3}, auth)).get("errors")
    body = await gql(web, QUERY, {"n": 3})
    assert codes(body) == ["AuthenticationRequired"] and body["data"] is None
    assert body["errors"][0]["path"] == ["inbox"] and body["errors"][0]["extensions"]["statusCode"] == 401
    bound, _ = await tokens.issue(ctx, OPERATOR, description="b", scopes=["api"], account="other")
    body = await gql(web, QUERY, {"n": 3}, {"Authorization": f"Bearer {bound}"})
    assert codes(body) == ["Forbidden"]
    metrics, _ = await tokens.issue(ctx, OPERATOR, description="m", scopes=["metrics"], account=None)
    assert codes(await gql(web, QUERY, {"n": 3}, {"Authorization": f"Bearer {metrics}"})) == ["Forbidden"]
    body = await gql(web, QUERY, {"n": 5000}, auth)
    assert codes(body) == ["InvalidRequest"] and body["errors"][0]["extensions"]["details"]["pageSize"]
    bad = await gql(web, QUERY, {"n": "many"}, auth)
    assert codes(bad) == ["GRAPHQL_VALIDATION_FAILED"], bad  # bad variable
    again = await gql(web, QUERY, {"n": 3}, auth)  # the valid caller after all the refusals
    assert not again.get("errors") and len(again["data"]["inbox"]["edges"]) == 3
