"""GraphQL against REST on a 10,000-message folder, and subscription event latency.

Run: .venv/bin/python -m bench.graphql [--messages 10000] [--wrk-seconds 10] [--events 200]
Needs Dovecot, Redis and wrk. Prints:
- GET /v1/account/bench/messages?pageSize=20 and a GraphQL `messages(first: 20)` query asking for
  the same fields, both with wrk against the same `mailgate serve` in the same run, and the ratio
  (plus the same query with a second root field: both go through strawberry's one execution path);
- event row written -> websocket subscriber receives it: written by the API process itself, and
  by a separate writer process (Redis wake-up bus).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import websockets

from bench.common import (
    ROOT,
    Server,
    dovecot,
    get,
    mailgate,
    message,
    percentile,
    register,
    report,
    wrk_figures,
)
from bench.sync_10k import wrk
from tests.servers.maildir import seed_maildir
from tests.servers.redis import Redis

FIELDS = (
    "id uid path specialUse emailId threadId date internalDate flags unseen flagged answered draft size "
    "subject from { name address } replyTo { name address } to { name address } cc { name address } "
    "bcc { name address } messageId inReplyTo attachments { id contentType encodedSize filename embedded "
    "inline contentId method } text { id encodedSize } preview"
)
QUERY = (
    'query { messages(account: "bench", first: 20) { totalCount edges { cursor node { ' + FIELDS + " } } } }"
)
# A second root field: the same execution path, with one more field to complete.
QUERY_TWO_FIELDS = QUERY.replace("query {", "query { __typename ", 1)
POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""


def wrk_post(server: Server, args: argparse.Namespace, label: str, query: str = QUERY) -> dict[str, str]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(POST_SCRIPT.replace("{body}", json.dumps({"query": query})))
    auth = f"Authorization: Bearer {server.token}"
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.wrk_seconds}s", "--latency",
               "-H", auth, "-s", str(script), f"{server.base}/graphql"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return wrk_figures(out, label)


def check_same_answer(server: Server) -> None:
    import httpx2

    rest = get(server, "/v1/account/bench/messages", pageSize=20)
    r = httpx2.post(f"{server.base}/graphql", json={"query": QUERY}, headers=server.headers, timeout=30)
    body = r.json()
    assert not body.get("errors"), body
    nodes = [e["node"] for e in body["data"]["messages"]["edges"]]
    assert [n["id"] for n in nodes] == [m["id"] for m in rest["messages"]], "GraphQL and REST disagree"


async def latency(server: Server, count: int, write: Any, label: str) -> dict[str, Any]:
    """Subscribe, then write ``count`` events one at a time; latency = receive time - row's date."""
    address = server.base.removeprefix("http://")
    samples: list[float] = []
    async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": server.token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = 'subscription { events(types: ["accountAdded", "messageNew"]) { id date data } }'
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await asyncio.sleep(0.5)  # the subscription starts "from now"
        for i in range(count):
            await write(i)
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            received = time.time()
            date = message["payload"]["data"]["events"]["date"]
            created = datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
            samples.append((received - created) * 1000)
            await asyncio.sleep(0.01)
    return {
        f"{label} p50 (ms)": round(percentile(samples, 50), 2),
        f"{label} p90 (ms)": round(percentile(samples, 90), 2),
        f"{label} p99 (ms)": round(percentile(samples, 99), 2),
        f"{label} samples": len(samples),
    }


async def measure_latency(server: Server, args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    import httpx2

    figures: dict[str, Any] = {}
    async with httpx2.AsyncClient(base_url=server.base, headers=server.headers) as client:

        async def in_process(i: int) -> None:  # the API process writes accountAdded itself
            r = await client.post("/v1/account", json={"account": f"lat{i}", "name": "L", "imap": False})
            r.raise_for_status()

        figures.update(await latency(server, args.events, in_process, "in-process event latency"))

    env = {"MAILGATE_DATA_DIR": str(server.data_dir), "MAILGATE_REDIS_URL": redis_url,
           "MAILGATE_SECRET": "bench", "MAILGATE_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"}  # fmt: skip
    writer = subprocess.Popen([sys.executable, "-m", "tests.graphql.writer"], env=env, cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert writer.stdin is not None and writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"

    async def other_process(i: int) -> None:
        writer.stdin.write(f"x{i} messageNew\n")  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]

    try:
        figures.update(await latency(server, args.events, other_process, "cross-process event latency"))
    finally:
        writer.terminate()
        writer.wait(10)
    return figures


def indexed(server: Server, messages: int) -> bool:
    connected = get(server, "/v1/account/bench")["state"] == "connected"
    return connected and get(server, "/v1/account/bench/messages", pageSize=1)["total"] == messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")

    redis = Redis(Path(tempfile.mkdtemp(prefix="mailgate-bench-redis-")))
    redis.start()
    try:
        with dovecot() as dc:
            user = dc.fresh_user()
            seed_maildir(dc, user[0], "INBOX", (message(i) for i in range(args.messages)))
            dc.doveadm("mailbox", "status", "-u", user[0], "messages", "INBOX")
            with mailgate(MAILGATE_REDIS_URL=redis.url) as server:
                register(server, "bench", dc, user)
                deadline = time.monotonic() + 300
                while not indexed(server, args.messages):
                    if time.monotonic() > deadline:
                        raise SystemExit("the folder was never fully indexed")
                    time.sleep(0.2)
                check_same_answer(server)
                figures: dict[str, Any] = {"messages": args.messages, "wrk connections": args.connections}
                url = f"{server.base}/v1/account/bench/messages?pageSize=20"
                rest = wrk(server, url, args, "REST list (pageSize=20)")
                graphql = wrk_post(server, args, "GraphQL messages(first: 20)")
                figures.update(rest | graphql)
                ratio = float(graphql["GraphQL messages(first: 20) req/s"]) / float(
                    rest["REST list (pageSize=20) req/s"]
                )
                figures["GraphQL / REST"] = f"{ratio:.0%}"
                figures.update(wrk_post(server, args, "GraphQL __typename + messages", QUERY_TWO_FIELDS))
                figures.update(asyncio.run(measure_latency(server, args, redis.url)))
                report("graphql", figures)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
