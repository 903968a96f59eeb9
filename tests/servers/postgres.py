"""A throw-away PostgreSQL cluster (initdb + pg_ctl) on 127.0.0.1 for integration tests.

As root, initdb/pg_ctl refuse to run, so they run via ``runuser -u postgres --`` and the
cluster directory is owned by ``postgres``. That user must be able to reach the directory,
which pytest's 0700 ``/tmp/pytest-of-root`` tree does not allow, so the cluster always lives
in its own ``tempfile.mkdtemp()`` directory (short path: the unix socket dir is in there too).
:meth:`Postgres.stop` copies the server log into ``log_dir`` (if given) and removes it.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.servers.ports import (
    LOCALHOST,
    MissingBinaryError,
    free_port,
    pid_alive,
    start_on_a_free_port,
    tail,
    wait_pid_gone,
)

__all__ = ["Postgres", "PostgresError", "find_pg_bindir"]

_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    """The cluster could not be created, started or used."""


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version))


def find_pg_bindir() -> Path:
    """Newest /usr/lib/postgresql/*/bin, else the directory of ``initdb``/``pg_ctl`` on PATH."""
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=os.path.dirname(initdb)):
        return Path(initdb).parent
    raise MissingBinaryError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
        "'postgresql' (apt-get install -y postgresql)"
    )


class Postgres:
    """A private cluster: ``trust`` auth, superuser ``postgres``, fsync off."""

    def __init__(self, log_dir: Path | None = None, *, port: int | None = None) -> None:
        self.bindir = find_pg_bindir()
        self.psql_bin = self._binary("psql", "postgresql-client")
        self.host = LOCALHOST
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.user = "postgres"
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.as_root = os.geteuid() == 0
        self.root_dir: Path | None = None
        self._pid: int | None = None
        self._atexit_registered = False

    def _binary(self, name: str, package: str) -> str:
        path = self.bindir / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(name)
        if found is None:
            raise MissingBinaryError(f"'{name}' not found: install the Debian package '{package}'")
        return found

    # ---------------------------------------------------------------- paths
    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    @property
    def socket_dir(self) -> Path:
        return self._root / "sock"

    @property
    def log_path(self) -> Path:
        return self._root / "postgres.log"

    @property
    def _root(self) -> Path:
        if self.root_dir is None:
            raise PostgresError("the cluster has not been created yet (call start())")
        return self.root_dir

    @property
    def pid(self) -> int | None:
        return self._pid

    def _cmd(self, *args: str) -> list[str]:
        if self.as_root:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(*args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=self._root,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C", "LANG": "C", "PGTZ": "UTC"},
        )

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> None:
        """initdb (once) and start the server; returns when it accepts connections."""
        if self._pid is not None and pid_alive(self._pid):
            return
        if self.root_dir is None:
            self._initdb()
        start_on_a_free_port(lambda: self._start_once(timeout), self._move, PostgresError, self._fixed_port)
        self._fixed_port = True
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True

    def _initdb(self) -> None:
        if self.as_root and shutil.which("runuser") is None:
            raise MissingBinaryError("'runuser' not found: install the Debian package 'util-linux'")
        root = Path(tempfile.mkdtemp(prefix="mailgate-pg-"))
        self.root_dir = root
        self.socket_dir.mkdir()
        if self.as_root:
            for path in (root, self.socket_dir):
                shutil.chown(path, "postgres", "postgres")
        proc = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if proc.returncode != 0:
            self._remove_root()
            raise PostgresError(f"initdb failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")

    def _move(self) -> None:
        self.port = free_port()

    def _start_once(self, timeout: float) -> None:
        options = " ".join(
            [
                f"-c listen_addresses={self.host}",
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        proc = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            options,
            "start",
            timeout=timeout + 10,
        )
        pid = self._read_pid()
        if proc.returncode != 0 or pid is None:
            raise PostgresError(
                f"pg_ctl start failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}\n"
                f"--- {self.log_path} ---\n{tail(self.log_path)}"
            )
        self._pid = pid

    def _read_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def halt(self, timeout: float = 30.0) -> None:
        """Stop the server (as an outage would: every open connection is cut) but keep the
        cluster, so that :meth:`start` brings it back on the same port with the same data."""
        pid = self._pid or (self._read_pid() if self.root_dir is not None else None)
        if pid is None or not pid_alive(pid):
            return
        proc = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop", timeout=timeout
        )
        if proc.returncode != 0 or not wait_pid_gone(pid, timeout):
            raise PostgresError(f"pg_ctl stop failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        self._pid = None

    def stop(self) -> None:
        """Immediate shutdown (pg_ctl -m immediate), then remove the cluster directory."""
        if self.root_dir is None:
            return
        try:
            pid = self._pid or self._read_pid()
            if pid is not None and pid_alive(pid):
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                    timeout=30,
                )
                if not wait_pid_gone(pid, 10.0):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    wait_pid_gone(pid, 5.0)
            self._pid = None
        finally:
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False
            if self.log_dir is not None:
                try:
                    self.log_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copy(self.log_path, self.log_dir / "postgres.log")
                except OSError:
                    pass
            self._remove_root()

    def _remove_root(self) -> None:
        if self.root_dir is not None:
            shutil.rmtree(self.root_dir, ignore_errors=True)
            self.root_dir = None

    def _atexit_stop(self) -> None:
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            self.stop()

    # ------------------------------------------------------------- databases
    def url(self, name: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{name}"

    def dsn(self, name: str) -> str:
        """libpq/asyncpg DSN (``postgresql://...``) for ``name``."""
        return self.url(name, driver="postgresql")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command via psql (as the client, over TCP) and return stdout."""
        proc = subprocess.run(
            [
                self.psql_bin,
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        if proc.returncode != 0:
            raise PostgresError(f"psql {sql!r} failed: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns ``postgresql+asyncpg://postgres@127.0.0.1:PORT/name``."""
        if not _DB_NAME_RE.match(name):
            raise ValueError(f"invalid database name {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        if not _DB_NAME_RE.match(name):
            raise ValueError(f"invalid database name {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
