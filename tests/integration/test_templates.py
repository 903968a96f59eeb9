"""Stored templates: their routes, and messages rendered from them against aiosmtpd."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration import test_sending
from tests.integration.conftest import Live
from tests.integration.test_sending import Outbox, parse

outbox = test_sending.outbox  # the fixture, shared with the other sending tests

TEMPLATE = {
    "name": "Welcome",
    "description": "First message",
    "format": "html",
    "content": {
        "subject": "Welcome, {{name}}!",
        "text": "Hi {{name}},\n{{#each items}}- {{this}}\n{{/each}}{{#if vip}}VIP{{else}}regular{{/if}}",
        "html": (
            "<p>Hi {{name}}</p>{{#with company}}<p>{{title}}</p>{{/with}}"
            "<ul>{{#each items}}<li>{{this}}</li>{{/each}}</ul>{{{signature}}}"
        ),
        "previewText": "For {{name}}",
    },
}


async def create(live: Live, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = await live.client.post("/v1/templates/template", json=body, headers=live.headers)
    assert r.status_code == status, r.text
    return dict(r.json())


async def test_template_routes(outbox: Outbox) -> None:
    live = outbox.live
    await outbox.account()
    made = await create(live, TEMPLATE)
    assert made["created"] is True and made["account"] is None
    own = await create(live, {**TEMPLATE, "account": "acc", "name": "Own"})
    assert own["account"] == "acc"

    got = await live.get(f"/v1/templates/template/{made['id']}")
    assert got["content"] == TEMPLATE["content"] and got["format"] == "html" and got["name"] == "Welcome"

    listed = await live.get("/v1/templates", account="acc")
    assert listed["total"] == 2 and {t["name"] for t in listed["templates"]} == {"Welcome", "Own"}

    r = await live.client.put(
        f"/v1/templates/template/{made['id']}",
        json={"name": "Hello", "content": {"subject": "Hello {{name}}"}},
        headers=live.headers,
    )
    assert r.status_code == 200 and r.json()["updated"] is True, r.text
    got = await live.get(f"/v1/templates/template/{made['id']}")
    assert got["name"] == "Hello" and got["content"]["subject"] == "Hello {{name}}"
    assert got["content"]["html"] == TEMPLATE["content"]["html"]  # parts not given are kept

    r = await live.client.delete("/v1/templates/account/acc", headers=live.headers)
    assert r.status_code == 400 and r.json()["code"] == "InvalidRequest"
    r = await live.client.delete("/v1/templates/account/acc", params={"force": "true"}, headers=live.headers)
    assert r.status_code == 200 and r.json() == {"flushed": True, "account": "acc"}
    r = await live.client.get(f"/v1/templates/template/{own['id']}", headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "TemplateNotFound"

    r = await live.client.delete(f"/v1/templates/template/{made['id']}", headers=live.headers)
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert (await live.get("/v1/templates"))["total"] == 0


async def test_broken_template_is_refused_naming_the_part(outbox: Outbox) -> None:
    body = {**TEMPLATE, "content": {"subject": "ok", "html": "<p>{{#each items}}<li>{{this}}</li></p>"}}
    r = await outbox.live.client.post("/v1/templates/template", json=body, headers=outbox.live.headers)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["code"] == "TemplateError" and "html" in error["error"]
    assert set(error["details"]) == {"content.html"}

    await outbox.account()
    r = await outbox.live.client.post(
        "/v1/account/acc/submit",
        json={"to": [{"address": "r@example.net"}], "subject": "{{#if x}}open", "render": {"params": {}}},
        headers=outbox.live.headers,
    )
    assert r.status_code == 400 and r.json()["code"] == "TemplateError", r.text
    assert set(r.json()["details"]) == {"subject"}
    assert outbox.sink.messages == []


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_template_rendered_per_recipient(outbox: Outbox) -> None:
    await outbox.account()
    made = await create(outbox.live, TEMPLATE)
    people = [
        {
            "name": "Ann <&>",
            "items": ["a", "b"],
            "vip": True,
            "company": {"title": "CEO"},
            "signature": "<b>A</b>",
        },
        {"name": "Bob", "items": [], "vip": False, "company": None, "signature": "<i>B</i>"},
    ]
    for n, params in enumerate(people):
        await outbox.submit(
            {"to": [{"address": f"r{n}@example.net"}], "template": made["id"], "render": {"params": params}}
        )
    got = await outbox.sink.wait_for(2)
    by_rcpt = {m.rcpt_tos[0]: parse(m.data) for m in got}

    ann = by_rcpt["r0@example.net"]
    assert ann["Subject"] == "Welcome, Ann <&>!"
    # On the wire every line ends in CRLF; the rendered text is otherwise exactly as expected.
    assert ann.get_body(("plain",)).get_content() == "Hi Ann <&>,\r\n- a\r\n- b\r\nVIP\r\n"  # type: ignore[union-attr]
    html = ann.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.endswith("<p>Hi Ann &lt;&amp;&gt;</p><p>CEO</p><ul><li>a</li><li>b</li></ul><b>A</b>\r\n")
    assert "For Ann &lt;&amp;&gt;</div>" in html and "display:none" in html

    bob = by_rcpt["r1@example.net"]
    assert bob["Subject"] == "Welcome, Bob!"
    assert bob.get_body(("plain",)).get_content() == "Hi Bob,\r\nregular\r\n"  # type: ignore[union-attr]
    assert bob.get_body(("html",)).get_content().endswith("<p>Hi Bob</p><ul></ul><i>B</i>\r\n")  # type: ignore[union-attr]


async def test_account_token_cannot_use_another_accounts_template(outbox: Outbox) -> None:
    await outbox.account()
    await outbox.account("other")
    theirs = await create(outbox.live, {**TEMPLATE, "account": "other"})
    r = await outbox.live.client.post(
        "/v1/account/acc/submit",
        json={"to": [{"address": "r@example.net"}], "template": theirs["id"]},
        headers=outbox.live.headers,
    )
    assert r.status_code == 404 and r.json()["code"] == "TemplateNotFound", r.text
