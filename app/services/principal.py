"""Who is calling, and the two rules every service applies: scope and account binding."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.errors import Forbidden

SCOPES = ("*", "api", "metrics", "smtp", "imap-proxy")


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str | None
    scopes: frozenset[str]
    account: str | None = None  # set for account-bound tokens

    @property
    def is_system(self) -> bool:
        return self.account is None

    def has_scope(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    def require_scope(self, scope: str) -> None:
        if not self.has_scope(scope):
            raise Forbidden(f"This token lacks the '{scope}' scope")

    def require_system(self) -> None:
        if not self.is_system:
            raise Forbidden("This route needs a system-wide token, not an account token")

    def require_account(self, account: str) -> None:
        if self.account is not None and self.account != account:
            raise Forbidden("This token is bound to another account")


#: Used by the command line, which runs with the operator's own authority.
OPERATOR = Principal(token_id=None, scopes=frozenset({"*"}))
