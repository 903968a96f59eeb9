"""The ASGI application: REST, docs and operations routes over one service context."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from app import eventbus, logs
from app.api import (
    accounts,
    admin_ui,
    auth_form,
    blocklists,
    docs,
    gateways,
    mailboxes,
    messages,
    oauth2,
    openapi,
    submit,
    system,
    templates,
    tokens,
    tracking,
    troubleshooting,
    webhooks,
)
from app.api.auth import FailureLimiter
from app.api.errors import HANDLERS
from app.api.routing import Endpoint, to_route
from app.config import Settings
from app.db import migrate
from app.graphql import create_graphql
from app.mail import batch
from app.runtime import heap
from app.sending.dispatcher import OutboxDispatcher
from app.services import protocol_logs
from app.services import settings as settings_service
from app.services.context import Context
from app.sync.supervisor import Supervisor
from app.tasks import send as send_tasks
from app.tasks import webhooks as webhook_tasks
from app.tasks.broker import broker
from app.webhooks.dispatcher import Dispatcher

log = logging.getLogger("mailgate")

ROUTERS = (
    accounts.router,
    oauth2.router,
    auth_form.router,
    mailboxes.router,
    messages.router,
    submit.router,
    templates.router,
    gateways.router,
    blocklists.router,
    tracking.router,
    tokens.router,
    webhooks.router,
    system.router,
    troubleshooting.router,
)


def endpoints() -> list[Endpoint]:
    return [ep for router in ROUTERS for ep in router.endpoints]


def create_app(settings: Settings | None = None, ctx: Context | None = None) -> Starlette:
    """Build the app. Pass ``ctx`` to share a service context (tests, embedded use)."""
    settings = settings or (ctx.settings if ctx else Settings.from_env())
    logs.install()
    table = endpoints()
    spec = openapi.build(table)
    docs_html = docs.render(spec)

    async def openapi_json(_request: Request) -> Response:
        return JSONResponse(spec)

    async def docs_page(_request: Request) -> Response:
        return HTMLResponse(docs_html)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_ctx = ctx is None
        if settings.auto_migrate and own_ctx:
            await migrate(settings.database_url)
        app.state.ctx = ctx or Context.from_settings(settings)
        protocol_logs.attach(app.state.ctx)  # command connections of accounts with ``logs: true``
        broker.state.ctx = app.state.ctx
        settings_service.use_for_mail(app.state.ctx)  # ignoreMailCertErrors, before any connection
        bus = await eventbus.start(settings.redis_url)
        if not broker.is_worker_process:
            await broker.startup()
        dispatcher = Dispatcher(app.state.ctx, webhook_tasks.kick)
        await dispatcher.start()
        # With Redis, sending happens in `mailgate worker`s; their dispatcher sees their own
        # attempts finish, so it runs there and not here.
        outbox = OutboxDispatcher(app.state.ctx, send_tasks.kick) if not settings.redis_url else None
        if outbox is not None:
            await outbox.start()
        supervisor = Supervisor(app.state.ctx) if settings.sync else None
        if supervisor is not None:
            await supervisor.start()
        reaper = asyncio.create_task(app.state.ctx.imap.reaper())
        smtp_reaper = asyncio.create_task(app.state.ctx.smtp.reaper())
        heap.settle()
        log.info("Mailgate ready on %s (database: %s)", settings.port, app.state.ctx.db.engine.dialect.name)
        try:
            yield
        finally:
            await eventbus.stop(bus)
            reaper.cancel()
            smtp_reaper.cancel()
            await dispatcher.stop()
            if outbox is not None:
                await outbox.stop()
                await send_tasks.drain()  # an SMTP transaction cut off here could be sent twice
            if supervisor is not None:
                await supervisor.stop()
            if not broker.is_worker_process:
                await broker.shutdown()
            # Mail-merge workers live in their own processes: they outlive the server unless stopped.
            await asyncio.to_thread(batch.shutdown)
            if own_ctx:
                await app.state.ctx.close()

    gql = create_graphql()  # a Route and a WebSocketRoute: a Mount would redirect and refuse websockets
    routes: list[BaseRoute] = [
        Route("/graphql", gql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", gql),
    ]
    routes += [to_route(ep) for ep in table]
    routes += [Route("/openapi.json", openapi_json), Route("/docs", docs_page), *admin_ui.routes()]
    app = Starlette(routes=routes, exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.settings = settings
    app.state.limiter = FailureLimiter(settings.auth_failures_per_minute)
    if ctx is not None:
        app.state.ctx = ctx
        protocol_logs.attach(ctx)
    return app
