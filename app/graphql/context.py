"""What every resolver gets as ``info.context``: the service context and the caller, who is
authenticated on first use by the shared token and session checks (HTTP headers, the admin
cookie, or the websocket ``connection_init`` payload). A leaf: it imports no other GraphQL module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.services.context import Context
from app.services.errors import ServiceError
from app.services.principal import Principal
from app.web import session
from app.web.auth import FailureLimiter, authenticate, authenticate_token, presented_token

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
