"""Initial sync of a 10,000-message INBOX, then list throughput on it.

Run: .venv/bin/python -m bench.sync_10k [--messages 10000] [--wrk-seconds 10]
Needs Dovecot and wrk (apt-get install dovecot-imapd wrk). Prints the figures the sync issue names:
time to first listable page and to the whole folder, and GET …/messages?pageSize=20 req/s and p99.
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
            t0 = time.monotonic()
            register(server, "bench", dc, user)
            t_auth = t_first = t_full = None
            while t_full is None:
                info = get(server, "/v1/account/bench")
                now = time.monotonic()
                if t_auth is None and info["state"] in ("syncing", "connected"):
                    t_auth = now
                if t_auth is not None:
                    page = get(server, "/v1/account/bench/messages", pageSize=20)
                    if t_first is None and len(page["messages"]) == 20:
                        t_first = time.monotonic()
                    if page["total"] == args.messages and info["state"] == "connected":
                        t_full = time.monotonic()
                if now - t0 > 300:
                    raise SystemExit(f"gave up: {info}")
                time.sleep(0.02)
            assert t_auth is not None and t_first is not None
            figures = {
                "messages": args.messages,
                "register -> logged in (s)": round(t_auth - t0, 3),
                "logged in -> first page listable (s)": round(t_first - t_auth, 3),
                "logged in -> whole INBOX indexed (s)": round(t_full - t_auth, 3),
                "register -> whole INBOX indexed (s)": round(t_full - t0, 3),
            }
            if shutil.which("wrk"):
                url = f"{server.base}/v1/account/bench/messages?pageSize=20"
                pages = max(1, args.messages // 20)
                figures.update(wrk(server, url, args, "same page (page cache hits)"))
                figures.update(wrk(server, url, args, f"random page of {pages} (mostly misses)", pages))
            report("sync_10k", figures)


if __name__ == "__main__":
    main()
