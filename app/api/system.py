"""Health, stats and metrics."""

from __future__ import annotations

from starlette.responses import Response

from app import __version__
from app.api.routing import Call, Router
from app.schemas.system import Health, Live, Stats, StatsQuery
from app.services import stats as stats_service
from app.services.metrics import Metrics
from app.tasks import broker as tasks_broker

router = Router()
TAG = "Operations"


async def _checks(call: Call) -> Health:
    db_ok = await call.ctx.db.ping()
    broker_ok = await tasks_broker.ping(tasks_broker.broker, call.ctx.settings.redis_url)
    return Health(
        status="ok" if db_ok and broker_ok else "degraded",
        database="ok" if db_ok else "unavailable",
        broker="ok" if broker_ok else "unavailable",
        version=__version__,
    )


def _answer(body: Health) -> Response:
    return Response(
        body.model_dump_json(), status_code=200 if body.status == "ok" else 503, media_type="application/json"
    )


@router.get("/health", response=Health, scope=None, tag=TAG, errors=(503,))
async def health(call: Call) -> Response:
    """Liveness plus database and broker checks; 503 when a dependency is down."""
    return _answer(await _checks(call))


@router.get("/health/live", response=Live, scope=None, tag=TAG)
async def health_live(call: Call) -> Live:
    """200 whenever the process answers: it touches no dependency, so a restart never helps a
    process that is live but cut off from the database (that is what readiness is for)."""
    return Live()


@router.get("/health/ready", response=Health, scope=None, tag=TAG, errors=(503,))
async def health_ready(call: Call) -> Response:
    """200 when the database and the broker (Redis, when configured) answer, else 503: take this
    process out of the load balancer until they do."""
    return _answer(await _checks(call))


@router.get("/v1/stats", query=StatsQuery, response=Stats, tag=TAG, errors=(400, 403))
async def stats(call: Call) -> Stats:
    """Accounts by connection state, outbox entries by progress, and the version."""
    return await stats_service.overview(call.ctx, call.principal)


def _metrics(call: Call) -> Metrics:
    """This app's registry, made on first use: one per app, never the process-wide default."""
    state = call.request.app.state
    found: Metrics | None = getattr(state, "metrics", None)
    if found is None:
        found = state.metrics = Metrics()
    return found


@router.get("/metrics", scope="metrics", tag=TAG, media_type="text/plain", errors=(403,))
async def metrics(call: Call) -> Response:
    """Prometheus text exposition (needs a token with the ``metrics`` scope). Latency histograms
    and the reconnect counter are this process's own; the rest comes from the database."""
    body, content_type = await _metrics(call).scrape(call.ctx, call.request.headers.get("accept", ""))
    return Response(body, media_type=content_type)
