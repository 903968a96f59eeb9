"""``mailgate`` command line: serve, migrate, manage access tokens, export the GraphQL schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from app import __version__
from app.config import ConfigError, Settings
from app.db import migrate_sync
from app.runtime import heap
from app.services import tokens
from app.services.context import Context
from app.services.errors import ServiceError
from app.services.principal import OPERATOR, SCOPES


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if settings.auto_migrate:
        migrate_sync(settings.database_url)
    heap.own_process()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        log_level=settings.log_level,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
    )
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        print(
            "mailgate: `worker` takes tasks from Redis: set MAILGATE_REDIS_URL (without it, "
            "`mailgate serve` runs every task in-process)",
            file=sys.stderr,
        )
        return 2
    from app import worker

    if settings.auto_migrate:
        migrate_sync(settings.database_url)
    import uvloop

    heap.own_process()
    uvloop.run(worker.run(settings))
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    migrate_sync(settings.database_url, args.revision)
    print(f"database is at revision {args.revision}")
    return 0


async def _with_ctx(settings: Settings, args: argparse.Namespace) -> int:
    ctx = Context.from_settings(settings)
    try:
        if args.tokens_command == "issue":
            scopes = [s.strip() for group in args.scope for s in group.split(",") if s.strip()]
            value, _ = await tokens.issue(
                ctx, OPERATOR, description=args.description, scopes=scopes or ["*"], account=args.account
            )
            print(value)
        elif args.tokens_command == "list":
            rows = await tokens.list_tokens(ctx, OPERATOR)
            print(f"{'ID':<64}  {'ACCOUNT':<20}  {'SCOPES':<16}  {'CREATED':<20}  DESCRIPTION")
            for r in rows:
                created = r.created.strftime("%Y-%m-%d %H:%M:%S")
                scope_text = ",".join(r.scopes)
                print(f"{r.id:<64}  {r.account or '*':<20}  {scope_text:<16}  {created:<20}  {r.description}")
        elif args.tokens_command == "revoke":
            await tokens.revoke(ctx, OPERATOR, args.id)
            print(f"revoked {args.id}")
    finally:
        await ctx.close()
    return 0


def _tokens(settings: Settings, args: argparse.Namespace) -> int:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.auto_migrate:
        migrate_sync(settings.database_url)
    return asyncio.run(_with_ctx(settings, args))


def _admin(settings: Settings, args: argparse.Namespace) -> int:
    from app import admin_cli

    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.auto_migrate:
        migrate_sync(settings.database_url)
    return asyncio.run(admin_cli.set_password(settings))


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from app.graphql.schema import sdl

    text = sdl()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mailgate",
        description="Mailgate email API gateway. Configuration comes from MAILGATE_* environment variables.",
    )
    p.add_argument("--version", action="version", version=f"mailgate {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API server (migrates the database first)")
    serve.add_argument("--host", help="bind address (default MAILGATE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default MAILGATE_PORT or 3000)")
    serve.set_defaults(run=_serve)

    work = sub.add_parser("worker", help="run background tasks from Redis (needs MAILGATE_REDIS_URL)")
    work.set_defaults(run=_worker)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--revision", default="head", help="target revision (default head)")
    mig.set_defaults(run=_migrate)

    tok = sub.add_parser("tokens", help="issue, list and revoke access tokens")
    tsub = tok.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    issue = tsub.add_parser("issue", help="print a new token (system-wide unless -a is given)")
    issue.add_argument("-d", "--description", default="", help="what the token is for")
    issue.add_argument(
        "-s",
        "--scope",
        action="append",
        default=[],
        help=f"scope, repeatable or comma-separated: {', '.join(SCOPES)}",
    )
    issue.add_argument("-a", "--account", help="bind the token to this account")
    tsub.add_parser("list", help="list tokens (ids, never values)")
    revoke = tsub.add_parser("revoke", help="revoke a token by id or value")
    revoke.add_argument("id")
    tok.set_defaults(run=_tokens)

    adm = sub.add_parser("admin", help="manage the admin UI")
    asub = adm.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    asub.add_parser("password", help="set the admin UI password (prompted, or read from stdin)")
    adm.set_defaults(run=_admin)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL), as in schema.graphql")
    export.add_argument("-o", "--output", help="write to this file instead of standard output")
    export.set_defaults(run=_export_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"mailgate: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    try:
        code: int = args.run(settings, args)
    except ServiceError as exc:
        print(f"mailgate: {exc.message}" + (f" {exc.details}" if exc.details else ""), file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
