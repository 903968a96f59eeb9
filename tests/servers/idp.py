"""A local OAuth2 / OpenID Connect provider, so OAuth2 accounts are tested without Google or Microsoft.

It is a Starlette app served by uvicorn on 127.0.0.1 in a background thread, over real sockets:
Mailgate, authlib, Dovecot's oauth2 passdb (RFC 7662 introspection) and the SMTP sink all talk
to it as they would to a real provider. Consent is automatic (``/authorize`` redirects straight
back with a code), so a test follows the redirect with any HTTP client.

The books (:mod:`tests.servers.idp_tokens`) are shared between the server thread and the test's
thread under one lock; the knobs (``consent``, ``access_token_lifetime``, failures, holds) are
read per request, so a test may flip them at any time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.servers.idp_tokens import DEFAULT_SCOPE, Code, GrantError, TokenBook
from tests.servers.ports import LOCALHOST

__all__ = ["DEFAULT_SCOPE", "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAuthProvider"]

OAUTH_CLIENT_ID = "mailgate-test"
OAUTH_CLIENT_SECRET = "mailgate-test-secret"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def _fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


class OAuthProvider:
    """Clients, users and tokens in memory; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock = self._bind(0)
        self.base_url = f"http://{LOCALHOST}:{self._sock.getsockname()[1]}"
        self._book = TokenBook(self.base_url)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._clear()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
                Route("/introspect", self._introspect, methods=["GET", "POST"]),
                Route("/revoke", self._revoke, methods=["POST"]),
            ]
        )

    def _clear(self) -> None:
        """Forget every token, grant, failure mode and hold; knobs back to their defaults."""
        self.access_token_lifetime = 3600
        #: True: each refresh answers a new refresh_token and the old one dies. False: the
        #: answer has no refresh_token and the old one stays valid (what Google does).
        self.rotate_refresh_tokens = True
        self.consent = "allow"
        self.consent_user: str | None = None
        self.grants: list[dict[str, str]] = []
        self.last_authorize: dict[str, str] | None = None
        self._book.forget_tokens()
        self._failures: list[tuple[int, str]] = []
        self._held = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._waiting = 0

    # ------------------------------------------------------------------ endpoints
    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def userinfo_url(self) -> str:
        return f"{self.base_url}/userinfo"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    @property
    def revocation_url(self) -> str:
        return f"{self.base_url}/revoke"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks"

    # ---------------------------------------------------------- test-side controls
    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register a client; an empty secret makes it public (no client authentication)."""
        with self._lock:
            self._book.clients[client_id] = client_secret

    def add_user(self, email: str, name: str | None = None) -> None:
        with self._lock:
            self._book.users[email] = name

    def mint(
        self, user: str, client_id: str, *, lifetime: int | None = None, scope: str = DEFAULT_SCOPE
    ) -> dict[str, Any]:
        """Tokens for ``user`` as if consent had happened (not counted in ``grants``)."""
        with self._lock:
            if user not in self._book.users or client_id not in self._book.clients:
                raise KeyError(f"unknown user {user!r} or client {client_id!r}")
            seconds = self.access_token_lifetime if lifetime is None else lifetime
            return self._book.issue(user, client_id, scope, seconds, refresh=True)

    def expire_access_tokens(self, user: str) -> None:
        with self._lock:
            self._book.kill(user, refresh=False)

    def revoke(self, user: str) -> None:
        """Kill every refresh and access token of ``user`` (the user withdrew consent)."""
        with self._lock:
            self._book.kill(user, refresh=True)

    def fail_token_requests(
        self, n: int, *, status: int = 500, error: str = "temporarily_unavailable"
    ) -> None:
        """The next ``n`` POST /token answer ``status``: 5xx as plain text, 4xx as ``{"error": error}``."""
        with self._lock:
            self._failures.extend([(status, error)] * n)

    def hold_token_requests(self) -> None:
        with self._lock:
            self._held = True

    def release_token_requests(self) -> None:
        with self._lock:
            self._held = False
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(self._settle, future)

    @staticmethod
    def _settle(future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_result(None)

    @property
    def waiting_token_requests(self) -> int:
        """How many /token requests :meth:`hold_token_requests` has parked right now."""
        with self._lock:
            return self._waiting

    async def wait_token_requests_waiting(self, n: int, timeout: float = 10.0) -> None:
        """Poll until ``n`` /token requests are held (they arrive on the server's thread)."""
        deadline = time.monotonic() + timeout
        while self.waiting_token_requests < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.waiting_token_requests} /token request(s) held, expected {n}")
            await asyncio.sleep(0.005)

    def refresh_count(self, user: str) -> int:
        with self._lock:
            return sum(1 for g in self.grants if g["user"] == user and g["grant_type"] == "refresh_token")

    def introspect(self, token: str) -> dict[str, Any]:
        """The RFC 7662 answer for ``token``, as /introspect gives it."""
        with self._lock:
            return self._book.introspect(token)

    def reset(self) -> None:
        """Between tests: everything but clients and users goes back to a fresh start."""
        self.release_token_requests()
        with self._lock:
            self._clear()

    # ------------------------------------------------------------------ handlers
    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.authorize_url,
                "token_endpoint": self.token_url,
                "userinfo_endpoint": self.userinfo_url,
                "introspection_endpoint": self.introspection_url,
                "revocation_endpoint": self.revocation_url,
                "jwks_uri": self.jwks_url,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "code_challenge_methods_supported": ["S256", "plain"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "scopes_supported": ["openid", "email", "profile", "offline_access"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self._book.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        redirect_uri, state = q.get("redirect_uri", ""), q.get("state")
        with self._lock:
            self.last_authorize = q
            known = q.get("client_id", "") in self._book.clients
            user = self._consenting_user(q.get("login_hint"))
            consent = self.consent
        if not known:
            return PlainTextResponse("Unknown client_id", status_code=400)
        if not redirect_uri.startswith(("http://", "https://")):
            return PlainTextResponse("Missing or invalid redirect_uri", status_code=400)
        method = q.get("code_challenge_method", "plain")
        if q.get("response_type") != "code":
            return self._back(redirect_uri, error="unsupported_response_type", state=state)
        if q.get("code_challenge") and method not in ("S256", "plain"):
            return self._back(redirect_uri, error="invalid_request", state=state)
        if consent == "deny":
            return self._back(redirect_uri, error="access_denied", state=state)
        if user is None:
            return PlainTextResponse("No user can log in: add_user() first", status_code=400)
        scope = q.get("scope") or DEFAULT_SCOPE
        grant = Code(
            user, q["client_id"], redirect_uri, scope, q.get("code_challenge"), method, q.get("nonce")
        )
        with self._lock:
            code = self._book.new_code(grant)
        return self._back(redirect_uri, code=code, state=state)

    @staticmethod
    def _back(redirect_uri: str, **params: str | None) -> Response:
        return RedirectResponse(_with_query(redirect_uri, params), status_code=302)

    def _consenting_user(self, login_hint: str | None) -> str | None:
        if self.consent_user is not None:
            return self.consent_user
        if login_hint and login_hint in self._book.users:
            return login_hint
        return next(iter(self._book.users), None)

    async def _token(self, request: Request) -> Response:
        await self._wait_while_held()
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, error = failure
            if status >= 500:
                return PlainTextResponse("Internal Server Error", status_code=status)
            return JSONResponse({"error": error}, status_code=status, headers=_NO_STORE)
        form = _fields(await request.form())
        grant_type = form.get("grant_type", "")
        try:
            client_id = self._client_of(request, form)
            if client_id is None:
                raise GrantError("invalid_client", "Client authentication failed", 401)
            with self._lock:
                answer, user = self._book.grant(
                    grant_type,
                    client_id,
                    form,
                    lifetime=self.access_token_lifetime,
                    rotate=self.rotate_refresh_tokens,
                )
                self.grants.append({"grant_type": grant_type, "user": user, "client_id": client_id})
        except GrantError as exc:
            body = {"error": exc.error, "error_description": exc.description}
            return JSONResponse(body, status_code=exc.status, headers=_NO_STORE)
        return JSONResponse(answer, headers=_NO_STORE)

    async def _wait_while_held(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._held:
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, future))
            self._waiting += 1
        try:
            await future
        finally:
            with self._lock:
                self._waiting -= 1
                with contextlib.suppress(ValueError):
                    self._waiters.remove((loop, future))

    def _client_of(self, request: Request, form: dict[str, str]) -> str | None:
        """The authenticated client (HTTP Basic, client_secret_post or a public client), else None."""
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except ValueError:  # bad base64 or UTF-8
                return None
        elif "client_id" in form:
            client_id, secret = form["client_id"], form.get("client_secret", "")
        else:
            return None
        with self._lock:
            return client_id if self._book.client_ok(client_id, secret) else None

    async def _userinfo(self, request: Request) -> Response:
        info = self.introspect(_bearer(request))
        if not info["active"] or not info["username"]:
            challenge = 'Bearer error="invalid_token", error_description="The access token is not active"'
            return JSONResponse(
                {"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": challenge}
            )
        with self._lock:
            return JSONResponse(self._book.claims(info["username"]))

    async def _introspect(self, request: Request) -> Response:
        """RFC 7662. Client authentication is optional (Dovecot sends an empty ``client_id=``),
        but checked when given; ``introspection_mode = auth`` sends the token as a Bearer header."""
        form = _fields(await request.form())
        authenticates = (
            bool(form.get("client_id")) or request.headers.get("authorization", "")[:6].lower() == "basic "
        )
        if authenticates and self._client_of(request, form) is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse(self.introspect(form.get("token", "") or _bearer(request)))

    async def _revoke(self, request: Request) -> Response:
        """RFC 7009: kills the one token given; unknown tokens are not an error."""
        form = _fields(await request.form())
        with self._lock:
            self._book.kill_token(form.get("token", ""))
        return Response(status_code=200)

    # ----------------------------------------------------------------- lifecycle
    @staticmethod
    def _bind(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOCALHOST, port))
        return sock

    def start(self, timeout: float = 10.0) -> None:
        """Serve in a background thread; returns once the socket accepts connections."""
        if self._thread is not None:
            return
        if self._sock.fileno() == -1:  # closed by an earlier stop(): bind the same port again
            self._sock = self._bind(int(self.base_url.rsplit(":", 1)[1]))
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"the OAuth provider did not start on {self.base_url}")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.release_token_requests()  # held requests must not keep the server from stopping
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> OAuthProvider:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
