"""Logging hygiene: access tokens never reach a log, wherever the request carried them.

A token travels in a query string (``?access_token=``, also percent-encoded, as Starlette
decodes the name before looking it up) or in a path (``DELETE /v1/token/<token>``); uvicorn's
access and websocket lines carry both, so every string argument of a record is scrubbed."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"
#: Query parameters whose value is a secret (compared after percent-decoding, any case).
SECRET_PARAMS = frozenset({"access_token", "token", "accesstoken", "pass", "password", "secret"})
_QUERY_PAIR = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;\s\"?#]+)=(?P<value>[^&;\s\"#]*)")
# /v1/token/<value> (and /v1/tokens/<value>); uvicorn logs the decoded, re-quoted path.
_TOKEN_IN_PATH = re.compile(r"(/v1/tokens?/)[^/?#\s\"]+", re.IGNORECASE)


def _scrub_pair(match: re.Match[str]) -> str:
    if unquote_plus(match["name"]).strip().lower() in SECRET_PARAMS and match["value"]:
        return f"{match['sep']}{match['name']}={REDACTED}"
    return match[0]


def redact(text: str) -> str:
    if "=" in text:
        text = _QUERY_PAIR.sub(_scrub_pair, text)
    if "/v1/token" in text.lower():
        text = _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text)
    return text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "mailgate"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
