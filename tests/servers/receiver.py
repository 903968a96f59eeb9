"""A real HTTP webhook receiver on loopback that records requests and answers as told."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers.ports import free_port


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """``answers`` is consumed one per request; when empty, ``default`` answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: list[Hit] = []
        self.answers: deque[Answer] = deque()
        self.default = Answer()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: Request) -> Response:
        answer = self.answers.popleft() if self.answers else self.default
        body = await request.body()
        self.hits.append(Hit(request.url.path, dict(request.headers), body, time.monotonic()))
        self._arrived.set()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return Response(
            b"ok" if answer.status < 300 else b"nope", status_code=answer.status, headers=answer.headers
        )

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
        self._server = self._task = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while len(self.hits) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"receiver got {len(self.hits)} requests, expected {count}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.hits[:count]


class AppServer:
    """Any ASGI app under a real uvicorn on loopback (streaming responses need a real server:
    the in-process ASGI transport buffers whole bodies)."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> AppServer:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")  # type: ignore[arg-type]
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        self._server.force_exit = True  # open event streams would otherwise hold the shutdown
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self._task, 5)
