"""A throw-away ``redis-server`` on 127.0.0.1 (no persistence) for integration tests."""

from __future__ import annotations

import atexit
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers.ports import LOCALHOST, free_port, require_binary, start_on_a_free_port, tail

__all__ = ["Redis", "RedisError"]


class RedisError(RuntimeError):
    """redis-server failed to start or answer."""


def _command(host: str, port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one RESP command and return the first reply line (b'' on connection errors)."""
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(payload)
            buf = b""
            while b"\r\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                buf += chunk
            return buf.split(b"\r\n", 1)[0]
    except OSError:
        return b""


class Redis:
    """``redis-server`` started with Popen (no daemonize) so we own its PID."""

    def __init__(self, base_dir: Path | None = None, *, port: int | None = None) -> None:
        self.redis_bin = require_binary("redis-server", "redis-server")
        self.host = LOCALHOST
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self._own_dir = base_dir is None
        self.base_dir = (
            Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp(prefix="mailgate-redis-"))
        )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.base_dir / "redis.log"
        self.pid_path = self.base_dir / "redis.pid"
        self._proc: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 10.0) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        start_on_a_free_port(lambda: self._start_once(timeout), self._move, RedisError, self._fixed_port)
        self._fixed_port = True
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

    def _move(self) -> None:
        self.port = free_port()

    def _start_once(self, timeout: float) -> None:
        args = [
            self.redis_bin,
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--dir",
            str(self.base_dir),
            "--pidfile",
            str(self.pid_path),
            "--logfile",
            str(self.log_path),
        ]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.base_dir,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if _command(self.host, self.port, "PING", timeout=0.5) == b"+PONG":
                return
            time.sleep(0.02)
        self._kill()
        raise RedisError(
            f"redis-server did not answer PING on {self.host}:{self.port} within {timeout}s\n"
            f"--- {self.log_path} ---\n{tail(self.log_path)}"
        )

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)

    def stop(self) -> None:
        """SIGTERM the server we started and wait for it (SIGKILL after 5 s)."""
        try:
            self._kill()
        finally:
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False
            if self._own_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def flushall(self) -> None:
        reply = _command(self.host, self.port, "FLUSHALL")
        if reply != b"+OK":
            raise RedisError(f"FLUSHALL failed: {reply!r}")

    def __enter__(self) -> Redis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
