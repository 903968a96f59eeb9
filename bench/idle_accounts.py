"""Resident memory of one `mailgate serve` process holding N idle, connected accounts (uvloop).

Run: .venv/bin/python -m bench.idle_accounts [--accounts 200]
Each account keeps two IMAP connections (IDLE on INBOX, STATUS polling of the other folders).
"""

from __future__ import annotations

import argparse
import time

import httpx2

from bench.common import dovecot, get, mailgate, message, register, report
from tests.servers.maildir import seed_maildir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20, help="per account INBOX")
    args = parser.parse_args()
    with dovecot(users=args.accounts) as dc:
        users = [dc.fresh_user() for _ in range(args.accounts)]
        for email, _ in users:
            seed_maildir(dc, email, "INBOX", (message(i) for i in range(args.messages)))
        with mailgate() as server:
            time.sleep(2)
            before = server.rss_kib()
            started = time.monotonic()
            for i, user in enumerate(users):
                register(server, f"acc{i}", dc, user)
            while True:
                listing = get(server, "/v1/accounts", pageSize=1000, state="connected")
                if listing["total"] == args.accounts:
                    break
                if time.monotonic() - started > 300:
                    states = httpx2.get(f"{server.base}/v1/stats", headers=server.headers).json()
                    raise SystemExit(f"not all connected: {states}")
                time.sleep(0.5)
            all_connected = time.monotonic() - started
            time.sleep(5)  # settle: IDLE entered, first polls done
            after = server.rss_kib()
    report(
        "idle_accounts",
        {
            "accounts": args.accounts,
            "all connected after (s)": round(all_connected, 1),
            "RSS before (MiB)": round(before / 1024, 1),
            "RSS with accounts (MiB)": round(after / 1024, 1),
            "RSS per account (KiB)": round((after - before) / args.accounts),
        },
    )


if __name__ == "__main__":
    main()
