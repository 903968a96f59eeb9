"""PUT /v1/account/{account}/flush against real Dovecot: the index is rebuilt from the server, the
message ids survive, and no old mail is announced again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from app.models import Account, Message
from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.servers.fixtures import ImapUser


async def subjects(live: Live, account: str) -> list[str | None]:
    async with live.ctx.db.core() as s:
        query = select(col(Message.subject)).where(col(Message.account) == account)
        return sorted((await s.execute(query)).scalars(), key=str)


async def listed(live: Live, account: str) -> dict[str, str]:
    page = await live.get(f"/v1/account/{account}/messages", path="INBOX", pageSize=100)
    return {m["id"]: m["subject"] for m in page["messages"]}


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_flush_rebuilds_the_index_quietly(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(subject=f"old {n}") for n in range(3)])
    # notifyFrom in the past: the seeded mail is announced once, as a baseline to compare with.
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    await live.register(dovecot_user, "acc", notifyFrom=past)
    await live.wait_state("acc", "connected")
    await live.wait_event("acc", "messageNew", 3)
    before = await listed(live, "acc")
    assert sorted(before.values()) == ["old 0", "old 1", "old 2"]
    events_before = await live.events("acc")
    # Spoil the index behind the sync's back: only a rebuild from the server repairs it.
    async with live.ctx.db.core() as s:
        await s.execute(update(Message).where(col(Message.account) == "acc").values(subject="stale"))
        await s.commit()

    r = await live.client.put("/v1/account/acc/flush", json={"flush": True}, headers=live.headers)
    assert r.status_code == 200 and r.json() == {"flush": True}

    async def rebuilt() -> bool:
        return await subjects(live, "acc") == ["old 0", "old 1", "old 2"]

    await wait_until(rebuilt, 15, "the index was not rebuilt")
    await live.wait_state("acc", "connected")
    assert await listed(live, "acc") == before  # ids derive from UIDVALIDITY + UID: unchanged
    # New mail is announced again; the old mail never was, and nothing was reported deleted.
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(subject="after flush")])
    news = await live.wait_event("acc", "messageNew", 4)
    assert [e.payload["subject"] for e in news[3:]] == ["after flush"]
    kinds = [e.type for e in (await live.events("acc"))[len(events_before) :]]
    assert "messageDeleted" not in kinds and kinds.count("messageNew") == 1, kinds
    info = await live.get("/v1/account/acc")
    assert "flushPending" not in info
    assert datetime.fromisoformat(info["notifyFrom"]) > datetime.fromisoformat(past)


async def test_flush_false_does_nothing(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, "acc")
    for body in ({"flush": False}, {}):
        r = await live.client.put("/v1/account/acc/flush", json=body, headers=live.headers)
        assert r.status_code == 200 and r.json() == {"flush": False}
    async with live.ctx.db.session() as s:
        row = await s.get(Account, "acc")
        assert row is not None and "flushPending" not in (row.options or {})


async def test_flush_errors(live: Live, dovecot_user: ImapUser) -> None:
    r = await live.client.put("/v1/account/nobody/flush", json={"flush": True}, headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "AccountNotFound"
    await live.register(dovecot_user, "acc")
    r = await live.client.put("/v1/account/acc/flush", json={"flush": "maybe"}, headers=live.headers)
    assert r.status_code == 400 and r.json()["statusCode"] == 400
    r = await live.client.put("/v1/account/acc/flush", json={"flush": True, "bogus": 1}, headers=live.headers)
    assert r.status_code == 400
