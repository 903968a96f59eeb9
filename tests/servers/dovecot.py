"""A throw-away Dovecot 2.3 IMAP server for integration tests (no systemd).

Runtime layout: ``dovecot.conf``, ``users`` (passwd-file), ``dovecot.log``, ``run/``
(Dovecot's base_dir), ``state/`` and ``mail/`` (owned by uid/gid ``mail``).

Dovecot's auth process runs as user ``dovecot`` and the imap processes as ``mail``, so every
directory above the runtime dir must be traversable by "others". pytest's ``tmp_path_factory``
directories are not (``/tmp/pytest-of-root`` is mode 0700 and pytest resets that mode at the
start of *every* session, so chmod-ing it would break when two sessions run at once). When
``base_dir`` is not traversable, the runtime dir is a private ``tempfile.mkdtemp()`` directory
under ``/tmp`` (mode 0711); :meth:`Dovecot.cleanup` copies the log and config into ``base_dir``
and removes it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import aioimaplib

from tests.servers.ca import CertFiles
from tests.servers.ports import (
    LOCALHOST,
    free_port,
    pid_alive,
    port_accepts,
    read_banner,
    require_binary,
    start_on_a_free_port,
    tail,
    wait_pid_gone,
)

__all__ = ["Dovecot", "DovecotError", "append_messages"]

_MAIL_UID_NAME = "mail"
_APPENDUID_RE = re.compile(r"APPENDUID \d+ (\d+)")


class DovecotError(RuntimeError):
    """Dovecot failed to start, stop or run a doveadm command."""


def _traversable_by_others(path: Path) -> bool:
    """True if every directory from / down to ``path`` has the o+x bit."""
    path = path.resolve()
    for directory in [path, *path.parents]:
        try:
            mode = directory.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


def _processes_titled(prefix: str) -> dict[int, str]:
    """{pid: title} of live processes whose title (argv[0]) starts with ``prefix``."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(prefix) and pid_alive(int(entry.name)):
            found[int(entry.name)] = title
    return found


def _signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _mail_ids() -> tuple[int, int]:
    import grp
    import pwd

    try:
        return pwd.getpwnam(_MAIL_UID_NAME).pw_uid, grp.getgrnam(_MAIL_UID_NAME).gr_gid
    except KeyError as exc:  # pragma: no cover - Debian always has it
        raise DovecotError("system user/group 'mail' does not exist") from exc


class Dovecot:
    """One Dovecot instance with its own config, listening on 127.0.0.1:``port``.

    Several instances can run at once: each has a unique ``instance_name`` and base_dir.
    """

    def __init__(
        self,
        base_dir: Path,
        users: dict[str, str] | None = None,
        *,
        oauth2_introspection_url: str | None = None,
        port: int | None = None,
        auth_failure_delay: int = 0,
        spare_users: int = 0,
        max_connections: int = 1000,
        imap_capability: str | None = None,
        quota_mb: int | None = None,
        tls: CertFiles | None = None,
    ) -> None:
        self.max_connections = max_connections
        #: Dovecot's ``imap_capability``: the capability list advertised instead of the full one.
        self.imap_capability = imap_capability
        #: With ``quota_mb``: the quota plugin (QUOTA capability) with a per-user storage limit.
        self.quota_mb = quota_mb
        self.dovecot_bin = require_binary("dovecot", "dovecot-imapd")
        self.doveadm_bin = require_binary("doveadm", "dovecot-imapd")
        if os.geteuid() != 0:
            raise DovecotError("the Dovecot fixture must run as root (mail_uid=mail)")
        self.host = LOCALHOST
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        #: With ``tls``: STARTTLS on ``port`` and implicit TLS (imaps) on ``tls_port``.
        self.tls = tls
        self.tls_port = free_port() if tls is not None else 0
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.instance_name = f"mailgate-test-{uuid.uuid4().hex[:10]}"
        self.oauth2_introspection_url = oauth2_introspection_url
        self.auth_failure_delay = auth_failure_delay
        self._own_runtime_dir = not _traversable_by_others(self.base_dir)
        if self._own_runtime_dir:
            self.runtime_dir = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-"))
            os.chmod(self.runtime_dir, 0o711)
        else:
            self.runtime_dir = self.base_dir
        self.conf_path = self.runtime_dir / "dovecot.conf"
        self.oauth2_conf_path = self.runtime_dir / "dovecot-oauth2.conf.ext"
        self.passwd_path = self.runtime_dir / "users"
        self.log_path = self.runtime_dir / "dovecot.log"
        self.run_dir = self.runtime_dir / "run"
        self.state_dir = self.runtime_dir / "state"
        self.mail_root = self.runtime_dir / "mail"
        self.users: dict[str, str] = {}
        self._spare: list[tuple[str, str]] = []
        self._pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False
        try:
            self._prepare_dirs()
            self.passwd_path.touch()
            for email, password in (users or {}).items():
                self.add_user(email, password)
            tag = uuid.uuid4().hex[:6]
            for i in range(spare_users):
                email, password = f"spare{i:03d}-{tag}@example.com", f"pw-{uuid.uuid4().hex[:12]}"
                self.add_user(email, password)
                self._spare.append((email, password))
            self.write_config()
        except BaseException:
            if self._own_runtime_dir:
                shutil.rmtree(self.runtime_dir, ignore_errors=True)
            raise

    # ------------------------------------------------------------------ config
    def _prepare_dirs(self) -> None:
        uid, gid = _mail_ids()
        for directory in (self.run_dir, self.state_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.mail_root.mkdir(parents=True, exist_ok=True)
        os.chown(self.mail_root, uid, gid)
        os.chmod(self.mail_root, 0o770)

    def write_config(self) -> None:
        """(Re)write dovecot.conf (and the oauth2 .ext file when configured)."""
        mechanisms = "plain login"
        oauth_passdb = ""
        if self.oauth2_introspection_url:
            mechanisms += " xoauth2 oauthbearer"
            self.oauth2_conf_path.write_text(
                "introspection_mode = post\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
                "force_introspection = yes\n"
            )
            oauth_passdb = (
                "passdb {\n"
                "  driver = oauth2\n"
                "  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.oauth2_conf_path}\n"
                "}\n"
            )
        capability = f"\n  imap_capability = {self.imap_capability}" if self.imap_capability else ""
        quota = ""
        if self.quota_mb is not None:
            capability += "\n  mail_plugins = $mail_plugins quota imap_quota"
            quota = (
                f"plugin {{\n  quota = count:User quota\n  quota_rule = *:storage={self.quota_mb}M\n"
                "  quota_vsizes = yes\n}\n"
            )
        ssl = f"ssl = yes\nssl_cert = <{self.tls.cert}\nssl_key = <{self.tls.key}" if self.tls else "ssl = no"
        conf = f"""\
instance_name = {self.instance_name}
base_dir = {self.run_dir}
state_dir = {self.state_dir}
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap
listen = {self.host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = {self.auth_failure_delay} secs
auth_verbose = yes
mail_location = maildir:{self.mail_root}/%d/%n
mail_uid = {_MAIL_UID_NAME}
mail_gid = {_MAIL_UID_NAME}
first_valid_uid = 1
first_valid_gid = 1
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = create
  }}
}}
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = static
  args = uid={_MAIL_UID_NAME} gid={_MAIL_UID_NAME} home={self.mail_root}/%d/%n
}}
service imap-login {{
  client_limit = {self.max_connections}
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
  }}
}}
# mode 0 = no anvil-auth-penalty socket, so auth runs without the anvil penalty
# (otherwise every login from 127.0.0.1 after a failed one is delayed 4..15 s)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50{capability}
}}
service imap {{
  process_limit = {self.max_connections}
}}
default_client_limit = {self.max_connections * 2}
{quota}"""
        self.conf_path.write_text(conf)

    # ------------------------------------------------------------------- users
    def add_user(self, email: str, password: str, *, wait: bool = True) -> None:
        """Append a user to the passwd-file; Dovecot re-reads the file when it changes.

        Dovecot stats the passwd-file at most once per second (``passwd_file_sync``), so a
        login in the same second as an earlier lookup may still see the old file. With
        ``wait`` (and a running server) this returns only once ``doveadm auth test``
        accepts the new user, retrying after the next second boundary if needed.
        """
        if ":" in email or ":" in password or "\n" in email + password:
            raise ValueError("passwd-file users/passwords must not contain ':' or newlines")
        with self.passwd_path.open("a") as fh:
            fh.write(f"{email}:{{PLAIN}}{password}::::::\n")
        self.users[email] = password
        if wait and self._pid is not None and pid_alive(self._pid):
            self._wait_auth_ok(email, password)

    def fresh_user(self) -> tuple[str, str]:
        """An (email, password) nobody has used yet, with empty mailboxes.

        Taken from the ``spare_users`` written before start (instant); once those are used
        up, a new user is added with :meth:`add_user` (which may take up to ~1 s).
        """
        if self._spare:
            return self._spare.pop(0)
        email = f"u{uuid.uuid4().hex[:12]}@example.com"
        password = f"pw-{uuid.uuid4().hex[:12]}"
        self.add_user(email, password)
        return email, password

    def _wait_auth_ok(self, email: str, password: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            proc = self.doveadm("auth", "test", email, password, check=False)
            if proc.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise DovecotError(
                    f"Dovecot does not accept new user {email} after {timeout}s: {proc.stdout}{proc.stderr}"
                )
            now = time.time()
            time.sleep(math.floor(now) + 1.02 - now)  # past the next second boundary

    def maildir(self, user: str) -> Path:
        """The Maildir root of ``user`` (it exists only after the first login/append)."""
        local, _, domain = user.partition("@")
        return self.mail_root / domain / local

    # --------------------------------------------------------------- lifecycle
    @property
    def pid(self) -> int | None:
        """PID of the master process we started (None when stopped)."""
        return self._pid

    def _read_pidfile(self) -> int | None:
        try:
            return int((self.run_dir / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout: float = 10.0) -> None:
        """Start the master and wait until the port answers ``* OK``."""
        if self._proc is not None and self._proc.poll() is None:
            return
        start_on_a_free_port(lambda: self._start_once(timeout), self._move, DovecotError, self._fixed_port)
        self._fixed_port = True  # keep the port across restart()
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True

    def _move(self) -> None:
        self.port = free_port()
        self.tls_port = free_port() if self.tls is not None else 0
        self.write_config()

    def _start_once(self, timeout: float) -> None:
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        # -F (foreground): the master stays our child, so we know its PID without a
        # pidfile and can reap it (a daemonized master lingers as a zombie of PID 1 for a
        # while, and Dovecot refuses to start while the pidfile names a "live" zombie).
        out_path = self.runtime_dir / "dovecot.start.out"
        with out_path.open("w") as out:
            proc = subprocess.Popen(
                [self.dovecot_bin, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.runtime_dir,
                start_new_session=True,
            )
        self._proc = proc
        self._pid = proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._pid = self._proc = None
                raise DovecotError(
                    f"dovecot -F -c {self.conf_path} exited with {proc.returncode}:\n"
                    f"{tail(out_path)}\n--- {self.log_path} ---\n"
                    f"{self._log_since(log_offset)}"
                )
            if read_banner(self.host, self.port).startswith(b"* OK"):
                return
            time.sleep(0.02)
        self.stop(5.0)
        raise DovecotError(
            f"Dovecot (pid {proc.pid}) did not answer '* OK' on {self.host}:{self.port} "
            f"within {timeout}s\n--- {self.log_path} ---\n{self._log_since(log_offset)}"
        )

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return tail(self.log_path)
        return "\n".join(text.splitlines()[-40:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the master we started and every process of this instance; wait until gone.

        Dovecot 2.3's master, on SIGTERM (what ``doveadm stop`` sends), stops its idle
        services but leaves imap processes that serve a client running as orphans, and
        then idles ~1-2 s before exiting. So: SIGTERM the master and all processes titled
        ``dovecot-<instance_name>/...`` (unique to this instance; imap answers
        ``* BYE Server shutting down.``), then the log process, then SIGKILL leftovers.
        """
        pid = self._pid or self._read_pidfile()
        prefix = f"dovecot-{self.instance_name}/"
        master_alive = pid is not None and pid_alive(pid)
        if not master_alive and not _processes_titled(prefix):
            self._pid = None
            return
        if pid is not None and master_alive:
            _signal_all([pid], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        workers = {p for p, title in _processes_titled(prefix).items() if title != prefix + "log"}
        _signal_all(workers, signal.SIGTERM)
        while any(pid_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        rest = set(_processes_titled(prefix))
        _signal_all(rest, signal.SIGTERM)  # the log process, and anything spawned meanwhile
        while any(pid_alive(p) for p in rest) and time.monotonic() < deadline:
            time.sleep(0.02)
        leftovers = set(_processes_titled(prefix))
        if pid is not None and pid_alive(pid):
            leftovers.add(pid)  # nothing left to supervise: don't wait for its idle exit
        _signal_all(leftovers, signal.SIGKILL)
        for p in leftovers:
            wait_pid_gone(p, 5.0)
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(5.0)  # reap our child
        self._pid = self._proc = None
        (self.run_dir / "master.pid").unlink(missing_ok=True)
        # the listener must be closed before a restart can bind the same port again
        while port_accepts(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self, timeout: float = 10.0) -> None:
        """Stop and start again on the same port (existing connections are dropped)."""
        self.stop(timeout)
        self.start(timeout)

    def cleanup(self) -> None:
        """Stop; if the runtime dir is a private temp dir, keep log+config in base_dir and remove it."""
        try:
            self.stop()
        finally:
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False
            if self._own_runtime_dir and self.runtime_dir.exists():
                for path in (self.log_path, self.conf_path):
                    with contextlib.suppress(OSError):
                        shutil.copy(path, self.base_dir / path.name)
                shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def _atexit_stop(self) -> None:
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            self.cleanup()

    # ----------------------------------------------------------------- doveadm
    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``doveadm -c <conf> ARGS``."""
        proc = subprocess.run(
            [self.doveadm_bin, "-c", str(self.conf_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check and proc.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} exited with {proc.returncode}: {proc.stdout}{proc.stderr}"
            )
        return proc

    def kick(self, user: str) -> str:
        """Disconnect all IMAP sessions of ``user`` (they get ``* BYE``). Returns doveadm output."""
        # exit code 68 (EX_NOUSER) just means "nobody was connected"
        proc = self.doveadm("kick", user, check=False)
        if proc.returncode not in (0, 68):
            raise DovecotError(
                f"doveadm kick {user} exited with {proc.returncode}: {proc.stdout}{proc.stderr}"
            )
        return proc.stdout

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _quote_mailbox(mailbox: str) -> str:
    if not mailbox.isascii():
        raise ValueError("non-ASCII mailbox names need modified UTF-7; not supported here")
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_text(line: bytes | bytearray | str) -> str:
    return line if isinstance(line, str) else bytes(line).decode(errors="replace")


async def append_messages(
    host: str,
    port: int,
    user: str,
    password: str,
    mailbox: str,
    messages: Sequence[bytes],
    flags: str | Sequence[str] | None = None,
    *,
    timeout: float = 30.0,
) -> list[int]:
    """APPEND ``messages`` to ``mailbox`` (seeding helper). Returns the new UIDs.

    ``flags`` applies to every message: ``"\\\\Seen"``, ``"(\\\\Seen \\\\Flagged)"`` or a list.
    """
    if flags is not None and not isinstance(flags, str):
        flags = "(" + " ".join(flags) + ")"
    if flags == "" or flags == "()":
        flags = None
    quoted = _quote_mailbox(mailbox)
    client = aioimaplib.IMAP4(host=host, port=port, timeout=timeout)
    await asyncio.wait_for(client.wait_hello_from_server(), timeout)
    uids: list[int] = []
    try:
        resp = await asyncio.wait_for(client.login(user, password), timeout)
        if resp.result != "OK":
            raise DovecotError(f"IMAP LOGIN {user} failed: {resp.result} {resp.lines!r}")
        for message in messages:
            resp = await asyncio.wait_for(client.append(bytes(message), mailbox=quoted, flags=flags), timeout)
            if resp.result != "OK":
                raise DovecotError(f"APPEND to {mailbox} failed: {resp.result} {resp.lines!r}")
            match = _APPENDUID_RE.search(" ".join(_as_text(line) for line in resp.lines))
            if match is None:
                raise DovecotError(f"APPEND response without APPENDUID: {resp.lines!r}")
            uids.append(int(match.group(1)))
    finally:
        with contextlib.suppress(Exception):  # the connection may already be gone
            await asyncio.wait_for(client.logout(), 5.0)
    return uids
