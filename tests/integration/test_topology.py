"""The scale-out topology of ``compose.yaml`` from plain processes: two ``mailgate serve`` that do
not sync and two ``mailgate worker`` on PostgreSQL and Redis, with Dovecot, the SMTP sink and a
webhook receiver. Whatever goes in through one API process is seen through the other and done by
whichever worker holds the account; then the drill: a worker killed with SIGKILL, one joining and
one stopped with SIGTERM, and every account ends up connected through the workers left."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text
from sqlmodel import col

from app.db import make_engine
from app.models import Account
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from tests.conftest import all_tables, make_settings
from tests.integration.conftest import make_message
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.ports import free_port
from tests.servers.receiver import Receiver
from tests.servers.redis import Redis
from tests.servers.smtp import SmtpSink

ACCOUNTS = [f"t{i}" for i in range(6)]
CLI = [sys.executable, "-m", "app.cli"]


async def poll(check: Callable[[], Awaitable[bool]], timeout: float, what: Callable[[], str]) -> float:
    """Wait for ``check``; returns the seconds it took."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout}s: {what()}")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


@dataclass
class Topology:
    env: dict[str, str]
    log: IO[bytes]
    token: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    apis: list[httpx2.AsyncClient] = field(default_factory=list)
    #: What the last look at ``/metrics`` found: (state, pid of the holding worker or "none") -> n.
    held: dict[tuple[str, str], int] = field(default_factory=dict)

    def start(self, command: str, **extra: str) -> subprocess.Popen[bytes]:
        env = self.env | extra
        self.procs.append(
            subprocess.Popen([*CLI, command], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        )
        return self.procs[-1]

    def serve(self) -> httpx2.AsyncClient:
        port = free_port()
        self.start("serve", MAILGATE_PORT=str(port), MAILGATE_SYNC="false")
        client = httpx2.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )
        self.apis.append(client)
        return client

    async def ready(self, client: httpx2.AsyncClient) -> bool:
        with contextlib.suppress(httpx2.HTTPError):
            return (await client.get("/health/ready")).status_code == 200
        return False

    async def holders(self, via: httpx2.AsyncClient) -> dict[tuple[str, str], int]:
        """``mailgate_accounts{state, worker}``, the worker named by its pid (the owner name
        starts with ``host:pid:``), as any API process reports it."""
        r = await via.get("/metrics")
        assert r.status_code == 200, r.text
        self.held = {}
        for family in text_string_to_metric_families(r.text):
            for sample in family.samples:
                if sample.name == "mailgate_accounts" and sample.value:
                    worker = sample.labels["worker"]
                    pid = worker.split(":")[1] if worker != "none" else worker
                    key = (sample.labels["state"], pid)
                    self.held[key] = self.held.get(key, 0) + int(sample.value)
        return self.held

    async def connected_over(self, via: httpx2.AsyncClient, workers: list[subprocess.Popen[bytes]]) -> bool:
        """Every account connected, held by one of ``workers``, evenly (no worker one above another)."""
        found = await self.holders(via)
        counts = [found.get(("connected", str(w.pid)), 0) for w in workers]
        return sum(counts) == len(ACCOUNTS) and max(counts) - min(counts) <= 1

    def logs(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


@contextlib.asynccontextmanager
async def topology(tmp_path: Path, postgres_url: str, redis: Redis) -> AsyncIterator[Topology]:
    """A clean database and Redis, a token, and whatever processes the test starts: every one is
    stopped (SIGTERM, then SIGKILL) on the way out, failing or not."""
    engine = make_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {all_tables()} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    redis.flushall()
    ctx = Context.from_settings(make_settings(tmp_path, postgres_url))
    try:
        token, _ = await tokens.issue(ctx, OPERATOR, description="topology", scopes=["*"], account=None)
    finally:
        await ctx.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env.update(
        MAILGATE_DATA_DIR=str(tmp_path / "data"),
        MAILGATE_DATABASE_URL=postgres_url,
        MAILGATE_REDIS_URL=redis.url,
        MAILGATE_SECRET="topology-secret",
        MAILGATE_AUTO_MIGRATE="false",  # migrated once by the fixture, as compose's `migrate` does
        MAILGATE_LOG_LEVEL="info",  # the most that is logged in production, checked for secrets below
        MAILGATE_RECONNECT_MAX="2",
        MAILGATE_WEBHOOK_BACKOFF="0.3,0.6",
    )
    with (tmp_path / "procs.log").open("w+b") as log:
        found = Topology(env, log, token)
        try:
            yield found
        except BaseException:
            print(found.logs()[-6000:])  # shown by pytest with the failure
            raise
        finally:
            for client in found.apis:
                await client.aclose()
            for proc in found.procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in found.procs:
                try:
                    await asyncio.to_thread(proc.wait, 20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    await asyncio.to_thread(proc.wait)


async def test_two_api_processes_and_workers_survive_losing_a_worker(
    tmp_path: Path,
    postgres_url: str,
    redis_server: Redis,
    dovecot: Dovecot,
    smtp_sink: SmtpSink,
) -> None:
    receiver = Receiver()
    await receiver.start()
    users = {account: dovecot.fresh_user() for account in ACCOUNTS}
    try:
        async with topology(tmp_path, postgres_url, redis_server) as top:
            one, two = top.serve(), top.serve()
            w1, w2 = top.start("worker"), top.start("worker")
            await poll(
                lambda: _all(top.ready(one), top.ready(two)), 60, lambda: "the API processes never got ready"
            )
            await _setup(one, receiver, users, dovecot, smtp_sink)

            # Everything registered through one is connected, seen through two, spread over both workers.
            await poll(lambda: top.connected_over(two, [w1, w2]), 90, lambda: f"not spread: {top.held}")
            listed = (await two.get("/v1/accounts", params={"pageSize": 100})).json()["accounts"]
            assert sorted(a["account"] for a in listed) == sorted(ACCOUNTS)

            # A password change through two reaches the worker holding the account at once.
            auth = {"user": users["t0"][0], "pass": "wrong"}
            r = await two.put("/v1/account/t0", json={"imap": {"partial": True, "auth": auth}})
            assert r.status_code == 200, r.text
            refused = await poll(
                lambda: _state(one, "t0", "authenticationError"), 15, lambda: "wrong password not used"
            )
            auth["pass"] = users["t0"][1]
            r = await two.put("/v1/account/t0", json={"imap": {"partial": True, "auth": auth}})
            assert r.status_code == 200, r.text
            back = await poll(lambda: _state(one, "t0", "connected"), 15, lambda: "right password not used")
            print(f"password change: refused in {refused:.1f}s, connected again in {back:.1f}s")

            # Submitted through one, sent by a worker.
            r = await one.post("/v1/account/t1/submit", json={"to": [{"address": "to@example.net"}],
                                                              "subject": "through the topology", "text": "hi"})  # fmt: skip
            assert r.status_code == 200, r.text
            (sent,) = await smtp_sink.wait_for(1, timeout=20)
            assert b"through the topology" in sent.data and sent.rcpt_tos == ["to@example.net"]

            await _new_mail_is_announced(receiver, dovecot, users, ["t2"], "before the drill")

            # The drill. SIGKILL: the survivor takes the dead worker's accounts at its next look.
            # (A stopped holder leaves the account's state as it was, so "connected" alone proves
            # little: new mail announced for every moved account shows it is really synced again.)
            lost = await _accounts_of(postgres_url, w1)
            assert lost, "the worker to be killed holds no account"
            w1.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(w1.wait, 10) == -signal.SIGKILL
            took = await poll(
                lambda: top.connected_over(two, [w2]), 60, lambda: f"not taken over: {top.held}"
            )
            await _new_mail_is_announced(receiver, dovecot, users, lost, "after the kill")
            print(f"SIGKILL: {len(lost)} accounts taken over in {took:.1f}s")

            # A worker joins: it takes its share off the other.
            w3 = top.start("worker")
            took = await poll(
                lambda: top.connected_over(two, [w2, w3]), 60, lambda: f"not spread again: {top.held}"
            )
            joined = await _accounts_of(postgres_url, w3)
            await _new_mail_is_announced(receiver, dovecot, users, joined, "after the join")
            print(f"join: {len(joined)} accounts moved to the new worker in {took:.1f}s")

            # SIGTERM: the worker hands its accounts over as it stops. Without a hand-over they
            # would still be its own when it exits (the other takes a silent process's accounts
            # only once its heartbeat lapses, seconds later), so checking at exit needs no clock.
            left = await _accounts_of(postgres_url, w2)
            w2.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(w2.wait, 30) == 0
            assert await _accounts_of(postgres_url, w2) == [], "still held by the stopped worker"
            took = await poll(
                lambda: top.connected_over(two, [w3]), 60, lambda: f"not taken over: {top.held}"
            )
            assert top.held.get(("connected", "none"), 0) == 0
            await _new_mail_is_announced(receiver, dovecot, users, left, "after the stop")
            print(f"SIGTERM: {len(left)} accounts handed over in {took:.1f}s")

            written = top.logs()
            for secret in [
                top.token,
                top.env["MAILGATE_SECRET"],
                *(password for _, password in users.values()),
            ]:
                assert secret not in written
    finally:
        await receiver.stop()


async def _all(*checks: Awaitable[bool]) -> bool:
    return all(await asyncio.gather(*checks))


async def _setup(
    client: httpx2.AsyncClient,
    receiver: Receiver,
    users: dict[str, tuple[str, str]],
    dovecot: Dovecot,
    smtp_sink: SmtpSink,
) -> None:
    r = await client.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": receiver.url})
    assert r.status_code == 200, r.text
    for account, (email, password) in users.items():
        body: dict[str, Any] = {
            "account": account,
            "name": account,
            "email": email,
            "imap": {"host": dovecot.host, "port": dovecot.port, "secure": False,
                     "auth": {"user": email, "pass": password}},
            "smtp": {"host": smtp_sink.host, "port": smtp_sink.port, "secure": False},
        }  # fmt: skip
        r = await client.post("/v1/account", json=body)
        assert r.status_code == 200, r.text


async def _state(client: httpx2.AsyncClient, account: str, state: str) -> bool:
    r = await client.get(f"/v1/account/{account}")
    assert r.status_code == 200, r.text
    return bool(r.json()["state"] == state)


async def _accounts_of(postgres_url: str, worker: subprocess.Popen[bytes]) -> list[str]:
    """The accounts ``worker`` holds (``account.owner`` starts with ``host:pid:``)."""
    engine = make_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(col(Account.id), col(Account.owner)))).all()
    finally:
        await engine.dispose()
    return sorted(str(i) for i, owner in rows if owner and owner.split(":")[1] == str(worker.pid))


async def _new_mail_is_announced(
    receiver: Receiver, dovecot: Dovecot, users: dict[str, tuple[str, str]], accounts: list[str], subject: str
) -> None:
    """Mail appended by another client reaches the webhook receiver: the accounts are really synced."""
    for account in accounts:
        email, password = users[account]
        await append_messages(dovecot.host, dovecot.port, email, password, "INBOX", [make_message(subject)])

    async def announced() -> bool:
        bodies = [json.loads(hit.body) for hit in receiver.hits]
        wanted = ("messageNew", account, subject)
        return any(
            (b.get("event"), b.get("account"), b.get("data", {}).get("subject")) == wanted for b in bodies
        )

    await poll(announced, 20, lambda: f"no messageNew for {account!r} ({subject!r})")
