"""Open and click tracking and one-click unsubscribe, end to end: the message from aiosmtpd, its
links followed over real HTTP (uvicorn), the events in the change log, /v1/changes and GraphQL."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from app.main import create_app
from tests.integration import test_sending
from tests.integration.conftest import Live
from tests.integration.test_sending import Outbox, parse
from tests.servers.receiver import AppServer

outbox = test_sending.outbox  # the fixture, shared with the other sending tests

TARGET = "https://example.org/page?a=1&b=2"
HTML = f'<html><body><p>Hello</p><a href="{TARGET.replace("&", "&amp;")}">read</a></body></html>'


@dataclass
class Public:
    """Mailgate on a real socket, as mail clients reach it."""

    base: str
    http: httpx2.AsyncClient


@pytest.fixture
async def public(outbox: Outbox) -> AsyncIterator[Public]:
    async with (
        AppServer(create_app(ctx=outbox.live.ctx)) as server,
        httpx2.AsyncClient(base_url=server.base, headers={"User-Agent": "MailClient/1.0"}) as http,
    ):
        r = await outbox.live.client.post(
            "/v1/settings", json={"serviceUrl": server.base}, headers=outbox.live.headers
        )
        assert r.status_code == 200, r.text
        yield Public(server.base, http)


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def link(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found is not None, html
    return found.group(1).replace("&amp;", "&")


def tampered(url: str, change: dict[str, Any]) -> str:
    """The link with its signed data changed (and the signature kept)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    data = json.loads(base64.urlsafe_b64decode(query["d"] + "=" * (-len(query["d"]) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**data, **change}).encode()).rstrip(b"=").decode()
    return f"{parts.path}?d={forged}&s={query['s']}"


async def events(live: Live, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in await live.events("acc", kind)]


async def test_open_and_click_are_recorded_and_forged_links_refused(outbox: Outbox, public: Public) -> None:
    live = outbox.live
    await outbox.account()
    answer = await outbox.submit(
        {
            "to": [{"address": "r@example.net"}],
            "subject": "News",
            "html": HTML,
            "trackOpens": True,
            "trackClicks": True,
        }
    )
    msg = parse((await outbox.sink.wait_for(1))[0].data)
    html = html_of(msg)
    assert TARGET.replace("&", "&amp;") not in html  # the link goes through Mailgate now
    pixel = link(html, r'<img src="([^"]+/v1/track/open\.gif\?[^"]+)"')
    click = link(html, r'<a href="([^"]+/v1/track/click\?[^"]+)"')
    assert pixel.startswith(public.base) and click.startswith(public.base)

    r = await public.http.get(pixel)
    assert (
        r.status_code == 200 and r.headers["content-type"] == "image/gif" and r.content.startswith(b"GIF89a")
    )
    [opened] = await live.wait_event("acc", "trackOpen")
    assert (
        opened.payload["messageId"] == answer["messageId"] and opened.payload["recipient"] == "r@example.net"
    )
    assert opened.payload["remoteAddress"] == "127.0.0.1" and opened.payload["userAgent"] == "MailClient/1.0"

    r = await public.http.get(click, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == TARGET
    [clicked] = await live.wait_event("acc", "trackClick")
    assert clicked.payload["url"] == TARGET and clicked.payload["messageId"] == answer["messageId"]

    # Forgeries: another target under the same signature, a changed signature, a pixel's
    # signature on a click, a link made up from nothing. None redirects or records anything.
    path = click[len(public.base) :]
    query = urlsplit(click).query
    for forged in (
        tampered(click[len(public.base) :], {"u": "https://evil.example/"}),
        path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"),
        "/v1/track/click?" + urlsplit(pixel).query,
        "/v1/track/click?d=eyJtIjoieCJ9&s=AAAAAAAAAAAAAAAAAAAAAAAA",
        "/v1/track/click?" + query.split("&")[0],
    ):
        r = await public.http.get(forged, follow_redirects=False)
        assert r.status_code in (400, 403) and "location" not in r.headers, (forged, r.status_code)
        assert r.json()["code"] in ("InvalidSignature", "InvalidRequest")
    r = await public.http.get(tampered(pixel[len(public.base) :], {"m": "<other@x>"}))
    assert r.status_code == 403
    assert len(await events(live, "trackClick")) == 1 and len(await events(live, "trackOpen")) == 1

    # The same events on /v1/changes (which GraphQL subscriptions read too).
    async with public.http.stream("GET", "/v1/changes", params={"since": 0}, headers=live.headers) as r:
        seen = await _until(r, {"trackOpen", "trackClick"})
    assert {"trackOpen", "trackClick"} <= seen


async def _until(response: httpx2.Response, wanted: set[str]) -> set[str]:
    """Event names from the stream until every wanted one was seen (or 5 s passed)."""
    seen: set[str] = set()

    async def read() -> None:
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                seen.add(line[len("event: ") :])
                if wanted <= seen:
                    return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), 5)
    return seen


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_one_click_unsubscribe_then_suppressed(outbox: Outbox, public: Public) -> None:
    live = outbox.live
    await outbox.account()
    message = {
        "to": [{"address": "Reader@Example.net"}],
        "subject": "Weekly",
        "text": "news",
        "listId": "weekly",
    }
    await outbox.submit(message)
    raw = (await outbox.sink.wait_for(1))[0].data
    msg = parse(raw)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire as a plain URL on one line: clients do not decode encoded-words here.
    url = re.search(rb"\r\nList-Unsubscribe: <(\S+)>\r\n", raw)
    assert url is not None and url.group(1).decode() == str(msg["List-Unsubscribe"])[1:-1]
    url = re.fullmatch(r"<(\S+)>", str(msg["List-Unsubscribe"]))
    assert url is not None and url.group(1).startswith(public.base + "/v1/unsubscribe?")

    page = await public.http.get(url.group(1))  # what a browser shows: a confirmation, nothing done yet
    assert page.status_code == 200 and "<form" in page.text
    assert await events(live, "listUnsubscribe") == []
    forged = await public.http.post(tampered(url.group(1)[len(public.base) :], {"r": "other@example.net"}))
    assert forged.status_code == 403

    r = await public.http.post(url.group(1), content=b"List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 200, r.text
    [event] = await live.wait_event("acc", "listUnsubscribe")
    assert event.payload["recipient"] == "Reader@Example.net" and event.payload["listId"] == "weekly"
    listed = await live.get("/v1/blocklist/weekly")
    assert [a["recipient"] for a in listed["addresses"]] == ["reader@example.net"]
    assert (await live.get("/v1/blocklists"))["blocklists"] == [{"listId": "weekly", "count": 1}]

    skipped = await outbox.submit({**message, "to": [{"address": "reader@example.net"}]})
    assert (
        skipped["skipped"] == {"reason": "unsubscribe", "listId": "weekly"} and skipped.get("queueId") is None
    )
    merged = await outbox.submit(
        {"subject": "Weekly", "text": "hi {{n}}", "listId": "weekly",
         "mailMerge": [{"to": {"address": "reader@example.net"}}, {"to": {"address": "new@example.net"}}]}
    )  # fmt: skip
    assert merged["mailMerge"][0]["skipped"] == {"reason": "unsubscribe", "listId": "weekly"}
    assert merged["mailMerge"][1]["success"] is True
    got = await outbox.sink.wait_for(2)
    assert [m.rcpt_tos for m in got] == [["Reader@Example.net"], ["new@example.net"]]  # nothing else was sent
    other_list = await outbox.submit({**message, "listId": "monthly"})
    assert other_list["queueId"]

    r = await live.client.delete(
        "/v1/blocklist/weekly", params={"recipient": "reader@example.net"}, headers=live.headers
    )
    assert r.status_code == 200 and r.json() == {"deleted": True}


async def test_tracking_needs_a_service_url(outbox: Outbox) -> None:
    await outbox.account()
    answer = await outbox.submit(
        {"to": [{"address": "r@example.net"}], "html": HTML, "trackClicks": True}, status=400
    )
    assert answer["code"] == "ServiceUrlRequired"


async def test_tracking_defaults_come_from_settings(outbox: Outbox, public: Public) -> None:
    live = outbox.live
    await outbox.account()
    r = await live.client.post("/v1/settings", json={"trackOpens": True}, headers=live.headers)
    assert r.status_code == 200, r.text
    assert (await live.get("/v1/settings"))["trackOpens"] is True
    await outbox.submit({"to": [{"address": "a@example.net"}], "html": HTML})
    await outbox.submit({"to": [{"address": "b@example.net"}], "html": HTML, "trackOpens": False})
    got = {m.rcpt_tos[0]: html_of(parse(m.data)) for m in await outbox.sink.wait_for(2)}
    assert "/v1/track/open.gif?" in got["a@example.net"] and "/v1/track/click?" not in got["a@example.net"]
    assert "/v1/track/open.gif?" not in got["b@example.net"]
