"""Talking to an OAuth2 provider: consent URLs, code exchange, refresh and the user's identity.

authlib does the protocol (PKCE, client authentication, token parsing); this module turns its
outcomes into :class:`OAuthFailure`, which says whether retrying could help."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.services.oauth_presets import Endpoints

TIMEOUT = 20.0
#: OAuth2 error codes after which only a new consent helps (RFC 6749 §5.2).
PERMANENT = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"})


class OAuthFailure(Exception):
    """A provider refused or could not be reached; ``permanent`` when retrying will not help."""

    def __init__(
        self, message: str, *, error: str | None = None, status: int | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.error = error
        self.status = status
        self.permanent = permanent


@dataclass(frozen=True)
class AppClient:
    """One OAuth2 application, resolved: credentials decrypted, endpoints worked out."""

    app_id: str
    client_id: str
    client_secret: str | None
    endpoints: Endpoints
    redirect_uri: str | None

    def _client(self, **extra: Any) -> AsyncOAuth2Client:
        method = "client_secret_post" if self.endpoints.provider.startswith("outlook") else None
        if not self.client_secret:
            method = "none"
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method=method,
            scope=" ".join(self.endpoints.scopes) or None,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT,
            trust_env=False,
            **extra,
        )

    def consent_url(self, state: str, verifier: str, login_hint: str | None = None) -> str:
        if not self.endpoints.authorize_url:
            raise OAuthFailure("The application has no authorization endpoint", permanent=True)
        params = dict(self.endpoints.authorize_params)
        if login_hint:
            params["login_hint"] = login_hint
        client = self._client()
        url, _ = client.create_authorization_url(
            self.endpoints.authorize_url, state=state, code_verifier=verifier, **params
        )
        return str(url)

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        """The tokens for an authorization code (PKCE verifier included)."""
        async with self._client() as client:
            return await _call(client.fetch_token(self._token_url(), code=code, code_verifier=verifier))

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.endpoints.scope_on_refresh:
            extra["scope"] = " ".join(self.endpoints.scopes)
        async with self._client() as client:
            return await _call(client.refresh_token(self._token_url(), refresh_token=refresh_token, **extra))

    async def identity(self, token: dict[str, Any]) -> dict[str, Any]:
        """The user's claims: ``userinfo`` where the provider has one, else the id_token."""
        if self.endpoints.userinfo_url:
            async with self._client(token=token) as client:
                try:
                    response = await client.get(self.endpoints.userinfo_url)
                except httpx2.HTTPError as exc:
                    raise OAuthFailure(f"Could not read the user's profile: {exc}") from None
            if response.status_code != 200:
                raise OAuthFailure(
                    f"The provider's userinfo endpoint answered HTTP {response.status_code}",
                    status=response.status_code,
                )
            try:
                claims = response.json()
            except ValueError:
                raise OAuthFailure("The provider's userinfo answer is not JSON") from None
            if isinstance(claims, dict):
                return claims
            raise OAuthFailure("The provider's userinfo answer is not a JSON object")
        return id_token_claims(token)

    def _token_url(self) -> str:
        if not self.endpoints.token_url:
            raise OAuthFailure("The application has no token endpoint", permanent=True)
        return self.endpoints.token_url


def id_token_claims(token: dict[str, Any]) -> dict[str, Any]:
    """The claims of the id_token that came with ``token``.

    The token came straight from the provider's token endpoint over TLS, which OpenID Connect
    Core (3.1.3.7) accepts in place of checking the signature."""
    raw = token.get("id_token")
    if not isinstance(raw, str) or raw.count(".") != 2:
        raise OAuthFailure("The provider returned no id_token and has no userinfo endpoint")
    body = raw.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise OAuthFailure("The provider's id_token cannot be read") from None
    if not isinstance(claims, dict):
        raise OAuthFailure("The provider's id_token cannot be read")
    return claims


def email_of(claims: dict[str, Any]) -> str | None:
    for key in ("email", "mail", "preferred_username", "upn", "userPrincipalName"):
        value = claims.get(key)
        if isinstance(value, str) and "@" in value:
            return value
    return None


def new_verifier() -> str:
    return str(generate_token(64))


async def _call(pending: Any) -> dict[str, Any]:
    try:
        token = await pending
    except OAuthError as exc:
        error = str(exc.error or "")
        described = f"{error}: {exc.description}" if exc.description else error
        raise OAuthFailure(
            f"The provider refused the token request ({described})",
            error=error,
            status=400,
            permanent=error in PERMANENT,
        ) from None
    except httpx2.HTTPStatusError as exc:
        status = exc.response.status_code
        raise OAuthFailure(
            f"The provider's token endpoint answered HTTP {status}",
            status=status,
            permanent=status in (401, 403),
        ) from None
    except httpx2.HTTPError as exc:
        raise OAuthFailure(f"Could not reach the provider's token endpoint: {exc}") from None
    except ValueError as exc:
        raise OAuthFailure(f"The provider's token answer cannot be read: {exc}") from None
    if not isinstance(token, dict) or not token.get("access_token"):
        raise OAuthFailure("The provider's token answer has no access_token")
    return dict(token)
