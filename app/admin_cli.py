"""``mailgate admin password``: the one way to set the admin UI password from a remote shell."""

from __future__ import annotations

import getpass
import sys

from app.config import Settings
from app.services import admin
from app.services.context import Context


def read_password() -> str:
    """Prompted twice on a terminal; otherwise the first line of standard input (for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New admin password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise SystemExit("mailgate: the passwords differ")
    return first


async def set_password(settings: Settings) -> int:
    password = read_password()
    ctx = Context.from_settings(settings)
    try:
        await admin.set_password(ctx, password)
    finally:
        await ctx.close()
    print("admin password set; every admin session has been signed out")
    return 0
