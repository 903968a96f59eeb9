"""Health, stats and metrics."""

from __future__ import annotations

from starlette.responses import PlainTextResponse, Response

from app import __version__
from app.api.routing import Call, Router
from app.schemas.system import Health, Stats, StatsQuery
from app.services import stats as stats_service
from app.tasks import broker as tasks_broker

router = Router()
TAG = "Operations"


@router.get("/health", response=Health, scope=None, tag=TAG, errors=(503,))
async def health(call: Call) -> Response:
    """Liveness plus database and broker checks; 503 when a dependency is down."""
    db_ok = await call.ctx.db.ping()
    broker_ok = await tasks_broker.ping(tasks_broker.broker, call.ctx.settings.redis_url)
    body = Health(
        status="ok" if db_ok and broker_ok else "degraded",
        database="ok" if db_ok else "unavailable",
        broker="ok" if broker_ok else "unavailable",
        version=__version__,
    )
    return Response(
        body.model_dump_json(), status_code=200 if body.status == "ok" else 503, media_type="application/json"
    )


@router.get("/v1/stats", query=StatsQuery, response=Stats, tag=TAG, errors=(400, 403))
async def stats(call: Call) -> Stats:
    """Accounts by connection state, outbox entries by progress, and the version."""
    return await stats_service.overview(call.ctx, call.principal)


@router.get("/metrics", scope="metrics", tag=TAG, media_type="text/plain", errors=(403,))
async def metrics(call: Call) -> Response:
    """Prometheus text exposition (needs a token with the ``metrics`` scope)."""
    found = await stats_service.overview(call.ctx, call.principal)
    lines = [
        "# HELP mailgate_info Mailgate build information.",
        "# TYPE mailgate_info gauge",
        f'mailgate_info{{version="{found.version}"}} 1',
        "# HELP mailgate_accounts Accounts by connection state.",
        "# TYPE mailgate_accounts gauge",
        *(f'mailgate_accounts{{state="{state}"}} {n}' for state, n in sorted(found.connections.items())),
        "# HELP mailgate_outbox Outbox entries by progress state.",
        "# TYPE mailgate_outbox gauge",
        *(f'mailgate_outbox{{state="{state}"}} {n}' for state, n in sorted(found.queues["outbox"].items())),
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
