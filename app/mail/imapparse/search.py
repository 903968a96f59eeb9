"""SEARCH and ESEARCH results, VANISHED (QRESYNC) and the lines a server pushes during IDLE."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias

from app.mail.encoding import decode_8bit
from app.mail.imapparse.codes import expand_uid_set, set_text
from app.mail.imapparse.fetch import fetch_message
from app.mail.imapparse.tokens import (
    ImapParseError,
    Line,
    Malformed,
    Value,
    guard,
    iter_responses,
    log,
    number,
    string,
    tokens_of,
)
from app.mail.types import ESearchResult, FetchedMessage, SectionKey

# --------------------------------------------------------------------------------------- VANISHED


def vanished_uids(tokens: list[Value]) -> list[int] | None:
    """``['VANISHED', ['EARLIER'], '1:3,5']`` → UIDs; None if not a VANISHED response."""
    if not tokens or type(tokens[0]) is not str or tokens[0].upper() != "VANISHED":
        return None
    rest = [t for t in tokens[1:] if type(t) is not list]
    if not rest:
        return []
    try:
        return expand_uid_set(set_text(rest[0]))
    except (ImapParseError, Malformed) as exc:
        log.debug("imapparse: bad VANISHED %r: %s", tokens, exc)
        return []


@guard
def parse_vanished(lines: Iterable[Line]) -> list[int]:
    """UIDs of every ``VANISHED [(EARLIER)] set`` response in ``lines`` (sorted, unique)."""
    found: set[int] = set()
    for tokens, _ in iter_responses(lines, only="VANISHED"):
        uids = vanished_uids(tokens)
        if uids:
            found.update(uids)
    return sorted(found)


# ----------------------------------------------------------------------------------------- SEARCH


def esearch(tokens: list[Value]) -> ESearchResult | None:
    if not tokens:
        return None
    rest = tokens
    if type(rest[0]) is str and rest[0].upper() == "ESEARCH":
        rest = rest[1:]
    elif not (type(rest[0]) is list and rest[0] and type(rest[0][0]) is str and rest[0][0].upper() == "TAG"):
        return None  # not ESEARCH (aioimaplib may have stripped the word: then it starts with (TAG ..))
    result = ESearchResult()
    i = 0
    if rest and type(rest[0]) is list:
        corr = rest[0]
        if len(corr) >= 2 and type(corr[0]) is str and corr[0].upper() == "TAG":
            result.tag = string(corr[1]) if not isinstance(corr[1], list | SectionKey) else None
        i = 1
    if i < len(rest) and type(rest[i]) is str and str(rest[i]).upper() == "UID":
        result.uid = True
        i += 1
    while i + 1 < len(rest):
        key, value = rest[i], rest[i + 1]
        i += 2
        if type(key) is not str:
            continue
        key = key.upper()
        try:
            if key == "ALL":
                result.all = expand_uid_set(set_text(value))
            elif key == "MIN":
                result.min = number(value)
            elif key == "MAX":
                result.max = number(value)
            elif key == "COUNT":
                result.count = number(value)
            elif key == "MODSEQ":
                result.modseq = number(value)
        except (Malformed, ImapParseError) as exc:
            log.debug("imapparse: ESEARCH %s: %s", key, exc)
    return result


@guard
def parse_search(lines: Iterable[Line]) -> list[int]:
    """SEARCH results. aioimaplib strips the word ``SEARCH`` (``b'2 3 5'``, ``b''`` for none); a
    CONDSTORE ``(MODSEQ n)`` suffix is ignored. An ESEARCH response gives its ALL set expanded (or
    MIN/MAX when ALL was not asked for)."""
    numbers: list[int] = []
    for tokens, _ in iter_responses(lines):
        if not tokens:
            continue
        es = esearch(tokens)
        if es is not None:
            if es.all:
                numbers.extend(es.all)
            else:
                numbers.extend(x for x in (es.min, es.max) if x is not None)
                if es.min is not None and es.max is not None and es.min == es.max:
                    numbers.pop()
            continue
        body = tokens
        if type(body[0]) is str and body[0].upper() == "SEARCH":
            body = body[1:]
        if body and type(body[-1]) is list:
            body = body[:-1]
        if body and all(type(t) is int for t in body):
            numbers.extend(t for t in body if type(t) is int)
    return numbers


# ------------------------------------------------------------------------------------------- IDLE

_LITERAL_AT_END_RE = re.compile(r"\{[0-9]+\+?\}\s*$")
PushKind: TypeAlias = tuple[str, "int | list[int] | FetchedMessage | None"]


@guard
def parse_push(line: Line) -> PushKind:
    """One line pushed during IDLE: ``("EXISTS", n)``, ``("EXPUNGE", seq)``, ``("VANISHED", [uids])``,
    ``("FETCH", FetchedMessage)`` (single-line FETCH only), ``("BYE", None)``, else ``("OTHER", None)``."""
    if type(line) is bytearray:  # a literal cannot be a push on its own
        return "OTHER", None
    text = line if isinstance(line, str) else decode_8bit(bytes(line))
    if _LITERAL_AT_END_RE.search(text):
        return "OTHER", None  # the rest of this FETCH is in the following items
    tokens = tokens_of(text)
    if not tokens:
        return "OTHER", None
    head = tokens[0]
    if type(head) is int and len(tokens) >= 2 and type(tokens[1]) is str:
        word = tokens[1].upper()
        if word == "EXISTS":
            return "EXISTS", head
        if word == "EXPUNGE":
            return "EXPUNGE", head
        if word == "FETCH":
            msg = fetch_message(tokens)
            return ("FETCH", msg) if msg is not None else ("OTHER", None)
        return "OTHER", None
    if type(head) is str:
        upper = head.upper()
        if upper == "BYE":
            return "BYE", None
        if upper == "VANISHED":
            return "VANISHED", vanished_uids(tokens) or []
    return "OTHER", None
