"""Sending across a crash of ``mailgate serve`` (``kill -9``) and a restart, as a process manager
would do it: nothing certainly not accepted is lost, nothing recorded as accepted goes out twice,
and sending resumes as soon as the new process is up, not when the dead one's claims run out."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.servers.ports import free_port
from tests.servers.smtp import SmtpSink
from tests.test_cli import cli_env, mailgate

SMTP_TIMEOUT = 5.0


class Server:
    """``mailgate serve`` in its own process, on a data directory that outlives it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.token = mailgate(tmp_path, "tokens", "issue", "-s", "*").stdout.strip()
        self.proc: subprocess.Popen[bytes] | None = None
        self.db = tmp_path / "data" / "mailgate.db"

    def start(self) -> None:
        self.port = free_port()
        env = cli_env(self.tmp_path) | {
            "MAILGATE_PORT": str(self.port),
            "MAILGATE_SMTP_TIMEOUT": str(SMTP_TIMEOUT),
            "MAILGATE_SEND_RETRY_BASE": "0.05",
            "MAILGATE_SYNC": "false",
        }
        with open(self.tmp_path / "serve.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.base = f"http://127.0.0.1:{self.port}"

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail("serve exited: " + (self.tmp_path / "serve.log").read_text())
            try:
                return httpx2.get(f"{self.base}/health", timeout=1).status_code == 200
            except httpx2.HTTPError:
                return False

        wait(healthy, 60, "serve did not become healthy")

    def stop(self, how: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(how)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        r = httpx2.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def account(self, sink: SmtpSink) -> None:
        smtp = {"host": sink.host, "port": sink.port, "secure": False}
        body = {"account": "acc", "name": "A", "email": "a@example.org", "imap": False, "smtp": smtp}
        self.call("POST", "/v1/account", json=body)

    def submit(self, to: str) -> str:
        return str(
            self.call("POST", "/v1/account/acc/submit", json={"to": [{"address": to}], "text": to})["queueId"]
        )

    def status(self, queue_id: str) -> dict[str, Any]:
        """The entry as ``GET /v1/outbox?state=all`` lists it (it stays listed once finished)."""
        listed = self.call("GET", "/v1/outbox", params={"state": "all", "pageSize": 1000})
        return dict(next(m for m in listed["messages"] if m["queueId"] == queue_id))

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, args).fetchall()

    def events(self, type: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT payload FROM event WHERE type = ? ORDER BY id", type)
        return [json.loads(p) for (p,) in rows]

    def close(self) -> None:
        if self.proc is not None:
            self.stop(signal.SIGKILL)


def moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def wait(check: Callable[[], bool], timeout: float, message: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(message() if callable(message) else message)
        time.sleep(0.05)


def until(at: datetime) -> float:
    """Seconds from now to ``at``: the time a condition has to come true before ``at``."""
    return (at - datetime.now(UTC)).total_seconds()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


def stalled(sink: SmtpSink) -> Callable[[], bool]:
    return lambda: sink.stalled.is_set()


def test_killed_after_acceptance_is_not_sent_again(server: Server, sink: SmtpSink) -> None:
    """The server accepted the message and the process dies while saying goodbye: the acceptance
    was recorded before QUIT, so the restarted process finishes it without a resend."""
    server.start()
    server.account(sink)
    sink.stall_at = "QUIT"
    first = server.submit("first@example.net")
    wait(stalled(sink), 30, "the message never reached QUIT")
    server.stop(signal.SIGKILL)
    assert [m.rcpt_tos for m in sink.messages] == [["first@example.net"]]
    sink.stall_at = None

    server.start()
    # A message sent after the restart proves the new dispatcher has made its first pass, which
    # is where it retries attempts a dead process left behind.
    second = server.submit("second@example.net")
    wait(
        lambda: server.status(second)["progress"]["status"] == "sent", 30, lambda: str(server.status(second))
    )
    item = server.status(first)
    assert item["progress"]["status"] == "sent" and item["attemptsMade"] == 1, item
    assert "error" not in item["progress"] and item["progress"]["response"].startswith("250 ")
    assert [m.rcpt_tos for m in sink.messages] == [["first@example.net"], ["second@example.net"]]
    assert server.events("messageDeliveryError") == []
    assert [e["queueId"] for e in server.events("messageSent")] == [first, second]


def test_killed_before_acceptance_is_sent_once_at_restart(server: Server, sink: SmtpSink) -> None:
    """The process dies while the server holds the message without accepting it: the restarted
    process retries it at once (its claim would have held it for the whole attempt span),
    saying so with an EINTERRUPTED error, and it is delivered exactly once."""
    server.start()
    server.account(sink)
    sink.stall_at = "DATA"
    queue_id = server.submit("late@example.net")
    wait(stalled(sink), 30, "the message never reached DATA")
    server.stop(signal.SIGKILL)
    ((state, claimed_until),) = server.query("SELECT state, claimed_until FROM outbox WHERE id = ?", queue_id)
    assert state == "processing" and sink.messages == []
    sink.stall_at = None

    server.start()
    left = until(moment(claimed_until))
    assert left > 0, "the restart took longer than an attempt may hold its message"
    wait(lambda: len(sink.messages) >= 1, left, "not resent before the dead attempt's claim expired")
    wait(
        lambda: server.status(queue_id)["progress"]["status"] == "sent",
        30,
        lambda: str(server.status(queue_id)),
    )
    item = server.status(queue_id)
    assert item["attemptsMade"] == 2, item
    errors = server.events("messageDeliveryError")
    assert [(e["queueId"], e["errorCode"]) for e in errors] == [(queue_id, "EINTERRUPTED")]
    assert [e["queueId"] for e in server.events("messageSent")] == [queue_id]
    assert [m.rcpt_tos for m in sink.messages] == [["late@example.net"]]


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "graceful"])
def test_restart_sends_at_once_not_when_the_old_lease_expires(
    server: Server, sink: SmtpSink, how: signal.Signals
) -> None:
    server.start()
    server.account(sink)
    holder: list[tuple[Any, ...]] = []

    def leased() -> bool:
        holder[:] = server.query(
            "SELECT owner, expires FROM lease WHERE name = 'outbox' AND owner IS NOT NULL"
        )
        return bool(holder)

    wait(leased, 30, "the outbox dispatcher never took its lease")
    server.stop(how)
    ((owner, expires),) = holder
    old_lease_ends = moment(expires)  # no renewal after the stop: it only gets later by renewing

    server.start()
    queue_id = server.submit("now@example.net")
    left = until(old_lease_ends)
    assert left > 0, "the restart took longer than the lease"

    wait(lambda: bool(sink.messages), left, f"not sent before the lease of {owner} would have expired")
    assert [m.rcpt_tos for m in sink.messages] == [["now@example.net"]]
    wait(lambda: server.status(queue_id)["progress"]["status"] == "sent", 30, "never marked sent")


def test_graceful_stop_lets_an_attempt_under_way_finish(server: Server, sink: SmtpSink) -> None:
    """SIGTERM while the server is still taking the message: the process waits for the answer
    and records it, instead of leaving an attempt that the next start would have to resend."""
    server.start()
    server.account(sink)
    sink.stall_at = "DATA"
    queue_id = server.submit("slow@example.net")
    wait(stalled(sink), 30, "the message never reached DATA")
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    log = server.tmp_path / "serve.log"
    wait(lambda: "letting attempts under way finish" in log.read_text(), 30, "the stop did not wait")
    sink.stall_at = None  # the server answers now
    assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    server.proc = None
    ((state, attempts),) = server.query("SELECT state, attempts_made FROM outbox WHERE id = ?", queue_id)
    assert (state, attempts) == ("sent", 1)
    assert server.events("messageDeliveryError") == []
    assert [m.rcpt_tos for m in sink.messages] == [["slow@example.net"]]


def test_a_holder_is_gone_only_when_provably_dead() -> None:
    """Host, pid and start time: a pid reused by another process does not keep a dead holder
    alive, and a holder on another host (which cannot be checked) is never taken for dead."""
    from app.services.leases import gone, process_id

    host, pid, start = process_id().split(":")
    assert not gone(process_id()) and not gone(f"{process_id()}:a1b2c3")
    assert gone(f"{host}:{pid}:{int(start) - 1}:a1b2c3")  # this pid, an earlier process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert gone(f"{host}:{child.pid}:{start}:a1b2c3")
    assert not gone(f"elsewhere.example:{child.pid}:{start}:a1b2c3")
    assert not gone("a custom owner") and not gone(f"{host}:1:-")


async def test_an_express_write_goes_before_waiting_ones(tmp_path: Path) -> None:
    """The record of an accepted message does not queue behind the writes already waiting."""
    from app.db import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    order: list[str] = []

    async def write(name: str, express: bool = False) -> None:
        async with db.writer(express=express):
            order.append(name)

    try:
        async with db.writer():
            waiting = [asyncio.create_task(write(f"w{i}")) for i in range(3)]
            waiting.append(asyncio.create_task(write("express", express=True)))
            waiting.append(asyncio.create_task(write("w3")))
            for _ in range(3):  # turns of the loop (no time): each task gets in line
                await asyncio.sleep(0)
            assert order == []
        await asyncio.gather(*waiting)
        assert order == ["express", "w0", "w1", "w2", "w3"]
    finally:
        await db.dispose()


async def test_a_writer_cancelled_in_line_does_not_hold_up_the_others(tmp_path: Path) -> None:
    from app.db import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    order: list[str] = []

    async def write(name: str, express: bool = False) -> None:
        async with db.writer(express=express):
            order.append(name)

    try:
        async with db.writer():
            gone = asyncio.create_task(write("cancelled", express=True))
            later = asyncio.create_task(write("later"))
            for _ in range(3):
                await asyncio.sleep(0)
            gone.cancel()
        await asyncio.wait_for(later, 10)
        assert order == ["later"] and gone.cancelled()
        await asyncio.wait_for(write("next"), 10)  # and the turn is free again
        assert order == ["later", "next"]
    finally:
        await db.dispose()
