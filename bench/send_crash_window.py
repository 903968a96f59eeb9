"""How long after an SMTP server accepts a message a crash of `mailgate serve` still resends it.

Run: .venv/bin/python -m bench.send_crash_window [--trials 5] [--delays-ms 0,0.25,0.5,1,2,4,8]
     [--burst 0] [--quit-delay-ms 0] [--root DIR] [--legacy]

An aiosmtpd server runs in this process and notes the instant it returns its ``250`` to DATA for a
"probe" message. For each trial `mailgate serve` is (re)started on the same data directory, one
probe is submitted (amid ``--burst`` other messages, so that its writes compete with theirs), and
the process gets SIGKILL a chosen delay after that instant. ``--quit-delay-ms`` makes the server
answer QUIT late, as a distant one does (a network round trip). The probe's state in the database right
after the kill tells whether the acceptance had been recorded (``smtp-completed``/``sent``) or not
(``processing``: it is resent after the restart). A last restart lets every entry finish; the
server's log of accepted messages then gives the actual duplicates per delay.

``--root`` runs another checkout (e.g. an older revision, for comparison); ``--legacy`` frees the
dead process's lease and claims before each restart, for revisions that do not take them over.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.common import ROOT, report
from tests.servers.ports import free_port


class Sink:
    """Accepts everything; records each message's Message-ID, and when the probe was accepted."""

    def __init__(self, quit_delay: float) -> None:
        self.quit_delay = quit_delay
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.probe = ""  # the recipient of the current probe (earlier ones may be resent meanwhile)
        self.probe_accepted = threading.Event()
        self.accepted_at = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        message_id = next(
            (line.split(b":", 1)[1].strip().decode() for line in data.splitlines()
             if line.lower().startswith(b"message-id:")),
            "?",
        )  # fmt: skip
        with self.lock:
            self.received[message_id] += 1
        if self.probe in envelope.rcpt_tos:
            self.accepted_at = time.perf_counter()
            self.probe_accepted.set()
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.quit_delay)  # a distant server: its reply takes a round trip
        return "221 Bye"


class Mailgate:
    def __init__(self, root: Path, smtp_port: int) -> None:
        self.root = root
        self.data = Path(tempfile.mkdtemp(prefix="mailgate-bench-crash-"))
        self.db = self.data / "mailgate.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")} | {
            "MAILGATE_DATA_DIR": str(self.data),
            "MAILGATE_LOG_LEVEL": "warning",
            "MAILGATE_SECRET": "bench",
            "MAILGATE_SYNC": "false",
            "MAILGATE_SMTP_TIMEOUT": "5",
            "MAILGATE_SEND_RETRY_BASE": "0.05",
        }
        cli = [sys.executable, "-m", "app.cli", "tokens", "issue", "-s", "*"]
        self.token = subprocess.run(
            cli, env=self.env, capture_output=True, text=True, check=True, cwd=root
        ).stdout.strip()
        self.smtp_port = smtp_port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        with open(self.data / "serve.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"],
                env=self.env | {"MAILGATE_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError((self.data / "serve.log").read_text()[-3000:])
            time.sleep(0.05)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx2.request(
            method, f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=30, **kw
        )
        r.raise_for_status()
        return r.json()

    def submit(self, to: str) -> str:
        return str(
            self.call("POST", "/v1/account/bench/submit", json={"to": [{"address": to}], "text": "x"})[
                "queueId"
            ]
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.reap()

    def reap(self) -> None:
        assert self.proc is not None
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
            self.proc = None

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, args).fetchall()

    def settle(self) -> None:
        pending = "SELECT count(*) FROM outbox WHERE state IN ('queued', 'processing', 'smtp-completed')"
        deadline = time.monotonic() + 300
        while self.query(pending)[0][0]:
            if time.monotonic() > deadline:
                raise RuntimeError("entries still pending after 300 s")
            time.sleep(0.05)

    def free_dead_claims(self) -> None:
        """What a revision without takeover would do only once the lease and claims expire."""
        past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        with sqlite3.connect(self.db) as conn:
            conn.execute("UPDATE lease SET owner = NULL, expires = NULL")
            conn.execute("UPDATE outbox SET claimed_until = ? WHERE claim IS NOT NULL", (past,))


def kill_after(sink: Sink, pid: int, delay: float, lag: list[float]) -> None:
    if not sink.probe_accepted.wait(60):
        return
    target = sink.accepted_at + delay
    if (early := target - time.perf_counter() - 0.001) > 0:
        time.sleep(early)  # without the GIL: the sink's thread is still writing its 250
    while (now := time.perf_counter()) < target:
        pass
    os.kill(pid, signal.SIGKILL)
    lag.append(now - target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--delays-ms", default="0,0.25,0.5,1,2,4,8")
    parser.add_argument(
        "--burst", type=int, default=0, help="messages submitted (8 at a time) around each probe"
    )
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument(
        "--quit-delay-ms", type=float, default=0.0, help="the server's delay in answering QUIT"
    )
    args = parser.parse_args()
    sys.setswitchinterval(1e-5)  # the sink's thread must not hold up the kill for 5 ms
    delays = [float(d) / 1000 for d in args.delays_ms.split(",")]

    sink = Sink(args.quit_delay_ms / 1000)
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port, decode_data=False)
    controller.start()
    gate = Mailgate(args.root.resolve(), smtp_port)
    outcome: dict[float, Counter[str]] = defaultdict(Counter)
    probes: dict[str, float] = {}  # Message-ID -> delay
    lag: list[float] = []
    pool = ThreadPoolExecutor(8)
    try:
        gate.start()
        smtp = {"host": "127.0.0.1", "port": smtp_port, "secure": False}
        gate.call("POST", "/v1/account", json={"account": "bench", "name": "B", "email": "b@example.org",
                                               "imap": False, "smtp": smtp})  # fmt: skip
        for trial in range(args.trials):
            for delay in delays:
                if gate.proc is None:
                    if args.legacy:
                        gate.free_dead_claims()
                    gate.start()
                    gate.settle()  # the last probe's resend must not be in flight at the next kill
                load = [pool.submit(gate.submit, f"load{i}@example.net") for i in range(args.burst)]
                if load:  # the probe goes out while these are submitted and sent
                    load[len(load) // 2].result()
                sink.probe_accepted.clear()
                sink.probe = f"probe{len(probes)}@example.net"
                assert gate.proc is not None
                killer = threading.Thread(target=kill_after, args=(sink, gate.proc.pid, delay, lag))
                killer.start()  # its own thread: the submit's answer may come after the 250
                queue_id = gate.submit(sink.probe)
                killer.join(70)
                if killer.is_alive():
                    raise RuntimeError(f"probe {queue_id} was never sent")
                gate.reap()
                for future in load:
                    with contextlib.suppress(httpx2.HTTPError):
                        future.result()
                ((state, message_id),) = gate.query(
                    "SELECT state, message_id FROM outbox WHERE id = ?", queue_id
                )
                outcome[delay]["recorded" if state in ("smtp-completed", "sent") else state] += 1
                probes[message_id] = delay
            print(f"trial {trial + 1}/{args.trials} done", file=sys.stderr)
        if args.legacy:
            gate.free_dead_claims()
        gate.start()  # the last one: everything left over is finished or resent now
        gate.settle()
        gate.stop()
    finally:
        if gate.proc is not None:
            gate.kill()
        controller.stop()

    duplicates: Counter[float] = Counter()
    with sink.lock:
        for message_id, delay in probes.items():
            duplicates[delay] += sink.received[message_id] - 1
    figures: dict[str, Any] = {
        "root": str(args.root),
        "burst": args.burst,
        "QUIT answered after (ms)": args.quit_delay_ms,
        "trials per delay": args.trials,
        "kill lag p50/max (ms)": f"{sorted(lag)[len(lag) // 2] * 1000:.3f}/{max(lag) * 1000:.3f}",
    }
    for delay in delays:
        seen = outcome[delay]
        figures[f"kill {delay * 1000:g} ms after 250"] = (
            ", ".join(f"{state} {n}" for state, n in sorted(seen.items()))
            + f"; delivered twice {duplicates[delay]}"
        )
    report("send crash window", figures)


if __name__ == "__main__":
    main()
