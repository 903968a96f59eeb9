"""Initial sync of a 10,000-message INBOX, then list throughput on it.

Run: .venv/bin/python -m bench.sync_10k [--messages 10000] [--wrk-seconds 10]
Needs Dovecot and wrk (apt-get install dovecot-imapd wrk). Prints the time from registration to the
first page with the right total and the newest 20 messages, to the last page being right (so every
page is), and to `connected`; then GET …/messages?pageSize=20 req/s and p99.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import Server, dovecot, get, mailgate, message, register, report, wrk_figures
from tests.servers.maildir import seed_maildir

RANDOM_PAGES = """
request = function()
  return wrk.format("GET", "/v1/account/bench/messages?pageSize=20&page=" .. math.random(0, {last}))
end
"""


def wrk(server: Server, url: str, args: argparse.Namespace, label: str, pages: int = 0) -> dict[str, str]:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.wrk_seconds}s", "--latency",
               "-H", f"Authorization: Bearer {server.token}"]  # fmt: skip
    if pages:
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        script.write_text(RANDOM_PAGES.replace("{last}", str(pages - 1)))
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return wrk_figures(out, label)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()

    with dovecot() as dc:
        user = dc.fresh_user()
        seed_maildir(dc, user[0], "INBOX", (message(i) for i in range(args.messages)))
        dc.doveadm("mailbox", "status", "-u", user[0], "messages", "INBOX")  # let Dovecot index its own files
        with mailgate() as server:
            n = args.messages
            newest = list(range(n, n - 20, -1))
            t0 = time.monotonic()
            register(server, "bench", dc, user)
            t_first = t_every = t_connected = None
            while t_first is None:  # the first page with the right total and the newest 20
                if time.monotonic() - t0 > 300:
                    raise SystemExit("gave up waiting for the first page")
                info = get(server, "/v1/account/bench")
                if info["state"] in ("syncing", "connected"):
                    page = get(server, "/v1/account/bench/messages", pageSize=20)
                    if page["total"] == n and [m["uid"] for m in page["messages"]] == newest:
                        t_first = time.monotonic()
                        break
                time.sleep(0.02)
            while t_every is None:  # the last page too: then every page in between is right
                last = get(server, "/v1/account/bench/messages", pageSize=20, page=n // 20 - 1)
                if last["total"] == n and [m["uid"] for m in last["messages"]] == list(range(20, 0, -1)):
                    t_every = time.monotonic()
                elif time.monotonic() - t0 > 300:
                    raise SystemExit(f"gave up waiting for the last page: {last['total']}")
            while t_connected is None:
                if get(server, "/v1/account/bench")["state"] == "connected":
                    t_connected = time.monotonic()
                elif time.monotonic() - t0 > 300:
                    raise SystemExit("gave up waiting for connected")
                else:
                    time.sleep(0.02)
            figures = {
                "messages": n,
                "register -> first page, right total and newest 20 (s)": round(t_first - t0, 3),
                "register -> every page right (s)": round(t_every - t0, 3),
                "register -> connected (s)": round(t_connected - t0, 3),
            }
            if shutil.which("wrk"):
                url = f"{server.base}/v1/account/bench/messages?pageSize=20"
                pages = max(1, args.messages // 20)
                figures.update(wrk(server, url, args, "same page (page cache hits)"))
                figures.update(wrk(server, url, args, f"random page of {pages}", pages))
            report("sync_10k", figures)


if __name__ == "__main__":
    main()
