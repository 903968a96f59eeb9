"""The local OAuth2 provider's books: clients, users, codes and tokens, and the grant rules.

No HTTP here and no locking: :class:`tests.servers.idp.OAuthProvider` serves these over HTTP
and holds its lock around every call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = ["DEFAULT_SCOPE", "Code", "GrantError", "TokenBook"]

DEFAULT_SCOPE = "openid email profile offline_access"


@dataclass
class _Access:
    user: str
    client_id: str
    scope: str
    exp: int
    active: bool = True


@dataclass
class _Refresh:
    user: str
    client_id: str
    scope: str
    active: bool = True


@dataclass(frozen=True)
class Code:
    """What /authorize agreed to, waiting for the code exchange."""

    user: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str
    nonce: str | None


class GrantError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def subject(email: str) -> str:
    """A stable subject per user that differs from the email, as with real providers."""
    return "u-" + hashlib.sha256(email.encode()).hexdigest()[:20]


class TokenBook:
    """Everything the provider knows; ``clients``/``users`` survive :meth:`forget_tokens`."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.clients: dict[str, str] = {}
        self.users: dict[str, str | None] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "mailgate-test-key"}, private=True)
        self.forget_tokens()

    def forget_tokens(self) -> None:
        self.codes: dict[str, Code] = {}
        self.access: dict[str, _Access] = {}
        self.refresh: dict[str, _Refresh] = {}

    def client_ok(self, client_id: str, secret: str) -> bool:
        """An empty registered secret is a public client: it authenticates with its id alone."""
        expected = self.clients.get(client_id)
        return expected is not None and hmac.compare_digest(expected.encode(), secret.encode())

    def new_code(self, code: Code) -> str:
        value = "code-" + secrets.token_urlsafe(18)
        self.codes[value] = code
        return value

    def issue(
        self, user: str, client_id: str, scope: str, lifetime: int, *, nonce: str | None = None, refresh: bool
    ) -> dict[str, Any]:
        """A token answer; with "openid" in scope it carries an RS256 id_token (keys at /jwks)."""
        now = int(time.time())
        access = "at-" + secrets.token_urlsafe(24)
        self.access[access] = _Access(user, client_id, scope, now + lifetime)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": scope,
        }
        if refresh:
            value = "rt-" + secrets.token_urlsafe(24)
            self.refresh[value] = _Refresh(user, client_id, scope)
            answer["refresh_token"] = value
        if user and "openid" in scope.split():
            claims = {"iss": self.issuer, "aud": client_id, "iat": now, "exp": now + lifetime}
            claims |= self.claims(user) | ({"nonce": nonce} if nonce else {})
            answer["id_token"] = jwt.encode({"alg": "RS256", "kid": self.key.kid or ""}, claims, self.key)
        return answer

    def claims(self, user: str) -> dict[str, Any]:
        name = self.users.get(user) or user.split("@")[0]
        return {"sub": subject(user), "email": user, "email_verified": True, "name": name}

    def grant(
        self, grant_type: str, client_id: str, form: dict[str, str], *, lifetime: int, rotate: bool
    ) -> tuple[dict[str, Any], str]:
        """One /token grant: (the answer, the user it is for). Raises :class:`GrantError`."""
        if grant_type == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)  # single use, even when it fails
            if code is None or code.client_id != client_id:
                raise GrantError("invalid_grant", "Unknown, used or foreign authorization code")
            if form.get("redirect_uri", "") != code.redirect_uri:
                raise GrantError("invalid_grant", "redirect_uri differs from the one at /authorize")
            if code.challenge is not None:
                verifier = form.get("code_verifier", "")
                computed = _s256(verifier) if code.method == "S256" else verifier
                if not verifier or not hmac.compare_digest(computed, code.challenge):
                    raise GrantError("invalid_grant", "PKCE code_verifier does not match the challenge")
            answer = self.issue(code.user, client_id, code.scope, lifetime, nonce=code.nonce, refresh=True)
            return answer, code.user
        if grant_type == "refresh_token":
            old = self.refresh.get(form.get("refresh_token", ""))
            if old is None or not old.active or old.client_id != client_id:
                raise GrantError("invalid_grant", "Refresh token is unknown, revoked or expired")
            if rotate:
                old.active = False
            return self.issue(old.user, client_id, old.scope, lifetime, refresh=rotate), old.user
        if grant_type == "client_credentials":
            scope = form.get("scope") or "mail"
            return self.issue("", client_id, scope, lifetime, refresh=False), ""
        raise GrantError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def introspect(self, token: str) -> dict[str, Any]:
        """The RFC 7662 answer (only unexpired, unrevoked access tokens are active)."""
        access = self.access.get(token)
        if access is None or not access.active or access.exp <= time.time():
            return {"active": False}
        return {
            "active": True,
            "username": access.user,
            "sub": subject(access.user) if access.user else access.client_id,
            "client_id": access.client_id,
            "scope": access.scope,
            "exp": access.exp,
            "token_type": "Bearer",
            "iss": self.issuer,
        }

    def kill(self, user: str, *, refresh: bool) -> None:
        """Deactivate the access tokens of ``user`` and, with ``refresh``, its refresh tokens."""
        for access in self.access.values():
            if access.user == user:
                access.active = False
        if refresh:
            for grant in self.refresh.values():
                if grant.user == user:
                    grant.active = False

    def kill_token(self, token: str) -> None:
        for book in (self.access, self.refresh):
            if token in book:
                book[token].active = False
