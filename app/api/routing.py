"""Declared endpoints: one table drives routing, validation, auth and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.auth import FailureLimiter, authenticate
from app.api.errors import invalid
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.principal import Principal
from app.web.body import PayloadTooLarge, UnsupportedMediaType, decode_json, read_body

JSON_TYPES = ("application/json",)

__all__ = ["PayloadTooLarge", "UnsupportedMediaType", "decode_json", "read_body"]


@dataclass
class Call:
    """One request, already authenticated and validated."""

    request: Request
    ctx: Context
    principal: Principal
    body: Any = None
    query: Any = None

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])


Handler = Callable[[Call], Awaitable[BaseModel | Response]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    scope: str | None = "api"
    description: str = ""
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"


@dataclass
class Router:
    endpoints: list[Endpoint] = field(default_factory=list)

    def add(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            doc = (handler.__doc__ or "").strip()
            summary = options.pop("summary", None) or doc.split("\n")[0]
            self.endpoints.append(Endpoint(method, path, handler, summary=summary, **options))
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path, **options)


async def parse_body(request: Request, model: type[BaseModel], limit: int) -> BaseModel:
    raw = await read_body(request, limit)
    if not raw.strip():
        data: Any = {}
    else:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in JSON_TYPES and not media.endswith("+json"):
            raise UnsupportedMediaType(f"Send the request body as application/json, not {media or 'untyped'}")
        data = decode_json(raw)
        if b"\\u0000" in raw.lower():  # no database stores NUL in text; refuse it up front
            raise InvalidRequest(
                "Strings may not contain NUL characters", details={"body": "contains \\u0000"}
            )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "request body") from None


def _no_nul(values: dict[str, str], where: str) -> None:
    bad = [k for k, v in values.items() if "\x00" in v or "\x00" in k]
    if bad:
        raise InvalidRequest(
            f"NUL characters are not allowed in the {where}", details={k: "contains NUL" for k in bad}
        )


def parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise invalid(exc, "query parameters") from None


def to_route(endpoint: Endpoint) -> Route:
    async def asgi_handler(request: Request) -> Response:
        ctx: Context = request.app.state.ctx
        limiter: FailureLimiter = request.app.state.limiter
        if endpoint.scope is None:
            principal = Principal(token_id=None, scopes=frozenset())
        else:
            principal = await authenticate(request, ctx, limiter)
            principal.require_scope(endpoint.scope)
        _no_nul(request.path_params, "path")
        call = Call(request=request, ctx=ctx, principal=principal)
        if endpoint.query is not None:
            _no_nul(dict(request.query_params), "query")
            call.query = parse_query(request, endpoint.query)
        if endpoint.body is not None:
            call.body = await parse_body(request, endpoint.body, ctx.settings.max_body_size)
        result = await endpoint.handler(call)
        if isinstance(result, Response):
            return result
        return Response(
            result.model_dump_json(by_alias=True), status_code=endpoint.status, media_type="application/json"
        )

    asgi_handler.__name__ = endpoint.handler.__name__
    return Route(endpoint.path, asgi_handler, methods=[endpoint.method], name=endpoint.handler.__name__)
