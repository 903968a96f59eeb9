"""schema.graphql is the exported SDL: CI fails when it drifts from the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.graphql.schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schema_matches_the_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == sdl(), "schema.graphql is stale: run `mailgate export-schema -o schema.graphql`"


def test_export_schema_prints_the_sdl(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env["MAILGATE_DATA_DIR"] = str(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "export-schema"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == sdl()
    assert "type Subscription" in r.stdout and "events(" in r.stdout and "accountState(" in r.stdout
    out = tmp_path / "s.graphql"
    r = subprocess.run([sys.executable, "-m", "app.cli", "export-schema", "-o", str(out)], env=env, cwd=ROOT)
    assert r.returncode == 0 and out.read_text() == sdl()
