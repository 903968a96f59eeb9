"""The GraphQL endpoint's view: who is calling (the REST token check, over HTTP headers or the
websocket ``connection_init`` payload), and the per-request context resolvers receive."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from pydantic_core import from_json
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, Message
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from app.api import session
from app.api.auth import FailureLimiter, authenticate, authenticate_token, presented_token
from app.api.errors import error_response
from app.api.routing import read_body
from app.graphql import hot
from app.graphql.memo import encode
from app.graphql.pipeline import AMBIGUOUS, ambiguous
from app.services.context import Context
from app.services.errors import AuthenticationRequired, RateLimited, ServiceError
from app.services.principal import Principal

if TYPE_CHECKING:
    from app.graphql.schema import MailgateSchema

SCOPE = "api"


@dataclass
class GraphQLContext:
    """What every resolver gets as ``info.context``."""

    ctx: Context
    limiter: FailureLimiter
    request: HTTPConnection
    response: Response | WebSocket | None = None
    #: The websocket ``connection_init`` payload (set by strawberry).
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = field(default=None, repr=False)
    _refusal: ServiceError | None = field(default=None, repr=False)

    async def principal(self) -> Principal:
        """The caller, authenticated once per request (once per connection on websockets); a
        refusal is remembered too, so a query with many fields counts as one failed attempt."""
        if self._principal is None:
            if self._refusal is not None:
                raise self._refusal
            try:
                self._principal = await self._authenticate()
            except ServiceError as exc:
                self._refusal = exc
                raise
        return self._principal

    async def _authenticate(self) -> Principal:
        if self.connection_params is not None:
            token = token_from_params(self.connection_params) or presented_token(self.request)
            ip = self.request.client.host if self.request.client else "unknown"
            csrf = self.connection_params.get("csrfToken")
            by_session = None if token else await session.principal(self.ctx, self.request, csrf)
            principal = by_session or await authenticate_token(token, ip, self.ctx, self.limiter)
        else:
            principal = await authenticate(self.request, self.ctx, self.limiter)
        principal.require_scope(SCOPE)
        return principal


Info = strawberry.Info[GraphQLContext, None]


def token_from_params(params: dict[str, Any]) -> str | None:
    """``{"Authorization": "Bearer …"}`` (any case) or ``{"token": "…"}``."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key.lower() == "authorization":
            scheme, _, rest = value.partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                return rest.strip()
        elif key.lower() in ("token", "access_token", "accesstoken"):
            return value.strip() or None
    return None


class ConnectionRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason[:120]  # a close reason must fit in 123 bytes


class TransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """Closes a connection whose ``connection_init`` does not authenticate: 4401 without a valid
    token, 4403 for a token without the scope, 4429 while the caller is rate limited."""

    async def handle_message(self, message: Message) -> None:
        problem = malformed(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "subscribe" and ambiguous(
            message["payload"]["query"], message["payload"].get("operationName")
        ):
            await self.send_message({"id": message["id"], "type": "error", "payload": [AMBIGUOUS.formatted]})
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except ConnectionRefused as exc:
            await self.websocket.close(code=exc.code, reason=exc.reason)


_OPTIONAL_OBJECT = (dict, type(None))
_PAYLOAD_FIELDS = {
    "variables": _OPTIONAL_OBJECT,
    "operationName": (str, type(None)),
    "extensions": _OPTIONAL_OBJECT,
}


def malformed(message: object) -> str | None:
    """What is wrong with a graphql-transport-ws message's shape (None: nothing). Strawberry
    indexes into messages as if they had the right shape; a frame that is valid JSON but not
    such a message must close the socket with 4400, not crash the connection's task."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message must be an object with a string type"
    kind = message["type"]
    if kind in ("subscribe", "complete") and not (isinstance(message.get("id"), str) and message["id"]):
        return f"A {kind} message needs a string id"
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "A subscribe message needs a payload with a string query"
        for name, types in _PAYLOAD_FIELDS.items():
            if not isinstance(payload.get(name), types):
                return f"The subscribe payload's {name} has the wrong type"
    elif not isinstance(message.get("payload"), _OPTIONAL_OBJECT):
        return "A message payload must be an object"
    return None


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames, whatever the encoder returns."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        data = self.view.encode_json(message)
        try:
            await self.ws.send_text(data.decode() if isinstance(data, bytes) else data)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class MailgateGraphQL(GraphQL[GraphQLContext, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(self, schema: strawberry.Schema) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            max_subscriptions_per_connection=50,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            if request.method == "POST":  # the REST body limit; strawberry then reads the cached body
                request._body = await read_body(request, request.app.state.ctx.settings.max_body_size)
            response = await self._prepared(request) or await self.run(request)
        except HTTPException as exc:  # strawberry's own refusals, in the REST error shape
            response = error_response(exc.status_code, exc.reason)
        except ServiceError as exc:
            response = error_response(exc.status, exc.message, exc.code, exc.details)
        await response(scope, receive, send)

    async def _prepared(self, request: Request) -> Response | None:
        """The fast path for a plain JSON POST of a known, valid query (see
        ``MailgateSchema.execute_prepared``); None sends the request the ordinary way."""
        if (
            request.method != "POST"
            or request.headers.get("content-type", "").split(";")[0] != "application/json"
        ):
            return None
        try:
            body = from_json(await request.body())
        except ValueError:
            return None
        if not isinstance(body, dict) or set(body) - {"query", "variables", "operationName"}:
            return None
        query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(name, str | None)
        ):
            return None
        schema: MailgateSchema = self.schema  # type: ignore[assignment]
        context = await self.get_context(request)
        known = hot.plan(schema._schema, query, name)
        if known is not None:
            answered = await hot.answer(schema._schema, known, variables, context)
            if answered is not None:
                return Response(answered, media_type="application/json")
        result = await schema.execute_prepared(query, variables, name, context)
        if result is None:
            return None
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return Response(self.encode_json(out), media_type="application/json")

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: GraphQLContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """As strawberry's, but subscriptions need the websocket: over plain HTTP they would
        have nowhere to stream to."""
        if request_data.query is not None and ambiguous(request_data.query, request_data.operation_name):
            return ExecutionResult(data=None, errors=[AMBIGUOUS])
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            if e.operation_type == OperationType.SUBSCRIPTION:
                raise HTTPException(400, "Subscriptions need a websocket (graphql-transport-ws)") from e
            raise HTTPException(400, e.as_http_error_reason(request_adapter.method)) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e

    async def get_context(self, request: Any, response: Any = None) -> GraphQLContext:
        app = request.app
        return GraphQLContext(
            ctx=app.state.ctx, limiter=app.state.limiter, request=request, response=response
        )

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType:
        try:
            await context.principal()
        except RateLimited as exc:
            raise ConnectionRefused(4429, exc.message) from None
        except AuthenticationRequired as exc:
            raise ConnectionRefused(4401, exc.message) from None
        except ServiceError as exc:
            raise ConnectionRefused(4403, exc.message) from None
        unset: UnsetType = UNSET
        return unset

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):  # strawberry takes anything else for an object
            raise HTTPException(400, "The request must be a JSON object")
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        """Strict JSON for bodies, query parameters and websocket frames: bad UTF-8, lone
        surrogates, NaN and absurd nesting are malformed JSON (a 400, or close code 4400 on a
        socket) instead of an exception deep inside the standard library's parser."""
        try:
            return from_json(data, allow_inf_nan=False)
        except ValueError as exc:
            raise json.JSONDecodeError(str(exc), "", 0) from None

    def encode_json(self, data: object) -> bytes:
        """pydantic-core's encoder (several times faster than json.dumps), splicing in the JSON
        of memoized parts; websocket frames get the same bytes as text."""
        return encode(data)
