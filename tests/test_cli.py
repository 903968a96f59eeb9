"""The ``mailgate`` command line, run as a user would: separate processes, real uvicorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.servers.ports import free_port


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env["MAILGATE_DATA_DIR"] = str(tmp_path / "data")
    return env


def mailgate(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def test_help_lists_commands(tmp_path: Path) -> None:
    out = mailgate(tmp_path, "--help").stdout
    for command in ("serve", "migrate", "tokens"):
        assert command in out
    assert "issue" in mailgate(tmp_path, "tokens", "--help").stdout


def test_tokens_lifecycle(tmp_path: Path) -> None:
    assert "revision head" in mailgate(tmp_path, "migrate").stdout
    token = mailgate(tmp_path, "tokens", "issue", "-d", "Admin token", "-s", "*").stdout.strip()
    assert len(token) == 64
    assert (tmp_path / "data" / "mailgate.db").exists() and (tmp_path / "data" / "secret.key").exists()
    listing = mailgate(tmp_path, "tokens", "list").stdout
    assert "Admin token" in listing and token not in listing
    token_id = next(line.split()[0] for line in listing.splitlines() if "Admin token" in line)
    assert "revoked" in mailgate(tmp_path, "tokens", "revoke", token_id).stdout
    assert "Admin token" not in mailgate(tmp_path, "tokens", "list").stdout


def test_bad_input_is_reported_not_raised(tmp_path: Path) -> None:
    r = mailgate(tmp_path, "tokens", "issue", "-s", "root", check=False)
    assert r.returncode == 1 and "Unknown scope" in r.stderr and "Traceback" not in r.stderr
    r = mailgate(tmp_path, "tokens", "issue", "-s", "api", "-a", "nobody", check=False)
    assert r.returncode == 1 and "not found" in r.stderr
    r = mailgate(tmp_path, "tokens", "revoke", "nope", check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    env = cli_env(tmp_path) | {"MAILGATE_PORT": "nine"}
    r = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "MAILGATE_PORT" in r.stderr


def test_account_bound_token_from_cli(tmp_path: Path) -> None:
    admin = mailgate(tmp_path, "tokens", "issue", "-s", "*").stdout.strip()
    with served(tmp_path) as base:
        r = httpx2.post(
            f"{base}/v1/account",
            json={"account": "cli1", "name": "C", "imap": {"host": "h.example"}},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 200
    bound = mailgate(tmp_path, "tokens", "issue", "-s", "api", "-a", "cli1").stdout.strip()
    with served(tmp_path) as base:
        headers = {"Authorization": f"Bearer {bound}"}
        assert httpx2.get(f"{base}/v1/account/cli1", headers=headers).status_code == 200
        assert httpx2.get(f"{base}/v1/accounts", headers=headers).status_code == 403


class served:
    """``mailgate serve`` on a free port, stopped with SIGTERM like a process manager would."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()

    def __enter__(self) -> str:
        env = cli_env(self.tmp_path) | {"MAILGATE_PORT": str(self.port)}
        self.log = open(self.tmp_path / "serve.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("serve exited: " + (self.tmp_path / "serve.log").read_text())
            try:
                if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                    return base
            except httpx2.HTTPError:
                time.sleep(0.1)
        pytest.fail("serve did not become healthy")

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.log.close()


def test_serve_walkthrough(tmp_path: Path) -> None:
    """The README's curl walk-through, step by step."""
    token = mailgate(tmp_path, "tokens", "issue", "-d", "Admin token", "-s", "*").stdout.strip()
    with served(tmp_path) as base:
        h = {"Authorization": f"Bearer {token}"}
        body = {
            "account": "example",
            "name": "Example User",
            "email": "user@example.com",
            "imap": {"host": "imap.example.com", "port": 993, "secure": True,
                     "auth": {"user": "user@example.com", "pass": "secret"}},
            "smtp": {"host": "smtp.example.com", "port": 465, "secure": True,
                     "auth": {"user": "user@example.com", "pass": "secret"}},
        }  # fmt: skip
        r = httpx2.post(f"{base}/v1/account", json=body, headers=h)
        assert r.json() == {"account": "example", "state": "new"}
        assert httpx2.get(f"{base}/v1/accounts", headers=h).json()["total"] == 1
        info = httpx2.get(f"{base}/v1/account/example", headers=h).json()
        assert info["state"] in ("init", "connecting", "connectError")  # imap.example.com is unreachable
        assert info["imap"]["auth"]["pass"] == "******"
        r = httpx2.put(f"{base}/v1/account/example", json={"imap": {"partial": True, "port": 143}}, headers=h)
        assert r.status_code == 200
        user_token = httpx2.post(f"{base}/v1/token", json={"account": "example"}, headers=h).json()["token"]
        r = httpx2.get(f"{base}/v1/account/example?access_token={user_token}")
        assert r.status_code == 200
        assert httpx2.get(f"{base}/openapi.json").status_code == 200
        assert httpx2.delete(f"{base}/v1/account/example", headers=h).json()["deleted"] is True
    log = (tmp_path / "serve.log").read_text()
    assert user_token not in log and "secret" not in log.replace("secret.key", "")
    assert "access_token=[redacted]" in log
