"""Reading a 500-message INBOX: list pages and single messages (GET …/message/{id}).

Run: .venv/bin/python -m bench.message_reads [--messages 500] [--wrk-seconds 10] [--runs 2]
Needs Dovecot and wrk. `mailgate serve` is started as `make run` starts it (default settings and
log level, SQLite, in-process broker). Each run first reads every message once in random order
(what a client opening mail sees: every read a download), then hammers random messages with 20
connections (repeat reads, which the raw-message cache serves). Listing: random pages of 20,
one request at a time (p50) and with 20 connections (req/s, p99).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

import httpx2

from bench.common import Server, dovecot, get, mailgate, message, percentile, register, report, wrk_figures
from tests.servers.maildir import seed_maildir

RANDOM_MESSAGES = """
ids = {{{ids}}}
request = function()
  return wrk.format("GET", "/v1/account/bench/message/" .. ids[math.random(1, #ids)])
end
"""


def all_ids(server: Server) -> list[str]:
    ids: list[str] = []
    page = 0
    while True:
        found = get(server, "/v1/account/bench/messages", pageSize=250, page=page)
        ids += [m["id"] for m in found["messages"]]
        if page + 1 >= found["pages"]:
            return ids
        page += 1


RANDOM_PAGES = """
request = function()
  return wrk.format("GET", "/v1/account/bench/messages?pageSize=20&page=" .. math.random(0, {last}))
end
"""


def list_one_at_a_time(server: Server, pages: int, requests: int = 300) -> dict[str, str]:
    took: list[float] = []
    with httpx2.Client(base_url=server.base, headers=server.headers, timeout=30) as client:
        for _ in range(requests):
            t = time.monotonic()
            client.get("/v1/account/bench/messages", params={"pageSize": 20, "page": random.randrange(pages)})
            took.append(time.monotonic() - t)
    return {"list, random page, one at a time p50": f"{percentile(took, 50) * 1000:.1f}ms"}


def wrk(server: Server, args: argparse.Namespace, script_text: str, label: str) -> dict[str, str]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(script_text)
    auth = f"Authorization: Bearer {server.token}"
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.wrk_seconds}s", "--latency",
               "-H", auth, "-s", str(script), server.base]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return wrk_figures(out, label)


def first_reads(server: Server, ids: list[str]) -> dict[str, str]:
    order = random.sample(ids, len(ids))
    took: list[float] = []
    with httpx2.Client(base_url=server.base, headers=server.headers, timeout=30) as client:
        started = time.monotonic()
        for message_id in order:
            t = time.monotonic()
            client.get(f"/v1/account/bench/message/{message_id}").raise_for_status()
            took.append(time.monotonic() - t)
        total = time.monotonic() - started
    return {
        "first reads, one at a time: req/s": f"{len(order) / total:.0f}",
        "first reads p50": f"{percentile(took, 50) * 1000:.1f}ms",
        "first reads p99": f"{percentile(took, 99) * 1000:.1f}ms",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with dovecot() as dc:
        user = dc.fresh_user()
        seed_maildir(dc, user[0], "INBOX", (message(i) for i in range(args.messages)))
        dc.doveadm("mailbox", "status", "-u", user[0], "messages", "INBOX")
        for run in range(1, args.runs + 1):
            with mailgate() as server:
                register(server, "bench", dc, user)
                while get(server, "/v1/account/bench")["state"] != "connected":
                    time.sleep(0.1)
                ids = all_ids(server)
                pages = -(-len(ids) // 20)
                figures = list_one_at_a_time(server, pages)
                random_pages = RANDOM_PAGES.replace("{last}", str(pages - 1))
                label = f"list, random page, {args.connections} connections"
                figures |= wrk(server, args, random_pages, label)
                figures |= first_reads(server, ids)
                random_messages = RANDOM_MESSAGES.format(ids=", ".join(f'"{i}"' for i in ids))
                label = f"random message, {args.connections} connections"
                figures |= wrk(server, args, random_messages, label)
                figures["messages"] = str(len(ids))
                report(f"message reads, run {run}", figures)


if __name__ == "__main__":
    main()
