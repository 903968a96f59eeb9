"""Migrations: several processes starting at once on a fresh PostgreSQL database all succeed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _head() -> str:
    """The newest revision in alembic/versions, so the test follows new migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.db import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_concurrent_migrations_on_a_fresh_database(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.create_database("mailgate_migrate_race")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
        code = "import sys\nfrom app.db import migrate_sync\nmigrate_sync(sys.argv[1])\n"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, env=env, stderr=subprocess.PIPE)
            for _ in range(3)
        ]
        results = [(p.wait(120), p.stderr.read().decode() if p.stderr else "") for p in procs]
        assert all(rc == 0 for rc, _ in results), results
        out = postgres_server.psql(
            "SELECT version_num FROM alembic_version", database="mailgate_migrate_race"
        )
        assert out.split() == [_head()]
    finally:
        postgres_server.drop_database("mailgate_migrate_race")
