"""GraphQL's ``message`` and ``text`` take REST's ``webSafeHtml`` and ``embedAttachedImages`` and
answer what REST answers for them, on a message synced from a real Dovecot."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx2
import pytest

from tests.graphql.conftest import data, gql, http_client, selection, without_nulls
from tests.graphql.test_parity_dovecot import rest
from tests.integration.conftest import Live, seed
from tests.integration.test_compat_messages import PNG, html_message
from tests.servers.fixtures import ImapUser

MESSAGE = f"""query($id: ID!, $safe: Boolean!, $embed: Boolean!) {{
  message(account: "acc", id: $id, textType: "html", webSafeHtml: $safe, embedAttachedImages: $embed)
  {selection("MessageDetails")} }}"""
TEXT = """query($id: ID!, $safe: Boolean!) {
  text(account: "acc", id: $id, textType: "html", webSafeHtml: $safe) { plain html hasMore webSafe } }"""


@pytest.fixture
async def web(live: Live, dovecot_user: ImapUser) -> AsyncIterator[httpx2.AsyncClient]:
    await seed(live.dovecot, dovecot_user, "INBOX", [html_message()])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    from app.main import create_app

    async with http_client(create_app(ctx=live.ctx), headers=live.headers) as c:
        yield c


async def test_message_and_text_sanitise_and_embed_as_rest_does(web: httpx2.AsyncClient) -> None:
    listed = await rest(web, "GET", "/v1/account/acc/messages")
    [item] = [m for m in listed["messages"] if m["subject"] == "hostile html"]
    url = f"/v1/account/acc/message/{item['id']}"

    async def message(safe: bool, embed: bool) -> dict[str, object]:
        found: dict[str, object] = data(
            await gql(web, MESSAGE, {"id": item["id"], "safe": safe, "embed": embed})
        )["message"]
        return found

    raw = await message(False, False)
    assert "<script" in raw["text"]["html"] and raw["text"]["webSafe"] is None  # type: ignore[index]

    safe = await message(True, False)
    html = safe["text"]["html"]  # type: ignore[index]
    assert safe["text"]["webSafe"] is True  # type: ignore[index]
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:"):
        assert bad not in html, bad
    assert "<b>bold</b>" in html and "cid:pic@here" in html
    rest_safe = await rest(web, "GET", url, params={"textType": "html", "webSafeHtml": "true"})
    assert without_nulls(safe) == without_nulls(rest_safe)

    embedded = await message(True, True)
    html = embedded["text"]["html"]  # type: ignore[index]
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in html
    assert "cid:pic@here" not in html and "onerror" not in html
    params = {"textType": "html", "webSafeHtml": "true", "embedAttachedImages": "true"}
    assert without_nulls(embedded) == without_nulls(await rest(web, "GET", url, params=params))

    text_id = item["text"]["id"]
    plain = data(await gql(web, TEXT, {"id": text_id, "safe": False}))["text"]
    assert "<script" in plain["html"] and plain["webSafe"] is None
    text = data(await gql(web, TEXT, {"id": text_id, "safe": True}))["text"]
    rest_text = await rest(
        web, "GET", f"/v1/account/acc/text/{text_id}", params={"textType": "html", "webSafeHtml": "true"}
    )
    assert text["webSafe"] is True and "<script" not in text["html"]
    assert without_nulls(text) == without_nulls(rest_text)
