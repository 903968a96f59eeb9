"""The GraphQL endpoint: strawberry's ASGI view with the shared body limit, strict JSON, the
REST error shape for refusals, and graphql-transport-ws connections that must authenticate in
``connection_init``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from pydantic_core import from_json, to_json
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message as WSMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from app.graphql.context import GraphQLContext
from app.graphql.operations import AMBIGUOUS, ambiguous
from app.services.errors import AuthenticationRequired, RateLimited, ServiceError
from app.web.body import read_body
from app.web.errors import error_response


class ConnectionRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason[:120]  # a close reason must fit in 123 bytes


class TransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """Closes a connection whose ``connection_init`` does not authenticate: 4401 without a valid
    token, 4403 for a token without the scope, 4429 while the caller is rate limited."""

    async def handle_message(self, message: WSMessage) -> None:
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
            if request.method == "POST":  # the shared body limit; strawberry then reads the copy
                body = await read_body(request, request.app.state.ctx.settings.max_body_size)
                request = Request(scope, replay(body, receive))
            response = await self.run(request)
        except HTTPException as exc:  # strawberry's own refusals, in the REST error shape
            response = error_response(exc.status_code, exc.reason)
        except ServiceError as exc:
            response = error_response(exc.status, exc.message, exc.code, exc.details)
        await response(scope, receive, send)

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
        """pydantic-core's encoder (several times faster than json.dumps); websocket frames get
        the same bytes as text."""
        return to_json(data)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over a body already read (and measured) once, then listens to
    the connection again (for a disconnect)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
