"""A real Mailgate on uvicorn, in a thread of its own, with one account connected to the test
Dovecot: what the schema fuzzer talks to over HTTP."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from app.main import create_app
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.conftest import make_settings
from tests.integration.conftest import make_message
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.ports import free_port

ACCOUNT = "fuzz"
SEEDED = 5  # messages in the account's INBOX before the fuzzer starts
STARTUP_TIMEOUT = 30.0


@dataclass
class Target:
    base_url: str
    token: str
    account_body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def restore_account(self) -> None:
        """Register the account again with its real settings (POST overwrites), after a fuzzed
        request may have changed or deleted it."""
        r = httpx2.post(
            f"{self.base_url}/v1/account", json=self.account_body, headers=self.headers, timeout=30
        )
        assert r.status_code == 200, r.text

    def message_ids(self, expected: int, timeout: float = 30.0) -> list[str]:
        """Ids of the account's INBOX messages, once the first sync has indexed ``expected``."""
        deadline = time.monotonic() + timeout
        found: list[str] = []
        while time.monotonic() < deadline:
            r = httpx2.get(f"{self.base_url}/v1/account/{ACCOUNT}/messages", headers=self.headers, timeout=30)
            found = [m["id"] for m in r.json().get("messages", [])] if r.status_code == 200 else []
            if len(found) >= expected:
                return found
            time.sleep(0.1)  # polling a condition, with a deadline
        pytest.fail(f"the fuzz account's INBOX never showed {expected} messages: {found}")

    def wait_connected(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            r = httpx2.get(f"{self.base_url}/v1/account/{ACCOUNT}", headers=self.headers, timeout=30)
            state = r.json().get("state") if r.status_code == 200 else r.status_code
            if state == "connected":
                return
            time.sleep(0.1)  # polling a condition, with a deadline
        pytest.fail(f"the fuzz account never connected (last state: {state})")


class _Server(threading.Thread):
    """uvicorn with its own event loop: the fuzzer's requests are blocking calls from the test
    thread, which must not stall the loop that answers them."""

    def __init__(self, settings: Any, port: int, prepare: Callable[[], Awaitable[object]]) -> None:
        super().__init__(name="fuzz-server", daemon=True)
        self.settings, self.port, self.prepare = settings, port, prepare
        self.token = ""
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the fixture waiting on ``ready``
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        await self.prepare()
        ctx = Context.from_settings(self.settings)
        try:
            self.token, _ = await tokens.issue(ctx, OPERATOR, description="fuzz", scopes=["*"], account=None)
            config = uvicorn.Config(
                create_app(ctx=ctx), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
            self.server = uvicorn.Server(config)
            serving = asyncio.create_task(self.server.serve())
            while not self.server.started and not serving.done():
                await asyncio.sleep(0.01)
            self.ready.set()
            await serving
        finally:
            await ctx.close()


@pytest.fixture(scope="session")
def target(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, dovecot: Dovecot
) -> Iterator[Target]:
    base = tmp_path_factory.mktemp("fuzz")
    shutil.copyfile(sqlite_template, base / "mailgate.db")
    settings = make_settings(
        base,
        f"sqlite+aiosqlite:///{base / 'mailgate.db'}",
        poll_interval=1.0,
        reconnect_base=0.1,
        reconnect_cap=1.0,
        imap_timeout=10.0,
        auth_failures_per_minute=0,  # the fuzzer probes without a token on purpose, often
    )
    user, password = dovecot.fresh_user()
    messages = [make_message(f"fuzz {i}") for i in range(SEEDED)]
    server = _Server(
        settings,
        free_port(),
        lambda: append_messages(dovecot.host, dovecot.port, user, password, "INBOX", messages),
    )
    server.start()
    assert server.ready.wait(STARTUP_TIMEOUT), "the fuzz server did not start"
    if server.error is not None:
        raise server.error
    imap = {
        "host": dovecot.host,
        "port": dovecot.port,
        "secure": False,
        "auth": {"user": user, "pass": password},
    }
    body = {"account": ACCOUNT, "name": "Fuzz", "email": user, "imap": imap}
    found = Target(f"http://127.0.0.1:{server.port}", server.token, body)
    try:
        found.restore_account()
        found.wait_connected()
        yield found
    finally:
        assert server.server is not None
        server.server.should_exit = True
        server.join(30)
