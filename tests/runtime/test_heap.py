"""A server process keeps its start-up objects out of garbage collections; an app embedded in
another program (as the tests embed it) leaves that program's collector alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc
from starlette.testclient import TestClient
from app.main import create_app
from app.runtime import heap
before = gc.get_freeze_count()
{own}
with TestClient(create_app()) as client:
    assert client.get("/health").status_code == 200
    print(before, gc.get_freeze_count())
"""


def _frozen(tmp_path: Path, own: str) -> tuple[int, int]:
    """Freeze counts before and after an app's start-up, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env |= {"MAILGATE_DATA_DIR": str(tmp_path), "MAILGATE_SECRET": "test", "MAILGATE_SYNC": "false"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(own=own)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    before, after = map(int, out.stdout.split()[-2:])
    return before, after


def test_a_server_freezes_what_start_up_made(tmp_path: Path) -> None:
    before, after = _frozen(tmp_path, "heap.own_process()  # as `mailgate serve` does")
    assert before == 0 and after > 100_000  # modules, classes, functions: the bulk of the heap


def test_an_embedded_app_leaves_the_collector_alone(tmp_path: Path) -> None:
    assert _frozen(tmp_path, "pass") == (0, 0)
