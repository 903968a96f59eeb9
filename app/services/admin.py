"""The admin UI's credentials: one operator password (kept as an scrypt hash), the key that signs
session cookies, and a generation counter whose increase ends every session at once.

All three live in the settings table under keys the settings API never returns, so no table is
needed and every process of a scaled-out deployment sees the same values."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.models import Setting
from app.services.context import Context
from app.services.errors import InvalidRequest

PASSWORD_KEY = "adminPasswordHash"
SIGNING_KEY = "adminSessionKey"
GENERATION_KEY = "adminSessionGeneration"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# scrypt at N=2**15, r=8 costs ~32 MiB and a few tens of milliseconds: slow for a guesser, cheap
# for a sign-in that the rate limiter already bounds.
_N, _R, _P = 2**15, 8, 1


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"The password needs at least {MIN_PASSWORD} characters",
            details={"password": f"at least {MIN_PASSWORD} characters"},
        )
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise InvalidRequest("The password is too long or contains NUL", details={"password": "invalid"})


@dataclass(frozen=True)
class AdminState:
    password_hash: str | None
    signing_key: bytes
    generation: int


async def load_state(ctx: Context) -> AdminState:
    """The three values in one query, creating the signing key the first time it is needed."""
    keys = (PASSWORD_KEY, SIGNING_KEY, GENERATION_KEY)
    async with ctx.db.session() as s:
        rows = {
            r.key: r.value for r in (await s.exec(select(Setting).where(col(Setting.key).in_(keys)))).all()
        }
        stored_key = rows.get(SIGNING_KEY)
        if not stored_key:
            key = secrets.token_bytes(32)
            s.add(Setting(key=SIGNING_KEY, value=ctx.cipher.encrypt(base64.b64encode(key).decode())))
            try:
                await s.commit()
            except IntegrityError:  # another process created it first: use theirs
                await s.rollback()
                return await load_state(ctx)
        else:
            key = base64.b64decode(ctx.cipher.decrypt(stored_key))
    return AdminState(
        password_hash=rows.get(PASSWORD_KEY), signing_key=key, generation=int(rows.get(GENERATION_KEY) or 0)
    )


async def _put(ctx: Context, key: str, value: object) -> None:
    async with ctx.db.session() as s:
        row = await s.get(Setting, key)
        if row is None:
            s.add(Setting(key=key, value=value))
        else:
            row.value = value
        await s.commit()


async def set_password(ctx: Context, password: str) -> None:
    """Set or change the password; every existing session ends with the change."""
    validate_password(password)
    hashed = await asyncio.to_thread(hash_password, password)
    await _put(ctx, PASSWORD_KEY, hashed)
    await end_all_sessions(ctx)


async def verify_password(ctx: Context, password: str) -> bool:
    state = await load_state(ctx)
    if state.password_hash is None or len(password) > MAX_PASSWORD:
        return False
    return await asyncio.to_thread(check_password, password, state.password_hash)


async def end_all_sessions(ctx: Context) -> int:
    """Raise the generation: cookies signed for an older one are refused from now on."""
    async with ctx.db.session() as s:
        row = await s.get(Setting, GENERATION_KEY)
        if row is None:
            row = Setting(key=GENERATION_KEY, value=1)
            s.add(row)
        else:
            row.value = int(row.value or 0) + 1
        generation = int(row.value)
        await s.commit()
    return generation
