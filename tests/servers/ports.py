"""Small networking/process helpers shared by the real-server fixtures."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

LOCALHOST = "127.0.0.1"


class MissingBinaryError(RuntimeError):
    """A server binary needed by a fixture is not installed."""


def start_on_a_free_port(
    start_once: Callable[[], None], move: Callable[[], None], errors: type[Exception], fixed: bool
) -> None:
    """Start a server; when the port picked a moment ago was taken meanwhile ("already in use"),
    ``move`` to another and try again (three times at most). A fixed port is tried once."""
    attempts = 1 if fixed else 3
    for attempt in range(attempts):
        try:
            start_once()
            return
        except errors as exc:
            if attempt + 1 >= attempts or "already in use" not in str(exc):
                raise
            move()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def require_binary(name: str, package: str, *, search: list[str] | None = None) -> str:
    """Find ``name`` in ``search`` dirs or on PATH, else raise naming the Debian package."""
    for directory in search or []:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise MissingBinaryError(
            f"'{name}' not found: install the Debian package '{package}' (apt-get install -y {package})"
        )
    return path


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if a TCP connection to host:port succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_banner(host: str, port: int, timeout: float = 1.0) -> bytes:
    """Connect and return the first line the server sends (b'' on failure)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            buf = b""
            while b"\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                buf += chunk
            return buf.split(b"\n", 1)[0].rstrip(b"\r")
    except OSError:
        return b""


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (zombies of ours count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # state is the field after the ")" that closes the command name
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_pid_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited; True if it did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)


def tail(path: Path, lines: int = 40) -> str:
    """Last ``lines`` lines of a text file, or a note when it cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])
