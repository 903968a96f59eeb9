"""`mailgate worker`: runs background tasks from Redis, plus its share of account syncing and the
webhook dispatcher (both elected through database leases), until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from taskiq.api import run_receiver_task

from app import eventbus
from app.config import Settings
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

log = logging.getLogger("mailgate.worker")


async def run(settings: Settings) -> None:
    ctx = Context.from_settings(settings)
    broker.is_worker_process = True
    broker.state.ctx = ctx
    settings_service.use_for_mail(ctx)  # ignoreMailCertErrors, before any connection
    protocol_logs.attach(ctx)  # command connections of accounts with ``logs: true``, as in serve
    await broker.startup()
    bus = await eventbus.start(settings.redis_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    supervisor = Supervisor(ctx) if settings.sync else None
    dispatcher = Dispatcher(ctx, webhook_tasks.kick)
    # New submissions arrive from other processes, hence the short tick; a worker has the CPU to
    # itself, hence more attempts at once than in the embedded default.
    outbox = OutboxDispatcher(ctx, send_tasks.kick, tick=0.25, max_in_flight=64)
    receiver = asyncio.create_task(run_receiver_task(broker, max_async_tasks=200))
    # Idle IMAP command connections (Sent copies) and SMTP sessions are closed in time here too.
    reapers = [asyncio.create_task(ctx.imap.reaper()), asyncio.create_task(ctx.smtp.reaper())]
    try:
        if supervisor is not None:
            await supervisor.start()
        await dispatcher.start()
        await outbox.start()
        heap.settle()
        log.info("worker ready (broker: %s)", type(broker).__name__)
        await stop.wait()
    finally:
        for reaper in reapers:
            reaper.cancel()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
        await dispatcher.stop()
        await outbox.stop()
        if supervisor is not None:
            await supervisor.stop()
        await broker.shutdown()
        await eventbus.stop(bus)
        await ctx.close()
