"""The REST side of authentication; the check itself lives in ``app.web.auth``, shared with GraphQL."""

from __future__ import annotations

from app.web.auth import WINDOW, FailureLimiter, authenticate, authenticate_token, presented_token

__all__ = ["WINDOW", "FailureLimiter", "authenticate", "authenticate_token", "presented_token"]
