"""Shared set-up for the benchmarks: a private Dovecot and a real `mailgate serve` process."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.dovecot import Dovecot  # noqa: E402
from tests.servers.ports import free_port  # noqa: E402

NAMES = ["Alice Example", "Bob Builder", "Carol Jones", "Dmitri Ivanov", "Eve Müller", "François Martin"]


def message(i: int) -> bytes:
    """A realistic small message: alternative text/html, sometimes an attachment."""
    msg = EmailMessage()
    sender = random.choice(NAMES)
    msg["From"] = f"{sender} <{sender.split()[0].lower()}@example.org>"
    msg["To"] = "Bench User <bench@example.com>"
    msg["Subject"] = f"Report {i}: quarterly numbers and next steps"
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(minutes=10_000 - i))
    msg["Message-ID"] = make_msgid(domain="example.org")
    body = f"Hello,\n\nthis is message number {i}.\n" + "Lorem ipsum dolor sit amet. " * 10
    msg.set_content(body)
    msg.add_alternative(f"<p>{body}</p>", subtype="html")
    if i % 10 == 0:
        msg.add_attachment(b"x" * 2048, maintype="application", subtype="pdf", filename=f"report-{i}.pdf")
    return msg.as_bytes()


def open_before(dc: Dovecot, emails: list[str]) -> None:
    """Leave the mailboxes as a mail server in use has them: every folder made and indexed.

    Mail seeded as files is new to Dovecot, which builds its index files and creates the
    auto-created folders when a client first opens each mailbox; on two shared cores that work,
    not the client's, would set the pace of a measurement of many logins. One ``doveadm`` run does
    it for every user beforehand."""
    listing = Path(tempfile.mkstemp(suffix=".users")[1])
    listing.write_text("".join(f"{email}\n" for email in emails))
    folders = ["Drafts", "Sent", "Trash", "Archive"]
    base = [dc.doveadm_bin, "-c", str(dc.conf_path), "mailbox"]
    subprocess.run([*base, "create", "-F", str(listing), *folders], check=True, capture_output=True)
    subprocess.run([*base, "status", "-F", str(listing), "messages", "INBOX", *folders],
                   check=True, capture_output=True)  # fmt: skip
    listing.unlink()


@dataclass
class Server:
    base: str
    token: str
    proc: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@contextlib.contextmanager
def dovecot(users: int = 1) -> Iterator[Dovecot]:
    base = Path(tempfile.mkdtemp(prefix="mailgate-bench-dovecot-"))
    server = Dovecot(base, {}, spare_users=users, max_connections=max(1000, users * 4))
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@contextlib.contextmanager
def mailgate(**env: str) -> Iterator[Server]:
    data = Path(tempfile.mkdtemp(prefix="mailgate-bench-data-"))
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    environ.update(
        {
            "MAILGATE_DATA_DIR": str(data),
            "MAILGATE_PORT": str(port),
            "MAILGATE_SECRET": "bench",
        },
        **env,
    )
    cli = [sys.executable, "-m", "app.cli"]
    token = subprocess.run(
        [*cli, "tokens", "issue", "-s", "*"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    log = open(data / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([*cli, "serve"], env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((data / "serve.log").read_text())
            time.sleep(0.05)
        yield Server(base, token, proc, data)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def register(server: Server, account: str, dc: Dovecot, user: tuple[str, str], **extra: Any) -> None:
    email, password = user
    body = {
        "account": account,
        "name": account,
        "email": email,
        "imap": {"host": dc.host, "port": dc.port, "auth": {"user": email, "pass": password}},
        **extra,
    }
    r = httpx2.post(f"{server.base}/v1/account", json=body, headers=server.headers, timeout=30)
    r.raise_for_status()


def get(server: Server, path: str, **params: Any) -> Any:
    r = httpx2.get(f"{server.base}{path}", params=params, headers=server.headers, timeout=30)
    r.raise_for_status()
    return r.json()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(title: str, figures: dict[str, Any]) -> None:
    print(f"== {title}")
    for key, value in figures.items():
        print(f"   {key}: {value}")
    print(json.dumps({"bench": title, **figures}))


def wrk_figures(out: str, label: str) -> dict[str, str]:
    """Requests/s, latency p50/p99 and non-2xx count from wrk's ``--latency`` report."""
    found = {
        "req/s": re.search(r"Requests/sec:\s+([\d.]+)", out),
        "p50": re.search(r"50%\s+([\d.]+\w+)", out),
        "p99": re.search(r"99%\s+([\d.]+\w+)", out),
        "non-2xx": re.search(r"Non-2xx or 3xx responses: (\d+)", out),
    }
    return {f"{label} {k}": (m.group(1) if m else ("0" if k == "non-2xx" else "?")) for k, m in found.items()}
