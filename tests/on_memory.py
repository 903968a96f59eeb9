"""A service context whose mail sessions are all in-memory ones, with one account on them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.mail.memory import MemoryServer
from app.mail.session import SessionFactory
from app.models import Account
from app.services.context import Context


async def on_memory(ctx: Context, sessions: SessionFactory, **account: Any) -> Context:
    """``ctx`` opening every session through ``sessions`` (an app.mail.memory.MemoryServer, or
    a wrapper of one), and the account "acc" stored, with ``account``'s columns."""
    fake = replace(ctx, sessions=sessions)
    async with fake.db.core() as s:
        s.add(Account(id="acc", name="Test", imap={"host": "memory", "auth": {"user": "u"}}, **account))
        await s.commit()
    return fake


def taken(server: MemoryServer, operation: str) -> list[str]:
    """What ``operation`` ("select", "fetch_section") asked of ``server`` since the last look."""
    found = [argument for name, argument in server.asked if name == operation]
    server.asked.clear()
    return found
