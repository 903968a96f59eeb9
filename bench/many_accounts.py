"""Registering many accounts at once on one `mailgate serve` started as `make run` starts it.

Run: .venv/bin/python -m bench.many_accounts [--accounts 1000] [--messages 10] [--in-flight 8]
        [--untouched]
Prints the registration rate (POST /v1/account with --in-flight requests at a time), how many
registrations failed (any non-200), the time until every account is `connected`, and the
process's resident memory then. The mailboxes are opened once by ``doveadm`` first, as earlier
clients of a server in use have opened them; ``--untouched`` leaves them as seeded, so that
Dovecot creates their folders and indexes during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx2

from bench.common import Server, dovecot, get, mailgate, message, open_before, report
from tests.servers.dovecot import Dovecot
from tests.servers.maildir import seed_maildir


async def register_all(
    server: Server, dc: Dovecot, users: list[tuple[str, str]], in_flight: int
) -> list[int]:
    statuses: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(users)):
        queue.put_nowait(i)

    async def one(client: httpx2.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            email, password = users[i]
            imap = {"host": dc.host, "port": dc.port, "auth": {"user": email, "pass": password}}
            body = {"account": f"acc{i}", "name": f"acc{i}", "email": email, "imap": imap}
            r = await client.post("/v1/account", json=body)
            statuses.append(r.status_code)

    async with httpx2.AsyncClient(base_url=server.base, headers=server.headers, timeout=120) as client:
        await asyncio.gather(*(one(client) for _ in range(in_flight)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--untouched", action="store_true", help="mailboxes no client has opened yet")
    args = parser.parse_args()
    with dovecot(users=args.accounts) as dc:
        users = [dc.fresh_user() for _ in range(args.accounts)]
        for email, _ in users:
            seed_maildir(dc, email, "INBOX", (message(i) for i in range(args.messages)))
        if not args.untouched:
            open_before(dc, [email for email, _ in users])
        for run in range(1, args.runs + 1):
            with mailgate() as server:
                started = time.monotonic()
                statuses = asyncio.run(register_all(server, dc, users, args.in_flight))
                registered = time.monotonic() - started
                connected = None
                while connected is None and time.monotonic() - started < 900:
                    if get(server, "/v1/accounts", pageSize=1, state="connected")["total"] == args.accounts:
                        connected = time.monotonic() - started
                    else:
                        time.sleep(0.5)
                kind = " (untouched mailboxes)" if args.untouched else ""
                report(
                    f"{args.accounts} accounts{kind}, run {run}",
                    {
                        "registrations/s": f"{args.accounts / registered:.0f}",
                        "failed registrations": sum(1 for s in statuses if s != 200),
                        "all connected after": f"{connected:.1f}s" if connected else "not within 900 s",
                        "RSS": f"{server.rss_kib() / 1024:.0f} MB",
                    },
                )


if __name__ == "__main__":
    main()
